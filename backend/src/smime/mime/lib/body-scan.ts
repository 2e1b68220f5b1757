// One pass over a body to decide whether it can travel as it is (RFC 5322 section 2.1.1, RFC 2045 section 2.7,
// RFC 2049 section 4). Internal.
import { isAscii } from 'node:buffer';
import { asBuffer, CR, HTAB, LF, SP } from './bytes.ts';

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

/**
 * Average line length under which the scan leaves Buffer.indexOf for a plain loop: one native call per line costs
 * more than looking at a handful of bytes in JavaScript (a body of bare line breaks would otherwise take one call per
 * byte).
 */
const SHORT_LINES = 24;
/** Lines looked at before the average line length is first checked. */
const LINE_SAMPLE = 256;

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
  const buf = asBuffer(bytes);
  const len = buf.length;
  // Native passes for what needs every byte (issue 6: a JavaScript loop over 34 MB costs more than hashing it).
  scan.eightBit = !isAscii(buf);
  scan.nul = buf.indexOf(0) !== -1;
  // Line by line with memchr-backed indexOf; CR positions are found once each, in order, and compared with the
  // line ends, so a lone CR costs no extra pass.
  let lineStart = 0;
  let nextCr = -2;
  let lines = 0;
  let sampleStart = 0;
  while (lineStart < len) {
    if (++lines === LINE_SAMPLE) {
      if (lineStart - sampleStart < LINE_SAMPLE * SHORT_LINES) {
        scanLoop(bytes, lineStart, scan);
        return scan;
      }
      lines = 0;
      sampleStart = lineStart;
    }
    const lf = buf.indexOf(LF, lineStart);
    const end = lf === -1 ? len : lf;
    let contentEnd = end;
    if (lf !== -1) {
      if (lf > lineStart && bytes[lf - 1] === CR) contentEnd--;
      else scan.bareLf = true;
    }
    if (nextCr !== -1 && nextCr < lineStart) nextCr = buf.indexOf(CR, lineStart);
    if (nextCr !== -1 && nextCr < contentEnd) {
      scan.loneCr = true;
      nextCr = buf.indexOf(CR, contentEnd);
    }
    endLine(bytes, lineStart, contentEnd, scan);
    if (lf === -1) return scan;
    lineStart = lf + 1;
  }
  // The body ends with a line break: the empty last line is still a line (as the byte loop sees it).
  endLine(bytes, len, len, scan);
  return scan;
}

/** The byte loop of scanBody from `lineStart` (the start of a line) to the end; 8-bit and NUL are already known. */
function scanLoop(bytes: Uint8Array, lineStart: number, scan: BodyScan): void {
  const len = bytes.length;
  for (let i = lineStart; i < len; i++) {
    const b = bytes[i]!;
    if (b === CR) {
      if (bytes[i + 1] !== LF) scan.loneCr = true;
    } else if (b === LF) {
      const end = i > 0 && bytes[i - 1] === CR ? i - 1 : i;
      if (end === i) scan.bareLf = true;
      endLine(bytes, lineStart, end, scan);
      lineStart = i + 1;
    }
  }
  endLine(bytes, lineStart, len, scan);
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
