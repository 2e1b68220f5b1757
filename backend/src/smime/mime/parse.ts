// parseEntity: raw bytes in, a tree of entities out, each holding views of the exact input bytes (RFC 2045, RFC 2046
// section 5.1.1). Nothing is normalised, so a multipart/signed first part is available exactly as it was signed.
//
// Cost: every level of nesting scans its own body once with Buffer.indexOf for "\n--boundary", so parsing is linear
// in the input times the depth, and the depth is capped (MimeLimits.maxDepth).
import { MimeError } from './errors.ts';
import { contentTypeFrom, parseStructuredValue } from './content-type.ts';
import { asBuffer, CR, DASH, isWsp, LF, utf8Bytes } from './lib/bytes.ts';
import { readHeaderBlock } from './lib/header-block.ts';
import { resolveLimits, type MimeLimits } from './limit-options.ts';
import { IDENTITY_ENCODINGS } from './transfer-encoding.ts';
import type { ContentType, MimeDefect, MimeEntity, MimeHeader } from './types.ts';

interface ParseContext {
  readonly input: Uint8Array;
  readonly limits: MimeLimits;
  parts: number;
}

/**
 * Parses a message or a MIME entity. Accepts CRLF, LF and mixed line endings without changing a byte. Throws only
 * MimeError: MIME_TOO_DEEP, MIME_TOO_MANY_PARTS, MIME_HEADER_TOO_LARGE, MIME_MALFORMED, MIME_INVALID_OPTION.
 */
export function parseEntity(raw: Uint8Array, limits?: Partial<MimeLimits>): MimeEntity {
  if (!(raw instanceof Uint8Array)) throw new MimeError('MIME_INVALID_OPTION', 'raw must be a Uint8Array');
  const context: ParseContext = { input: raw, limits: resolveLimits(limits), parts: 0 };
  return parseAt(context, 0, raw.length, 0, DEFAULT_CONTENT_TYPE);
}

const DEFAULT_CONTENT_TYPE: ContentType = Object.freeze({
  type: 'text',
  subtype: 'plain',
  mediaType: 'text/plain',
  params: Object.freeze(Object.assign(Object.create(null) as Record<string, string>, { charset: 'us-ascii' })),
});

/** RFC 2046 section 5.1.5: in a multipart/digest, parts are message/rfc822 unless they say otherwise. */
const DIGEST_DEFAULT_CONTENT_TYPE: ContentType = Object.freeze({
  type: 'message',
  subtype: 'rfc822',
  mediaType: 'message/rfc822',
  params: Object.freeze(Object.create(null) as Record<string, string>),
});

/** Embedded messages whose body is itself a message (RFC 2046 section 5.2.1, RFC 6532 section 3.7). */
const EMBEDDED_MESSAGE_TYPES: ReadonlySet<string> = new Set(['message/rfc822', 'message/global']);

function lowerName(header: MimeHeader): string {
  return header.name.toLowerCase();
}

/**
 * The entity's Content-Type and Content-Transfer-Encoding. A second one of either is a defect and ignored (the first
 * wins, as in most readers); an unreadable Content-Type means text/plain; charset=us-ascii (RFC 2045 section 5.2).
 */
function entityType(
  headers: readonly MimeHeader[],
  fallback: ContentType,
  defects: MimeDefect[],
): { contentType: ContentType; transferEncoding: string } {
  let contentType = fallback;
  let transferEncoding = '7bit';
  let seenType = false;
  let seenEncoding = false;
  for (const header of headers) {
    const name = lowerName(header);
    if (name === 'content-type') {
      if (seenType) {
        defects.push('DUPLICATE_CONTENT_TYPE');
        continue;
      }
      seenType = true;
      const parsed = parseStructuredValue(header.value);
      defects.push(...parsed.defects);
      const ct = contentTypeFrom(parsed);
      if (ct === undefined) defects.push('INVALID_CONTENT_TYPE');
      contentType = ct ?? DEFAULT_CONTENT_TYPE;
    } else if (name === 'content-transfer-encoding') {
      if (seenEncoding) {
        defects.push('DUPLICATE_TRANSFER_ENCODING');
        continue;
      }
      seenEncoding = true;
      transferEncoding = parseStructuredValue(header.value).value || header.value.trim().toLowerCase();
    }
  }
  return { contentType, transferEncoding };
}

