/**
 * The one registry of error codes the HTTP API and the CLI can answer with. Codes are stable strings that clients and
 * tests match on; messages are for people and may change. A 5xx never carries its internal message to the client.
 */
export const ERRORS = {
  // Input
  BAD_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  BAD_REQUEST: { status: 400, message: 'The request is invalid.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This endpoint does not accept that content type.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  METHOD_NOT_IMPLEMENTED: { status: 501, message: 'This server does not implement that HTTP method.' },
  CONFIRMATION_REQUIRED: { status: 400, message: 'This action must be confirmed.' },
  // Authentication
  UNAUTHENTICATED: { status: 401, message: 'A valid user token is required.' },
  TOKEN_EXPIRED: { status: 401, message: 'The user token has expired.' },
  TOKEN_LIFETIME_TOO_LONG: { status: 401, message: 'The user token lives longer than the server allows.' },
  ADMIN_UNAUTHENTICATED: { status: 401, message: 'A valid admin credential is required.' },
  // PKCS#12 and certificates
  P12_MALFORMED: { status: 422, message: 'The file is not a readable PKCS#12 (.p12/.pfx) file.' },
  P12_BAD_PASSWORD: { status: 422, message: 'The PKCS#12 password is wrong, or the file is damaged.' },
  P12_NO_KEY: { status: 422, message: 'The PKCS#12 file holds no private key.' },
  P12_NO_CERTIFICATE: { status: 422, message: 'The PKCS#12 file holds no certificate for its key.' },
  P12_KEY_MISMATCH: { status: 422, message: 'The private key does not match the certificate.' },
  P12_UNSUPPORTED_ALGORITHM: { status: 422, message: 'The PKCS#12 file uses an algorithm this server does not support.' },
  P12_TOO_LARGE: { status: 413, message: 'The PKCS#12 file is too large.' },
  CERT_MALFORMED: { status: 422, message: 'The certificate cannot be read.' },
  CERT_EMAIL_MISMATCH: {
    status: 422,
    message: "None of the certificate's email addresses belongs to the user.",
  },
  CERT_NOT_FOR_EMAIL: { status: 422, message: 'The certificate is not meant for email protection.' },
  KEY_ALREADY_PRESENT: { status: 409, message: 'This key is already in the profile.' },
  // Vault
  USER_NOT_FOUND: { status: 404, message: 'No such user.' },
  KEY_NOT_FOUND: { status: 404, message: 'No such key.' },
  NO_KEYS: { status: 409, message: 'The user has no private keys.' },
  WRONG_PASSPHRASE: { status: 403, message: 'The passphrase is wrong.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down.' },
  SERVER_BUSY: { status: 503, message: 'The server is busy with work of this kind; try again shortly.' },
  THROTTLED: { status: 429, message: 'Too many wrong passphrases; wait before trying again.' },
  PASSPHRASE_TOO_WEAK: { status: 422, message: 'The new passphrase is too short.' },
  PASSPHRASE_UNCHANGED: { status: 422, message: 'The new passphrase must differ from the current one.' },
  PASSPHRASE_REQUIRED: { status: 400, message: 'Your current passphrase is required.' },
  PASSPHRASE_CHANGE_REQUIRED: {
    status: 403,
    message: 'This key was placed by IT: choose your own passphrase before using it.',
  },
  LOCKED: { status: 403, message: 'Your keys are locked: unlock them with your passphrase.' },
  KEY_NOT_PENDING: { status: 409, message: 'This key is already protected by your passphrase.' },
  CONCURRENT_CHANGE: { status: 409, message: 'Your keys changed meanwhile (another session); try again.' },
  ALIAS_TAKEN: { status: 409, message: 'That address already belongs to another user.' },
  // Mail
  MESSAGE_MALFORMED: { status: 422, message: 'The message cannot be parsed as MIME.' },
  MESSAGE_TOO_LARGE: { status: 413, message: 'The message is larger than the server accepts.' },
  TOO_MANY_RECIPIENTS: { status: 413, message: 'The message has more recipients than the server accepts (SMIME_MAX_RECIPIENTS).' },
  OUTPUT_TOO_LARGE: {
    status: 413,
    message: 'Protecting this message would produce more than the server hands out for one request (SMIME_MAX_OUTPUT_BYTES): every Bcc recipient gets a whole copy.',
  },
  FROM_NOT_USER: { status: 422, message: 'The From address is not one of yours.' },
  FROM_NOT_PLAIN: { status: 422, message: 'The From header must name exactly one plain address.' },
  RECIPIENT_CERTIFICATE_MISSING: {
    status: 422,
    message: 'Some recipients have no usable certificate; the message was not encrypted or sent.',
  },
  SENDER_CERTIFICATE_MISSING: {
    status: 422,
    message: 'You have no valid certificate to encrypt your own copy to.',
  },
  SIGNING_CERT_EXPIRED: { status: 422, message: 'Your signing certificate has expired.' },
  SIGNING_CERT_NOT_YET_VALID: { status: 422, message: 'Your signing certificate is not valid yet.' },
  SIGNER_EMAIL_MISMATCH: { status: 422, message: 'Your signing certificate is not for the From address.' },
  BCC_NEEDS_SEPARATE_COPIES: {
    status: 406,
    message: 'Encrypted mail with Bcc recipients produces one copy per Bcc recipient: ask for application/json.',
  },
  CERTIFICATE_NOT_FOUND: { status: 404, message: 'No such certificate.' },
  DIRECTORY_CERTIFICATE_READ_ONLY: {
    status: 409,
    message: 'This certificate comes from the directory: it changes only when the directory does.',
  },
  // Directory (issue 4). Upstream failures are 502: the directory, not the caller, is at fault. Messages name the
  // server and what failed, never the bind password.
  DIRECTORY_NOT_CONFIGURED: { status: 409, message: 'No directory is configured (LDAP_URL is not set).' },
  DIRECTORY_SYNC_RUNNING: { status: 409, message: 'A directory sync is already running; try again when it ends.' },
  DIRECTORY_UNREACHABLE: { status: 502, message: 'The directory server cannot be reached.' },
  DIRECTORY_TLS_FAILED: { status: 502, message: "The directory server's TLS certificate is not trusted, or TLS failed." },
  DIRECTORY_BIND_FAILED: { status: 502, message: 'The directory refused the bind DN or password.' },
  DIRECTORY_BAD_BASE_DN: { status: 502, message: 'The directory has no entry at LDAP_BASE_DN.' },
  DIRECTORY_SEARCH_FAILED: { status: 502, message: 'The directory search failed.' },
  DIRECTORY_EMPTY: {
    status: 502,
    message: 'The directory search returned no entries although the last sync found some; check LDAP_BASE_DN and LDAP_FILTER.',
  },
  // Demo webmail and plugin bundle (issue 5)
  DEMO_USER_UNKNOWN: { status: 404, message: 'No such demo user.' },
  DEMO_MESSAGE_NOT_FOUND: { status: 404, message: 'No such message in this mailbox.' },
  FRONTEND_NOT_BUILT: { status: 503, message: 'The plugin bundle is not built: run `npm run build:frontend`.' },
  // Audit checkpoints (issue 12). Not the caller's doing, but a state an operator must look at: 409, like a sync that
  // cannot run; a checkpoint file the server cannot write is the server's failure (503, details in its log).
  AUDIT_CHECKPOINT_KEY_MISSING: {
    status: 409,
    message: 'No checkpoint signing key is configured (SMIME_AUDIT_CHECKPOINT_KEY_FILE).',
  },
  AUDIT_CHECKPOINT_REFUSED: {
    status: 409,
    message: 'The audit chain does not extend the last checkpoint (edited, cut back or rewritten): no checkpoint was written.',
  },
  AUDIT_CHECKPOINT_WRITE_FAILED: { status: 503, message: 'The audit checkpoint could not be written.' },
  // Server
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is starting or unavailable.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a stable code, mapped to HTTP in one place (api/middleware/errors.ts) and to exit codes by the CLI. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra machine-readable facts for the client (never secrets), e.g. { retryAfterSeconds }. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
