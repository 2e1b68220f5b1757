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
