// The one registry of MIME layer error codes, shaped like the engine's SmimeError registry (../errors.ts): callers
// switch on `code`, never on the message. Malformed input makes this layer throw a MimeError and nothing else; any
// other exception escaping it is a bug.

/** Stable string codes and the default message for each. */
export const MIME_ERROR_CODES = {
  /** The input cannot be read as a MIME entity at all (for example a boundary longer than any sane generator makes). */
  MIME_MALFORMED: 'The MIME structure is malformed',
  /** Multiparts and embedded messages are nested deeper than MimeLimits.maxDepth. */
  MIME_TOO_DEEP: 'The MIME structure is nested too deeply',
  /** The message holds more body parts than MimeLimits.maxParts. */
  MIME_TOO_MANY_PARTS: 'The message has too many body parts',
  /** A header field or a header block exceeds MimeLimits.maxHeaderFieldLength or maxHeaderLines. */
  MIME_HEADER_TOO_LARGE: 'A header is too large',
  /** An options object has an unknown key or a value of the wrong kind. */
  MIME_INVALID_OPTION: 'Invalid option',
  /** Strict decoding met bytes that are not valid base64 or quoted-printable. */
  MIME_BAD_ENCODING: 'The body is not validly transfer-encoded',
  /** A Content-Transfer-Encoding this layer does not implement (RFC 2045 section 6.4: treat as opaque data). */
  MIME_UNSUPPORTED_ENCODING: 'The transfer encoding is not supported',
  /** A header name or value given to a builder is unusable (line breaks in a value are header injection). */
  MIME_INVALID_HEADER: 'Invalid header',
  /** A boundary given to a builder is not valid (RFC 2046 section 5.1.1) or occurs inside a part. */
  MIME_INVALID_BOUNDARY: 'Invalid multipart boundary',
  /** An address list cannot be parsed (RFC 5322 section 3.4). */
  MIME_INVALID_ADDRESS: 'Invalid email address',
  /** The entity cannot be made 7-bit safe without changing what it means (RFC 8551 section 3.1). */
  MIME_CANNOT_CANONICALIZE: 'The entity cannot be brought to canonical form',
} as const;

export type MimeErrorCode = keyof typeof MIME_ERROR_CODES;

/** Every error this layer throws on bad input or bad arguments. */
export class MimeError extends Error {
  readonly code: MimeErrorCode;

  constructor(code: MimeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? MIME_ERROR_CODES[code], options);
    this.name = 'MimeError';
    this.code = code;
  }
}

export function isMimeError(value: unknown, code?: MimeErrorCode): value is MimeError {
  return value instanceof MimeError && (code === undefined || value.code === code);
}
