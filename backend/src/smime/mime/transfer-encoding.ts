// Content-Transfer-Encoding (RFC 2045 section 6): decoding bodies, and the encoders the canonical form and the
// builders use. Decoders are linear, allocate once, and never throw on bad input unless asked to be strict.
import { MimeError } from './errors.ts';
import { Base64LineWriter, base64LinesLength } from './lib/base64-lines.ts';
import { asBuffer, CR, EQUALS, HEX_UPPER, hexValue, HTAB, isWsp, LF, SP } from './lib/bytes.ts';
import type { MimeEntity } from './types.ts';

export interface DecodeOptions {
  /**
   * false (default): RFC 2045 section 6.8 for base64 ("any characters outside of the base64 alphabet are to be
   * ignored") and section 6.7 note (1) for quoted-printable (an `=` not followed by two hex digits is kept as is).
   * true: such input throws MIME_BAD_ENCODING, as do data after base64 padding and an incomplete base64 quantum.
   */
  strict?: boolean;
}

const DECODE_OPTION_KEYS = new Set(['strict']);

function resolveDecodeOptions(options: DecodeOptions | undefined): boolean {
  if (options === undefined) return false;
  for (const key of Object.keys(options)) {
    if (!DECODE_OPTION_KEYS.has(key)) throw new MimeError('MIME_INVALID_OPTION', `unknown option: ${key}`);
  }
  if (options.strict !== undefined && typeof options.strict !== 'boolean') {
    throw new MimeError('MIME_INVALID_OPTION', 'strict must be a boolean');
  }
  return options.strict === true;
}

/** Transfer encodings that leave the body as it is (RFC 2045 section 6.2). */
export const IDENTITY_ENCODINGS: ReadonlySet<string> = new Set(['7bit', '8bit', 'binary']);

/**
 * The body of `entity` with its Content-Transfer-Encoding undone. For 7bit, 8bit and binary the result is the body
 * itself (the same view, not a copy). Any other encoding throws MIME_UNSUPPORTED_ENCODING (RFC 2045 section 6.4:
 * such a body is opaque data).
 */
