/**
 * The parsers the fuzz harness feeds (issue 6): each target names an entry point of the engine, its seeds (corpus
 * messages, certificates, .p12 files, CMS blobs), the mutator family for its bytes, and how one input is run. A run
 * either returns an outcome label or throws; `classify` decides whether what it threw is documented (SmimeError /
 * MimeError with a code of the registry, the directory's Pkcs7Error) or a finding (anything else).
 */
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { certificatesFromPkcs7, Pkcs7Error } from '../../backend/src/directory/pkcs7.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import {
  decryptEnvelope,
  encryptEnvelope,
  inspectEnvelope,
  type DecryptionKey,
} from '../../backend/src/smime/cms/enveloped/index.ts';
import { SMIME_ERROR_CODES, SmimeError } from '../../backend/src/smime/errors.ts';
import { analyzeMessage, cmsContentType } from '../../backend/src/smime/message/incoming.ts';
import { protectMessage, type ProtectOptions } from '../../backend/src/smime/message/outgoing.ts';
import {
  decodeBody,
  decodeEncodedWords,
  getHeader,
  MIME_ERROR_CODES,
  MimeError,
  parseAddressList,
  parseContentDisposition,
  parseEntity,
  splitMessageHeaders,
  toSignable,
  type MimeEntity,
} from '../../backend/src/smime/mime/index.ts';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12/pkcs12.ts';
import { loadTrustAnchors } from '../../backend/src/smime/x509/pem.ts';
import { parsedCertificate } from '../../backend/src/smime/x509/certificate.ts';
import { DECRYPTION_STATUSES, SIGNATURE_STATUSES } from '../../backend/src/smime/types.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { FIXTURES, SHARED_CORPUS } from '../helpers/paths.ts';
import { asnDictionary, mutateDer, mutateMime, mutatePem, type AsnDictionary, type Rng } from './lib.ts';

export interface Seed {
  name: string;
  bytes: Uint8Array;
  /** Extra input the run needs besides the bytes (a .p12 password, the name of a detached signature's content). */
  aux?: string;
}

export interface GeneratedInput {
  bytes: Uint8Array;
  aux?: string;
  seed: string;
}

export interface Target<C = unknown> {
  name: string;
  /** What the target reads, in a few words (printed in the table). */
  entry: string;
  seeds(): Seed[];
  /** Keys, anchors and the like, made once per worker. */
  setup(): Promise<C>;
  mutate(seed: Seed, rng: Rng, pool: readonly Uint8Array[], dict: AsnDictionary): GeneratedInput;
  /** Returns an outcome label; throws on a refused input. */
  run(input: GeneratedInput, context: C): Promise<string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------------------------

const THUNDERBIRD = `${SHARED_CORPUS}thunderbird/`;
const bytesOf = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

function filesUnder(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && ext.test(entry.name))
      out.push(`${entry.parentPath ?? (entry as unknown as { path: string }).path}/${entry.name}`);
  }
  return out.sort();
}

const short = (path: string): string => path.replace(SHARED_CORPUS, 'corpus:').replace(FIXTURES, 'fixtures:');

let cachedMessages: Seed[] | undefined;
/** Every corpus .eml/.env and the outgoing fixtures' .eml. */
export function messageSeeds(): Seed[] {
  cachedMessages ??= [...filesUnder(THUNDERBIRD, /\.(eml|env)$/), ...filesUnder(`${FIXTURES}outgoing`, /\.eml$/)].map(
    (p) => ({ name: short(p), bytes: bytesOf(p) }),
  );
  return cachedMessages;
}

function* walk(e: MimeEntity): Generator<MimeEntity> {
  yield e;
  for (const c of e.children) yield* walk(c);
}

const OID_SIGNED = '1.2.840.113549.1.7.2';
const OID_ENVELOPED = '1.2.840.113549.1.7.3';
const OID_AUTH_ENVELOPED = '1.2.840.113549.1.9.16.1.23';

interface CmsSeeds {
  enveloped: Seed[];
  signed: Seed[];
  /** Detached content by seed name. */
  contents: Map<string, Uint8Array>;
}

