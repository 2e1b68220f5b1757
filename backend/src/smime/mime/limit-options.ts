// Per-call limits of the MIME parser and builder: the defaults are in ../limits.ts (why each one exists); a caller
// may raise or lower a limit per call (parseEntity(raw, { maxParts: 100 })).
import { MimeError } from './errors.ts';
import * as limits from '../limits.ts';

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
  maxDepth: limits.MAX_NESTING_DEPTH,
  maxParts: limits.MAX_PARTS,
  maxHeaderLines: limits.MAX_HEADER_LINES,
  maxHeaderFieldLength: limits.MAX_HEADER_FIELD_LENGTH,
  maxBoundaryLength: limits.MAX_BOUNDARY_LENGTH,
});

/** Merges `given` over the defaults; an unknown key or a value that is not a positive integer is refused. */
export function resolveLimits(given: Partial<MimeLimits> | undefined): MimeLimits {
  const out: MimeLimits = { ...DEFAULT_LIMITS };
  if (given === undefined) return out;
  if (typeof given !== 'object' || given === null)
    throw new MimeError('MIME_INVALID_OPTION', 'limits must be an object');
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
