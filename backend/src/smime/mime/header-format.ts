// Writing header fields: 7-bit values (RFC 2047 for text, RFC 5322 phrases for names) folded to 78 characters
// where whitespace allows (RFC 5322 section 2.1.1), never past 998.
import { formatAddressList, parseAddressList } from './address.ts';
import { encodeHeaderWords } from './encoded-word.ts';
import { MimeError } from './errors.ts';

/** Fields whose value is an address list (RFC 5322 sections 3.6.2, 3.6.3 and 3.6.6; RFC 8098 section 2.1). */
export const ADDRESS_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'resent-from',
  'resent-sender',
  'resent-to',
  'resent-cc',
  'resent-bcc',
  'disposition-notification-to',
]);

/**
 * Structured fields a non-ASCII value cannot be encoded into (RFC 2047 section 5 forbids encoded words in them).
 * Anything not listed here and not an address field is treated as unstructured text.
 */
export const STRUCTURED_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-disposition',
  'content-transfer-encoding',
  'content-id',
  'content-language',
  'content-location',
  'content-md5',
  'mime-version',
  'message-id',
  'in-reply-to',
  'references',
  'date',
  'resent-date',
  'resent-message-id',
  'received',
  'return-path',
]);

/** RFC 5322 section 2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998. */
const FOLD_TARGET = 78;
const MAX_LINE = 998;

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * `Name: value` ready for a header block (no final CRLF). The value must be one line (a CR, LF or NUL in it is header
 * injection and throws MIME_INVALID_HEADER). Non-ASCII text is encoded: address fields per entry (display names as
 * encoded words), unstructured fields as encoded words; in structured fields (Content-Type, Message-ID, ...) it is
 * refused, since encoding would change their meaning (use formatContentType for parameters).
 */
export function formatHeaderField(name: string, value: string): string {
  if (!FIELD_NAME.test(name))
    throw new MimeError('MIME_INVALID_HEADER', `invalid header name: ${JSON.stringify(name)}`);
  if (/[\r\n\0]/.test(value)) throw new MimeError('MIME_INVALID_HEADER', `line break or NUL in the value of ${name}`);
  const lower = name.toLowerCase();
  let text = value.trim();
  if (!/^[\x20-\x7e\t]*$/.test(text)) {
    if (ADDRESS_HEADERS.has(lower)) text = formatAddressList(parseAddressList(text));
    else if (STRUCTURED_HEADERS.has(lower)) {
      throw new MimeError('MIME_INVALID_HEADER', `non-ASCII text in structured header ${name}`);
    } else text = encodeHeaderWords(text);
  }
  return foldHeaderLine(`${name}: ${text}`);
}

/**
 * Folds one unfolded field line by inserting CRLF before whitespace (so unfolding gives back the same text), at the
 * last break that keeps a line within 78 characters, or the first one after that. Never breaks after whitespace, so
 * no line ends in whitespace (relays strip it). Throws MIME_HEADER_TOO_LARGE if a line must exceed 998.
 */
export function foldHeaderLine(line: string): string {
  if (line.length <= FOLD_TARGET) return line;
  const colon = line.indexOf(':');
  // Break positions: a whitespace character that follows a non-whitespace one, after the `Name: ` part.
  const breaks: number[] = [];
  for (let i = Math.max(colon + 2, 1); i < line.length; i++) {
    const c = line.charCodeAt(i);
    const p = line.charCodeAt(i - 1);
    if ((c === 0x20 || c === 0x09) && p !== 0x20 && p !== 0x09) breaks.push(i);
  }
  const lines: string[] = [];
  let start = 0;
  let k = 0;
  while (line.length - start > FOLD_TARGET) {
    while (k < breaks.length && breaks[k]! <= start) k++;
    let cut = -1;
    let j = k;
    while (j < breaks.length && breaks[j]! - start <= FOLD_TARGET) cut = breaks[j++]!;
    if (cut === -1) cut = j < breaks.length ? breaks[j]! : -1;
    if (cut === -1) break;
    lines.push(line.slice(start, cut));
    start = cut;
    k = j;
  }
  lines.push(line.slice(start));
  if (lines.some((l) => l.length > MAX_LINE)) {
    throw new MimeError(
      'MIME_HEADER_TOO_LARGE',
      `a line of header ${line.slice(0, Math.max(colon, 0))} cannot be folded under ${MAX_LINE} characters`,
    );
  }
  return lines.join('\r\n');
}