let cachedCms: CmsSeeds | undefined;
/** CMS blobs: the fixtures' enveloped .der, the PKI's signatures, and every CMS body inside the corpus messages. */
export function cmsSeeds(): CmsSeeds {
  if (cachedCms) return cachedCms;
  const enveloped: Seed[] = filesUnder(`${FIXTURES}cms`, /\.der$/).map((p) => ({ name: short(p), bytes: bytesOf(p) }));
  const signed: Seed[] = [];
  const contents = new Map<string, Uint8Array>();
  const pkiContent = bytesOf(`${FIXTURES}pki/content.txt`);
  for (const p of filesUnder(`${FIXTURES}pki/messages`, /\.(p7s|p7m)$/)) {
    const name = short(p);
    signed.push({ name, bytes: bytesOf(p), ...(p.endsWith('.p7s') ? { aux: name } : {}) });
    if (p.endsWith('.p7s')) contents.set(name, pkiContent);
  }
  for (const m of messageSeeds()) {
    let root: MimeEntity;
    try {
      root = parseEntity(m.bytes);
    } catch {
      continue;
    }
    let k = 0;
    for (const e of walk(root)) {
      const name = `${m.name}#${k++}`;
      try {
        if (e.contentType.mediaType === 'multipart/signed' && e.children.length === 2) {
          signed.push({ name, bytes: decodeBody(e.children[1]!), aux: name });
          contents.set(name, e.children[0]!.raw);
        } else if (/pkcs7-mime$/.test(e.contentType.mediaType)) {
          const der = decodeBody(e);
          const type = cmsContentType(der);
          if (type === OID_SIGNED) signed.push({ name, bytes: der });
          else if (type === OID_ENVELOPED || type === OID_AUTH_ENVELOPED) enveloped.push({ name, bytes: der });
        }
      } catch {
        /* a corpus message that is malformed on purpose */
      }
    }
  }
  cachedCms = { enveloped, signed, contents };
  return cachedCms;
}

function pemFiles(): string[] {
  return [
    ...filesUnder(`${FIXTURES}pki/certs`, /\.pem$/),
    ...filesUnder(`${FIXTURES}cms`, /\.crt$/),
    ...filesUnder(`${FIXTURES}p12`, /\.crt$/),
    ...filesUnder(`${FIXTURES}outgoing`, /\.crt$/),
    `${FIXTURES}corpus/TestCA.pem`,
  ];
}

let cachedCerts: Seed[] | undefined;
/** DER certificates: every PEM fixture, the PKI's CA files, and the certificates the corpus signatures carry. */
export function certificateSeeds(): Seed[] {
  if (cachedCerts) return cachedCerts;
  const out: Seed[] = [];
  for (const p of pemFiles())
    pemToDer(readFileSync(p, 'utf8')).forEach((der, i) => out.push({ name: `${short(p)}#${i}`, bytes: der }));
  for (const p of filesUnder(`${FIXTURES}pki/ca`, /\.der$/)) out.push({ name: short(p), bytes: bytesOf(p) });
  const seen = new Set(out.map((s) => Buffer.from(s.bytes).toString('base64')));
  for (const s of cmsSeeds().signed) {
    try {
      for (const der of certificatesFromPkcs7(s.bytes)) {
        const key = Buffer.from(der).toString('base64');
        if (!seen.has(key)) {
          seen.add(key);
          out.push({ name: `${s.name}/cert${seen.size}`, bytes: der });
        }
      }
    } catch {
      /* not a bundle pkijs reads */
    }
  }
  cachedCerts = out;
  return out;
}

const P12_PASSWORDS: Record<string, string> = { unicode: 'pässwörd€', 'empty-password': '' };
/** The PKCS#12 fixtures (OpenSSL, every protection variant) and the NSS corpus keys, with their passwords. */
export function p12Seeds(): Seed[] {
  const fixtures = filesUnder(`${FIXTURES}p12`, /\.p12$/).map((p) => {
    const special = Object.entries(P12_PASSWORDS).find(([k]) => p.includes(`-${k}.p12`));
    return { name: short(p), bytes: bytesOf(p), aux: special ? special[1] : 'fixture-pass' };
  });
  const corpus = filesUnder(`${FIXTURES}corpus`, /\.p12$/).map((p) => ({
    name: short(p),
    bytes: bytesOf(p),
    aux: 'nss',
  }));
  return [...fixtures, ...corpus];
}

// ---------------------------------------------------------------------------------------------------------------
// Contexts
// ---------------------------------------------------------------------------------------------------------------

/** The NSS corpus's reference instant (inside Alice's and the test CA's validity). */
const CORPUS_NOW = new Date('2026-11-22T00:00:00Z');

interface KeysContext {
  keys: DecryptionKey[];
  anchors: Uint8Array[];
}