export function decodeBody(entity: Pick<MimeEntity, 'body' | 'transferEncoding'>, options?: DecodeOptions): Uint8Array {
  const strict = resolveDecodeOptions(options);
  const encoding = entity.transferEncoding.toLowerCase();
  if (IDENTITY_ENCODINGS.has(encoding)) return entity.body;
  if (encoding === 'base64') return decodeBase64Bytes(entity.body, strict);
  if (encoding === 'quoted-printable') return decodeQuotedPrintableBytes(entity.body, strict);
  throw new MimeError('MIME_UNSUPPORTED_ENCODING', `unsupported Content-Transfer-Encoding: ${encoding.slice(0, 40)}`);
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUES = new Int8Array(256).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;

function isLineSpace(byte: number): boolean {
  return byte === SP || byte === HTAB || byte === CR || byte === LF;
}

/** Base64 (RFC 2045 section 6.8). Line breaks and whitespace are always ignored; see DecodeOptions for the rest. */
export function decodeBase64(encoded: Uint8Array, options?: DecodeOptions): Uint8Array {
  return decodeBase64Bytes(encoded, resolveDecodeOptions(options));
}

function decodeBase64Bytes(encoded: Uint8Array, strict: boolean): Uint8Array {
  const out = new Uint8Array(Math.floor((encoded.length * 3) / 4) + 3);
  let n = 0;
  let acc = 0;
  let count = 0;
  let i = 0;
  for (; i < encoded.length; i++) {
    const b = encoded[i]!;
    const v = BASE64_VALUES[b]!;
    if (v >= 0) {
      acc = (acc << 6) | v;
      if (++count === 4) {
        out[n++] = (acc >> 16) & 0xff;
        out[n++] = (acc >> 8) & 0xff;
        out[n++] = acc & 0xff;
        acc = 0;
        count = 0;
      }
    } else if (b === EQUALS) {
      // Padding: "any occurrence of '=' may be taken as evidence that the end of the data has been reached".
      break;
    } else if (strict && !isLineSpace(b)) {
      throw new MimeError('MIME_BAD_ENCODING', `byte 0x${b.toString(16)} at ${i} is not base64`);
    }
  }
  if (count === 2) out[n++] = (acc >> 4) & 0xff;
  else if (count === 3) {
    out[n++] = (acc >> 10) & 0xff;
    out[n++] = (acc >> 2) & 0xff;
  } else if (count === 1 && strict) {
    throw new MimeError('MIME_BAD_ENCODING', 'base64 data ends with an incomplete quantum');
  }
  if (strict && i < encoded.length) {
    const padding = count === 2 ? 2 : count === 3 ? 1 : 0;
    let seen = 0;
    for (; i < encoded.length; i++) {
      const b = encoded[i]!;
      if (b === EQUALS && ++seen <= padding) continue;
      if (!isLineSpace(b)) throw new MimeError('MIME_BAD_ENCODING', `unexpected data after base64 padding at ${i}`);
    }
    if (seen !== padding) throw new MimeError('MIME_BAD_ENCODING', 'wrong base64 padding');
  }
  return out.subarray(0, n);
}

/**
 * Base64 in lines of `lineLength` characters (RFC 2045 section 6.8: at most 76), separated by CRLF. No line break
 * after the last line: in a multipart the CRLF before the next delimiter belongs to the delimiter.
 */
export function encodeBase64Lines(bytes: Uint8Array, lineLength = 76): Uint8Array {
  if (!Number.isInteger(lineLength) || lineLength < 4 || lineLength > 76 || lineLength % 4 !== 0) {
    throw new MimeError('MIME_INVALID_OPTION', 'lineLength must be a multiple of 4 between 4 and 76');
  }
  if (bytes.length === 0) return new Uint8Array(0);
  // Every line CRLF-terminated by the writer; the last CRLF is cut off (a view, not a copy).
  const out = new Uint8Array(base64LinesLength(bytes.length, lineLength));
  const writer = new Base64LineWriter(out, 0, lineLength);
  writer.write(bytes);
  return out.subarray(0, writer.end() - 2);
}

/**
 * Quoted-printable (RFC 2045 section 6.7). Whitespace at the end of a line is dropped (rule 3: transports add it);
 * `=` before the end of a line is a soft line break; line breaks are kept as they appear (CRLF or LF).
 */
export function decodeQuotedPrintable(encoded: Uint8Array, options?: DecodeOptions): Uint8Array {
  return decodeQuotedPrintableBytes(encoded, resolveDecodeOptions(options));
}

function decodeQuotedPrintableBytes(encoded: Uint8Array, strict: boolean): Uint8Array {
  const buf = asBuffer(encoded);
  const out = new Uint8Array(encoded.length);
  let n = 0;
  let pos = 0;
  while (pos < encoded.length) {
    const lf = buf.indexOf(LF, pos);
    const lineEnd = lf === -1 ? encoded.length : lf;
    let contentEnd = lineEnd;
    const crlf = lf !== -1 && lineEnd > pos && encoded[lineEnd - 1] === CR;
    if (crlf) contentEnd--;
    while (contentEnd > pos && isWsp(encoded[contentEnd - 1])) contentEnd--;
    let soft = false;
    for (let i = pos; i < contentEnd; i++) {
      const b = encoded[i]!;
      if (b !== EQUALS) {
        if (strict && b >= 0x80) throw new MimeError('MIME_BAD_ENCODING', `8-bit byte at ${i} in quoted-printable`);
        out[n++] = b;
        continue;
      }
      if (i === contentEnd - 1) {
        soft = true;
        break;
      }
      const hi = hexValue(encoded[i + 1]);
      const lo = hexValue(encoded[i + 2]);
      if (hi >= 0 && lo >= 0 && i + 2 < contentEnd) {
        out[n++] = hi * 16 + lo;
        i += 2;
      } else if (strict) {
        throw new MimeError('MIME_BAD_ENCODING', `invalid quoted-printable escape at ${i}`);
      } else {
        out[n++] = b;
      }
    }
    if (lf === -1) break;
    if (!soft) {
      if (crlf) out[n++] = CR;
      out[n++] = LF;
    }
    pos = lf + 1;
  }
  return out.subarray(0, n);
}

/** Longest encoded line, without its line break (RFC 2045 section 6.7 rule 5). */
const QP_MAX_LINE = 76;

/**
 * Quoted-printable with CRLF line breaks, lines of at most 76 characters (soft breaks included). CRLF in the input
 * is a hard line break; a lone CR or LF is encoded (=0D, =0A) so any byte string round-trips. Beyond what RFC 2045
 * requires, it also encodes what transports are known to damage (RFC 2049 section 4, items 6 and 8): whitespace at
 * the end of a line, a `.` at the start of a line, and `From ` at the start of a line.
 */
export function encodeQuotedPrintable(bytes: Uint8Array): Uint8Array {
  const len = bytes.length;
  // Worst case: every byte as =XX, plus a soft break (=CRLF) every 25 escapes. Not zeroed: only what is written
  // is copied out.
  const out = Buffer.allocUnsafe(len * 3 + Math.ceil((len * 3) / (QP_MAX_LINE - 3)) * 3 + 3);
  let n = 0;
  let lineLength = 0;
  for (let i = 0; i < len; i++) {
    const b = bytes[i]!;
    if (b === CR && bytes[i + 1] === LF) {
      out[n++] = CR;
      out[n++] = LF;
      lineLength = 0;
      i++;
      continue;
    }
    const beforeBreak = i + 1 >= len || (bytes[i + 1] === CR && bytes[i + 2] === LF);
    let escape = needsEscape(bytes, i, lineLength === 0, beforeBreak);
    let width = escape ? 3 : 1;
    // Room for the token, and for the `=` of a soft break unless the line ends right after this token.
    if (lineLength + width > (beforeBreak ? QP_MAX_LINE : QP_MAX_LINE - 1)) {
      out[n++] = EQUALS;
      out[n++] = CR;
      out[n++] = LF;
      lineLength = 0;
      escape = needsEscape(bytes, i, true, beforeBreak);
      width = escape ? 3 : 1;
    }
    if (escape) {
      out[n++] = EQUALS;
      out[n++] = HEX_DIGITS[b >> 4]!;
      out[n++] = HEX_DIGITS[b & 15]!;
    } else {
      out[n++] = b;
    }
    lineLength += width;
  }
  return new Uint8Array(out.subarray(0, n));
}

/** The digits of =XX (RFC 2045 section 6.7: upper case). */
const HEX_DIGITS = Uint8Array.from(HEX_UPPER, (c) => c.charCodeAt(0));
/** 1 for a byte quoted-printable may carry as itself anywhere on a line: printable ASCII but `=`. */
const QP_LITERAL = Uint8Array.from({ length: 256 }, (_, b) => (b >= 0x21 && b <= 0x7e && b !== EQUALS ? 1 : 0));

function needsEscape(bytes: Uint8Array, i: number, lineStart: boolean, beforeBreak: boolean): boolean {
  const b = bytes[i]!;
  if (QP_LITERAL[b] === 1) {
    if (!lineStart) return false;
    if (b === 0x2e) return true;
    return b === 0x46 && bytes[i + 1] === 0x72 && bytes[i + 2] === 0x6f && bytes[i + 3] === 0x6d && bytes[i + 4] === SP;
  }
  return b === SP || b === HTAB ? beforeBreak : true;
}
