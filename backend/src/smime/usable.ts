/**
 * Whether a certificate may serve S/MIME now: the engine's rule (issue 13), the same for every caller. The mail
 * service applies it to recipients' certificates and the user's own, the directory sync to what it reads
 * (directory/evaluate.ts), the vault to a key it takes in. Pure: the facts of a described certificate
 * (x509/describe.ts CertificateInfo, or the same facts as a store keeps them) and an instant in, a verdict out.
 *
 * The rule for encrypting to a certificate: valid now, RSA (>= MIN_RSA_BITS), EC or X25519, key usage allowing key
 * encipherment (RSA) or key agreement (EC, X25519) if the certificate restricts key usage, and the email-protection
 * purpose if it restricts extended key usage. Trust (a path to an anchor, revocation) is decided apart: x509/chain.ts and
 * x509/revocation.ts.
 */

/** RSA keys below this are refused as encryption targets (RFC 8551 section 2.2 recommends 2048 bits at least). */
export const MIN_RSA_BITS = 2048;

/** The facts the rule reads: a subset of CertificateInfo, so stored rows qualify without the certificate's bytes. */
export interface UsableFacts {
  /** Names the certificate in a reason. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  keyUsage: readonly string[];
  extendedKeyUsage: readonly string[];
  keyAlgorithm: string;
  keySize: number;
}

export type Validity = 'valid' | 'expired' | 'not-yet-valid';

/** Where `now` stands in the validity window (RFC 5280 section 4.1.2.5: both ends inclusive). */
export function validityAt(c: { notBefore: Date; notAfter: Date }, now = new Date()): Validity {
  if (now < c.notBefore) return 'not-yet-valid';
  if (now > c.notAfter) return 'expired';
  return 'valid';
}

/** Without the extension any purpose is allowed (RFC 5280 section 4.2.1.12); with it, email protection or any. */
export function allowsEmailProtection(extendedKeyUsage: readonly string[]): boolean {
  return (
    extendedKeyUsage.length === 0 ||
    extendedKeyUsage.includes('emailProtection') ||
    extendedKeyUsage.includes('anyExtendedKeyUsage')
  );
}

/**
 * Whether key usage allows signing mail (RFC 8550 section 4.4.2): without the extension any use is allowed; with it,
 * digitalSignature or nonRepudiation. The signer (cms/signed/sign.ts) and the verifier apply the same rule.
 */
export function allowsSigning(keyUsage: Iterable<string> | undefined): boolean {
  const names = [...(keyUsage ?? [])];
  return names.length === 0 || names.includes('digitalSignature') || names.includes('nonRepudiation');
}

/** Whether the certificate names one of `addresses` (both lowercase, as describeCertificate and stores give them). */
export function namesAnAddress(emails: readonly string[], addresses: readonly string[]): boolean {
  return emails.some((e) => addresses.includes(e));
}

/** The curves this engine signs and decrypts with (cms/signed/sign.ts, cms/enveloped/key-agreement.ts). */
const OWN_KEY_CURVES: ReadonlySet<string> = new Set(['P-256', 'P-384', 'P-521']);

/**
 * Key types the engine uses beside RSA and the curves above: Ed25519 signs (RFC 8419, cms/signed/sign.ts), X25519
 * decrypts (RFC 8418, cms/enveloped/key-agreement.ts). Issue 14.
 */
const OWN_KEY_ALGORITHMS: ReadonlySet<string> = new Set(['RSA', 'Ed25519', 'X25519']);

/**
 * Why a key of this type cannot be one of the user's own keys, or undefined if it can: the engine signs and decrypts
 * with RSA, with ECDSA/ECDH on P-256, P-384 and P-521, signs with Ed25519 and decrypts with X25519 (issue 14).
 * Anything else (Ed448, X448, DSA, another curve) would be stored and then fail at the first signature or never
 * decrypt anything: it is refused when it is taken in, with its name.
 */
export function ownKeyUnsupportedReason(c: {
  keyAlgorithm: string;
  namedCurve?: string | undefined;
}): string | undefined {
  if (OWN_KEY_ALGORITHMS.has(c.keyAlgorithm)) return undefined;
  if (c.keyAlgorithm === 'EC')
    return c.namedCurve && OWN_KEY_CURVES.has(c.namedCurve)
      ? undefined
      : `EC keys on ${c.namedCurve ?? 'an unnamed curve'} are not supported`;
  return `${c.keyAlgorithm === 'other' ? 'This key type' : `${c.keyAlgorithm} keys`} cannot be used for S/MIME here yet`;
}

/** Why nothing may be encrypted to this certificate at `now`, or undefined if it may. */
export function encryptionUnusableReason(c: UsableFacts, now = new Date()): string | undefined {
  const validity = validityAt(c, now);
  if (validity === 'not-yet-valid') return `${c.subject}: not valid before ${c.notBefore.toISOString()}`;
  if (validity === 'expired') return `${c.subject}: expired ${c.notAfter.toISOString()}`;
  if (c.keyAlgorithm === 'RSA') {
    if (c.keySize < MIN_RSA_BITS) return `${c.subject}: RSA key of ${c.keySize} bits is too weak`;
    if (c.keyUsage.length > 0 && !c.keyUsage.includes('keyEncipherment'))
      return `${c.subject}: key usage does not allow key encipherment`;
  } else if (c.keyAlgorithm === 'EC' || c.keyAlgorithm === 'X25519') {
    if (c.keyUsage.length > 0 && !c.keyUsage.includes('keyAgreement'))
      return `${c.subject}: key usage does not allow key agreement`;
  } else {
    return `${c.subject}: ${c.keyAlgorithm} keys cannot be encrypted to`;
  }
  if (!allowsEmailProtection(c.extendedKeyUsage)) return `${c.subject}: not meant for email protection`;
  return undefined;
}