let keysPromise: Promise<KeysContext> | undefined;
/** Every private key of the corpus and the CMS fixtures; the corpus CA and the fixtures' CAs as anchors. */
function keysContext(): Promise<KeysContext> {
  keysPromise ??= (async () => {
    const keys: DecryptionKey[] = [];
    for (const name of ['Bob', 'Fran', 'Fran-ec', 'Alice', 'Alice-ec']) {
      const p = await parsePkcs12(bytesOf(`${FIXTURES}corpus/${name}.p12`), 'nss');
      keys.push({
        keyId: name,
        certificate: p.certificate,
        privateKey: createPrivateKey({ key: Buffer.from(p.privateKey), format: 'der', type: 'pkcs8' }),
      });
    }
    for (const name of ['rsa', 'p256', 'p384', 'p521']) {
      keys.push({
        keyId: name,
        certificate: pemToDer(readFileSync(`${FIXTURES}cms/${name}.crt`, 'utf8'))[0]!,
        privateKey: createPrivateKey(readFileSync(`${FIXTURES}cms/${name}.key`)),
      });
    }
    const anchors = [
      ...pemToDer(readFileSync(`${FIXTURES}corpus/TestCA.pem`, 'utf8')),
      ...pemToDer(readFileSync(`${FIXTURES}pki/certs/root.pem`, 'utf8')),
      ...pemToDer(readFileSync(`${FIXTURES}p12/ca.crt`, 'utf8')),
    ];
    return { keys, anchors };
  })();
  return keysPromise;
}

// ---------------------------------------------------------------------------------------------------------------
// Outcome checks
// ---------------------------------------------------------------------------------------------------------------

/** A result that breaks the engine's own contract (a status outside its list) is a finding too. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

function checkSignatureStatus(status: string): void {
  if (!(SIGNATURE_STATUSES as readonly string[]).includes(status))
    throw new ContractViolation(`signature status ${status} is not in SIGNATURE_STATUSES`);
}

/** The documented code of a refusal, or undefined when `error` is a finding. */
export function documentedCode(error: unknown): string | undefined {
  if (error instanceof SmimeError && Object.hasOwn(SMIME_ERROR_CODES, error.code)) return error.code;
  if (error instanceof MimeError && Object.hasOwn(MIME_ERROR_CODES, error.code)) return error.code;
  if (error instanceof Pkcs7Error) return 'Pkcs7Error';
  return undefined;
}

/** Everything a consumer does with a parsed entity; a MimeError from any step is a documented refusal. */
function exerciseEntity(root: MimeEntity): string[] {
  const refusals: string[] = [];
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof MimeError) refusals.push(e.code);
      else throw e;
    }
  };
  for (const entity of walk(root)) {
    attempt(() => decodeBody(entity));
    attempt(() => decodeBody(entity, { strict: true }));
    for (const h of entity.headers.slice(0, 64)) attempt(() => decodeEncodedWords(h.value));
    for (const name of ['from', 'to', 'cc']) {
      const v = getHeader(entity, name);
      if (v !== undefined) attempt(() => parseAddressList(v));
    }
    const disposition = getHeader(entity, 'content-disposition');
    if (disposition !== undefined) attempt(() => parseContentDisposition(disposition));
  }
  return refusals;
}

// ---------------------------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------------------------

const mimeMutate = (seed: Seed, rng: Rng, pool: readonly Uint8Array[], dict: AsnDictionary): GeneratedInput => ({
  bytes: mutateMime(seed.bytes, rng, pool, dict),
  seed: seed.name,
});
const derMutate = (seed: Seed, rng: Rng, pool: readonly Uint8Array[], dict: AsnDictionary): GeneratedInput => ({
  bytes: mutateDer(seed.bytes, rng, pool, dict),
  seed: seed.name,
  ...(seed.aux !== undefined ? { aux: seed.aux } : {}),
});

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** parseEntity's promise: every entity is a view of the exact input bytes, header block then body. */
function checkLossless(input: Uint8Array, root: MimeEntity): void {
  if (!sameBytes(root.raw, input))
    throw new ContractViolation('parseEntity: the root entity is not the input byte for byte');
  for (const e of walk(root)) {
    if (!sameBytes(e.raw, input.subarray(e.offset, e.offset + e.raw.length)))
      throw new ContractViolation(`parseEntity: entity at ${e.offset} is not the input bytes at its offset`);
    if (e.headerBytes.length + e.body.length > e.raw.length)
      throw new ContractViolation(
        `parseEntity: header and body of the entity at ${e.offset} are longer than the entity`,
      );
  }
}

