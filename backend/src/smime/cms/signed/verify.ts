/**
 * Verification of CMS SignedData (RFC 5652 section 5, RFC 8551): multipart/signed (detached) and
 * application/pkcs7-mime signed-data (opaque). Pure: bytes and options in, evidence out; the only I/O is through the
 * injected Fetcher (AIA intermediates) and RevocationChecker (OCSP/CRL).
 *
 * Every SignerInfo gets a SignatureEvidence with each check and its outcome, and one status: the worst applicable one
 * in the precedence order of SIGNATURE_STATUSES (types.ts). Checks and the status each failure leads to:
 *
 *   structure           version/sid agree, required signed attributes present once    malformed
 *   message-digest      messageDigest attribute = digest of the content               invalid-signature
 *   content-type        contentType attribute = eContentType (RFC 5652 section 11.1)  invalid-signature
 *   signature           over DER(SET OF signed attributes) (section 5.4) or content    invalid-signature; no signer
 *                                                                                       certificate: unknown, untrusted
 *   chain               path to a trust anchor (x509/chain.ts)                         untrusted; an expired or not yet
 *                                                                                       valid CA: expired/not-yet-valid
 *   validity-at-signing signer valid at the signingTime attribute (if present)         expired / not-yet-valid
 *   validity-now        signer valid at `now`                                          expired / not-yet-valid
 *   key-usage           digitalSignature or nonRepudiation, if keyUsage is present     untrusted
 *   extended-key-usage  emailProtection or anyExtendedKeyUsage, if EKU is present      untrusted
 *   email               a signer address equals a From address (RFC 8550 section 3)    email-mismatch
 *   revocation          signer and intermediates (revocation.ts)                       revoked / revocation-unknown
 *   algorithm           no SHA-1 (policy.rejectSha1), RSA >= policy.minRsaBits, signer weak-algorithm
 *                       and chain; unknown or broken (MD5) algorithms                  unsupported
 *
 * Decisions:
 *
 * - Expired now, valid at signing: status 'expired', with validity-at-signing 'pass' saying so. The signingTime
 *   attribute is the signer's own claim, not a trusted timestamp (RFC 5652 section 11.3 gives it no proof), so a key
 *   that leaked after expiry could sign with any date; RFC 5280 section 6.1.3 validates at the current time; and
 *   Thunderbird/NSS show such signatures as expired. The UI can soften the wording with the passing check.
 * - Revocation: without a RevocationChecker the check is 'skipped' and the status is decided by the other checks.
 *   A certificate that names no OCSP responder and no CRL is 'skipped' too ("no revocation information"): nobody can
 *   check it, and warning on every such signature would teach users to ignore warnings. A check that was possible
 *   and failed is 'revocation-unknown', never 'valid'. Revocation is not checked for a signature that does not
 *   verify (AIA is not fetched for it either) nor for a chain that reaches no trust anchor: the answer could not make
 *   the status better, it would be signed by keys nobody vouches for, and it would let junk mail drive fetches.
 * - Detached signatures that carry their own eContent (Thunderbird's mismatch-econtent test) are 'invalid-signature':
 *   the signer signed the embedded content, not the MIME part shown, and we refuse to choose between them.
 * - Line endings: a detached signature is verified over the canonical form of the signed part (RFC 8551 section
 *   3.1.1: lines end in CRLF), and only over it. The caller passes the part's raw bytes unchanged; when they hold bare
 *   LF line endings (a store that rewrote them, or a part taken out of an eContent or a decrypted entity that was
 *   kept with LF), each bare LF is read as CRLF before hashing, which is what OpenSSL and Thunderbird do. The LF form
 *   itself is never verified: a signature computed over LF text (NSS's "LF-digest artefact" in the corpus) is
 *   'invalid-signature' whichever form it arrives in, so there is only ever one byte string that counts as the
 *   signed content. Opaque eContent is verified exactly as it is: it is the signed octets themselves.
 * - Input that is not a signed-data ContentInfo at all (or whose outer ContentInfo cannot be read) throws SmimeError
 *   CMS_MALFORMED; input over MAX_SIGNED_DATA_BYTES throws CMS_TOO_LARGE. A signed-data whose inside is damaged
 *   returns a result with one 'malformed' signature, and a SignedData without SignerInfo (certificates-only) too.
 *   Nothing else is thrown on bad input.
 * - Signed attributes are verified over their DER re-encoding (RFC 5652 section 5.4); if the sender's own encoding
 *   differs (unsorted SET OF, BER lengths) and the DER form fails, the bytes as sent are tried too: both are the same
 *   attribute values, so this accepts nothing new, and it matches what OpenSSL and Bouncy Castle tolerate.
 */
