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
 *   chain               path to a trust anchor (trust.ts)                              untrusted; an expired or not yet
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
import { describeCertificate } from '../x509/describe.ts';
import { SmimeError } from '../errors.ts';
import {
  BerError,
  children,
  concatBytes,
  encoding,
  octets,
  oid,
  sequence,
  time,
  type Tlv,
} from '../asn1/reader.ts';
import { reencode, setOf, toBytes } from '../asn1/writer.ts';
import {
  digest,
  digestName,
  publicKey,
  signatureScheme,
  UnsupportedAlgorithmError,
  verifySignature,
  type SignatureScheme,
} from '../crypto/signature-algorithms.ts';
import { keyIdentifier, sameBytes, validityAt, type CertificateFacts } from '../x509/certificate.ts';
import { MAX_SIGNED_DATA_BYTES } from '../limits.ts';
import {
  signedDataNode,
  signedDataParts,
  type Attribute,
  type SignedDataParts,
  type SignerInfoParts,
} from './signed-data.ts';
import {
  type HashName,
  OID_AES128_CBC,
  OID_AES128_GCM,
  OID_AES192_CBC,
  OID_AES192_GCM,
  OID_AES256_CBC,
  OID_AES256_GCM,
  OID_ANY_EXTENDED_KEY_USAGE,
  OID_CONTENT_TYPE,
  OID_DATA,
  OID_DES_EDE3_CBC,
  OID_KP_EMAIL_PROTECTION,
  OID_MESSAGE_DIGEST,
  OID_SIGNING_TIME,
  OID_SMIME_CAPABILITIES,
} from '../asn1/oids.ts';
import type { RevocationChecker } from '../x509/revocation.ts';
import { buildChain, parsedCertificate, type ChainProblem } from '../x509/chain.ts';
import type { CertificateSummary, Check, CheckName, Fetcher, SignatureEvidence, SignatureStatus } from '../types.ts';
import { SIGNATURE_STATUSES } from '../types.ts';

export interface VerifyPolicy {
  /** SHA-1 digests or signatures anywhere (signer or chain) make the signature 'weak-algorithm'. */
  rejectSha1: boolean;
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
  revocation?: RevocationChecker;
  /** For AIA caIssuers downloads when the chain is incomplete. */
  fetcher?: Fetcher;
  policy?: Partial<VerifyPolicy>;
}

export interface SignedDataResult {
  signatures: SignatureEvidence[];
  /** eContent for opaque signed-data. */
  content?: Uint8Array;
  /** DER of the certificates the message carries. */
  certificates: Uint8Array[];
}

export const DEFAULT_POLICY: Readonly<VerifyPolicy> = { rejectSha1: true, minRsaBits: 2048 };

const OPTION_KEYS = new Set(['trustAnchors', 'intermediates', 'fromAddresses', 'fromProblem', 'now', 'revocation', 'fetcher', 'policy']);

/** RFC 3565 and RFC 5084 content ciphers a correspondent may announce, in our names (outgoing.ts). */
const CAPABILITY_NAMES: Readonly<Record<string, string>> = {
  [OID_AES128_CBC]: 'aes-128-cbc',
  [OID_AES192_CBC]: 'aes-192-cbc',
  [OID_AES256_CBC]: 'aes-256-cbc',
  [OID_AES128_GCM]: 'aes-128-gcm',
  [OID_AES192_GCM]: 'aes-192-gcm',
  [OID_AES256_GCM]: 'aes-256-gcm',
  [OID_DES_EDE3_CBC]: 'des-ede3-cbc',
};

const SCHEME_LABELS: Readonly<Record<SignatureScheme['name'], string>> = {
  'rsa-pkcs1-v1_5': 'RSA PKCS#1 v1.5',
  'rsa-pss': 'RSA-PSS',
  ecdsa: 'ECDSA',
  ed25519: 'Ed25519',
};

