/**
 * Signing (issue 3): a CMS SignedData (RFC 5652 section 5) over a MIME entity, as S/MIME 4.0 wants it (RFC 8551
 * section 2): one SignerInfo named by issuerAndSerialNumber, the signed attributes contentType, messageDigest,
 * signingTime, SMIMECapabilities and SMIMEEncryptionKeyPreference, and the signer's certificate and chain.
 *
 * Fails closed: the options, the certificate (validity, key usage) and the key (type, match with the certificate) are
 * all checked before anything is signed, and nothing is returned when a check fails.
 *
 * Pure: bytes, a key and options in, DER out. The content is hashed with node:crypto and, for an opaque signature,
 * placed into the output as is (see write.ts); no ASN.1 tree is built around it.
 */
import {
  constants,
  createHash,
  KeyObject,
  sign as signCallback,
  X509Certificate,
  type SignKeyObjectInput,
} from 'node:crypto';
import { describeCertificate, type CertificateInfo } from '../../x509/describe.ts';
import { SmimeError } from '../../errors.ts';
import { allowsEmailProtection, allowsSigning } from '../../usable.ts';
import {
  DIGESTS,
  isCapabilityName,
  isDigestName,
  signatureAlgorithm,
  type DigestName,
  type SignatureScheme,
  type SmimeCapability,
} from './algorithms.ts';
import { issuerAndSerialOf, signedAttributes, signedAttributesToSign, type IssuerAndSerial } from './attributes.ts';
import { objectIdentifier, toBytes, type Der } from '../../asn1/writer.ts';
import { CertificateCache } from '../../x509/cache.ts';
import { signedDataContentInfoDer, signerInfo } from './write.ts';

export type { DigestName, SmimeCapability, SmimeCapabilityName, CustomCapability } from './algorithms.ts';

export interface Signer {
  /** DER of the signer's certificate. */
  certificate: Uint8Array;
  /** DER of the certificates from the signer's issuer upwards (the root is not needed, but does no harm). */
  chain: Uint8Array[];
  privateKey: KeyObject;
}

export interface SignOptions {
  /**
   * Digest of the content and of the signed attributes. Default 'sha256'; with an Ed25519 key 'sha512', the only one
   * allowed (RFC 8419 section 3.1).
   */
  digest?: DigestName;
  /** RSA signature padding: PKCS#1 v1.5 (read everywhere) or RSASSA-PSS. Default 'pkcs1'. Ignored for EC keys. */
  rsaPadding?: 'pkcs1' | 'pss';
  /** true (default): no eContent, for multipart/signed. false: the content inside (opaque, application/pkcs7-mime). */
  detached?: boolean;
  /** The signingTime attribute. Default: now. The certificate must be valid both then and now. */
  signingTime?: Date;
  /** SMIMECapabilities, most preferred first. Default DEFAULT_CAPABILITIES; [] leaves the attribute out. */
  capabilities?: readonly SmimeCapability[];
  /**
   * DER of the certificate whose key others should encrypt to (SMIMEEncryptionKeyPreference, RFC 8551 section
   * 2.5.3). Default: the signer certificate, unless its key usage rules out encryption (then the attribute is left
   * out rather than pointing others at a key they cannot use).
   */
  encryptionKeyPreference?: Uint8Array;
}

/**
 * What we announce we can decrypt, in preference order (RFC 8551 section 2.5.2): AES-GCM (AuthEnvelopedData,
 * RFC 8551 section 2.7) before AES-CBC, larger keys first; then key encipherment, RSAES-OAEP before PKCS#1 v1.5,
 * and ECDH key agreement (what cms/enveloped decrypts). No 3DES or RC2: announcing them invites weak encryption.
 * ChaCha20-Poly1305 (RFC 8103) is decrypted too but left out (a caller may name it): neither NSS nor OpenSSL 3.0 can
 * open it, and a user who reads mail there as well would get messages they cannot read (issue 14).
 */
export const DEFAULT_CAPABILITIES: readonly SmimeCapability[] = Object.freeze([
  'aes-256-gcm',
  'aes-128-gcm',
  'aes-256-cbc',
  'aes-192-cbc',
  'aes-128-cbc',
  'rsaes-oaep-sha256',
  'rsa-encryption',
  'ecdh-sha256kdf-aes256-wrap',
] as const);

/** micalg parameter of multipart/signed for a digest (RFC 8551 section 3.5.3.2). */
export function micalgOf(digest: DigestName): string {
  return DIGESTS[digest].micalg;
}