import { SmimeError } from '../../errors.ts';
import { BerError, concatBytes, type Tlv } from '../../asn1/reader.ts';
import { MAX_SIGNED_DATA_BYTES } from '../../limits.ts';
import { signedDataNode, signedDataParts, type SignedDataParts, type SignerInfoParts } from './read.ts';
import type { CertificateFacts } from '../../x509/certificate.ts';
import type { PathRevocationChecker } from '../../x509/revocation.ts';
import type { Fetcher, SignatureEvidence } from '../../types.ts';
import { Evidence, malformed, type Context, type Settings } from './verify-evidence.ts';
import {
  capabilities,
  contentTypeCheck,
  digestCheck,
  findSigner,
  signatureCheck,
  signingTimeOf,
  structure,
} from './verify-signer-info.ts';
import {
  algorithmCheck,
  chainCheck,
  emailCheck,
  parsedPath,
  revocationCheck,
  summary,
  usageChecks,
  validityChecks,
} from './verify-signer-certificate.ts';

export interface VerifyPolicy {
  /** SHA-1 digests or signatures anywhere (signer or chain) make the signature 'weak-algorithm'. */
  rejectSha1: boolean;
  /**
   * With rejectSha1: SHA-1 in the signature itself (not in the chain) is accepted, with a warning, when the signature
   * claims a signingTime before this instant (an archive of mail signed when SHA-1 was still usual). The signing
   * time is the signer's claim, so this is an administrator's choice, off by default.
   */
  sha1SignedBefore?: Date;
  /** RSA keys below this (signer or chain, anchor included) make the signature 'weak-algorithm'. */
  minRsaBits: number;
}

export interface VerifyOptions {
  /** DER roots (SMIME_TRUST_ANCHORS bundle; optionally system roots, the caller decides). */
  trustAnchors: Uint8Array[];
  /** Extra certificates known to the stores (the message's certificates are used automatically). */
  intermediates?: Uint8Array[];
  /** The From header's addresses (lowercase) for the RFC 8550 section 3 email check; absent: check skipped. */
  fromAddresses?: string[];
  /**
   * Why the message's From cannot be compared with a signer (it does not name exactly one plain address,
   * mime/address.ts plainSender): the email check then fails, the signature is never 'valid' (issue 12).
   */
  fromProblem?: string;
  /** Default new Date(). */
  now?: Date;
  /** Absent: the revocation check is 'skipped'. */
  revocation?: PathRevocationChecker;
  /** For AIA caIssuers downloads when the chain is incomplete. */
  fetcher?: Fetcher;
  policy?: Partial<VerifyPolicy>;
  /**
   * Certificates already known for the sender (harvested, exchanged, from the directory), asked for only when a
   * SignerInfo names a certificate the message does not carry (senders may leave certificates out, RFC 8551
   * section 2.4.1): the signer is then matched among them by issuer and serial or subject key identifier, with the
   * chain stored beside each. Called with the From addresses.
   */
  knownSigners?: (from: readonly string[]) => Promise<readonly KnownSigner[]>;
}

/** A certificate known for a sender, and the chain stored with it (issuer first). */
export interface KnownSigner {
  certificate: Uint8Array;
  chain: readonly Uint8Array[];
}

export interface SignedDataResult {
  signatures: SignatureEvidence[];
  /** eContent for opaque signed-data. */
  content?: Uint8Array;
  /** DER of the certificates the message carries. */
  certificates: Uint8Array[];
}

export const DEFAULT_POLICY: Readonly<VerifyPolicy> = { rejectSha1: true, minRsaBits: 2048 };

const OPTION_KEYS = new Set([
  'trustAnchors',
  'intermediates',
  'fromAddresses',
  'fromProblem',
  'now',
  'revocation',
  'fetcher',
  'policy',
  'knownSigners',
]);

