/**
 * The S/MIME engine's vocabulary (issue 3): the fixed statuses a signature and a decryption can get, and the evidence
 * behind each. Verification never returns a bare boolean: every check is listed with its outcome.
 */

/** One status per signature, from this fixed list (the UI explains each one). Order = precedence, worst first. */
export const SIGNATURE_STATUSES = [
  'malformed',
  'unsupported',
  'invalid-signature',
  'revoked',
  'untrusted',
  'expired',
  'not-yet-valid',
  'email-mismatch',
  'weak-algorithm',
  'revocation-unknown',
  'valid',
] as const;
export type SignatureStatus = (typeof SIGNATURE_STATUSES)[number];

/**
 * decrypted; locked (a key of the user's can open it: unlock first); no-key (no key of the user's is a recipient);
 * failed (damaged, altered or unreadable); not-opened (an encrypted part inside a message that is not itself
 * encrypted: reported, deliberately not decrypted, see message/incoming.ts).
 */
export const DECRYPTION_STATUSES = ['decrypted', 'locked', 'no-key', 'failed', 'not-opened'] as const;
export type DecryptionStatus = (typeof DECRYPTION_STATUSES)[number];

export type CheckName =
  | 'structure'
  | 'message-digest'
  | 'signature'
  | 'content-type'
  | 'chain'
  | 'validity-at-signing'
  | 'validity-now'
  | 'key-usage'
  | 'extended-key-usage'
  | 'email'
  | 'revocation'
  | 'algorithm';

export interface Check {
  name: CheckName;
  outcome: 'pass' | 'fail' | 'unknown' | 'skipped';
  /** Human-readable reason, in English; never secret. */
  detail?: string;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: string; // ISO 8601
  notAfter: string;
  emails: string[];
}

export interface SignatureEvidence {
  status: SignatureStatus;
  /** Signer certificate facts (absent if the signer certificate could not be found). */
  signer?: CertificateSummary & { keyAlgorithm: string; keySize: number };
  /** DER of the signer certificate, for harvesting (not sent to clients as is). */
  signerCertificate?: Uint8Array;
  /** Certificates of the chain from the signer's issuer to the anchor, as summaries. */
  chain: CertificateSummary[];
  digestAlgorithm?: string; // 'sha256'
  signatureAlgorithm?: string; // 'rsa-pkcs1-v1_5' | 'rsa-pss' | 'ecdsa'
  signingTime?: string; // ISO 8601, from the signed attribute
  checks: Check[];
  /** DER of the chain certificates (issuer first), for storing beside a harvested certificate. */
  chainCertificates?: Uint8Array[];
  /** Content ciphers announced in the SMIMECapabilities signed attribute, e.g. 'aes-256-gcm', 'aes-256-cbc'. */
  capabilities?: string[];
  /**
   * What the reader should know although the status is what it is: a SHA-1 signature accepted because the policy
   * accepts SHA-1 signed before a cutoff (VerifyPolicy.sha1SignedBefore) is `valid` with a warning saying so.
   */
  warnings?: string[];
}

/** Revocation checking policy and the network access it may use (injected; the engine does no I/O of its own). */
export interface Fetcher {
  /** GET (or POST for OCSP) with size, time and address limits enforced by the implementation. */
  fetch(request: {
    url: string;
    method: 'GET' | 'POST';
    body?: Uint8Array;
    contentType?: string;
    purpose: 'aia' | 'crl' | 'ocsp';
  }): Promise<Uint8Array>;
}

// ---- header protection (RFC 9788, message/header-protection.ts) ----

/** `hp="cipher"`: the message was encrypted and its fields protected inside; `hp="clear"`: signed only. */
export type HeaderProtectionMode = 'cipher' | 'clear';

export interface ProtectedField {
  name: string;
  /** Unfolded, encoded words decoded. */
  value: string;
}

export interface HeaderMismatch {
  /** Lowercase field name. */
  field: string;
  /** What the message shows outside (undefined: absent). */
  outer: string | undefined;
  /** What the sender protected: the protected copy (`clear`) or the HP-Outer copy (`cipher`); undefined: absent. */
  expected: string | undefined;
}

export interface HeaderProtection {
  /**
   * What the payload declares (`hp`), as far as the layers bear it out: `cipher` only when an encrypted layer was
   * opened; a `cipher` payload that was not encrypted is read as `clear` (RFC 9788 section 4.2).
   */
  mode: HeaderProtectionMode;
  /** The protected header fields, in order: what to show in place of the outer ones. */
  fields: ProtectedField[];
  /** For `cipher`: the outer fields as the sender sent them (HP-Outer), in order. */
  outer?: ProtectedField[];
  /** User-facing fields whose outer value is not what the sender protected (see the module comment). */
  mismatches: HeaderMismatch[];
  /**
   * Paths (child indexes from the payload) of text parts marked `hp-legacy-display="1"`: their first lines, up to the
   * first empty line, repeat the protected headers for readers without header protection, and are not content.
   */
  legacyDisplay: number[][];
}
