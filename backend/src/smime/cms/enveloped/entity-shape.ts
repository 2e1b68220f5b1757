/**
 * Whether decrypted bytes have the shape of a MIME entity's header section: the evidence trial decryption asks for
 * when nothing else authenticates the content key (RSA PKCS #1 v1.5 with implicit rejection and a cipher without a
 * tag, see decrypt.ts `guessable`).
 *
 * S/MIME content is a MIME entity (RFC 8551 section 2.4) and every client writes its header, ended by an empty line
 * (RFC 5322 section 2.1, RFC 2045 section 3). What is asked for: one or more header fields, each `field-name:`
 * (printable ASCII but ':', RFC 5322 section 3.6.8) followed by a value, folded lines starting with a space or tab,
 * then an empty line. Values may hold 8-bit bytes (RFC 6532) and ESC (raw ISO-2022-JP); no other control byte, and CR
 * only before LF.
 *
 * Random bytes have this shape far less often than 1 in a million: the first line alone passes about 1 in 450, it must
 * then end before a control byte (about 1 in 30), and the header must end with an empty line rather than another
 * byte (about 1 in 256). An earlier check that looked at the first field name only let through about 1 in 450, which
 * test/security/trial-decryption.test.ts saw once in a CI run (600 trials, padding valid about 1 in 256).
 */

/** Bytes looked at: a header section longer than this that is well formed all the way is accepted. */
const MAX_SCAN = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

const isFieldNameByte = (c: number): boolean => c >= 0x21 && c <= 0x7e && c !== COLON;
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;
/** A byte of a field value other than the line end: printable, blank, 8-bit (RFC 6532) or ESC (ISO-2022-JP). */
const isValueByte = (c: number): boolean => c >= 0x20 || c === 0x09 || c === 0x1b;

/**
 * Index just after the line end that starts at `i` (LF or CR LF), or -1 when `i` is not at a line end.
 */
function lineEnd(content: Uint8Array, i: number): number {
  if (content[i] === LF) return i + 1;
  if (content[i] === CR && content[i + 1] === LF) return i + 2;
  return -1;
}

/** Index just after the value that starts at `i` and its line end, or -1 when a byte on the way is not allowed. */
function skipValue(content: Uint8Array, i: number, limit: number): number {
  while (i < limit) {
    const end = lineEnd(content, i);
    if (end >= 0) return end;
    if (!isValueByte(content[i]!) || content[i] === 0x7f) return -1;
    i++;
  }
  return limit;
}

/** Whether `content` starts with a well-formed header section ended by an empty line (see the file comment). */
export function startsWithHeaderSection(content: Uint8Array): boolean {
  const limit = Math.min(content.length, MAX_SCAN);
  let i = 0;
  let fields = 0;
  while (i < limit) {
    const end = lineEnd(content, i);
    if (end >= 0) return fields > 0; // the empty line that ends the header
    if (isBlank(content[i]!)) {
      if (fields === 0) return false; // a folded line needs a field before it
    } else {
      const start = i;
      while (i < limit && isFieldNameByte(content[i]!)) i++;
      if (i === limit) return i === MAX_SCAN;
      if (i === start || content[i] !== COLON) return false;
      fields++;
    }
    i = skipValue(content, i + 1, limit);
    if (i < 0) return false;
  }
  return i >= MAX_SCAN; // well formed all the way through the scanned part; content that ends in its header is not
}
