// Reads the header block at the start of an entity (RFC 5322 section 2.2, RFC 2045 section 3). Internal.
import { MimeError } from '../errors.ts';
import type { MimeLimits } from '../limit-options.ts';
import type { MimeDefect, MimeHeader } from '../types.ts';
import { asBuffer, COLON, CR, decodeHeaderText, isWsp, LF, startsWithAscii, trimWsp } from './bytes.ts';

export interface HeaderBlock {
  headers: MimeHeader[];
  /** End of the header block (start of the blank line, or of the body when there is no blank line). */
  headerEnd: number;
  /** Start of the body (after the blank line). */
  bodyStart: number;
  defects: MimeDefect[];
}

type HeaderLimits = Pick<MimeLimits, 'maxHeaderLines' | 'maxHeaderFieldLength'>;

interface OpenField {
  name: string;
  start: number;
  /** Start of the value: just after the colon. */
  valueStart: number;
  /** End of the field including its final line break. */
  end: number;
  multiline: boolean;
}

/** True for RFC 5322 ftext: printable US-ASCII except the colon. */
function isFtext(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e && byte !== COLON;
}

/** A continuation line (leading whitespace) extends the open field to `next`. */
function continueField(field: OpenField, next: number, limits: HeaderLimits): void {
  field.end = next;
  field.multiline = true;
  checkFieldLength(field, limits);
}

/**
 * A field name at `pos`: ftext up to the colon, optionally followed by whitespace before it (RFC 5322 section 4.5
 * obs). Where the name ends and where the colon is, or undefined when the line does not start a field.
 */
function fieldNameAt(raw: Uint8Array, pos: number, contentEnd: number): { end: number; colon: number } | undefined {
  let i = pos;
  while (i < contentEnd && isFtext(raw[i]!)) i++;
  const end = i;
  while (i < contentEnd && isWsp(raw[i])) i++;
  return end > pos && i < contentEnd && raw[i] === COLON ? { end, colon: i } : undefined;
}

/**
 * Splits the header block off `raw`. The block ends at the first empty line (CRLF or bare LF); a line holding only
 * whitespace is a continuation line (RFC 5322 section 4.2 obs-FWS), not the end. Work is linear in the header size.
 */
export function readHeaderBlock(raw: Uint8Array, limits: HeaderLimits): HeaderBlock {
  const buf = asBuffer(raw);
  const len = raw.length;
  const headers: MimeHeader[] = [];
  const defects: MimeDefect[] = [];
  let field: OpenField | undefined;
  let lines = 0;
  let pos = 0;

  const close = (): void => {
    if (field === undefined) return;
    headers.push(finishField(raw, field));
    field = undefined;
  };

  while (pos < len) {
    const lf = buf.indexOf(LF, pos);
    const next = lf === -1 ? len : lf + 1;
    let contentEnd = lf === -1 ? len : lf;
    if (contentEnd > pos && raw[contentEnd - 1] === CR) contentEnd--;

    if (contentEnd === pos) {
      close();
      return { headers, headerEnd: pos, bodyStart: next, defects };
    }
    if (++lines > limits.maxHeaderLines) {
      throw new MimeError('MIME_HEADER_TOO_LARGE', `more than ${limits.maxHeaderLines} header lines`);
    }

    if (isWsp(raw[pos])) {
      if (field === undefined) defects.push('INVALID_HEADER_LINE');
      else continueField(field, next, limits);
      pos = next;
      continue;
    }

    const name = fieldNameAt(raw, pos, contentEnd);
    if (name) {
      close();
      field = {
        name: buf.toString('latin1', pos, name.end),
        start: pos,
        valueStart: name.colon + 1,
        end: next,
        multiline: false,
      };
      checkFieldLength(field, limits);
      pos = next;
      continue;
    }

    if (lines === 1 && startsWithAscii(raw, pos, 'From ')) {
      defects.push('MBOX_FROM_LINE');
      pos = next;
      continue;
    }
    // Not a header line: the body starts here without the blank line (RFC 2046 section 5.1.1 wants one even for
    // a part with no headers, but bodies without it are common enough to read).
    close();
    defects.push('MISSING_HEADER_BODY_SEPARATOR');
    return { headers, headerEnd: pos, bodyStart: pos, defects };
  }
  close();
  return { headers, headerEnd: len, bodyStart: len, defects };
}

function checkFieldLength(field: OpenField, limits: HeaderLimits): void {
  if (field.end - field.start > limits.maxHeaderFieldLength) {
    throw new MimeError(
      'MIME_HEADER_TOO_LARGE',
      `header field ${field.name} exceeds ${limits.maxHeaderFieldLength} bytes`,
    );
  }
}

function finishField(raw: Uint8Array, field: OpenField): MimeHeader {
  const fieldRaw = raw.subarray(field.start, field.end);
  let valueBytes = raw.subarray(field.valueStart, field.end);
  if (field.multiline) {
    // Unfolding (RFC 5322 section 2.2.3): drop every line break; the whitespace that follows it stays.
    const out = new Uint8Array(valueBytes.length);
    let n = 0;
    for (let i = 0; i < valueBytes.length; i++) {
      const b = valueBytes[i]!;
      if (b === LF) continue;
      if (b === CR && valueBytes[i + 1] === LF) continue;
      out[n++] = b;
    }
    valueBytes = out.subarray(0, n);
  } else {
    let end = valueBytes.length;
    if (end > 0 && valueBytes[end - 1] === LF) end--;
    if (end > 0 && valueBytes[end - 1] === CR) end--;
    valueBytes = valueBytes.subarray(0, end);
  }
  let value = trimWsp(decodeHeaderText(valueBytes));
  // A last line without LF but ending in CR (truncated input) leaves a CR behind.
  if (value.endsWith('\r')) value = trimWsp(value.slice(0, -1));
  return { name: field.name, value, raw: fieldRaw };
}
