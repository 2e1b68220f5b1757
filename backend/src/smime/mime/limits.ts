// Limits on what the parser accepts. Mail comes from strangers, and a few kilobytes can describe a structure that costs
// gigabytes to walk, so every dimension that multiplies work or memory has a ceiling. Exceeding one throws a MimeError
// with its own code; callers may raise or lower a limit per call (parseEntity(raw, { maxParts: 100 })).
import { MimeError } from './errors.ts';

/**
 * Multiparts and message/rfc822 bodies nested inside each other. Each level rescans its body for its own boundary, so
 * work grows with depth times size; real mail rarely goes past 6 (a forwarded signed, encrypted message).
 * A small crafted message can exhaust the stack and memory.
 */
export const MAX_NESTING_DEPTH = 32;

/**
 * Body parts in the whole tree. Each part costs an object, a header parse and a string or two; 100,000 empty parts fit
 * in 1.5 MB of input. Real messages with thousands of attachments do not exist.
 */
export const MAX_PARTS = 10_000;

/**
 * Physical header lines of one entity (fields plus continuation lines). A large real header block (long Received and
 * ARC chains) has a few hundred; the limit stops a header block from turning into millions of small strings.
 */
export const MAX_HEADER_LINES = 5_000;

/**
 * Bytes of one header field, unfolded: its first line and all its continuation lines. Header values are decoded into
 * strings and scanned by the parameter and address parsers. Same ceiling as Postfix's header_size_limit (102400).
 */
export const MAX_HEADER_FIELD_LENGTH = 102_400;

/**
 * Length of a multipart boundary. RFC 2046 section 5.1.1 allows 70 characters; some generators exceed that a little.
 * The boundary is the needle of every search through the body, and string search degrades with very long needles.
 */
export const MAX_BOUNDARY_LENGTH = 256;

export interface MimeLimits {
  /** See MAX_NESTING_DEPTH. The top-level entity is depth 0. */
  maxDepth: number;
  /** See MAX_PARTS. Counts every entity below the top level. */
  maxParts: number;
  /** See MAX_HEADER_LINES. */
  maxHeaderLines: number;
  /** See MAX_HEADER_FIELD_LENGTH. */
  maxHeaderFieldLength: number;
  /** See MAX_BOUNDARY_LENGTH. A longer boundary is refused with MIME_MALFORMED. */
  maxBoundaryLength: number;
}

export const DEFAULT_LIMITS: Readonly<MimeLimits> = Object.freeze({
  maxDepth: MAX_NESTING_DEPTH,
  maxParts: MAX_PARTS,
  maxHeaderLines: MAX_HEADER_LINES,
  maxHeaderFieldLength: MAX_HEADER_FIELD_LENGTH,
  maxBoundaryLength: MAX_BOUNDARY_LENGTH,
});

/** Merges `given` over the defaults; an unknown key or a value that is not a positive integer is refused. */
export function resolveLimits(given: Partial<MimeLimits> | undefined): MimeLimits {
  const out: MimeLimits = { ...DEFAULT_LIMITS };
  if (given === undefined) return out;
  if (typeof given !== 'object' || given === null) throw new MimeError('MIME_INVALID_OPTION', 'limits must be an object');
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) throw new MimeError('MIME_INVALID_OPTION', `unknown limit: ${key}`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new MimeError('MIME_INVALID_OPTION', `limit ${key} must be a non-negative integer`);
    }
    out[key as keyof MimeLimits] = value;
  }
  return out;
}
