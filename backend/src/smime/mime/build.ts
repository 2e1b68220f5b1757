// Building entities and messages with CRLF line endings and 7-bit headers, and splitting a message into the part
// S/MIME protects (the content entity) and the part it cannot (the transport headers, RFC 8551 section 3.1).
import { randomBytes } from 'node:crypto';
import { contentTypeFrom, formatContentType, isToken, parseStructuredValue } from './content-type.ts';
import { MimeError } from './errors.ts';
import { formatHeaderField } from './header-format.ts';
import { canonicalizeLineEndings, lfToCrlf, scanBody } from './lib/body-scan.ts';
import { latin1Bytes, LF, utf8Bytes } from './lib/bytes.ts';
import { joinPieces, piecesInclude } from './lib/pieces.ts';
import { readHeaderBlock } from './lib/header-block.ts';
import { encodeLeaf } from './lib/leaf-encoding.ts';
import { resolveLimits, type MimeLimits } from './limit-options.ts';
import { encodeBase64Lines, encodeQuotedPrintable } from './transfer-encoding.ts';
import type { MimeHeader } from './types.ts';

/** A header to write: [name, value]. The value is one line of text; non-ASCII is encoded by formatHeaderField. */
export type HeaderInput = readonly [name: string, value: string];

export interface BuildEntityInput {
  headers: readonly HeaderInput[];
  /** The body: written as is, or, with `transferEncoding`, the content to encode. */
  body: Uint8Array;
  /**
   * Encode `body` and add the Content-Transfer-Encoding field (which `headers` must then not contain). text/* content
   * (by the Content-Type in `headers`; none means text/plain) first gets CRLF line endings (RFC 8551 section 3.1.1).
   * 'auto': 7bit when the content is safe as it is, else quoted-printable for text and base64 for the rest.
   */
  transferEncoding?: 'auto' | 'base64' | 'quoted-printable';
}

const BUILD_KEYS = new Set(['headers', 'body', 'transferEncoding']);
const CRLF = latin1Bytes('\r\n');

/** Header fields, a blank line, the body; every header line CRLF-terminated and folded. */
export function buildEntity(input: BuildEntityInput): Uint8Array {
  for (const key of Object.keys(input)) {
    if (!BUILD_KEYS.has(key)) throw new MimeError('MIME_INVALID_OPTION', `unknown option: ${key}`);
  }
  if (!(input.body instanceof Uint8Array)) throw new MimeError('MIME_INVALID_OPTION', 'body must be a Uint8Array');
  const lines = input.headers.map(([name, value]) => formatHeaderField(name, value));
  let body = input.body;
  const mode = input.transferEncoding;
  if (mode !== undefined) {
    if (input.headers.some(([name]) => name.toLowerCase() === 'content-transfer-encoding')) {
      throw new MimeError('MIME_INVALID_OPTION', 'transferEncoding given and a Content-Transfer-Encoding header too');
    }
    const typeHeader = input.headers.find(([name]) => name.toLowerCase() === 'content-type');
    const type = typeHeader === undefined ? undefined : contentTypeFrom(parseStructuredValue(typeHeader[1]));
    const isText = typeHeader === undefined || type?.type === 'text';
    let encoding: string;
    if (mode === 'auto') {
      const leaf = encodeLeaf(body, isText);
      encoding = leaf.encoding;
      body = leaf.body;
    } else if (mode === 'base64' || mode === 'quoted-printable') {
      const content = isText ? canonicalizeLineEndings(body) : body;
      encoding = mode;
      body = mode === 'base64' ? encodeBase64Lines(content) : encodeQuotedPrintable(content);
    } else {
      throw new MimeError('MIME_INVALID_OPTION', `unknown transferEncoding: ${String(mode)}`);
    }
    lines.push(`Content-Transfer-Encoding: ${encoding}`);
  }
  return joinPieces([latin1Bytes(lines.map((l) => `${l}\r\n`).join('')), CRLF, body]);
}

/** RFC 2046 section 5.1.1 bchars, 1 to 70 of them, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** How many fresh boundaries to try before giving up; each is 128 random bits, so one collision is already absurd. */
const BOUNDARY_ATTEMPTS = 8;

/**
 * A fresh boundary: `=_` cannot occur in quoted-printable or base64 text (RFC 2045 section 6.7 wants hex after `=`;
 * `_` is not base64), and 128 random bits make a collision with any other text vanishingly unlikely. Uses the Web
 * random source (node:crypto, which is several times cheaper per call than Web Crypto) for uniqueness only; nothing
 * secret depends on it.
 */
export function generateBoundary(): string {
  return `----=_smime_${randomBytes(16).toString('hex')}`;
}

/**
 * A multipart entity: its Content-Type field, a blank line, then each part between delimiters, exactly as given (the
 * CRLF before each delimiter belongs to the delimiter, RFC 2046 section 5.1.1, so a parser gives back each part's
 * bytes unchanged), then the close delimiter and CRLF. Without `boundary`, a random one is generated and
 * regenerated if it occurs in any part; a given boundary that is invalid or occurs in a part throws
 * MIME_INVALID_BOUNDARY. The parts should already be canonical (see toSignable).
 */
export function buildMultipart(
  subtype: string,
  params: Readonly<Record<string, string>>,
  parts: readonly Uint8Array[],
  boundary?: string,
): Uint8Array {
  return joinPieces(
    buildMultipartPieces(
      subtype,
      params,
      parts.map((p) => [p]),
      boundary,
    ),
  );
}

