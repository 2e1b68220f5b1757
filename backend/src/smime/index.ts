/**
 * The S/MIME engine's one entry point (issue 13). Nothing outside backend/src/smime imports any other file of it (the
 * lint rule `smime-entry` in eslint.config.js enforces that); the one exception is ./types.ts, the status vocabulary,
 * which the API contract and the frontend compile against.
 *
 * The engine is pure: bytes and options in, evidence or bytes out. It reads no environment, opens no socket (the
 * network comes in as a Fetcher), touches no database and knows nothing of HTTP.
 */

// ---- errors (codes, kinds and messages live in the backend's one registry, ../errors.ts) ----
export { SmimeError, isSmimeError, SMIME_ERROR_CODES, type SmimeErrorCode } from './errors.ts';

// ---- the status vocabulary and the evidence behind it (all of types.ts: statuses, checks, evidence, Fetcher) ----
export * from './types.ts';

// ---- a message as a whole: analyse what arrived, protect what leaves ----
export {
  analyzeMessage,
  isInternetMessage,
  type AnalyzeOptions,
  type KeyProvider,
  type Layer,
  type MessageAnalysis,
} from './message/incoming.ts';
export { MAX_SMIME_LAYERS } from './limits.ts';
export { protectMessage, protectMessagePieces, type ProtectOptions } from './message/outgoing.ts';
export { OBSCURED_SUBJECT } from './message/header-protection.ts';

// ---- CMS: sign, verify, encrypt, decrypt ----
export { DEFAULT_CAPABILITIES, signContent, signPieces, type Signer, type SignOptions } from './cms/signed/sign.ts';
export type { SmimeCapability } from './cms/signed/algorithms.ts';
export {
  verifySignedData,
  DEFAULT_POLICY,
  type KnownSigner,
  type VerifyOptions,
  type VerifyPolicy,
} from './cms/signed/verify.ts';
export {
  decryptEnvelope,
  encryptEnvelope,
  encryptEnvelopePieces,
  inspectEnvelope,
  type ContentCipher,
  type DecryptionKey,
  type EnvelopeRecipient,
} from './cms/enveloped/index.ts';

// ---- certificates, chains, revocation ----
export { describeCertificate, type CertificateInfo } from './x509/describe.ts';
export { certificateToPem, loadTrustAnchors, pemToDer } from './x509/pem.ts';
export { parsedCertificate } from './x509/certificate.ts';
export { buildChain, type ChainProblem, type ChainResult } from './x509/chain.ts';
export { ChainCache } from './x509/chain-cache.ts';
export { certificatesFromCertsOnly } from './cms/signed/certs-only.ts';
export {
  RevocationChecker,
  type PathRevocation,
  type PathRevocationChecker,
  type RevocationOptions,
} from './x509/revocation.ts';
// Whether a certificate may serve now (validity, key usage, purpose): one rule for mail, directory and vault.
export {
  allowsEmailProtection,
  encryptionUnusableReason,
  MIN_RSA_BITS,
  namesAnAddress,
  ownKeyUnsupportedReason,
  validityAt,
  type UsableFacts,
  type Validity,
} from './usable.ts';

// ---- PKCS#12 ----
export { parsePkcs12, type Pkcs12Contents } from './pkcs12/pkcs12.ts';
export { MAX_P12_BYTES } from './limits.ts';
export { privateKeyFromPkcs8 } from './keys/private-key.ts';
// The PKCS#12 key derivation (RFC 7292 appendix B), for code that builds PKCS#12 files (the demo's CA, tests).
export { bmpPassword, PKCS12_KDF_ID, pkcs12Kdf } from './pkcs12/kdf.ts';
// Writing PKCS#12 (issue 17): key backups, and the demo's key files.
export { EXPORT_MAC_ITERATIONS, EXPORT_PBKDF2_ITERATIONS, writePkcs12, type WritePkcs12Input } from './pkcs12/write.ts';

// ---- MIME: the raw-byte layer (parse without losing a byte, canonical form, addresses) ----
export * from './mime/index.ts';
