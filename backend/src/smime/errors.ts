// The one registry of S/MIME engine error codes. Callers (the API's error mapper, the CLI, tests) switch on `code`,
// never on the message: messages are for people and may be reworded. A message never contains a password, key bytes
// or decrypted content.

/**
 * Stable string codes. Add new codes here (grouped by operation prefix) and describe them in the table below.
 */
export const SMIME_ERROR_CODES = {
  /** The PKCS#12 file is not valid DER/BER of the expected structure, or is damaged. */
  P12_MALFORMED: 'The file is not a valid PKCS#12 (.p12/.pfx) file or is damaged',
  /** The MAC did not verify, or (without a MAC) decryption produced nothing readable. */
  P12_BAD_PASSWORD: 'The password is wrong or the file is damaged',
  /** The file holds no private key. */
  P12_NO_KEY: 'The file contains no private key',
  /** The file holds a private key but no certificate. */
  P12_NO_CERTIFICATE: 'The file contains no certificate',
  /** No certificate in the file belongs to any private key in the file. */
  P12_KEY_MISMATCH: 'No certificate in the file matches the private key',
  /** A cipher, KDF, MAC or integrity mode this engine does not implement. */
  P12_UNSUPPORTED_ALGORITHM: 'The file uses an algorithm that is not supported',
  /** The file, or a cost parameter inside it, exceeds a limit (see lib/limits.ts). */
  P12_TOO_LARGE: 'The file exceeds a size or cost limit',
  /** A certificate is not valid DER X.509. */
  CERT_MALFORMED: 'The certificate is malformed',
  /** A message cannot be parsed as MIME at all. */
  MIME_MALFORMED: 'The message cannot be parsed as MIME',
  /** More S/MIME layers nested than the engine follows (see incoming.ts MAX_SMIME_LAYERS). */
  SMIME_TOO_DEEP: 'The message nests too many S/MIME layers',
  /** Not a CMS EnvelopedData/AuthEnvelopedData ContentInfo, or damaged (RFC 5652 section 6, RFC 5083). */
  CMS_MALFORMED: 'The encrypted message is damaged or not a CMS enveloped message',
  /** A content cipher, key-transport, key-agreement or key type this engine does not implement or refuses. */
  CMS_UNSUPPORTED: 'The encrypted message or a recipient uses an unsupported algorithm',
  /** The input, or a count inside it, exceeds a limit (see lib/cms-limits.ts). */
  CMS_TOO_LARGE: 'The encrypted message exceeds a size limit',
  /** Decryption with a key failed. One message for every cause (wrong key, bad padding, bad tag): see envelope.ts. */
  CMS_DECRYPT_FAILED: 'The message could not be decrypted',
  /** An encryption call was given an unknown option, an invalid option value, or no recipients. */
  CMS_INVALID_OPTIONS: 'Invalid encryption options',

  // ---- signing (sign.ts): checked before anything is produced ----
  /** An unknown signing option, or a value of the wrong kind. */
  SIGN_INVALID_OPTION: 'Invalid signing option',
  /** The signer certificate's notAfter has passed (at the signing time, or now). */
  SIGN_CERT_EXPIRED: 'The signing certificate has expired',
  /** The signer certificate's notBefore is still ahead (at the signing time, or now). */
  SIGN_CERT_NOT_YET_VALID: 'The signing certificate is not valid yet',
  /** The signer certificate's key usage or extended key usage does not allow signing email (RFC 8550 section 4.4). */
  SIGN_CERT_USAGE: 'The signing certificate may not be used to sign email',
  /** The private key is not the one the signer certificate certifies. */
  SIGN_KEY_MISMATCH: 'The private key does not belong to the signing certificate',
  /** A key type or curve this engine does not sign with (RSA, and ECDSA on P-256, P-384 and P-521 are supported). */
  SIGN_UNSUPPORTED_KEY: 'The signing key type is not supported',

  // ---- composing an outgoing message (outgoing.ts) ----
  /** An unknown protectMessage option, a value of the wrong kind, or neither sign nor encrypt asked for. */
  OUTGOING_INVALID_OPTION: 'Invalid option for protecting a message',
  /** Not an RFC 5322 message: no header fields, no single From, or lines in the header block that are not fields. */
  OUTGOING_NOT_RFC5322: 'The message is not an RFC 5322 message',
  /** The message has no body (no empty line after the header fields, or nothing after it). */
  OUTGOING_NO_BODY: 'The message has no body',
  /** A header field that stays outside holds 8-bit bytes that are not UTF-8, so no reader could tell what they mean. */
  OUTGOING_8BIT_HEADER: 'A header field holds 8-bit bytes that are not UTF-8',
  /** A header field holds a NUL or a lone CR, which would let readers disagree on where the header block ends. */
  OUTGOING_INVALID_HEADER: 'A header field holds a NUL or a lone CR',
  /** The content cannot be brought to the canonical 7-bit form of RFC 8551 section 3.1 without changing it. */
  OUTGOING_CANNOT_CANONICALIZE: 'The message content cannot be brought to canonical form',
  /** The message exceeds a MIME parsing limit (nesting depth, number of parts, header size). */
  OUTGOING_TOO_LARGE: 'The message exceeds a size or structure limit',
  /** The encryption step returned something other than a ContentInfo of the expected enveloped type. */
  OUTGOING_ENCRYPT_RESULT_INVALID: 'The encryption step returned an unexpected structure',

  // ---- fetching AIA certificates, CRLs and OCSP answers (fetcher.ts) ----
  /** Not an http(s) URL, or one with credentials or an unusable host. */
  FETCH_BAD_URL: 'The URL cannot be fetched',
  /** The host is, or resolves to, a private, loopback, link-local or otherwise non-public address. */
  FETCH_REFUSED_ADDRESS: 'The URL points to an address that is not allowed',
  /** No complete answer within the timeout. */
  FETCH_TIMEOUT: 'The fetch timed out',
  /** The answer exceeds the size limit of its purpose (see fetcher.ts). */
  FETCH_TOO_LARGE: 'The answer is too large',
  /** The server answered with a status other than 200 (or a redirect beyond the limit). */
  FETCH_HTTP_ERROR: 'The server answered with an error',
  /** DNS or connection failure. */
  FETCH_FAILED: 'The fetch failed',
} as const;

export type SmimeErrorCode = keyof typeof SMIME_ERROR_CODES;

/** Every error the S/MIME engine throws on bad input. Anything else escaping the engine is a bug. */
export class SmimeError extends Error {
  readonly code: SmimeErrorCode;

  constructor(code: SmimeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? SMIME_ERROR_CODES[code], options);
    this.name = 'SmimeError';
    this.code = code;
  }
}

export function isSmimeError(value: unknown, code?: SmimeErrorCode): value is SmimeError {
  return value instanceof SmimeError && (code === undefined || value.code === code);
}
