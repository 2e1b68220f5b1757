// The canonical form of an entity before signing (RFC 8551 section 3.1): CRLF line endings, and nothing a relay may
// rewrite. RFC 8551 section 3.1.3: a multipart/signed entity that may cross 7-bit transport "MUST have transfer
// encoding applied so that it is represented as 7-bit text"; otherwise a relay re-encodes it and the signature breaks.
// Beyond 7-bit, this also protects what RFC 2049 section 4 lists as damaged in transit: trailing whitespace on a
// line (item 6) and `From ` at the start of a line (item 8).
import { parseStructuredValue, formatParameters } from './content-type.ts';
import { MimeError } from './errors.ts';
import { formatHeaderField } from './header-format.ts';
import {
  canonicalizeLineEndings,
  hasCanonicalLineEndings,
  isTransportSafe,
  lfToCrlf,
  scanBody,
} from './lib/body-scan.ts';
import { CR, HTAB, latin1Bytes, LF, SP } from './lib/bytes.ts';
import { joinPieces } from './lib/pieces.ts';
import { encodeLeaf } from './lib/leaf-encoding.ts';
import type { MimeLimits } from './limit-options.ts';
import { parseEntity } from './parse.ts';
import { decodeBase64, decodeQuotedPrintable, encodeBase64Lines, encodeQuotedPrintable } from './transfer-encoding.ts';
import type { MimeEntity, MimeHeader } from './types.ts';

export { canonicalizeLineEndings } from './lib/body-scan.ts';

const CRLF = latin1Bytes('\r\n');

/**
 * Brings a MIME entity (usually the content entity of a message: Content-* headers and body) to the form to sign:
 * - every line ending CRLF, in headers and bodies;
 * - a leaf whose transfer encoding is 8bit or binary, or whose body has 8-bit bytes, NUL, lines over 998 octets,
 *   trailing whitespace or `From ` lines, is re-encoded: text/* as quoted-printable (after CRLF canonicalisation),
 *   anything else as base64 (byte for byte), with its Content-Transfer-Encoding updated;
 * - text/* bodies already base64 or quoted-printable are re-encoded if their decoded text has bare LF or CR;
 * - multiparts keep their structure and boundaries; preamble and epilogue are kept when safe, else dropped;
 *   transport padding after delimiters is dropped; a missing close delimiter is added;
 * - header fields with 8-bit text or overlong lines are re-encoded (RFC 2047 / RFC 2231), whitespace at the end of
 *   header lines is dropped, and duplicate Content-Type / Content-Transfer-Encoding fields are dropped;
 * - an embedded multipart/signed is copied byte for byte (only LF -> CRLF): re-encoding it would break its signature.
 *
 * The result parses to the same structure with the same decoded content (text: with CRLF line breaks). An entity
 * that is already canonical comes back byte-identical. Throws MIME_CANNOT_CANONICALIZE when that is impossible
 * without changing meaning (for example an embedded multipart/signed with 8-bit content, or a multipart without
 * parts), and the parse errors of parseEntity.
 */
export function toSignable(entityBytes: Uint8Array, limits?: Partial<MimeLimits>): Uint8Array {
  const root = parseEntity(entityBytes, limits);
  const out: Uint8Array[] = [];
  emitEntity(root, out);
  return joinPieces(out);
}

/**
 * toSignable of the content entity of a parsed whole message (what splitMessageHeaders cuts out: the Content-*
 * fields and the body), as pieces that are mostly views of the message: nothing is copied, so a caller that hashes,
 * encrypts or writes them out touches a large body once (issue 6). Gives the same bytes as
 * `toSignable(splitMessageHeaders(raw).entity)`, or undefined when the entity is a multipart/signed, which is copied
 * verbatim and needs those joined bytes. `fields` replaces the entity's header fields (header protection, RFC 9788,
 * puts the message's own fields and an `hp` parameter there). Throws as toSignable does.
 */
export function signablePieces(
  message: MimeEntity,
  fields: readonly MimeHeader[] = message.headers.filter((h) => h.name.toLowerCase().startsWith('content-')),
): Uint8Array[] | undefined {
  if (message.contentType.mediaType === 'multipart/signed' && !message.defects.includes('ENCODED_COMPOSITE'))
    return undefined;
  const entity: MimeEntity = { ...message, headers: fields };
  const out: Uint8Array[] = [];
  emitEntity(entity, out);
  return out;
}

function refuse(reason: string, cause?: unknown): MimeError {
  return new MimeError('MIME_CANNOT_CANONICALIZE', reason, cause === undefined ? undefined : { cause });
}