const shape = (root: MimeEntity): string =>
  [...walk(root)].map((e) => `${e.depth}:${e.contentType.mediaType}`).join(' ');

/** toSignable's promise: the result parses to the same structure, and canonical input comes back unchanged. */
function checkCanonical(root: MimeEntity, signable: Uint8Array): void {
  let again: Uint8Array;
  let parsed: MimeEntity;
  try {
    parsed = parseEntity(signable);
    again = toSignable(signable);
  } catch (e) {
    throw new ContractViolation(
      `toSignable: its own output is refused (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  if (shape(parsed) !== shape(root))
    throw new ContractViolation(
      `toSignable: structure changed\n  before ${shape(root).slice(0, 300)}\n  after  ${shape(parsed).slice(0, 300)}`,
    );
  if (!sameBytes(again, signable))
    throw new ContractViolation('toSignable: not idempotent (canonical input did not come back byte-identical)');
}

const mime: Target<undefined> = {
  name: 'mime',
  entry: 'mime parseEntity + decodeBody/headers/addresses, toSignable, splitMessageHeaders',
  seeds: messageSeeds,
  setup: async () => undefined,
  mutate: mimeMutate,
  async run(input) {
    let root: MimeEntity | undefined;
    let code: string | undefined;
    try {
      root = parseEntity(input.bytes);
    } catch (e) {
      if (!(e instanceof MimeError)) throw e;
      code = e.code;
    }
    const refusals = root ? exerciseEntity(root) : [];
    if (root) checkLossless(input.bytes, root);
    let signable: Uint8Array | undefined;
    for (const fn of [() => (signable = toSignable(input.bytes)), () => splitMessageHeaders(input.bytes)]) {
      try {
        fn();
      } catch (e) {
        if (!(e instanceof MimeError)) throw e;
        refusals.push(e.code);
      }
    }
    if (root && signable) checkCanonical(root, signable);
    if (code) throw new MimeError(code as MimeError['code']);
    return refusals.length ? 'ok (parts refused)' : 'ok';
  },
};

const incoming: Target<KeysContext> = {
  name: 'incoming',
  entry: 'analyzeMessage: verify + decrypt with the corpus keys, revocation off, no fetcher',
  seeds: messageSeeds,
  setup: keysContext,
  mutate: mimeMutate,
  async run(input, ctx) {
    const a = await analyzeMessage(input.bytes, {
      verify: { trustAnchors: ctx.anchors, now: CORPUS_NOW },
      keys: async () => ctx.keys,
    });
    for (const l of [...a.layers, ...a.parts.map((p) => p.layer)]) {
      if (l.kind === 'signed') {
        checkSignatureStatus(l.status);
        l.signatures.forEach((s) => checkSignatureStatus(s.status));
      } else if (!(DECRYPTION_STATUSES as readonly string[]).includes(l.status))
        throw new ContractViolation(`decryption status ${l.status}`);
    }
    const first = a.layers[0];
    return first ? `ok ${first.kind} ${first.status}` : 'ok no layer';
  },
};

const envelope: Target<KeysContext> = {
  name: 'envelope',
  entry: 'inspectEnvelope + decryptEnvelope with the corpus and fixture keys',
  seeds: () => cmsSeeds().enveloped,
  setup: keysContext,
  mutate: derMutate,
  async run(input, ctx) {
    let inspected = 'inspect refused';
    try {
      inspectEnvelope(input.bytes);
      inspected = 'inspected';
    } catch (e) {
      if (!(e instanceof SmimeError)) throw e;
    }
    const out = await decryptEnvelope(input.bytes, ctx.keys);
    if (!(DECRYPTION_STATUSES as readonly string[]).includes(out.status))
      throw new ContractViolation(`decryption status ${out.status}`);
    if (inspected !== 'inspected') throw new ContractViolation('inspectEnvelope refused what decryptEnvelope read');
    return `ok ${out.status}`;
  },
};

const verify: Target<KeysContext> = {
  name: 'verify',
  entry: 'verifySignedData (detached and opaque), corpus + PKI anchors',
  seeds: () => cmsSeeds().signed,
  setup: keysContext,
  mutate: derMutate,
  async run(input, ctx) {
    const content = input.aux !== undefined ? cmsSeeds().contents.get(input.aux) : undefined;
    const r = await verifySignedData(input.bytes, content, { trustAnchors: ctx.anchors, now: CORPUS_NOW });
    if (r.signatures.length === 0) throw new ContractViolation('a result without signature evidence');
    r.signatures.forEach((s) => checkSignatureStatus(s.status));
    return `ok ${r.signatures[0]!.status}`;
  },
};

const certificate: Target<undefined> = {
  name: 'certificate',
  entry: 'describeCertificate + parsedCertificate (trust.ts)',
  seeds: certificateSeeds,
  setup: async () => undefined,
  mutate: derMutate,
  async run(input) {
    // parsedCertificate is the chain builder's reader: it answers undefined for a certificate it cannot read.
    const facts = parsedCertificate(input.bytes);
    const info = describeCertificate(input.bytes);
    return facts ? 'ok' : `ok (chain reader refused) ${info.keyAlgorithm}`;
  },
};

const pemSeedList = (): Seed[] => {
  const files = pemFiles().map((p) => ({ name: short(p), bytes: bytesOf(p) }));
  // A bundle of several certificates, with OpenSSL's "subject=" lines between them.
  const bundle = files
    .slice(0, 4)
    .map((f, i) => `subject=CN = cert ${i}\n${Buffer.from(f.bytes).toString('latin1')}`)
    .join('');
  return [...files, { name: 'bundle', bytes: new Uint8Array(Buffer.from(bundle, 'latin1')) }];
};

const pem: Target<undefined> = {
  name: 'pem',
  entry: 'pemToDer + loadTrustAnchors (PEM bundles)',
  seeds: pemSeedList,
  setup: async () => undefined,
  mutate: (seed, rng, pool, dict) => ({ bytes: mutatePem(seed.bytes, rng, pool, dict), seed: seed.name }),
  async run(input) {
    const text = Buffer.from(input.bytes).toString('latin1');
    const ders = pemToDer(text);
    const anchors = loadTrustAnchors(text);
    return `ok ${Math.min(ders.length, anchors.length, 3)}${ders.length > 3 ? '+' : ''} certificates`;
  },
};

const pkcs12: Target<undefined> = {
  name: 'pkcs12',
  entry: "parsePkcs12 (every protection variant), the file's password, sometimes a wrong one",
  seeds: p12Seeds,
  setup: async () => undefined,
  mutate(seed, rng, pool, dict) {
    const password = rng.chance(0.9)
      ? (seed.aux ?? '')
      : rng.pick(['', 'wrong', 'pässwörd€', 'x'.repeat(300), '\u0000', '\ud800']);
    // One input in twenty keeps the file intact and varies the password only.
    const bytes = rng.chance(0.05) ? seed.bytes : mutateDer(seed.bytes, rng, pool, dict);
    return { bytes, seed: seed.name, aux: password };
  },
  async run(input) {
    const r = await parsePkcs12(input.bytes, input.aux ?? '');
    return `ok ${r.protection.integrity}`;
  },
};

const pkcs7: Target<undefined> = {
  name: 'pkcs7',
  entry: 'directory certificatesFromPkcs7 (userSMIMECertificate bundles) + describeCertificate of each',
  seeds: () => cmsSeeds().signed,
  setup: async () => undefined,
  mutate: (seed, rng, pool, dict) => ({ bytes: mutateDer(seed.bytes, rng, pool, dict), seed: seed.name }),
  async run(input) {
    const certs = certificatesFromPkcs7(input.bytes);
    let bad = 0;
    for (const der of certs) {
      try {
        describeCertificate(der);
      } catch (e) {
        if (!(e instanceof SmimeError)) throw e;
        bad++;
      }
    }
    return bad ? 'ok (some certificates malformed)' : 'ok';
  },
};

interface OutgoingContext {
  signer: { certificate: Uint8Array; chain: Uint8Array[]; privateKey: ReturnType<typeof createPrivateKey> };
  key: DecryptionKey;
  anchors: Uint8Array[];
}

const OUTGOING_MODES = ['sign', 'sign-opaque', 'encrypt', 'encrypt-gcm', 'sign+encrypt'] as const;

/** The layers a protected message must show when read back, outer first. */
function expectedLayers(mode: string): ('signed' | 'encrypted')[] {
  if (mode.startsWith('sign+')) return ['encrypted', 'signed'];
  return mode.startsWith('sign') ? ['signed'] : ['encrypted'];
}

const outgoing: Target<OutgoingContext> = {
  name: 'outgoing',
  entry: 'protectMessage (sign, opaque, encrypt, both), then read back: must verify and decrypt',
  seeds: messageSeeds,
  async setup() {
    const p = await parsePkcs12(bytesOf(`${FIXTURES}p12/rsa-default.p12`), 'fixture-pass');
    const privateKey = createPrivateKey({ key: Buffer.from(p.privateKey), format: 'der', type: 'pkcs8' });
    return {
      signer: { certificate: p.certificate, chain: p.chain, privateKey },
      key: { keyId: 'rsa', certificate: p.certificate, privateKey },
      anchors: pemToDer(readFileSync(`${FIXTURES}p12/ca.crt`, 'utf8')),
    };
  },
  mutate: (seed, rng, pool, dict) => ({
    bytes: mutateMime(seed.bytes, rng, pool, dict),
    seed: seed.name,
    aux: rng.pick(OUTGOING_MODES),
  }),
  async run(input, ctx) {
    const mode = input.aux ?? 'sign';
    const options: ProtectOptions = {};
    if (mode.startsWith('sign'))
      options.sign = { signer: ctx.signer, format: mode === 'sign-opaque' ? 'opaque' : 'multipart-signed' };
    if (mode.includes('encrypt')) {
      const cipher = mode === 'encrypt-gcm' ? 'aes-256-gcm' : 'aes-256-cbc';
      options.encrypt = {
        encryptFn: (content) => encryptEnvelope(content, [{ certificate: ctx.signer.certificate }], { cipher }),
        authEnveloped: cipher.endsWith('gcm'),
      };
    }
    const out = await protectMessage(input.bytes, options);
    // Round trip: what we send must be what we read. Only the crypto checks are asserted (the mutated From is
    // rarely the signer's address).
    const a = await analyzeMessage(out, { verify: { trustAnchors: ctx.anchors }, keys: async () => [ctx.key] });
    const want = expectedLayers(mode);
    want.forEach((kind, i) => {
      const layer = a.layers[i];
      if (!layer || layer.kind !== kind)
        throw new ContractViolation(
          `round trip (${mode}): layer ${i} is ${layer?.kind ?? 'missing'}, expected ${kind}`,
        );
      if (layer.kind === 'encrypted' && layer.status !== 'decrypted')
        throw new ContractViolation(`round trip (${mode}): our own encryption reads back as ${layer.status}`);
      if (layer.kind === 'signed') {
        for (const sig of layer.signatures) {
          const failed = sig.checks.filter(
            (c) =>
              (c.name === 'message-digest' || c.name === 'signature' || c.name === 'structure') && c.outcome !== 'pass',
          );
          if (failed.length)
            throw new ContractViolation(
              `round trip (${mode}): our own signature fails ${failed.map((c) => `${c.name}: ${c.detail ?? c.outcome}`).join('; ')}`,
            );
        }
      }
    });
    return `ok ${mode}`;
  },
};

export const TARGETS: readonly Target<never>[] = [
  mime,
  incoming,
  envelope,
  verify,
  certificate,
  pem,
  pkcs12,
  pkcs7,
  outgoing,
] as unknown as Target<never>[];

export function targetByName(name: string): Target<never> {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target ${name}; known: ${TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}

/** Seeds, their bytes as the splice/graft pool, and the ASN.1 dictionary of a target. */
export function corpusOf(target: Target<never>): { seeds: Seed[]; pool: Uint8Array[]; dict: AsnDictionary } {
  const seeds = target.seeds();
  if (seeds.length === 0) throw new Error(`fuzz target ${target.name} has no seeds`);
  const pool = seeds.map((s) => s.bytes);
  // The dictionary of MIME targets comes from the CMS inside them, so base64-body mutations graft real CMS nodes.
  const dictSources =
    target.name === 'mime' || target.name === 'incoming' || target.name === 'pem'
      ? [...cmsSeeds().enveloped, ...cmsSeeds().signed, ...certificateSeeds()].map((s) => s.bytes)
      : pool;
  return { seeds, pool, dict: asnDictionary(dictSources) };
}

/** Input `index` of a run: a pure function of (seed, target, index). */
export function generate(target: Target<never>, corpus: ReturnType<typeof corpusOf>, rng: Rng): GeneratedInput {
  const seed = rng.pick(corpus.seeds);
  return target.mutate(seed, rng, corpus.pool, corpus.dict);
}