/** The policy options: DEFAULT_POLICY's, and the optional ones it leaves unset. */
const POLICY_KEYS: ReadonlySet<string> = new Set([...Object.keys(DEFAULT_POLICY), 'sha1SignedBefore']);

function settings(options: VerifyOptions): Settings {
  if (!options || typeof options !== 'object') throw new TypeError('verifySignedData: options are required');
  for (const key of Object.keys(options))
    if (!OPTION_KEYS.has(key)) throw new TypeError(`verifySignedData: unknown option ${key}`);
  if (!Array.isArray(options.trustAnchors)) throw new TypeError('verifySignedData: trustAnchors must be an array');
  const policy = { ...DEFAULT_POLICY, ...options.policy };
  for (const key of Object.keys(policy))
    if (!POLICY_KEYS.has(key)) throw new TypeError(`verifySignedData: unknown policy option ${key}`);
  if (policy.sha1SignedBefore !== undefined && !(policy.sha1SignedBefore instanceof Date))
    throw new TypeError('verifySignedData: policy.sha1SignedBefore must be a Date');
  return {
    anchors: options.trustAnchors,
    intermediates: options.intermediates ?? [],
    ...(options.fromAddresses ? { from: options.fromAddresses.map((a) => a.toLowerCase()) } : {}),
    ...(options.fromProblem ? { fromProblem: options.fromProblem } : {}),
    now: options.now ?? new Date(),
    ...(options.revocation ? { revocation: options.revocation } : {}),
    ...(options.fetcher ? { fetcher: options.fetcher } : {}),
    ...(options.knownSigners ? { knownSigners: options.knownSigners } : {}),
    policy,
  };
}

/**
 * One SignerInfo's evidence, in the order of the table in the header: structure and signer lookup, the signed
 * attributes (message digest, content type), the signature, then the signer's certificate (chain, validity, usage,
 * email, revocation) and the algorithm policy.
 */
async function evaluate(si: SignerInfoParts, ctx: Context): Promise<SignatureEvidence> {
  const s = ctx.settings;
  const ev = new Evidence();
  const problem = structure(si, ctx.eContentType);
  if (problem) {
    ev.add('structure', 'fail', problem, 'malformed');
    return { status: ev.status(), chain: [], checks: ev.checks };
  }
  const signer = await locateSigner(si, ctx);
  ev.add(
    'structure',
    'pass',
    signer
      ? 'SignedData and SignerInfo are well formed; signer certificate found'
      : 'SignedData and SignerInfo are well formed',
  );
  const attrs = si.signedAttrs?.attributes ?? [];
  const digestAlg = digestCheck(ev, si, ctx);
  contentTypeCheck(ev, si, ctx.eContentType);
  const { scheme, ok: signatureOk } = signatureCheck(ev, si, ctx, signer, digestAlg);
  const { signingTime, present: hasTimeAttribute } = signingTimeOf(ev, attrs);
  const caps = capabilities(attrs);
  const base = {
    ...(digestAlg ? { digestAlgorithm: digestAlg } : {}),
    ...(scheme ? { signatureAlgorithm: scheme.name } : {}),
    ...(signingTime ? { signingTime: signingTime.toISOString() } : {}),
    ...(caps ? { capabilities: caps } : {}),
  };
  const algorithms = { ...(digestAlg ? { digest: digestAlg } : {}), ...(scheme ? { scheme } : {}) };

  if (!signer) {
    ev.add('chain', 'unknown', 'no signer certificate', 'untrusted');
    algorithmCheck(ev, { ...algorithms, signingTime, chain: [] }, s.policy);
    return { chain: [], ...base, ...ev.outcome() };
  }
  // AIA downloads only for a signature that verified (see the header).
  const built = await chainCheck(
    ev,
    signer,
    ctx,
    signatureOk && !ev.has('malformed', 'unsupported', 'invalid-signature'),
  );
  const path = parsedPath(built.chain);
  validityChecks(ev, signer, signingTime, hasTimeAttribute, s.now);
  usageChecks(ev, signer);
  const signerSummary = summary(signer);
  emailCheck(ev, signerSummary?.emails ?? [], s);
  await revocationCheck(ev, signer, built, s);
  algorithmCheck(ev, { ...algorithms, signingTime, signer, chain: path }, s.policy);

  return {
    ...(signerSummary ? { signer: signerSummary } : {}),
    signerCertificate: signer.der,
    chain: path
      .map(summary)
      .filter((c): c is NonNullable<typeof c> => c !== undefined)
      .map(({ keyAlgorithm: _k, keySize: _s, ...rest }) => rest),
    chainCertificates: built.chain,
    ...base,
    ...ev.outcome(),
  };
}