function emitEntity(entity: MimeEntity, out: Uint8Array[]): void {
  const ct = entity.contentType;
  if (entity.defects.includes('ENCODED_COMPOSITE')) {
    throw refuse(`${ct.mediaType} with ${entity.transferEncoding} transfer encoding (RFC 2045 section 6.4)`);
  }
  if (ct.type === 'multipart') {
    if (entity.boundary === undefined || entity.children.length === 0) throw refuse('a multipart without parts');
    if (ct.subtype === 'signed') {
      emitVerbatim(entity, out);
      return;
    }
    emitHeaders(entity, out, compositeEncoding(entity));
    out.push(CRLF);
    const dashBoundary = latin1Bytes(`--${entity.boundary}`);
    if (entity.preamble !== undefined) {
      const preamble = safeText(entity.preamble);
      if (preamble !== undefined && !holdsDelimiter([preamble], 0, dashBoundary)) out.push(preamble, CRLF);
    }
    for (const child of entity.children) {
      out.push(dashBoundary, CRLF);
      const first = out.length;
      emitEntity(child, out);
      // A bare CR before "--boundary" is no line start, its CRLF form is: the part would split in two (found by
      // test/fuzz). RFC 2046 section 5.1.1: the boundary must not occur in an encapsulated part.
      if (holdsDelimiter(out, first, dashBoundary))
        throw refuse('a part would hold its multipart boundary once its line ends are CRLF');
      out.push(CRLF);
    }
    out.push(dashBoundary, latin1Bytes('--'));
    if (entity.epilogue !== undefined) {
      out.push(CRLF);
      const epilogue = safeText(entity.epilogue);
      if (epilogue !== undefined) out.push(epilogue);
    }
    return;
  }
  if (entity.children.length === 1) {
    // message/rfc822 or message/global: the embedded message, itself canonicalised.
    emitHeaders(entity, out, compositeEncoding(entity));
    out.push(CRLF);
    emitEntity(entity.children[0]!, out);
    return;
  }
  emitLeaf(entity, out);
}

/**
 * Whether pieces[first..] (a part in canonical form, which starts at a line start) hold a line the parser would read
 * as a delimiter of `dashBoundary`: at a line start, then spaces or tabs, then CRLF, the end, or "--".
 */
function holdsDelimiter(pieces: readonly Uint8Array[], first: number, dashBoundary: Uint8Array): boolean {
  const byteAfter = (k: number, i: number): number | undefined => {
    for (; k < pieces.length; k++, i = 0) if (i < pieces[k]!.length) return pieces[k]![i];
    return undefined;
  };
  let previous: number | undefined = LF;
  for (let k = first; k < pieces.length; k++) {
    const piece = Buffer.from(pieces[k]!.buffer, pieces[k]!.byteOffset, pieces[k]!.length);
    for (let at = piece.indexOf(dashBoundary); at !== -1; at = piece.indexOf(dashBoundary, at + 1)) {
      if ((at === 0 ? previous : piece[at - 1]) !== LF) continue;
      let i = at + dashBoundary.length;
      let c = byteAfter(k, i);
      if (c === 0x2d && byteAfter(k, i + 1) === 0x2d) return true;
      while (c === SP || c === HTAB) c = byteAfter(k, ++i);
      if (c === undefined || c === CR || c === LF) return true;
    }
    if (piece.length > 0) previous = piece[piece.length - 1];
  }
  return false;
}

/** A composite's body is 7-bit once its parts are; RFC 2045 section 6.4 allows only 7bit, 8bit and binary. */
function compositeEncoding(entity: MimeEntity): string | undefined {
  return entity.transferEncoding === '7bit' ? undefined : '7bit';
}

/** Preamble or epilogue: CRLF text when it is transport-safe, else undefined (it is discarded by readers anyway). */
function safeText(bytes: Uint8Array): Uint8Array | undefined {
  const canonical = canonicalizeLineEndings(bytes);
  return isTransportSafe(scanBody(canonical)) ? canonical : undefined;
}

function emitVerbatim(entity: MimeEntity, out: Uint8Array[]): void {
  const scan = scanBody(entity.raw);
  if (scan.eightBit || scan.nul || scan.loneCr || scan.longLine) {
    throw refuse('an embedded multipart/signed is not 7-bit text: re-encoding it would break its signature');
  }
  out.push(scan.bareLf ? lfToCrlf(entity.raw) : entity.raw);
}