interface Settings {
  anchors: Uint8Array[];
  intermediates: Uint8Array[];
  from?: string[];
  fromProblem?: string;
  now: Date;
  revocation?: RevocationChecker;
  fetcher?: Fetcher;
  policy: VerifyPolicy;
}

function settings(options: VerifyOptions): Settings {
  if (!options || typeof options !== 'object') throw new TypeError('verifySignedData: options are required');
  for (const key of Object.keys(options)) if (!OPTION_KEYS.has(key)) throw new TypeError(`verifySignedData: unknown option ${key}`);
  if (!Array.isArray(options.trustAnchors)) throw new TypeError('verifySignedData: trustAnchors must be an array');
  const policy = { ...DEFAULT_POLICY, ...options.policy };
  for (const key of Object.keys(policy)) if (!(key in DEFAULT_POLICY)) throw new TypeError(`verifySignedData: unknown policy option ${key}`);
  return {
    anchors: options.trustAnchors,
    intermediates: options.intermediates ?? [],
    ...(options.fromAddresses ? { from: options.fromAddresses.map((a) => a.toLowerCase()) } : {}),
    ...(options.fromProblem ? { fromProblem: options.fromProblem } : {}),
    now: options.now ?? new Date(),
    ...(options.revocation ? { revocation: options.revocation } : {}),
    ...(options.fetcher ? { fetcher: options.fetcher } : {}),
    policy,
  };
}

function malformed(detail: string): SignatureEvidence {
  return { status: 'malformed', chain: [], checks: [{ name: 'structure', outcome: 'fail', detail }] };
}

/** One SignerInfo's checks and the statuses they imply. */
class Evidence {
  readonly checks: Check[] = [];
  private readonly statuses: SignatureStatus[] = [];

  add(name: CheckName, outcome: Check['outcome'], detail: string, status?: SignatureStatus): void {
    this.checks.push({ name, outcome, detail });
    if (status) this.statuses.push(status);
  }

  flag(status: SignatureStatus): void {
    this.statuses.push(status);
  }

  has(...statuses: SignatureStatus[]): boolean {
    return this.statuses.some((s) => statuses.includes(s));
  }

  status(): SignatureStatus {
    let worst: SignatureStatus = 'valid';
    for (const s of this.statuses) if (SIGNATURE_STATUSES.indexOf(s) < SIGNATURE_STATUSES.indexOf(worst)) worst = s;
    return worst;
  }
}

interface Context {
  content: Uint8Array;
  /** The detached content had bare LF line endings, read as CRLF. */
  canonicalized: boolean;
  /** Detached signature whose SignedData nevertheless carries eContent. */
  embeddedContent: boolean;
  eContentType: string;
  messageCertificates: Uint8Array[];
  pool: Uint8Array[];
  settings: Settings;
  digests: Map<HashName, Uint8Array>;
}

function single(attrs: Attribute[], type: string): { value?: Tlv; error?: string } {
  const found = attrs.filter((a) => a.oid === type);
  if (found.length === 0) return {};
  // RFC 5652 section 11.1-11.3: at most one instance, and exactly one value.
  if (found.length > 1 || found[0]!.values.length !== 1) return { error: `signed attribute ${type} must occur once with one value` };
  return { value: found[0]!.values[0]! };
}

function structure(si: SignerInfoParts, eContentType: string): string | undefined {
  // RFC 5652 section 5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  const expected = si.sid.kind === 'issuer-serial' ? 1 : 3;
  if (si.version !== expected) return `SignerInfo version ${si.version} does not match its ${si.sid.kind === 'issuer-serial' ? 'issuerAndSerialNumber' : 'subjectKeyIdentifier'} (expected ${expected})`;
  if (!si.signedAttrs) {
    if (eContentType !== OID_DATA) return 'signed attributes are required when the content is not id-data (RFC 5652 section 5.3)';
    return undefined;
  }
  const attrs = si.signedAttrs.attributes;
  for (const type of [OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_TIME]) {
    const s = single(attrs, type);
    if (s.error) return s.error;
  }
  if (!single(attrs, OID_CONTENT_TYPE).value) return 'the contentType signed attribute is missing (RFC 5652 section 11.1)';
  if (!single(attrs, OID_MESSAGE_DIGEST).value) return 'the messageDigest signed attribute is missing (RFC 5652 section 11.2)';
  return undefined;
}