/**
 * Verifies every SignerInfo of a CMS SignedData. `signedContent`: for multipart/signed, the exact raw bytes of the
 * first part (RFC 8551 section 3.5.3), passed unchanged; absent for opaque signed-data, whose eContent is verified
 * and returned as `content`.
 */
export async function verifySignedData(
  cms: Uint8Array,
  signedContent: Uint8Array | undefined,
  options: VerifyOptions,
): Promise<SignedDataResult> {
  const s = settings(options);
  if (!(cms instanceof Uint8Array)) throw new TypeError('verifySignedData: cms must be a Uint8Array');
  if (cms.length > MAX_SIGNED_DATA_BYTES)
    throw new SmimeError('CMS_TOO_LARGE', `The signed message exceeds ${MAX_SIGNED_DATA_BYTES} bytes`);
  let node: Tlv;
  try {
    node = signedDataNode(cms);
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
    throw new SmimeError('CMS_MALFORMED', `Not a CMS signed-data message (${e.message})`, { cause: e });
  }
  let parts: SignedDataParts;
  try {
    parts = signedDataParts(node);
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
    return { signatures: [malformed(`the SignedData cannot be read: ${e.message}`)], certificates: [] };
  }
  const detached = signedContent !== undefined;
  let content: Uint8Array;
  let canonicalized = false;
  if (detached) ({ bytes: content, converted: canonicalized } = canonicalLineEndings(signedContent));
  else if (parts.eContent) {
    // A plain Uint8Array view (no copy for DER), whatever subclass (Buffer) the caller handed in.
    const c = concatBytes(parts.eContent);
    content = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
  } else
    return {
      signatures: [malformed('detached signature without the signed content')],
      certificates: parts.certificates,
    };
  if (parts.signerInfos.length === 0) {
    return {
      signatures: [malformed('no SignerInfo: a certificates-only message, not a signature')],
      ...(detached ? {} : { content }),
      certificates: parts.certificates,
    };
  }
  const ctx: Context = {
    content,
    canonicalized,
    embeddedContent: detached && parts.eContent !== undefined,
    eContentType: parts.eContentType,
    messageCertificates: parts.certificates,
    pool: [...parts.certificates, ...s.intermediates],
    settings: s,
    digests: new Map(),
  };
  const signatures: SignatureEvidence[] = [];
  for (const si of parts.signerInfos)
    signatures.push(si.ok ? await evaluate(si.value, ctx) : malformed(`SignerInfo cannot be read: ${si.error}`));
  return { signatures, ...(detached ? {} : { content }), certificates: parts.certificates };
}

/**
 * The signer's certificate: in the message, among the stores' intermediates, or among the certificates already known
 * for the sender (knownSigners; a certless signature, issue 14). A known certificate brings its stored chain into the
 * pool the path is built from; trust is then decided as for any other signer.
 */
async function locateSigner(si: SignerInfoParts, ctx: Context): Promise<CertificateFacts | undefined> {
  const s = ctx.settings;
  const found = findSigner(si, ctx.messageCertificates) ?? findSigner(si, s.intermediates);
  if (found || !s.knownSigners) return found;
  const known = await s.knownSigners(s.from ?? []);
  const signer = findSigner(
    si,
    known.map((k) => k.certificate),
  );
  const chain = signer ? known.find((k) => Buffer.compare(k.certificate, signer.der) === 0)?.chain : undefined;
  if (chain) ctx.pool.push(...chain);
  return signer;
}

/** Bare LF -> CRLF (RFC 8551 section 3.1.1 canonical form). Returns the input itself when there is none. */
function canonicalLineEndings(bytes: Uint8Array): { bytes: Uint8Array; converted: boolean } {
  let bare = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1))
    if (i === 0 || bytes[i - 1] !== 0x0d) bare++;
  if (bare === 0) return { bytes, converted: false };
  const out = new Uint8Array(bytes.length + bare);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) out[n++] = 0x0d;
    out[n++] = b;
  }
  return { bytes: out, converted: true };
}