function emitLeaf(entity: MimeEntity, out: Uint8Array[]): void {
  const isText = entity.contentType.type === 'text';
  const encoding = entity.transferEncoding;
  const body = entity.body;
  const scan = scanBody(body);
  let newEncoding: string | undefined;
  let newBody: Uint8Array;

  if (encoding === '8bit' || encoding === 'binary') {
    const leaf = encodeLeaf(body, isText);
    newEncoding = leaf.encoding;
    newBody = leaf.body;
  } else if (encoding === '7bit') {
    if (isText) {
      // Already CRLF throughout: the scan of the body is the scan of its canonical form.
      const canonical = scan.bareLf || scan.loneCr ? canonicalizeLineEndings(body) : body;
      if (isTransportSafe(canonical === body ? scan : scanBody(canonical))) newBody = canonical;
      else {
        newEncoding = 'quoted-printable';
        newBody = encodeQuotedPrintable(canonical);
      }
    } else if (isTransportSafe(scan)) {
      newBody = scan.bareLf ? lfToCrlf(body) : body;
    } else {
      newEncoding = 'base64';
      newBody = encodeBase64Lines(body);
    }
  } else if (encoding === 'base64' || encoding === 'quoted-printable') {
    const clean = isTransportSafe(scan);
    const decode = encoding === 'base64' ? decodeBase64 : decodeQuotedPrintable;
    // A hard line break in quoted-printable stands for CRLF (RFC 2045 section 6.7 rule 4), so LF -> CRLF on the
    // encoded text is what a CRLF transport does; base64 ignores line breaks.
    const encoded = clean && scan.bareLf ? lfToCrlf(body) : body;
    if (!isText) {
      if (clean) newBody = encoded;
      else {
        newEncoding = 'base64';
        newBody = encodeBase64Lines(decode(body));
      }
    } else {
      const decoded = decode(encoded);
      if (clean && hasCanonicalLineEndings(decoded)) newBody = encoded;
      else {
        const text = canonicalizeLineEndings(decoded);
        newEncoding = encoding;
        newBody = encoding === 'base64' ? encodeBase64Lines(text) : encodeQuotedPrintable(text);
      }
    }
  } else {
    if (!isTransportSafe(scan)) throw refuse(`unknown transfer encoding ${encoding} with unsafe content`);
    newBody = scan.bareLf ? lfToCrlf(body) : body;
  }
  emitHeaders(entity, out, newEncoding === encoding ? undefined : newEncoding);
  out.push(CRLF, newBody);
}

/**
 * The header block, canonical, without the blank line. `encoding`, when given, replaces the first
 * Content-Transfer-Encoding field (or is added after the others).
 */
function emitHeaders(entity: MimeEntity, out: Uint8Array[], encoding: string | undefined): void {
  let seenType = false;
  let seenEncoding = false;
  for (const header of entity.headers) {
    const name = header.name.toLowerCase();
    if (name === 'content-type') {
      if (seenType) continue;
      seenType = true;
    }
    if (name === 'content-transfer-encoding') {
      if (seenEncoding) continue;
      seenEncoding = true;
      if (encoding !== undefined) {
        out.push(latin1Bytes(`${header.name}: ${encoding}\r\n`));
        continue;
      }
    }
    out.push(canonicalField(header));
  }
  if (encoding !== undefined && !seenEncoding) out.push(latin1Bytes(`Content-Transfer-Encoding: ${encoding}\r\n`));
}

/** One header field, canonical: CRLF, no trailing whitespace on its lines, 7-bit, lines within 998 octets. */
function canonicalField(header: MimeHeader): Uint8Array {
  const raw = header.raw;
  const scan = scanBody(raw);
  if (scan.loneCr || scan.nul) throw refuse(`a CR or NUL inside header ${header.name}`);
  if (scan.eightBit || scan.longLine) return rewriteField(header);
  // Lines of the field without trailing whitespace; a continuation line of only whitespace is dropped, since
  // stripping it would leave an empty line, which ends the header block.
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i < raw.length && raw[i] !== LF) continue;
    let end = i;
    if (end > start && raw[end - 1] === CR) end--;
    while (end > start && (raw[end - 1] === SP || raw[end - 1] === HTAB)) end--;
    if (end > start) lines.push(raw.subarray(start, end), CRLF);
    start = i + 1;
  }
  return joinPieces(lines);
}

function rewriteField(header: MimeHeader): Uint8Array {
  const name = header.name.toLowerCase();
  let value = header.value;
  if (name === 'content-type' || name === 'content-disposition') {
    // RFC 2231: parameters with 8-bit text or long values become percent-encoded, continued parameters.
    const parsed = parseStructuredValue(value);
    if (parsed.value === '') throw refuse(`unreadable ${header.name}`);
    value = [parsed.value, ...formatParameters(parsed.params)].join('; ');
  }
  try {
    const field = formatHeaderField(header.name, value);
    if (!isAsciiText(field)) throw refuse(`header ${header.name} stays 8-bit`);
    return latin1Bytes(`${field}\r\n`);
  } catch (error) {
    if (error instanceof MimeError && error.code === 'MIME_CANNOT_CANONICALIZE') throw error;
    throw refuse(`header ${header.name} cannot be made 7-bit`, error);
  }
}

function isAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