function findSigner(si: SignerInfoParts, candidates: Uint8Array[]): { der: Uint8Array; facts: CertificateFacts } | undefined {
  for (const der of candidates) {
    const facts = parsedCertificate(der);
    if (!facts) continue;
    const match =
      si.sid.kind === 'issuer-serial'
        ? sameBytes(si.sid.issuer, facts.issuer) && sameBytes(si.sid.serial, facts.serial)
        : sameBytes(si.sid.keyId, keyIdentifier(facts)) || sameBytes(si.sid.keyId, facts.subjectKeyId);
    if (match) return { der, facts };
  }
  return undefined;
}

/** The DER encodings of the signed attributes to verify over: DER first, then the bytes as sent if they differ. */
function signedAttributesInputs(node: Tlv): Uint8Array[] {
  const asSent = new Uint8Array(encoding(node));
  asSent[0] = 0x31; // [0] IMPLICIT -> SET OF (RFC 5652 section 5.4)
  let canonical: Uint8Array | undefined;
  try {
    canonical = toBytes(setOf(children(node).map(reencode)));
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
  }
  if (!canonical) return node.indefinite ? [] : [asSent];
  return sameBytes(canonical, asSent) || node.indefinite ? [canonical] : [canonical, asSent];
}

function capabilities(attrs: Attribute[]): string[] | undefined {
  const s = single(attrs, OID_SMIME_CAPABILITIES);
  if (!s.value) return undefined;
  try {
    const out: string[] = [];
    for (const cap of sequence(s.value, 'SMIMECapabilities')) {
      const name = CAPABILITY_NAMES[oid(sequence(cap, 'SMIMECapability')[0], 'capabilityID')];
      if (name && !out.includes(name)) out.push(name);
    }
    return out;
  } catch (e) {
    if (e instanceof BerError) return undefined; // an optional hint; a broken one is ignored, not fatal
    throw e;
  }
}

type SignerSummary = CertificateSummary & { keyAlgorithm: string; keySize: number };

/** Certificate descriptions by DER (asn1js parsing is the slowest part of a verification otherwise). */
const SUMMARY_CACHE_ENTRIES = 512;
const summaries = new Map<string, SignerSummary | null>();

function summary(der: Uint8Array): SignerSummary | undefined {
  const key = Buffer.from(der.buffer, der.byteOffset, der.length).toString('base64');
  let s = summaries.get(key);
  if (s === undefined) {
    s = describe(der) ?? null;
    summaries.set(key, s);
    if (summaries.size > SUMMARY_CACHE_ENTRIES) summaries.delete(summaries.keys().next().value!);
  }
  return s ? { ...s, emails: [...s.emails] } : undefined;
}

function describe(der: Uint8Array): SignerSummary | undefined {
  try {
    const d = describeCertificate(der);
    return {
      subject: d.subject,
      issuer: d.issuer,
      serialNumber: d.serialNumber,
      fingerprintSha256: d.fingerprintSha256,
      notBefore: d.notBefore.toISOString(),
      notAfter: d.notAfter.toISOString(),
      emails: d.emails,
      keyAlgorithm: d.keyAlgorithm,
      keySize: d.keySize,
    };
  } catch {
    return undefined;
  }
}

function validityDetail(cert: CertificateFacts, outcome: ReturnType<typeof validityAt>, at: Date, what: string): string {
  if (outcome === 'valid') return `valid at ${what} (${at.toISOString()}; ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`;
  if (outcome === 'expired') return `expired on ${cert.notAfter.toISOString()}, before ${what} (${at.toISOString()})`;
  return `not valid before ${cert.notBefore.toISOString()}, after ${what} (${at.toISOString()})`;
}