/** buildMultipart with each part given as pieces, and the result as pieces (views of the parts, not copies). */
export function buildMultipartPieces(
  subtype: string,
  params: Readonly<Record<string, string>>,
  parts: readonly (readonly Uint8Array[])[],
  boundary?: string,
): Uint8Array[] {
  if (!isToken(subtype))
    throw new MimeError('MIME_INVALID_OPTION', `invalid multipart subtype: ${JSON.stringify(subtype)}`);
  if (Object.keys(params).some((k) => k.toLowerCase() === 'boundary')) {
    throw new MimeError('MIME_INVALID_OPTION', 'pass the boundary as its own argument, not in params');
  }
  if (parts.length === 0) throw new MimeError('MIME_INVALID_OPTION', 'a multipart needs at least one part');
  const occursIn = (b: string): boolean => {
    const needle = utf8Bytes(`--${b}`);
    return parts.some((p) => piecesInclude(p, needle));
  };
  let chosen: string | undefined = boundary;
  if (chosen !== undefined) {
    if (!BOUNDARY.test(chosen)) throw new MimeError('MIME_INVALID_BOUNDARY', 'boundary is not 1-70 RFC 2046 bchars');
    if (occursIn(chosen)) throw new MimeError('MIME_INVALID_BOUNDARY', 'boundary occurs inside a part');
  } else {
    for (let attempt = 0; attempt < BOUNDARY_ATTEMPTS && chosen === undefined; attempt++) {
      const candidate = generateBoundary();
      if (!occursIn(candidate)) chosen = candidate;
    }
    if (chosen === undefined) throw new MimeError('MIME_INVALID_BOUNDARY', 'no boundary free of collisions found');
  }
  const header = formatHeaderField(
    'Content-Type',
    formatContentType(`multipart/${subtype}`, { ...params, boundary: chosen }),
  );
  const delimiter = latin1Bytes(`--${chosen}\r\n`);
  const chunks: Uint8Array[] = [latin1Bytes(`${header}\r\n\r\n`)];
  for (const part of parts) chunks.push(delimiter, ...part, CRLF);
  chunks.push(latin1Bytes(`--${chosen}--\r\n`));
  return chunks;
}

export interface SplitMessage {
  /** Every header field that is not Content-* or MIME-Version (From, To, Subject, Date, Received, ...), in order. */
  transportHeaders: MimeHeader[];
  /** The MIME-Version value, if the message had one. */
  mimeVersion: string | undefined;
  /**
   * The content entity: the Content-* fields (exact bytes, in order), the blank line, and the body (exact bytes).
   * This is what S/MIME signs or encrypts.
   */
  entity: Uint8Array;
}

/**
 * Separates a whole RFC 5322 message into its transport headers and its content entity. An S/MIME message protects
 * only the content entity; the transport headers stay outside, readable and alterable by relays (RFC 8551 section
 * 3.1; RFC 7508 and the "protected headers" drafts copy some of them inside, which is the caller's choice).
 */
export function splitMessageHeaders(raw: Uint8Array, limits?: Partial<MimeLimits>): SplitMessage {
  const block = readHeaderBlock(raw, resolveLimits(limits));
  const transportHeaders: MimeHeader[] = [];
  const content: Uint8Array[] = [];
  let mimeVersion: string | undefined;
  for (const header of block.headers) {
    const name = header.name.toLowerCase();
    if (name.startsWith('content-')) content.push(header.raw);
    else if (name === 'mime-version') mimeVersion ??= header.value;
    else transportHeaders.push(header);
  }
  const last = content[content.length - 1];
  if (last !== undefined && last[last.length - 1] !== LF) content.push(CRLF);
  const separator = raw.subarray(block.headerEnd, block.bodyStart);
  content.push(separator.length > 0 ? separator : CRLF, raw.subarray(block.bodyStart));
  return { transportHeaders, mimeVersion, entity: joinPieces(content) };
}

/**
 * A whole message: the transport headers (parsed fields are written with CRLF line endings, [name, value] pairs are
 * formatted), `MIME-Version: 1.0` unless given, then the entity bytes unchanged. A Content-* field among the outer
 * headers throws MIME_INVALID_HEADER: two Content-Type fields would let readers disagree on what the message is.
 */
export function joinMessage(outerHeaders: readonly (MimeHeader | HeaderInput)[], entityBytes: Uint8Array): Uint8Array {
  return joinPieces(joinMessagePieces(outerHeaders, [entityBytes]));
}

/** joinMessage with the entity as pieces, and the message as pieces (the entity's are not copied). */
export function joinMessagePieces(
  outerHeaders: readonly (MimeHeader | HeaderInput)[],
  entity: readonly Uint8Array[],
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let hasVersion = false;
  for (const header of outerHeaders) {
    const name = isHeaderInput(header) ? header[0] : header.name;
    const lower = name.toLowerCase();
    if (lower.startsWith('content-')) {
      throw new MimeError('MIME_INVALID_HEADER', `${name} belongs to the entity, not to the outer headers`);
    }
    if (lower === 'mime-version') hasVersion = true;
    if (isHeaderInput(header)) {
      chunks.push(latin1Bytes(`${formatHeaderField(header[0], header[1])}\r\n`));
    } else {
      // LF -> CRLF only: a lone CR turned into a line break would start a new header line (header injection).
      if (scanBody(header.raw).loneCr) throw new MimeError('MIME_INVALID_HEADER', `a lone CR inside header ${name}`);
      const fieldBytes = lfToCrlf(header.raw);
      chunks.push(fieldBytes);
      if (fieldBytes[fieldBytes.length - 1] !== LF) chunks.push(CRLF);
    }
  }
  if (!hasVersion) chunks.push(latin1Bytes('MIME-Version: 1.0\r\n'));
  chunks.push(...entity);
  return chunks;
}

function isHeaderInput(header: MimeHeader | HeaderInput): header is HeaderInput {
  return Array.isArray(header);
}
