// The raw-byte MIME layer of the S/MIME engine: parse without losing a byte, decode, bring to canonical form before
// signing, build, and read addresses. Pure: bytes and options in, bytes and data out; no I/O, no environment.
export { MIME_ERROR_CODES, MimeError, isMimeError, type MimeErrorCode } from './errors.ts';
export { DEFAULT_LIMITS, type MimeLimits } from './limit-options.ts';
export {
  MAX_BOUNDARY_LENGTH,
  MAX_HEADER_FIELD_LENGTH,
  MAX_HEADER_LINES,
  MAX_NESTING_DEPTH,
  MAX_PARTS,
} from '../limits.ts';
export type { ContentType, MimeDefect, MimeEntity, MimeHeader } from './types.ts';
export { parseEntity } from './parse.ts';
export { getHeader, getHeaders } from './headers.ts';
export {
  formatContentType,
  formatParameters,
  parseContentDisposition,
  parseContentType,
  type ContentDisposition,
} from './content-type.ts';
export { decodeEncodedWords, encodeHeaderWords, encodePhrase } from './encoded-word.ts';
export {
  decodeBase64,
  decodeBody,
  decodeQuotedPrintable,
  encodeBase64Lines,
  encodeQuotedPrintable,
  type DecodeOptions,
} from './transfer-encoding.ts';
export { canonicalizeLineEndings, signablePieces, toSignable } from './canonical.ts';
export { foldHeaderLine, formatHeaderField } from './header-format.ts';
export {
  buildEntity,
  buildMultipart,
  buildMultipartPieces,
  generateBoundary,
  joinMessage,
  joinMessagePieces,
  splitMessageHeaders,
  type BuildEntityInput,
  type HeaderInput,
  type SplitMessage,
} from './build.ts';
export {
  canonicalAddress,
  formatAddress,
  formatAddressList,
  normalizeEmail,
  parseAddressList,
  plainSender,
  tryCanonicalAddress,
  type EmailAddress,
} from './address.ts';
export { joinPieces, piecesLength, writePieces } from './lib/pieces.ts';