function chainStatus(problem: ChainProblem): SignatureStatus {
  if (problem.code === 'expired') return 'expired';
  if (problem.code === 'not-yet-valid') return 'not-yet-valid';
  return 'untrusted';
}

function describeProblem(p: ChainProblem): string {
  return `${p.subject}: ${p.detail}`;
}

async function revocationCheck(ev: Evidence, signer: CertificateFacts, chain: Uint8Array[], anchor: Uint8Array | undefined, s: Settings): Promise<void> {
  if (!s.revocation) return ev.add('revocation', 'skipped', 'revocation checking is off');
  if (ev.has('malformed', 'unsupported', 'invalid-signature')) return ev.add('revocation', 'skipped', 'not checked: the signature itself is not valid');
  // Answers about an untrusted chain would be signed by keys we have no reason to believe, and fetching them would
  // let any sender point us at URLs of their choice.
  if (!anchor) return ev.add('revocation', 'skipped', 'not checked: the chain does not reach a trust anchor');
  const r = await s.revocation.checkPath([signer.der, ...chain], s.now, (i) => (i === 0 ? 'signer' : `intermediate ${i}`));
  if (r.status === 'revoked') return ev.add('revocation', 'fail', r.detail, 'revoked');
  if (r.status === 'unknown') return ev.add('revocation', 'unknown', r.detail, 'revocation-unknown');
  if (r.status === 'none') return ev.add('revocation', 'skipped', r.detail);
  return ev.add('revocation', 'pass', r.detail);
}

function algorithmCheck(ev: Evidence, parts: { digest?: HashName; scheme?: SignatureScheme; signer?: CertificateFacts; chain: Uint8Array[] }, policy: VerifyPolicy): void {
  const weak: string[] = [];
  const used: string[] = [];
  if (parts.digest) used.push(parts.digest);
  if (parts.scheme) used.push(SCHEME_LABELS[parts.scheme.name]);
  if (policy.rejectSha1 && (parts.digest === 'sha1' || parts.scheme?.hash === 'sha1')) weak.push('SHA-1 in the signature');
  const path = parts.signer ? [parts.signer, ...parts.chain.map(parsedCertificate).filter((c): c is CertificateFacts => c !== undefined)] : [];
  path.forEach((cert, i) => {
    const who = i === 0 ? 'signer certificate' : i === path.length - 1 && i > 0 ? 'chain certificate (anchor)' : `chain certificate ${i}`;
    try {
      const key = publicKey(cert.spki);
      if (i === 0) used.push(`${key.type}${key.bits ? ` ${key.bits}` : ''}`);
      if (key.type === 'RSA' && key.bits < policy.minRsaBits) weak.push(`${who}: RSA ${key.bits} bits (minimum ${policy.minRsaBits})`);
    } catch (e) {
      if (!(e instanceof UnsupportedAlgorithmError)) throw e;
    }
    // The certificate's own signature matters for every link; an anchor's self-signature proves nothing either way.
    const isAnchor = i === path.length - 1 && i > 0;
    if (!isAnchor && policy.rejectSha1) {
      try {
        if (signatureScheme(cert.signatureAlgorithm).hash === 'sha1') weak.push(`${who}: signed with SHA-1`);
      } catch (e) {
        // Unsupported or malformed algorithms have already failed the chain check.
        if (!(e instanceof UnsupportedAlgorithmError || e instanceof BerError)) throw e;
      }
    }
  });
  if (weak.length) ev.add('algorithm', 'fail', weak.join('; '), 'weak-algorithm');
  else ev.add('algorithm', 'pass', used.join(', '));
}