function parseAt(context: ParseContext, start: number, end: number, depth: number, fallback: ContentType): MimeEntity {
  if (depth > context.limits.maxDepth) {
    throw new MimeError('MIME_TOO_DEEP', `nested deeper than ${context.limits.maxDepth} levels`);
  }
  const raw = context.input.subarray(start, end);
  const block = readHeaderBlock(raw, context.limits);
  const defects = block.defects;

  const { contentType, transferEncoding } = entityType(block.headers, fallback, defects);

  const headerBytes = raw.subarray(0, block.headerEnd);
  const bodyStart = block.bodyStart;
  const body = raw.subarray(bodyStart);
  const base = {
    raw,
    offset: start,
    depth,
    headerBytes,
    body,
    headers: block.headers,
    contentType,
    transferEncoding,
  };

  const composite = contentType.type === 'multipart' || EMBEDDED_MESSAGE_TYPES.has(contentType.mediaType);
  if (composite && !IDENTITY_ENCODINGS.has(transferEncoding)) {
    // RFC 2045 section 6.4 forbids encoding a multipart or a message/rfc822; read it as an opaque leaf.
    defects.push('ENCODED_COMPOSITE');
    return { ...base, children: [], truncated: false, defects };
  }

  if (contentType.type === 'multipart') return parseMultipart(context, base, start + bodyStart, end, defects);

  if (EMBEDDED_MESSAGE_TYPES.has(contentType.mediaType)) {
    countPart(context);
    const child = parseAt(context, start + bodyStart, end, depth + 1, DEFAULT_CONTENT_TYPE);
    return { ...base, children: [child], truncated: false, defects };
  }

  return { ...base, children: [], truncated: false, defects };
}

type EntityBase = Omit<MimeEntity, 'children' | 'truncated' | 'defects' | 'boundary' | 'preamble' | 'epilogue'>;

function parseMultipart(
  context: ParseContext,
  base: EntityBase,
  bodyStart: number,
  end: number,
  defects: MimeDefect[],
): MimeEntity {
  const { contentType, depth } = base;
  const boundary = contentType.params['boundary'];
  if (boundary === undefined || boundary === '') {
    defects.push('MISSING_BOUNDARY');
    return { ...base, children: [], truncated: false, defects };
  }
  if (boundary.length > context.limits.maxBoundaryLength) {
    throw new MimeError('MIME_MALFORMED', `boundary longer than ${context.limits.maxBoundaryLength} characters`);
  }
  const split = splitMultipart(context, bodyStart, end, boundary);
  defects.push(...split.defects);
  const childFallback = contentType.subtype === 'digest' ? DIGEST_DEFAULT_CONTENT_TYPE : DEFAULT_CONTENT_TYPE;
  const children = split.parts.map(([s, e]) => parseAt(context, s, e, depth + 1, childFallback));
  return {
    ...base,
    children,
    boundary,
    truncated: split.truncated,
    defects,
    ...(split.preamble === undefined ? {} : { preamble: context.input.subarray(...split.preamble) }),
    ...(split.epilogue === undefined ? {} : { epilogue: context.input.subarray(...split.epilogue) }),
  };
}

function countPart(context: ParseContext): void {
  if (++context.parts > context.limits.maxParts) {
    throw new MimeError('MIME_TOO_MANY_PARTS', `more than ${context.limits.maxParts} body parts`);
  }
}

type Range = [start: number, end: number];

interface Split {
  parts: Range[];
  preamble: Range | undefined;
  epilogue: Range | undefined;
  truncated: boolean;
  defects: MimeDefect[];
}

/** A delimiter line found in the body: where its line break (or the line itself) starts, and where the next line starts. */
interface Delimiter {
  /** Start of the line break before `--boundary` (or of `--boundary` itself at the very start of the body). */
  lineBreakStart: number;
  /** First byte after the delimiter line (after its transport padding and line break). */
  after: number;
  close: boolean;
  /** Close delimiter only: true when it is followed by a line break (so an epilogue, maybe empty, follows). */
  hasLineBreak: boolean;
  /** Close delimiter only: other text on the same line after it. */
  trailingText: boolean;
}

/** Finds delimiter lines of one boundary in one multipart body (see splitMultipart). */
class DelimiterScanner {
  constructor(
    private readonly body: Buffer,
    private readonly dashBoundary: Uint8Array,
  ) {}