/**
 * The digest a signature with `privateKey` uses when `requested` is asked for (undefined: the default). Ed25519 signs
 * the signed attributes itself (PureEdDSA), and RFC 8419 section 3.1 fixes the messageDigest hash to SHA-512 for it;
 * the caller of multipart/signed needs the same answer for micalg ("sha-512").
 */
export function signingDigest(privateKey: unknown, requested: DigestName | undefined): DigestName {
  if (privateKey instanceof KeyObject && privateKey.asymmetricKeyType === 'ed25519') {
    if (requested !== undefined && requested !== 'sha512')
      throw invalid('Ed25519 signs with SHA-512 only (RFC 8419 section 3.1)');
    return 'sha512';
  }
  return requested ?? 'sha256';
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'digest',
  'rsaPadding',
  'detached',
  'signingTime',
  'capabilities',
  'encryptionKeyPreference',
]);

/** node:crypto names of the curves ECDSA signs on here (RFC 5753 section 2.1, RFC 8551 section 2.2). */
const EC_CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

interface ResolvedOptions {
  /** undefined: the default for the key (signingDigest). */
  digest: DigestName | undefined;
  rsaPadding: 'pkcs1' | 'pss' | undefined;
  detached: boolean;
  signingTime: Date;
  capabilities: readonly SmimeCapability[];
  encryptionKeyPreference: Uint8Array | undefined;
}

function invalid(message: string): SmimeError {
  return new SmimeError('SIGN_INVALID_OPTION', message);
}

/** { oid, parameters? } with an OID the DER writer accepts and parameters as bytes (their DER is the caller's). */
function isCustomCapability(cap: unknown): boolean {
  if (typeof cap !== 'object' || cap === null) return false;
  const { oid, parameters } = cap as { oid?: unknown; parameters?: unknown };
  if (typeof oid !== 'string' || !(parameters === undefined || parameters instanceof Uint8Array)) return false;
  try {
    objectIdentifier(oid);
    return true;
  } catch {
    return false;
  }
}

function resolveOptions(options: SignOptions | undefined): ResolvedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw invalid('options must be an object');
  const o = options ?? {};
  for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) throw invalid(`unknown option: ${key}`);
  if (o.digest !== undefined && !isDigestName(o.digest))
    throw invalid(`digest must be one of ${Object.keys(DIGESTS).join(', ')}`);
  if (o.rsaPadding !== undefined && o.rsaPadding !== 'pkcs1' && o.rsaPadding !== 'pss')
    throw invalid("rsaPadding must be 'pkcs1' or 'pss'");
  if (o.detached !== undefined && typeof o.detached !== 'boolean') throw invalid('detached must be a boolean');
  if (o.signingTime !== undefined && !(o.signingTime instanceof Date && Number.isFinite(o.signingTime.getTime()))) {
    throw invalid('signingTime must be a valid Date');
  }
  if (o.capabilities !== undefined) {
    if (!Array.isArray(o.capabilities)) throw invalid('capabilities must be an array');
    for (const cap of o.capabilities as unknown[]) {
      if (!isCapabilityName(cap) && !isCustomCapability(cap))
        throw invalid(`unknown capability: ${JSON.stringify(cap)}`);
    }
  }
  if (o.encryptionKeyPreference !== undefined && !(o.encryptionKeyPreference instanceof Uint8Array)) {
    throw invalid('encryptionKeyPreference must be a DER certificate');
  }
  const signingTime = new Date(Math.floor((o.signingTime ?? new Date()).getTime() / 1000) * 1000);
  return {
    digest: o.digest,
    rsaPadding: o.rsaPadding,
    detached: o.detached ?? true,
    signingTime,
    capabilities: o.capabilities ?? DEFAULT_CAPABILITIES,
    encryptionKeyPreference: o.encryptionKeyPreference,
  };
}

