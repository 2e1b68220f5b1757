/**
 * The one registry of error codes of the whole backend: engine (smime/), MIME layer (smime/mime/), vault, directory,
 * audit, API and CLI. Each code has a kind, and the kind alone decides the HTTP status (the API maps by kind, in
 * api/middleware/errors.ts) and the CLI's exit code. Codes are stable strings that clients and tests match on;
 * messages are for people and may change. A 5xx never carries its internal message to the client.
 *
 * This module imports nothing, so the engine can use it and stay pure (issue 13).
 */

/** What went wrong, from the caller's point of view, and the HTTP status that says so. */
export const ERROR_KINDS = {
  /** The request itself is wrong: not JSON, a missing or extra field, an action not confirmed. */
  'bad-request': 400,
  /** No valid credential. */
  unauthenticated: 401,
  /** A credential that does not open this: a wrong passphrase. */
  forbidden: 403,
  /** The keys are locked, or must first be given the user's own passphrase. */
  locked: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  /** The answer cannot take the form the client asked for (Accept). */
  'not-acceptable': 406,
  /** The state of things forbids it now: already present, a sync running, a concurrent change. */
  conflict: 409,
  /** The input, or something inside it, exceeds a size, count or nesting limit. */
  'too-large': 413,
  'unsupported-media-type': 415,
  /** Well-formed request, but its content is malformed or breaks a rule (a damaged PKCS#12, a From not the user's). */
  invalid: 422,
  /** An algorithm, key type or encoding this backend does not implement or refuses. */
  unsupported: 422,
  'rate-limited': 429,
  /** A bug: the message never reaches the client. */
  internal: 500,
  'not-implemented': 501,
  /** A server this backend depends on (the directory) failed. */
  upstream: 502,
  /** Busy with work of this kind: try again shortly. */
  busy: 503,
  /** Not ready, or a resource of the server's own failed (details in its log). */
  unavailable: 503,
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

interface ErrorEntry<K extends ErrorKind = ErrorKind> {
  readonly kind: K;
  readonly status: (typeof ERROR_KINDS)[K];
  readonly message: string;
}

function e<K extends ErrorKind>(kind: K, message: string): ErrorEntry<K> {
  return { kind, status: ERROR_KINDS[kind], message };
}

/**
 * The S/MIME engine's codes (backend/src/smime). The engine throws SmimeError (smime/errors.ts) with these codes and no
 * other; anything else escaping the engine is a bug.
 */
export const ENGINE_ERRORS = {
  // ---- PKCS#12 (pkcs12.ts) ----
  /** The file is not valid DER/BER of the expected structure, or is damaged. */
  P12_MALFORMED: e('invalid', 'The file is not a readable PKCS#12 (.p12/.pfx) file.'),
  /** The MAC did not verify, or (without a MAC) decryption produced nothing readable. */
  P12_BAD_PASSWORD: e('invalid', 'The PKCS#12 password is wrong, or the file is damaged.'),
  /** The file holds no private key. */
  P12_NO_KEY: e('invalid', 'The PKCS#12 file holds no private key.'),
  /** The file holds a private key but no certificate. */
  P12_NO_CERTIFICATE: e('invalid', 'The PKCS#12 file holds no certificate for its key.'),
  /** No certificate in the file belongs to any private key in the file. */
  P12_KEY_MISMATCH: e('invalid', 'The private key does not match the certificate.'),
  /** A cipher, KDF, MAC or integrity mode this engine does not implement. */
  P12_UNSUPPORTED_ALGORITHM: e('unsupported', 'The PKCS#12 file uses an algorithm this server does not support.'),
  /** The file, or a cost parameter inside it, exceeds a limit. */
  P12_TOO_LARGE: e('too-large', 'The PKCS#12 file is too large.'),
  /** The key is of a type the engine cannot sign or decrypt with (Ed448, X448, DSA, another curve): `keyAlgorithm`. */
  KEY_TYPE_UNSUPPORTED: e('unsupported', 'This key type cannot be used for S/MIME here.'),
  /** A certificate is not valid DER X.509. */
  CERT_MALFORMED: e('invalid', 'The certificate cannot be read.'),
  /** A message cannot be parsed as MIME at all. */
  MIME_MALFORMED: e('invalid', 'The message cannot be parsed as MIME'),
  /**
   * The body is not an Internet message at all (RFC 5322 section 2.1): it does not begin with a header field (text
   * pasted where a message belongs, a file of another kind, nothing). Answered as such rather than as a message
   * with no protection, which would be untrue (issue 14).
   */
  MIME_NOT_A_MESSAGE: e('invalid', 'This is not an e-mail message: it does not begin with header fields.'),
  /** More S/MIME layers nested than the engine follows (see incoming.ts MAX_SMIME_LAYERS). */
  SMIME_TOO_DEEP: e('too-large', 'The message nests too many S/MIME layers'),
  // ---- CMS enveloped data (cms/enveloped/) ----
  /** Not a CMS EnvelopedData/AuthEnvelopedData ContentInfo, or damaged (RFC 5652 section 6, RFC 5083). */
  CMS_MALFORMED: e('invalid', 'The encrypted message is damaged or not a CMS enveloped message'),
  /** A content cipher, key-transport, key-agreement or key type this engine does not implement or refuses. */
  CMS_UNSUPPORTED: e('unsupported', 'The encrypted message or a recipient uses an unsupported algorithm'),
  /** The input, or a count inside it, exceeds a limit. */
  CMS_TOO_LARGE: e('too-large', 'The encrypted message exceeds a size limit'),
  /** Decryption with a key failed. One message for every cause (wrong key, bad padding, bad tag): see cms/enveloped/. */
  CMS_DECRYPT_FAILED: e('invalid', 'The message could not be decrypted'),
  /** An encryption call was given an unknown option, an invalid option value, or no recipients. */
  CMS_INVALID_OPTIONS: e('invalid', 'Invalid encryption options'),
  // ---- signing (sign.ts): checked before anything is produced ----
  /** An unknown signing option, or a value of the wrong kind. */
  SIGN_INVALID_OPTION: e('invalid', 'Invalid signing option'),
  /** The signer certificate's notAfter has passed (at the signing time, or now). */
  SIGN_CERT_EXPIRED: e('invalid', 'The signing certificate has expired'),
  /** The signer certificate's notBefore is still ahead (at the signing time, or now). */
  SIGN_CERT_NOT_YET_VALID: e('invalid', 'The signing certificate is not valid yet'),
  /** The signer certificate's key usage or extended key usage does not allow signing email (RFC 8550 section 4.4). */
  SIGN_CERT_USAGE: e('invalid', 'The signing certificate may not be used to sign email'),
  /** The private key is not the one the signer certificate certifies. */
  SIGN_KEY_MISMATCH: e('invalid', 'The private key does not belong to the signing certificate'),
  /** A key type or curve this engine does not sign with (RSA, and ECDSA on P-256, P-384 and P-521 are supported). */
  SIGN_UNSUPPORTED_KEY: e('unsupported', 'The signing key type is not supported'),
  // ---- composing an outgoing message (outgoing.ts) ----
  /** An unknown protectMessage option, a value of the wrong kind, or neither sign nor encrypt asked for. */
  OUTGOING_INVALID_OPTION: e('invalid', 'Invalid option for protecting a message'),
  /** Not an RFC 5322 message: no header fields, no single From, or lines in the header block that are not fields. */
  OUTGOING_NOT_RFC5322: e('invalid', 'The message is not an RFC 5322 message'),
  /** The message has no body (no empty line after the header fields, or nothing after it). */
  OUTGOING_NO_BODY: e('invalid', 'The message has no body'),
  /** A header field that stays outside holds 8-bit bytes that are not UTF-8, so no reader could tell what they mean. */
  OUTGOING_8BIT_HEADER: e('invalid', 'A header field holds 8-bit bytes that are not UTF-8'),
  /** A header field holds a NUL or a lone CR, which would let readers disagree on where the header block ends. */
  OUTGOING_INVALID_HEADER: e('invalid', 'A header field holds a NUL or a lone CR'),
  /** The content cannot be brought to the canonical 7-bit form of RFC 8551 section 3.1 without changing it. */
  OUTGOING_CANNOT_CANONICALIZE: e('invalid', 'The message content cannot be brought to canonical form'),
  /** The message exceeds a MIME parsing limit (nesting depth, number of parts, header size). */
  OUTGOING_TOO_LARGE: e('too-large', 'The message exceeds a size or structure limit'),
  /** The encryption step returned something other than a ContentInfo of the expected enveloped type. */
  OUTGOING_ENCRYPT_RESULT_INVALID: e('invalid', 'The encryption step returned an unexpected structure'),
  // ---- fetching AIA certificates, CRLs and OCSP answers (net/fetcher.ts, injected into the engine) ----
  /** Not an http(s) URL, or one with credentials or an unusable host. */
  FETCH_BAD_URL: e('invalid', 'The URL cannot be fetched'),
  /** The host is, or resolves to, a private, loopback, link-local or otherwise non-public address. */
  FETCH_REFUSED_ADDRESS: e('invalid', 'The URL points to an address that is not allowed'),
  /** No complete answer within the timeout. */
  FETCH_TIMEOUT: e('invalid', 'The fetch timed out'),
  /** The answer exceeds the size limit of its purpose (see net/fetcher.ts). */
  FETCH_TOO_LARGE: e('too-large', 'The answer is too large'),
  /** The server answered with a status other than 200 (or a redirect beyond the limit). */
  FETCH_HTTP_ERROR: e('invalid', 'The server answered with an error'),
  /** DNS or connection failure. */
  FETCH_FAILED: e('invalid', 'The fetch failed'),
} as const;

/** The MIME layer's codes (backend/src/smime/mime). It throws MimeError (smime/mime/errors.ts) with these and no other. */
export const MIME_ERRORS = {
  /** The input cannot be read as a MIME entity at all (for example a boundary longer than any sane generator makes). */
  MIME_MALFORMED: ENGINE_ERRORS.MIME_MALFORMED,
  /** Multiparts and embedded messages are nested deeper than MimeLimits.maxDepth. */
  MIME_TOO_DEEP: e('too-large', 'The MIME structure is nested too deeply'),
  /** The message holds more body parts than MimeLimits.maxParts. */
  MIME_TOO_MANY_PARTS: e('too-large', 'The message has too many body parts'),
  /** A header field or a header block exceeds MimeLimits.maxHeaderFieldLength or maxHeaderLines. */
  MIME_HEADER_TOO_LARGE: e('too-large', 'A header is too large'),
  /** An options object has an unknown key or a value of the wrong kind. */
  MIME_INVALID_OPTION: e('invalid', 'Invalid option'),
  /** Strict decoding met bytes that are not valid base64 or quoted-printable. */
  MIME_BAD_ENCODING: e('invalid', 'The body is not validly transfer-encoded'),
  /** A Content-Transfer-Encoding this layer does not implement (RFC 2045 section 6.4: treat as opaque data). */
  MIME_UNSUPPORTED_ENCODING: e('unsupported', 'The transfer encoding is not supported'),
  /** A header name or value given to a builder is unusable (line breaks in a value are header injection). */
  MIME_INVALID_HEADER: e('invalid', 'Invalid header'),
  /** A boundary given to a builder is not valid (RFC 2046 section 5.1.1) or occurs inside a part. */
  MIME_INVALID_BOUNDARY: e('invalid', 'Invalid multipart boundary'),
  /** An address list cannot be parsed (RFC 5322 section 3.4). */
  MIME_INVALID_ADDRESS: e('invalid', 'Invalid email address'),
  /** The entity cannot be made 7-bit safe without changing what it means (RFC 8551 section 3.1). */
  MIME_CANNOT_CANONICALIZE: e('invalid', 'The entity cannot be brought to canonical form'),
} as const;

/** The product's codes: API, authentication, vault, mail service, directory, audit, demo, server. */
const PRODUCT_ERRORS = {
  // Input
  BAD_JSON: e('bad-request', 'The request body is not valid JSON.'),
  BAD_REQUEST: e('bad-request', 'The request is invalid.'),
  UNSUPPORTED_MEDIA_TYPE: e('unsupported-media-type', 'This endpoint does not accept that content type.'),
  PAYLOAD_TOO_LARGE: e('too-large', 'The request body is too large.'),
  NOT_FOUND: e('not-found', 'Not found.'),
  METHOD_NOT_ALLOWED: e('method-not-allowed', 'Method not allowed.'),
  METHOD_NOT_IMPLEMENTED: e('not-implemented', 'This server does not implement that HTTP method.'),
  CONFIRMATION_REQUIRED: e('bad-request', 'This action must be confirmed.'),
  // Authentication
  UNAUTHENTICATED: e('unauthenticated', 'A valid user token is required.'),
  TOKEN_EXPIRED: e('unauthenticated', 'The user token has expired.'),
  TOKEN_LIFETIME_TOO_LONG: e('unauthenticated', 'The user token lives longer than the server allows.'),
  ADMIN_UNAUTHENTICATED: e('unauthenticated', 'A valid admin credential is required.'),
  // Certificates placed in a profile
  CERT_EMAIL_MISMATCH: e('invalid', "None of the certificate's email addresses belongs to the user."),
  CERT_NOT_FOR_EMAIL: e('invalid', 'The certificate is not meant for email protection.'),
  KEY_ALREADY_PRESENT: e('conflict', 'This key is already in the profile.'),
  // Vault
  USER_NOT_FOUND: e('not-found', 'No such user.'),
  KEY_NOT_FOUND: e('not-found', 'No such key.'),
  NO_KEYS: e('conflict', 'The user has no private keys.'),
  WRONG_PASSPHRASE: e('forbidden', 'The passphrase is wrong.'),
  RATE_LIMITED: e('rate-limited', 'Too many requests; slow down.'),
  SERVER_BUSY: e('busy', 'The server is busy with work of this kind; try again shortly.'),
  THROTTLED: e('rate-limited', 'Too many wrong passphrases; wait before trying again.'),
  PASSPHRASE_TOO_WEAK: e('invalid', 'The new passphrase is too short.'),
  PASSPHRASE_UNCHANGED: e('invalid', 'The new passphrase must differ from the current one.'),
  PASSPHRASE_REQUIRED: e('bad-request', 'Your current passphrase is required.'),
  PASSPHRASE_CHANGE_REQUIRED: e('locked', 'This key was placed by IT: choose your own passphrase before using it.'),
  LOCKED: e('locked', 'Your keys are locked: unlock them with your passphrase.'),
  KEY_NOT_PENDING: e('conflict', 'This key is already protected by your passphrase.'),
  CONCURRENT_CHANGE: e('conflict', 'Your keys changed meanwhile (another session); try again.'),
  ALIAS_TAKEN: e('conflict', 'That address already belongs to another user.'),
  // Mail
  MESSAGE_MALFORMED: e('invalid', 'The message cannot be parsed as MIME.'),
  MESSAGE_TOO_LARGE: e('too-large', 'The message is larger than the server accepts.'),
  TOO_MANY_RECIPIENTS: e(
    'too-large',
    'The message has more recipients than the server accepts (SMIME_MAX_RECIPIENTS).',
  ),
  OUTPUT_TOO_LARGE: e(
    'too-large',
    'Protecting this message would produce more than the server hands out for one request (SMIME_MAX_OUTPUT_BYTES): every Bcc recipient gets a whole copy.',
  ),
  FROM_NOT_USER: e('invalid', 'The From address is not one of yours.'),
  FROM_NOT_PLAIN: e('invalid', 'The From header must name exactly one plain address.'),
  RECIPIENT_CERTIFICATE_MISSING: e(
    'invalid',
    'Some recipients have no usable certificate; the message was not encrypted or sent.',
  ),
  SENDER_CERTIFICATE_MISSING: e('invalid', 'You have no valid certificate to encrypt your own copy to.'),
  SIGNING_CERT_EXPIRED: e('invalid', 'Your signing certificate has expired.'),
  SIGNING_CERT_NOT_YET_VALID: e('invalid', 'Your signing certificate is not valid yet.'),
  SIGNER_EMAIL_MISMATCH: e('invalid', 'Your signing certificate is not for the From address.'),
  BCC_NEEDS_SEPARATE_COPIES: e(
    'not-acceptable',
    'Encrypted mail with Bcc recipients produces one copy per Bcc recipient: ask for application/json.',
  ),
  CERTIFICATE_NOT_FOUND: e('not-found', 'No such certificate.'),
  DIRECTORY_CERTIFICATE_READ_ONLY: e(
    'conflict',
    'This certificate comes from the directory: it changes only when the directory does.',
  ),
  // Directory (issue 4). Upstream failures are 502: the directory, not the caller, is at fault. Messages name the
  // server and what failed, never the bind password.
  DIRECTORY_NOT_CONFIGURED: e('conflict', 'No directory is configured (LDAP_URL is not set).'),
  DIRECTORY_SYNC_RUNNING: e('conflict', 'A directory sync is already running; try again when it ends.'),
  DIRECTORY_UNREACHABLE: e('upstream', 'The directory server cannot be reached.'),
  DIRECTORY_TLS_FAILED: e('upstream', "The directory server's TLS certificate is not trusted, or TLS failed."),
  DIRECTORY_BIND_FAILED: e('upstream', 'The directory refused the bind DN or password.'),
  DIRECTORY_BAD_BASE_DN: e('upstream', 'The directory has no entry at LDAP_BASE_DN.'),
  DIRECTORY_SEARCH_FAILED: e('upstream', 'The directory search failed.'),
  DIRECTORY_EMPTY: e(
    'upstream',
    'The directory search returned no entries although the last sync found some; check LDAP_BASE_DN and LDAP_FILTER.',
  ),
  // Demo webmail and plugin bundle (issue 5)
  DEMO_USER_UNKNOWN: e('not-found', 'No such demo user.'),
  DEMO_MESSAGE_NOT_FOUND: e('not-found', 'No such message in this mailbox.'),
  FRONTEND_NOT_BUILT: e('unavailable', 'The plugin bundle is not built: run `npm run build:frontend`.'),
  // Audit checkpoints (issue 12). Not the caller's doing, but a state an operator must look at: 409, like a sync that
  // cannot run; a checkpoint file the server cannot write is the server's failure (503, details in its log).
  AUDIT_CHECKPOINT_KEY_MISSING: e(
    'conflict',
    'No checkpoint signing key is configured (SMIME_AUDIT_CHECKPOINT_KEY_FILE).',
  ),
  AUDIT_CHECKPOINT_REFUSED: e(
    'conflict',
    'The audit chain does not extend the last checkpoint (edited, cut back or rewritten): no checkpoint was written.',
  ),
  AUDIT_CHECKPOINT_WRITE_FAILED: e('unavailable', 'The audit checkpoint could not be written.'),
  // Admin command line (issue 15): what it reads before anything reaches the vault.
  FILE_NOT_FOUND: e('not-found', 'The file does not exist.'),
  FILE_UNREADABLE: e('invalid', 'The file cannot be read.'),
  CSV_INVALID: e('invalid', 'The CSV file cannot be used.'),
  PASSWORD_SOURCE_INVALID: e('invalid', 'The password source cannot be used.'),
  DATABASE_UNREACHABLE: e('unavailable', 'The database cannot be reached.'),
  CONFIG_INVALID: e('invalid', 'A setting is missing or invalid.'),
  // Organisational key recovery (issue 17): Shamir shares of the recovery key, one encrypted file per custodian.
  /** Shares or split parameters that cannot be used: 2 <= M <= N <= 255 broken, a repeated index, unequal lengths. */
  RECOVERY_SHARES_INVALID: e('invalid', 'The recovery shares or their parameters are invalid.'),
  /** Fewer distinct shares than the threshold: details { have, need, missing }. */
  RECOVERY_TOO_FEW_SHARES: e('invalid', 'Too few recovery shares to rebuild the key.'),
  /** Shares of different recovery sets (another certificate, another threshold or count) given together. */
  RECOVERY_SHARES_MIXED: e('invalid', 'The recovery shares do not all belong to the same recovery set.'),
  /**
   * A share file did not open. One code and one message for every cause (wrong password, any altered byte, a file
   * that is not a share file), so that the answer does not tell which it was.
   */
  RECOVERY_SHARE_REJECTED: e('invalid', 'a share could not be opened: wrong password or altered file'),
  /**
   * The shares opened and combined, but what they rebuilt is not the private key of the recovery certificate: a
   * custodian's file holds a wrong share, or shares of another split were mixed in. Nothing is unwrapped with it.
   */
  RECOVERY_KEY_MISMATCH: e('invalid', "The shares do not rebuild the recovery certificate's private key."),
  /** SMIME_RECOVERY_CERTIFICATE (or a file given for it) is not an RSA certificate of at least 3072 bits. */
  RECOVERY_CERTIFICATE_INVALID: e('invalid', 'The recovery certificate cannot be used.'),
  /**
   * A passphrase change with IT's initial passphrase after a recovery, while keys that were not put back are still
   * under the passphrase the user forgot (details.keyIds): IT puts them back too, or removes them (remove-key).
   */
  KEYS_LEFT_UNDER_OLD_PASSPHRASE: e(
    'forbidden',
    'This passphrase opens the keys IT put back, not your other keys, which are still under your old passphrase: ask IT to put those back too, or to remove them.',
  ),
  /** The database holds no copy of this user's keys wrapped to the recovery certificate of these shares. */
  RECOVERY_NOT_COVERED: e('not-found', 'No key of this user is wrapped to this recovery certificate.'),
  /** The shares belong to a recovery certificate this database never recorded (another deployment, another set). */
  RECOVERY_SET_UNKNOWN: e('not-found', 'This database has never recorded the recovery certificate of these shares.'),
  /** recovery-init's --out already holds files: an earlier ceremony's files are never overwritten. */
  RECOVERY_OUT_NOT_EMPTY: e('conflict', 'The folder for the recovery set is not empty.'),
  /** A wrapped copy opened with the recovery key does not hold the private key of the certificate stored beside it. */
  RECOVERY_WRAP_INVALID: e('invalid', 'A wrapped recovery copy is damaged or does not belong to its key.'),
  // Server
  SERVICE_UNAVAILABLE: e('unavailable', 'The service is starting or unavailable.'),
  INTERNAL: e('internal', 'Internal error.'),
} as const;

export const ERRORS = { ...ENGINE_ERRORS, ...MIME_ERRORS, ...PRODUCT_ERRORS } as const;

export type ErrorCode = keyof typeof ERRORS;

/**
 * An error with a stable code, mapped to HTTP in one place (api/middleware/errors.ts, by kind) and to exit codes by
 * the CLI. The engine's SmimeError and the MIME layer's MimeError are AppErrors restricted to their own codes.
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly kind: ErrorKind;
  readonly status: number;
  /** Extra machine-readable facts for the client (never secrets), e.g. { retryAfterSeconds }. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'AppError';
    this.code = code;
    this.kind = ERRORS[code].kind;
    this.status = ERROR_KINDS[this.kind];
    this.details = details;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
