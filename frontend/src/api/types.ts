/**
 * The shapes of the backend's HTTP API answers (README "HTTP API"). The frontend talks to the backend only through
 * that documented API, so these types are written from the documentation, not imported from the backend.
 */

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

export const DECRYPTION_STATUSES = ['decrypted', 'locked', 'no-key', 'failed'] as const;
export type DecryptionStatus = (typeof DECRYPTION_STATUSES)[number];

export type LayerStatus = SignatureStatus | DecryptionStatus;

export interface Me {
  email: string;
  aliases: string[];
  keys: number;
  mustChangePassphrase: boolean;
  unlockIdleTimeoutS: number;
  passphraseMinLength: number;
}

export interface SessionStatus {
  unlocked: boolean;
  idleExpiresAt?: string;
  expiresAt?: string;
  idleTimeoutS: number;
  unlockedKeyIds: string[];
}

export interface UnlockResult {
  unlocked: true;
  expiresAt: string;
  idleTimeoutS: number;
  unlockedKeyIds: string[];
  lockedKeyIds: string[];
  mustChangePassphrase: boolean;
}

export type ValidityStatus = 'valid' | 'expired' | 'not-yet-valid';

export interface OwnKey {
  id: string;
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  status: ValidityStatus;
  emails: string[];
  keyAlgorithm: string;
  keySize: number;
  isDefault: boolean;
  mustChangePassphrase: boolean;
  source: 'admin' | 'user';
  createdAt: string;
}

export interface PublicCertificate {
  id: string;
  email: string;
  /** 'harvested' (from verified signed mail), 'imported', or 'directory' (LDAP/AD sync). */
  source: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  status: ValidityStatus;
  keyAlgorithm: string;
  keySize: number;
  firstSeenAt?: string;
  lastSeenAt?: string;
}

export interface Resolution {
  email: string;
  ready: boolean;
  reasons: string[];
  /** Ready, but the user should know: a directory certificate whose revocation status is unknown (issue 12). */
  warnings?: string[];
  certificate: { id: string; source: string; subject: string; fingerprintSha256: string; notAfter: string } | null;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  emails: string[];
}

export interface Check {
  name: string;
  outcome: 'pass' | 'fail' | 'unknown' | 'skipped';
  detail?: string;
}

export interface SignatureInfo {
  status: SignatureStatus;
  signer?: CertificateSummary & { keyAlgorithm?: string; keySize?: number };
  chain: CertificateSummary[];
  digestAlgorithm?: string;
  signatureAlgorithm?: string;
  signingTime?: string;
  checks: Check[];
}

export interface SignedLayer {
  kind: 'signed';
  format: string;
  status: SignatureStatus;
  signatures: SignatureInfo[];
}

export interface EncryptedLayer {
  kind: 'encrypted';
  format: string;
  status: DecryptionStatus;
  contentCipher?: string;
  keyId?: string;
  recipients?: unknown;
  detail?: string;
}

export type Layer = SignedLayer | EncryptedLayer;

export interface IncomingAnalysis {
  layers: Layer[];
  signed: boolean;
  encrypted: boolean;
  parts: (Layer & { path: string })[];
  harvested: { email: string; outcome: 'added' | 'replaced' | 'seen' | 'kept'; fingerprintSha256: string }[];
  /** base64 of the innermost MIME entity to render. */
  content: string;
  /** True when `content` is the decrypted or verified inner entity rather than the message itself. */
  unwrapped: boolean;
}

export interface ProtectedCopy {
  /** null: the To/Cc copy (also the Sent copy); otherwise the one Bcc recipient this copy is for. */
  bcc: string | null;
  raw: Uint8Array;
}

export type ContentCipher = 'aes-256-cbc' | 'aes-128-cbc' | 'aes-256-gcm' | 'aes-128-gcm';

export interface ApiErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}
