// One pass over a body to decide whether it can travel as it is (RFC 5322 section 2.1.1, RFC 2045 section 2.7,
// RFC 2049 section 4). Internal.
import { CR, HTAB, LF, SP } from './bytes.ts';

/** RFC 5322 section 2.1.1 / RFC 2045 section 2.7: at most 998 octets per line, not counting CRLF. */
export const MAX_LINE_LENGTH = 998;

export interface BodyScan {
  eightBit: boolean;
  nul: boolean;
  /** A CR not followed by LF. */
  loneCr: boolean;
  /** An LF not preceded by CR. */
  bareLf: boolean;
  longLine: boolean;
  /** Space or tab right before a line break or at the very end (RFC 2049 section 4 item 6: transports strip it). */
  trailingWhitespace: boolean;
  /** A line starting `From ` (RFC 2049 section 4 item 8: mbox transports turn it into `>From `). */
  fromLine: boolean;
}

export function scanBody(bytes: Uint8Array): BodyScan {
  const scan: BodyScan = {
    eightBit: false,
    nul: false,
    loneCr: false,
    bareLf: false,
    longLine: false,
    trailingWhitespace: false,
    fromLine: false,
  };
  let lineStart = 0;
  const len = bytes.length;
  for (let i = 0; i < len; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) {
      scan.eightBit = true;
      continue;
    }
    if (b === 0) scan.nul = true;
    else if (b === CR) {
      if (bytes[i + 1] !== LF) scan.loneCr = true;
    } else if (b === LF) {
      const end = i > 0 && bytes[i - 1] === CR ? i - 1 : i;
      if (end === i) scan.bareLf = true;
      endLine(bytes, lineStart, end, scan);
      lineStart = i + 1;
    }
  }
  endLine(bytes, lineStart, len, scan);
  return scan;
}

function endLine(bytes: Uint8Array, start: number, end: number, scan: BodyScan): void {
  if (end - start > MAX_LINE_LENGTH) scan.longLine = true;
  const last = bytes[end - 1];
  if (end > start && (last === SP || last === HTAB)) scan.trailingWhitespace = true;
  if (
    end - start >= 5 &&
    bytes[start] === 0x46 &&
    bytes[start + 1] === 0x72 &&
    bytes[start + 2] === 0x6f &&
    bytes[start + 3] === 0x6d &&
    bytes[start + 4] === SP
  ) {
    scan.fromLine = true;
  }
}

/** Safe to send as 7bit text lines and to sign: nothing a relay would reject, rewrite or strip. */
export function isTransportSafe(scan: BodyScan): boolean {
  return !scan.eightBit && !scan.nul && !scan.loneCr && !scan.longLine && !scan.trailingWhitespace && !scan.fromLine;
}

/**
 * LF or a lone CR -> CRLF; CRLF stays. One pass to count, one to copy. Returns the input itself when it is already
 * canonical (no copy), so treat the result as read-only.
 */
export function canonicalizeLineEndings(bytes: Uint8Array): Uint8Array {
  let extra = 0;
  const len = bytes.length;
  for (let i = 0; i < len; i++) {
    const b = bytes[i]!;
    if (b === CR) {
      if (bytes[i + 1] === LF) i++;
      else extra++;
    } else if (b === LF) extra++;
  }
  if (extra === 0) return bytes;
  const out = new Uint8Array(len + extra);
  let n = 0;
  for (let i = 0; i < len; i++) {
    const b = bytes[i]!;
    if (b === CR) {
      out[n++] = CR;
      out[n++] = LF;
      if (bytes[i + 1] === LF) i++;
    } else if (b === LF) {
      out[n++] = CR;
      out[n++] = LF;
    } else {
      out[n++] = b;
    }
  }
  return out;
}

/** True when every line break is CRLF. */
export function hasCanonicalLineEndings(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === CR) {
      if (bytes[i + 1] !== LF) return false;
      i++;
    } else if (b === LF) return false;
  }
  return true;
}

/** LF -> CRLF only; a lone CR is left alone (for data that is not text, where a CR may be meaningful). */
export function lfToCrlf(bytes: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === LF && (i === 0 || bytes[i - 1] !== CR)) extra++;
  if (extra === 0) return bytes;
  const out = new Uint8Array(bytes.length + extra);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === LF && (i === 0 || bytes[i - 1] !== CR)) out[n++] = CR;
    out[n++] = b;
  }
  return out;
}