/** The signature scheme for this key, or SIGN_UNSUPPORTED_KEY. */
function schemeFor(key: KeyObject, rsaPadding: 'pkcs1' | 'pss' | undefined): SignatureScheme {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return rsaPadding === 'pss' ? 'rsa-pss' : 'rsa-pkcs1';
    case 'rsa-pss':
      // A key restricted to PSS (id-RSASSA-PSS in its PKCS#8) cannot make PKCS#1 v1.5 signatures.
      if (rsaPadding === 'pkcs1')
        throw new SmimeError('SIGN_UNSUPPORTED_KEY', 'This RSA key may only sign with RSASSA-PSS');
      return 'rsa-pss';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === undefined || !EC_CURVES.has(curve)) {
        throw new SmimeError('SIGN_UNSUPPORTED_KEY', `ECDSA on ${curve ?? 'an unnamed curve'} is not supported`);
      }
      return 'ecdsa';
    }
    case 'ed25519':
      return 'ed25519';
    default:
      throw new SmimeError(
        'SIGN_UNSUPPORTED_KEY',
        `${key.asymmetricKeyType ?? 'unknown'} keys are not supported for signing`,
      );
  }
}

/** Validity at the signing time and now; key usage and extended key usage (RFC 8550 sections 4.4.2 and 4.4.4). */
function checkCertificate(info: CertificateInfo, signingTime: Date, now: Date): void {
  for (const at of [signingTime, now]) {
    if (at > info.notAfter) {
      throw new SmimeError('SIGN_CERT_EXPIRED', `The signing certificate expired on ${info.notAfter.toISOString()}`);
    }
    if (at < info.notBefore) {
      throw new SmimeError(
        'SIGN_CERT_NOT_YET_VALID',
        `The signing certificate is valid from ${info.notBefore.toISOString()}`,
      );
    }
  }
  if (!allowsSigning(info.keyUsage)) {
    throw new SmimeError('SIGN_CERT_USAGE', 'The key usage of the signing certificate does not allow signatures');
  }
  if (!allowsEmailProtection(info.extendedKeyUsage)) {
    throw new SmimeError(
      'SIGN_CERT_USAGE',
      'The extended key usage of the signing certificate does not include email protection',
    );
  }
}

function checkKeyMatches(certificate: X509Certificate | undefined, key: KeyObject): void {
  let matches: boolean;
  try {
    matches = certificate !== undefined && certificate.checkPrivateKey(key);
  } catch {
    matches = false; // a key of another type
  }
  if (!matches) throw new SmimeError('SIGN_KEY_MISMATCH');
}

interface SignerCertificate {
  info: CertificateInfo;
  sid: IssuerAndSerial;
  /** undefined when node:crypto cannot read the certificate (then no key matches it). */
  x509: X509Certificate | undefined;
}

/**
 * What signing reads from the signer's certificate, remembered per DER (issue 6: parsing it costs more than the
 * signature). Read from a private copy of the bytes; throws as describeCertificate and certificateId do.
 */
const signerCertificates = new CertificateCache<Readonly<SignerCertificate>>();

function signerCertificate(der: Uint8Array): Readonly<SignerCertificate> {
  return signerCertificates.get(der, () => {
    const copy = Uint8Array.from(der);
    const info = describeCertificate(copy);
    const sid = certificateId(copy, 'signing certificate');
    let x509: X509Certificate | undefined;
    try {
      x509 = new X509Certificate(copy);
    } catch {
      x509 = undefined;
    }
    return Object.freeze({ info, sid, x509 });
  });
}

/**
 * Whether others can encrypt to this certificate's key at all (key usage absent, or allowing it). An Ed25519 key
 * only signs (RFC 8410 section 5), whatever its key usage says.
 */
function canEncryptTo(info: CertificateInfo): boolean {
  if (info.keyAlgorithm === 'Ed25519') return false;
  return (
    info.keyUsage.length === 0 || info.keyUsage.includes('keyEncipherment') || info.keyUsage.includes('keyAgreement')
  );
}

function certificateId(der: Uint8Array, what: string): IssuerAndSerial {
  try {
    return issuerAndSerialOf(der);
  } catch (cause) {
    throw new SmimeError('CERT_MALFORMED', `The ${what} is malformed`, { cause });
  }
}

/** The signer certificate, then the chain, without repeats (the same DER given twice is carried once). */
function certificatesToCarry(signer: Signer): Uint8Array[] {
  const out: Buffer[] = [];
  for (const der of [signer.certificate, ...signer.chain]) {
    const bytes = Buffer.from(der.buffer, der.byteOffset, der.length);
    if (!out.some((seen) => seen.equals(bytes))) out.push(bytes);
  }
  return out.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.length));
}