async function evaluate(si: SignerInfoParts, ctx: Context): Promise<SignatureEvidence> {
  const s = ctx.settings;
  const ev = new Evidence();
  const problem = structure(si, ctx.eContentType);
  if (problem) {
    ev.add('structure', 'fail', problem, 'malformed');
    return { status: ev.status(), chain: [], checks: ev.checks };
  }
  const signer = findSigner(si, ctx.messageCertificates) ?? findSigner(si, s.intermediates);
  ev.add('structure', 'pass', signer ? 'SignedData and SignerInfo are well formed; signer certificate found' : 'SignedData and SignerInfo are well formed');
  const attrs = si.signedAttrs?.attributes ?? [];

  // Digest of the content (computed once per algorithm for all SignerInfos).
  let digestAlg: HashName | undefined;
  try {
    digestAlg = digestName(si.digestAlgorithm);
  } catch (e) {
    if (!(e instanceof UnsupportedAlgorithmError || e instanceof BerError)) throw e;
    ev.add('message-digest', 'unknown', e.message, e instanceof BerError ? 'malformed' : 'unsupported');
  }
  const lineEndings = ctx.canonicalized ? ' (bare LF line endings read as CRLF, the canonical form)' : '';
  if (digestAlg) {
    let contentDigest = ctx.digests.get(digestAlg);
    if (!contentDigest) ctx.digests.set(digestAlg, (contentDigest = digest(digestAlg, ctx.content)));
    if (ctx.embeddedContent) {
      ev.add('message-digest', 'fail', 'the detached signature carries its own content (eContent): what was signed is not necessarily the part shown', 'invalid-signature');
    } else if (si.signedAttrs) {
      const value = single(attrs, OID_MESSAGE_DIGEST).value!;
      let claimed: Uint8Array | undefined;
      try {
        claimed = octets(value, 'messageDigest');
      } catch (e) {
        if (!(e instanceof BerError)) throw e;
      }
      if (!claimed) ev.add('message-digest', 'fail', 'the messageDigest attribute is not an OCTET STRING', 'malformed');
      else if (sameBytes(claimed, contentDigest)) ev.add('message-digest', 'pass', `${digestAlg} of the content matches the messageDigest attribute${lineEndings}`);
      else ev.add('message-digest', 'fail', `${digestAlg} of the content differs from the messageDigest attribute: the content was changed${lineEndings}`, 'invalid-signature');
    } else {
      ev.add('message-digest', 'skipped', 'no signed attributes: the signature covers the content directly');
    }
  }

  // RFC 5652 section 11.1: the contentType attribute must equal eContentType.
  if (si.signedAttrs) {
    let type: string | undefined;
    try {
      type = oid(single(attrs, OID_CONTENT_TYPE).value, 'contentType');
    } catch (e) {
      if (!(e instanceof BerError)) throw e;
    }
    if (type === undefined) ev.add('content-type', 'fail', 'the contentType attribute is not an OBJECT IDENTIFIER', 'malformed');
    else if (type === ctx.eContentType) ev.add('content-type', 'pass', `contentType ${type} matches eContentType`);
    else ev.add('content-type', 'fail', `contentType attribute ${type} differs from eContentType ${ctx.eContentType}`, 'invalid-signature');
  } else ev.add('content-type', 'skipped', 'no signed attributes');

  // The signature itself.
  let scheme: SignatureScheme | undefined;
  try {
    scheme = signatureScheme(si.signatureAlgorithm, digestAlg);
  } catch (e) {
    if (!(e instanceof UnsupportedAlgorithmError || e instanceof BerError)) throw e;
    ev.add('signature', 'unknown', e.message, e instanceof BerError ? 'malformed' : 'unsupported');
  }
  let signatureOk = false;
  if (scheme) {
    if (!signer) {
      ev.add('signature', 'unknown', 'the signer certificate is neither in the message nor among the known certificates', 'untrusted');
    } else {
      let key: ReturnType<typeof publicKey> | undefined;
      try {
        key = publicKey(signer.facts.spki);
      } catch (e) {
        if (!(e instanceof UnsupportedAlgorithmError)) throw e;
        ev.add('signature', 'unknown', `signer key: ${e.message}`, 'unsupported');
      }
      if (key) {
        const inputs = si.signedAttrs ? signedAttributesInputs(si.signedAttrs.node) : [ctx.content];
        signatureOk = inputs.some((data) => verifySignature(scheme!, key!, data, si.signature));
        const label = `${SCHEME_LABELS[scheme.name]}${scheme.hash ? ` with ${scheme.hash}` : ''}`;
        if (signatureOk) ev.add('signature', 'pass', `${label} signature ${si.signedAttrs ? 'over the signed attributes' : 'over the content'} verifies`);
        else ev.add('signature', 'fail', `${label} signature does not verify with the signer's key`, 'invalid-signature');
      }
    }
  }

  let signingTime: Date | undefined;
  const timeAttr = single(attrs, OID_SIGNING_TIME).value;
  if (timeAttr) {
    try {
      signingTime = time(timeAttr, 'signingTime');
    } catch (e) {
      if (!(e instanceof BerError)) throw e;
      ev.add('validity-at-signing', 'fail', 'the signingTime attribute is not a valid time', 'malformed');
    }
  }
  const caps = capabilities(attrs);
  const base = {
    ...(digestAlg ? { digestAlgorithm: digestAlg } : {}),
    ...(scheme ? { signatureAlgorithm: scheme.name } : {}),
    ...(signingTime ? { signingTime: signingTime.toISOString() } : {}),
    ...(caps ? { capabilities: caps } : {}),
  };

  if (!signer) {
    ev.add('chain', 'unknown', 'no signer certificate', 'untrusted');
    algorithmCheck(ev, { ...(digestAlg ? { digest: digestAlg } : {}), ...(scheme ? { scheme } : {}), chain: [] }, s.policy);
    return { status: ev.status(), chain: [], ...base, checks: ev.checks };
  }

  // Chain. AIA downloads only for a signature that verified (see the header).
  const cryptoOk = signatureOk && !ev.has('malformed', 'unsupported', 'invalid-signature');
  const built = await buildChain(signer.der, ctx.pool, s.anchors, { now: s.now, ...(cryptoOk && s.fetcher ? { fetcher: s.fetcher } : {}) });
  // The leaf's own validity is reported by validity-now below, not twice.
  const chainProblems = built.problems.filter((p) => !(p.index === 0 && (p.code === 'expired' || p.code === 'not-yet-valid')));
  if (built.anchor && chainProblems.length === 0) {
    ev.add('chain', 'pass', `chains to trust anchor ${summary(built.anchor)?.subject ?? '(anchor)'} through ${Math.max(0, built.chain.length - 1)} intermediate(s)`);
  } else {
    ev.add('chain', 'fail', chainProblems.map(describeProblem).join('; ') || 'no path to a trust anchor');
    for (const p of chainProblems) ev.flag(chainStatus(p));
    if (!built.anchor) ev.flag('untrusted');
  }

  // Validity of the signer certificate: at the claimed signing time and now.
  if (signingTime) {
    const at = validityAt(signer.facts, signingTime);
    const detail = validityDetail(signer.facts, at, signingTime, 'the claimed signing time');
    if (at === 'valid') ev.add('validity-at-signing', 'pass', `${detail}; the signing time is the signer's claim, not a trusted timestamp`);
    else ev.add('validity-at-signing', 'fail', detail, at);
  } else if (!timeAttr) ev.add('validity-at-signing', 'skipped', 'no signingTime attribute');
  const nowValidity = validityAt(signer.facts, s.now);
  ev.add('validity-now', nowValidity === 'valid' ? 'pass' : 'fail', validityDetail(signer.facts, nowValidity, s.now, 'now'), nowValidity === 'valid' ? undefined : nowValidity);

  // RFC 8550 section 4.4.2 and 4.4.4: key usage and extended key usage of a signing certificate.
  const ku = signer.facts.keyUsage;
  if (!ku) ev.add('key-usage', 'pass', 'no keyUsage extension (not restricted)');
  else if (ku.has('digitalSignature') || ku.has('nonRepudiation')) ev.add('key-usage', 'pass', `keyUsage ${[...ku].join(', ')}`);
  else ev.add('key-usage', 'fail', `keyUsage ${[...ku].join(', ') || '(none)'} allows neither digitalSignature nor nonRepudiation`, 'untrusted');
  const eku = signer.facts.extendedKeyUsage;
  if (!eku) ev.add('extended-key-usage', 'pass', 'no extendedKeyUsage extension (not restricted)');
  else if (eku.includes(OID_KP_EMAIL_PROTECTION) || eku.includes(OID_ANY_EXTENDED_KEY_USAGE)) ev.add('extended-key-usage', 'pass', 'extendedKeyUsage allows email protection');
  else ev.add('extended-key-usage', 'fail', 'extendedKeyUsage does not include emailProtection', 'untrusted');

  // RFC 8550 section 3: the From address must be one of the certificate's addresses.
  const signerSummary = summary(signer.der);
  const emails = signerSummary?.emails ?? [];
  if (s.fromProblem) ev.add('email', 'fail', `${s.fromProblem}: the signer cannot be matched to the sender`, 'email-mismatch');
  else if (!s.from) ev.add('email', 'skipped', 'no From address given');
  else if (s.from.length === 0) ev.add('email', 'skipped', 'the message has no From address');
  else if (s.from.some((a) => emails.includes(a))) ev.add('email', 'pass', `From ${s.from.filter((a) => emails.includes(a)).join(', ')} is in the certificate`);
  else ev.add('email', 'fail', `From ${s.from.join(', ')} is not among the certificate's addresses (${emails.join(', ') || 'none'})`, 'email-mismatch');

  await revocationCheck(ev, signer.facts, built.chain, built.anchor, s);
  algorithmCheck(ev, { ...(digestAlg ? { digest: digestAlg } : {}), ...(scheme ? { scheme } : {}), signer: signer.facts, chain: built.chain }, s.policy);

  return {
    status: ev.status(),
    ...(signerSummary ? { signer: signerSummary } : {}),
    signerCertificate: signer.der,
    chain: built.chain.map(summary).filter((c): c is NonNullable<typeof c> => c !== undefined).map(({ keyAlgorithm: _k, keySize: _s, ...rest }) => rest),
    chainCertificates: built.chain,
    ...base,
    checks: ev.checks,
  };
}

