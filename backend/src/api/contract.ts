/**
 * The HTTP API's answers, as types: the one source that the backend's presenters are checked against (`satisfies`) and
 * that the frontend compiles against (frontend/src/api/types.ts re-exports this module), so the two cannot drift apart
 * unnoticed (issue 13). The status vocabulary itself is the engine's (smime/types.ts). This module, and what it imports,
 * holds no runtime code beyond those constant lists: the frontend bundle includes it.
 */
import type { CertificateSummary, Check, DecryptionStatus, HeaderProtection, SignatureStatus } from '../smime/types.ts';

export {
  DECRYPTION_STATUSES,
  SIGNATURE_STATUSES,
  type CertificateSummary,
  type Check,
  type CheckName,
  type DecryptionStatus,
  type HeaderMismatch,
  type HeaderProtection,
  type HeaderProtectionMode,
  type ProtectedField,
  type SignatureStatus,
} from '../smime/types.ts';

export type LayerStatus = SignatureStatus | DecryptionStatus;

/** Where a certificate's validity period stands today. */
export type ValidityStatus = 'valid' | 'expired' | 'not-yet-valid';

/** The content ciphers a user may choose for outgoing mail. */
export const CONTENT_CIPHERS = ['aes-256-cbc', 'aes-128-cbc', 'aes-256-gcm', 'aes-128-gcm'] as const;
export type ContentCipher = (typeof CONTENT_CIPHERS)[number];

/** GET /api/v1/me */
export interface Me {
  email: string;
  aliases: string[];
  keys: number;
  mustChangePassphrase: boolean;
  unlockIdleTimeoutS: number;
  passphraseMinLength: number;
}

/**
 * One entry of GET /api/v1/me/audit: the user's own audit trail, newest first (the latest 200). `action` is one of
 * backend/src/store/audit.ts AuditAction, kept a string here so a newer backend's action still parses; `details`
 * differs per action (the appendAudit calls under backend/src).
 */
export interface AuditEntryView {
  seq: number;
  at: string;
  /** `user:<email>`, `admin:<how>`, `system`, or the recovery tool's actor. */
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

/** GET /api/v1/me/audit */
export interface AuditTrail {
  entries: AuditEntryView[];
}

/** GET /api/v1/session */
export interface SessionStatus {
  unlocked: boolean;
  sessionId?: string;
  idleExpiresAt?: string;
  expiresAt?: string;
  idleTimeoutS: number;
  unlockedKeyIds: string[];
}

/**
 * POST /api/v1/session/unlock. A key IT placed is never unlocked into a session: when the passphrase opens only such
 * keys the answer is `unlocked: false` with `mustChangePassphrase: true`, and no credential (choose your own
 * passphrase first: POST /api/v1/session/passphrase).
 */
export type UnlockResult =
  | {
      unlocked: true;
      sessionId: string;
      expiresAt: string;
      idleTimeoutS: number;
      unlockedKeyIds: string[];
      /** Keys this passphrase did not open. */
      lockedKeyIds: string[];
      /** Keys this passphrase opened that IT placed: usable after the passphrase change. */
      pendingKeyIds: string[];
      mustChangePassphrase: boolean;
      /** Only with `delivery: 'header'`: the credential to send back in the named header. */
      unlockToken?: string;
      header?: 'X-Smime-Unlock';
    }
  | {
      unlocked: false;
      idleTimeoutS: number;
      unlockedKeyIds: [];
      lockedKeyIds: string[];
      pendingKeyIds: string[];
      mustChangePassphrase: true;
    };

/** One of the user's own keys (GET /api/v1/keys): certificate facts and state, never wrapped blobs or KDF internals. */
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
  keyUsage: string[];
  extendedKeyUsage: string[];
  keyAlgorithm: string;
  keySize: number;
  isDefault: boolean;
  mustChangePassphrase: boolean;
  /** 'admin': placed by IT (its passphrase must be changed before use); 'user': imported by the user. */
  source: 'admin' | 'user';
  chainLength: number;
  createdAt: string;
}

/** A certificate the user can encrypt to (GET /api/v1/certificates). */
export interface PublicCertificate {
  id: string;
  email: string | null;
  /** 'harvested' (from verified signed mail), 'imported', or 'directory' (LDAP/AD sync). */
  source: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  status: ValidityStatus;
  keyUsage: string[];
  extendedKeyUsage: string[];
  keyAlgorithm: string;
  keySize: number;
  capabilities: string[];
  firstSeenAt?: string;
  lastSeenAt?: string;
  /** Directory certificates only: every address, the entry's DN and attribute, whether it may be used and why not. */
  addresses?: string[];
  dn?: string;
  attribute?: string;
  usable?: boolean;
  reason?: string | null;
}

/** One recipient of GET /api/v1/certificates/resolve. */
export interface Resolution {
  email: string;
  ready: boolean;
  reasons: string[];
  /** Ready, but the user should know: a directory certificate whose revocation status is unknown (issue 12). */
  warnings?: string[];
  certificate: {
    id: string;
    source: string;
    subject: string;
    fingerprintSha256: string;
    notAfter: string;
    /**
     * Directory certificates (issue 12): what revocation checking found for its path at use. 'off': checking is
     * switched off (SMIME_REVOCATION_CHECK=off); 'not-checked': the path reaches no anchor, so nothing was asked.
     */
    revocation?: { status: 'good' | 'revoked' | 'unknown' | 'none' | 'off' | 'not-checked'; detail: string };
  } | null;
}

/** One signature of a signed layer, as the client sees it (the signer certificate's DER stays on the server). */
export interface SignatureInfo {
  status: SignatureStatus;
  signer?: CertificateSummary & { keyAlgorithm?: string; keySize?: number };
  chain: CertificateSummary[];
  digestAlgorithm?: string;
  signatureAlgorithm?: string;
  signingTime?: string;
  checks: Check[];
  /** Said beside the status: e.g. a SHA-1 signature accepted because it claims a time before the server's cutoff. */
  warnings?: string[];
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

/** POST /api/v1/messages/incoming */
export interface IncomingAnalysis {
  layers: Layer[];
  signed: boolean;
  encrypted: boolean;
  /** S/MIME parts inside an unprotected multipart; `path` is the child index at each level from the top (0-based). */
  parts: (Layer & { path: number[] })[];
  harvested: { email: string; outcome: 'added' | 'replaced' | 'seen' | 'kept'; fingerprintSha256: string }[];
  /** base64 of the innermost MIME entity to render. */
  content: string;
  /** True when `content` is the decrypted or verified inner entity rather than the message itself. */
  unwrapped: boolean;
  /**
   * Header protection (RFC 9788), when the protected entity declares it: `fields` are the protected header fields to
   * show in place of the message's own; `mismatches` the user-facing fields (from, to, cc, reply-to, subject, date,
   * message-id) whose outer value is not what the sender protected; `legacyDisplay` the paths of text parts whose
   * first lines repeat the headers for readers without header protection (already left out of `content`).
   */
  headerProtection?: HeaderProtection;
}

/** Every 4xx and 5xx answer. `code` is stable (backend/src/errors.ts); `message` is for people. */
export interface ApiErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}