/** The key argument of node:crypto sign() for a scheme: the padding for RSA, DER signatures for ECDSA. */
function signingKey(
  scheme: SignatureScheme,
  privateKey: KeyObject,
  digest: DigestName,
): SignKeyObjectInput | KeyObject {
  if (scheme === 'rsa-pss') {
    // RFC 4055 section 3.1 / RFC 8551 section 2.2: MGF1 with the same hash (node's default), salt = hash length.
    return { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: DIGESTS[digest].bytes };
  }
  if (scheme === 'rsa-pkcs1') return { key: privateKey, padding: constants.RSA_PKCS1_PADDING };
  if (scheme === 'ed25519') return privateKey;
  // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5753 section 2.1.1, RFC 3279 section 2.2.3).
  return { key: privateKey, dsaEncoding: 'der' };
}

/**
 * Signs `content` (for S/MIME: the canonical MIME entity, exactly the bytes that will be sent) and returns the DER of
 * a ContentInfo holding SignedData. Throws SmimeError: SIGN_INVALID_OPTION, CERT_MALFORMED, SIGN_CERT_EXPIRED,
 * SIGN_CERT_NOT_YET_VALID, SIGN_CERT_USAGE, SIGN_UNSUPPORTED_KEY, SIGN_KEY_MISMATCH.
 */
export async function signContent(content: Uint8Array, signer: Signer, options?: SignOptions): Promise<Uint8Array> {
  if (!(content instanceof Uint8Array)) {
    resolveOptions(options);
    throw invalid('content must be a Uint8Array');
  }
  return toBytes(await signPieces([content], signer, options));
}

/**
 * signContent over content given in pieces (joined in order), returning the DER before its one join: the content is
 * hashed piece by piece and, when opaque, carried as views (issue 6: message/outgoing.ts writes it straight into the message).
 */
export async function signPieces(content: readonly Uint8Array[], signer: Signer, options?: SignOptions): Promise<Der> {
  const o = resolveOptions(options);
  if (!content.every((piece) => piece instanceof Uint8Array)) throw invalid('content must be a Uint8Array');
  if (
    typeof signer !== 'object' ||
    signer === null ||
    !(signer.certificate instanceof Uint8Array) ||
    !Array.isArray(signer.chain)
  ) {
    throw invalid('signer must have a certificate and a chain');
  }
  if (!signer.chain.every((c) => c instanceof Uint8Array)) throw invalid('signer.chain must hold DER certificates');
  if (!(signer.privateKey instanceof KeyObject) || signer.privateKey.type !== 'private') {
    throw invalid('signer.privateKey must be a private KeyObject');
  }

  const { info, sid, x509 } = signerCertificate(signer.certificate);
  checkCertificate(info, o.signingTime, new Date());
  const scheme = schemeFor(signer.privateKey, o.rsaPadding);
  const digest = signingDigest(signer.privateKey, o.digest);
  checkKeyMatches(x509, signer.privateKey);

  let preference: IssuerAndSerial | undefined;
  if (o.encryptionKeyPreference !== undefined) {
    preference = certificateId(o.encryptionKeyPreference, 'encryption certificate');
  } else if (canEncryptTo(info)) {
    preference = sid;
  }

  const hash = createHash(digest);
  for (const piece of content) hash.update(piece);
  const messageDigest = hash.digest();
  const toSign = signedAttributesToSign(
    signedAttributes({
      messageDigest,
      signingTime: o.signingTime,
      capabilities: o.capabilities,
      ...(preference ? { encryptionKeyPreference: preference } : {}),
    }),
  );

  const key = signingKey(scheme, signer.privateKey, digest);
  // Synchronous (issue 6): an RSA-2048 signature is about 0.4 ms of one core. Issue 16 tried libuv's pool (the
  // callback form): the event loop's delay and the latency under load fell by 5-25%, but a signature with a key
  // imported for the request (as the vault does) cost 0.4 ms more CPU there (1.13 -> 1.55 ms), and the sequential
  // sign+encrypt rate per CPU second fell from 0.75 to 0.50 of its target. Reverted; see the README.
  // Ed25519 is PureEdDSA over the DER of the signed attributes (RFC 8419 section 3.2): no hash named to node.
  const signature = signCallback(scheme === 'ed25519' ? null : digest, toSign, key);

  return signedDataContentInfoDer({
    digest,
    signerInfo: signerInfo({
      sid,
      digest,
      signedAttributes: toSign,
      signatureAlgorithm: signatureAlgorithm(scheme, digest),
      signature,
    }),
    certificates: certificatesToCarry(signer),
    ...(o.detached ? {} : { content }),
  });
}