/**
 * Verifies every SignerInfo of a CMS SignedData. `signedContent`: for multipart/signed, the exact raw bytes of the
 * first part (RFC 8551 section 3.5.3), passed unchanged; absent for opaque signed-data, whose eContent is verified
 * and returned as `content`.
 */
export async function verifySignedData(cms: Uint8Array, signedContent: Uint8Array | undefined, options: VerifyOptions): Promise<SignedDataResult> {
  const s = settings(options);
  if (!(cms instanceof Uint8Array)) throw new TypeError('verifySignedData: cms must be a Uint8Array');
  if (cms.length > MAX_SIGNED_DATA_BYTES) throw new SmimeError('CMS_TOO_LARGE', `The signed message exceeds ${MAX_SIGNED_DATA_BYTES} bytes`);
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
  }
  else return { signatures: [malformed('detached signature without the signed content')], certificates: parts.certificates };
  if (parts.signerInfos.length === 0) {
    return { signatures: [malformed('no SignerInfo: a certificates-only message, not a signature')], ...(detached ? {} : { content }), certificates: parts.certificates };
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
  for (const si of parts.signerInfos) signatures.push(si.ok ? await evaluate(si.value, ctx) : malformed(`SignerInfo cannot be read: ${si.error}`));
  return { signatures, ...(detached ? {} : { content }), certificates: parts.certificates };
}

/** Bare LF -> CRLF (RFC 8551 section 3.1.1 canonical form). Returns the input itself when there is none. */
function canonicalLineEndings(bytes: Uint8Array): { bytes: Uint8Array; converted: boolean } {
  let bare = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) if (i === 0 || bytes[i - 1] !== 0x0d) bare++;
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