  /** The delimiter whose `--boundary` starts at `at`, or undefined when the line there is content. */
  private matchAt(at: number, lineBreakStart: number): Delimiter | undefined {
    const body = this.body;
    let i = at + this.dashBoundary.length;
    if (body[i] === DASH && body[i + 1] === DASH) {
      i += 2;
      const textStart = i;
      while (i < body.length && isWsp(body[i])) i++;
      if (i >= body.length)
        return { lineBreakStart, after: body.length, close: true, hasLineBreak: false, trailingText: false };
      if (body[i] === LF) return { lineBreakStart, after: i + 1, close: true, hasLineBreak: true, trailingText: false };
      if (body[i] === CR && body[i + 1] === LF) {
        return { lineBreakStart, after: i + 2, close: true, hasLineBreak: true, trailingText: false };
      }
      return { lineBreakStart, after: textStart, close: true, hasLineBreak: false, trailingText: true };
    }
    while (i < body.length && isWsp(body[i])) i++;
    if (i >= body.length)
      return { lineBreakStart, after: body.length, close: false, hasLineBreak: false, trailingText: false };
    if (body[i] === LF) return { lineBreakStart, after: i + 1, close: false, hasLineBreak: true, trailingText: false };
    if (body[i] === CR && body[i + 1] === LF) {
      return { lineBreakStart, after: i + 2, close: false, hasLineBreak: true, trailingText: false };
    }
    return undefined;
  }

  /** The next delimiter whose `--boundary` starts at or after `from` (at a line start). */
  next(from: number): Delimiter | undefined {
    const body = this.body;
    if (from === 0 && startsWith(body, 0, this.dashBoundary)) {
      const d = this.matchAt(0, 0);
      if (d !== undefined) return d;
    }
    // `--boundary` preceded by LF: searched by its dashes, which base64 never holds and text rarely, rather than by
    // the LF, which starts every line (issue 6: a 25 MB attachment is 460,000 lines).
    let search = Math.max(from, 1);
    for (;;) {
      const at = body.indexOf(this.dashBoundary, search);
      if (at === -1) return undefined;
      search = at + 1;
      if (body[at - 1] !== LF) continue;
      const lf = at - 1;
      const lineBreakStart = lf > 0 && body[lf - 1] === CR ? lf - 1 : lf;
      const d = this.matchAt(at, lineBreakStart);
      if (d !== undefined) return d;
    }
  }
}

/**
 * Finds the delimiters of one multipart body (RFC 2046 section 5.1.1). A delimiter is `--boundary` at the start of
 * a line, then transport padding (spaces and tabs), then a line break or the end of the body; a close delimiter is
 * `--boundary--`. A line that merely starts with `--boundary` followed by other text is content. The line break
 * before a delimiter belongs to the delimiter, so each part ends where that line break starts.
 */
function splitMultipart(context: ParseContext, start: number, end: number, boundary: string): Split {
  const input = context.input;
  const body = asBuffer(input).subarray(start, end);
  const dashBoundary = utf8Bytes(`--${boundary}`);
  const defects: MimeDefect[] = [];

  const scanner = new DelimiterScanner(body, dashBoundary);
  const next = (from: number) => scanner.next(from);

  const first = next(0);
  if (first === undefined) {
    defects.push('NO_PARTS', 'MISSING_CLOSE_DELIMITER');
    return { parts: [], preamble: [start, end], epilogue: undefined, truncated: true, defects };
  }
  const preamble: Range | undefined =
    first.lineBreakStart === 0 && startsWith(body, 0, dashBoundary) ? undefined : [start, start + first.lineBreakStart];
  const parts: Range[] = [];
  let current = first;
  while (!current.close) {
    const partStart = current.after;
    if (partStart >= body.length) {
      // A delimiter that ends the body, without the closing `--`: the close delimiter is missing, but there is no
      // part after it (rather than an empty one, which a reader of multipart/alternative would pick as the best).
      defects.push('MISSING_CLOSE_DELIMITER');
      return { parts, preamble, epilogue: undefined, truncated: true, defects };
    }
    // Search from the part start: its first line may itself be the next delimiter (an empty part).
    const following = next(partStart);
    if (following === undefined) {
      countPart(context);
      parts.push([start + partStart, end]);
      defects.push('MISSING_CLOSE_DELIMITER');
      return { parts, preamble, epilogue: undefined, truncated: true, defects };
    }
    countPart(context);
    parts.push([start + partStart, start + Math.max(partStart, following.lineBreakStart)]);
    current = following;
  }
  if (current.trailingText) defects.push('TEXT_AFTER_CLOSE_DELIMITER');
  const epilogue: Range | undefined =
    current.hasLineBreak || current.trailingText ? [start + current.after, end] : undefined;
  return { parts, preamble, epilogue, truncated: false, defects };
}

function startsWith(haystack: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > haystack.length) return false;
  for (let i = 0; i < prefix.length; i++) if (haystack[at + i] !== prefix[i]) return false;
  return true;
}
