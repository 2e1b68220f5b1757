// Content-Type and Content-Disposition values: `type/subtype; name=value; ...` (RFC 2045 section 5.1, RFC 2183),
// with RFC 2231 extended parameters (charset, language, continuations). Parsing is lenient and linear; problems
// become defects, never exceptions. Formatting produces only 7-bit, RFC-conforming text.
import { MimeError } from './errors.ts';
import { HEX_UPPER, hexValue, utf8Bytes } from './lib/bytes.ts';
import { decodeCharset } from './lib/charset.ts';
import type { ContentType, MimeDefect } from './types.ts';

/** RFC 2045 section 5.1 tspecials, plus space and controls: what a token cannot hold. */
const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(code: number): boolean {
  return code > 0x20 && code < 0x7f && !TSPECIALS.includes(String.fromCharCode(code));
}

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

export interface ParsedStructuredValue {
  /** The leading value (`type/subtype`, or a disposition), lowercase; '' when unreadable. */
  value: string;
  params: Record<string, string>;
  defects: MimeDefect[];
}

/** A parameter as written: plain, RFC 2231 extended (`name*`), or one section of a continuation (`name*N[*]`). */
interface RawParam {
  name: string;
  section: number | undefined;
  extended: boolean;
  value: string;
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  peek(): string {
    return this.s.charAt(this.i);
  }

  /** Skips whitespace and RFC 5322 comments (nested, with quoted-pairs). An unclosed comment runs to the end. */
  skipCfws(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.i++;
      } else if (c === '(') {
        let depth = 0;
        while (!this.done) {
          const d = this.s.charAt(this.i++);
          if (d === '\\') this.i++;
          else if (d === '(') depth++;
          else if (d === ')' && --depth === 0) break;
        }
      } else {
        return;
      }
    }
  }

  /** Reads while `accept` holds. */
  readWhile(accept: (code: number) => boolean): string {
    const start = this.i;
    while (!this.done && accept(this.s.charCodeAt(this.i))) this.i++;
    return this.s.slice(start, this.i);
  }

  /** At an opening quote: the unquoted, unescaped content. Returns undefined when the quote never closes. */
  readQuoted(): string | undefined {
    this.i++;
    let out = '';
    let from = this.i;
    while (!this.done) {
      const c = this.s.charAt(this.i);
      if (c === '"') {
        out += this.s.slice(from, this.i);
        this.i++;
        return out;
      }
      if (c === '\\' && this.i + 1 < this.s.length) {
        out += this.s.slice(from, this.i) + this.s.charAt(this.i + 1);
        this.i += 2;
        from = this.i;
        continue;
      }
      this.i++;
    }
    return undefined;
  }

  skipTo(char: string): void {
    const at = this.s.indexOf(char, this.i);
    this.i = at === -1 ? this.s.length : at;
  }
}

/**
 * Parses `value; params`. The leading value is read as a token or `token/token`; when it is not, `value` is ''.
 * Parameters missing their `;` are still read (`charset=utf-8 format=flowed` is common).
 */
export function parseStructuredValue(text: string): ParsedStructuredValue {
  const scan = new Scanner(text);
  const defects: MimeDefect[] = [];
  scan.skipCfws();
  let value = scan.readWhile(isTokenChar).toLowerCase();
  scan.skipCfws();
  if (scan.peek() === '/') {
    scan.i++;
    scan.skipCfws();
    const sub = scan.readWhile(isTokenChar).toLowerCase();
    value = value !== '' && sub !== '' ? `${value}/${sub}` : '';
  }
  const raw: RawParam[] = [];
  for (;;) {
    scan.skipCfws();
    if (scan.done) break;
    if (scan.peek() === ';') {
      scan.i++;
      continue;
    }
    const name = scan.readWhile(isTokenChar).toLowerCase();
    scan.skipCfws();
    if (name === '' || scan.peek() !== '=') {
      defects.push('INVALID_PARAMETER');
      if (name === '') scan.i++;
      scan.skipTo(';');
      continue;
    }
    scan.i++;
    scan.skipCfws();
    let paramValue: string;
    if (scan.peek() === '"') {
      const quoted = scan.readQuoted();
      if (quoted === undefined) {
        defects.push('INVALID_PARAMETER');
        break;
      }
      paramValue = quoted;
    } else {
      // Lenient: an unquoted value runs to the next `;` or whitespace (RFC 2045 wants a token).
      paramValue = scan.readWhile((c) => c !== 0x3b && c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a);
    }
    const param = splitParamName(name, paramValue);
    if (param === undefined) defects.push('INVALID_PARAMETER');
    else raw.push(param);
  }
  const params = assembleParams(raw, defects);
  return { value, params, defects };
}

/** `name`, `name*`, `name*3`, `name*3*`. Section numbers above 999 are refused: no real value needs more. */
function splitParamName(name: string, value: string): RawParam | undefined {
  let base = name;
  let extended = false;
  if (base.endsWith('*')) {
    extended = true;
    base = base.slice(0, -1);
  }
  let section: number | undefined;
  const star = base.lastIndexOf('*');
  if (star !== -1) {
    const digits = base.slice(star + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(digits)) return undefined;
    section = Number(digits);
    base = base.slice(0, star);
  }
  if (base === '' || base.includes('*')) return undefined;
  return { name: base, section, extended, value };
}

function assembleParams(raw: readonly RawParam[], defects: MimeDefect[]): Record<string, string> {
  const plain = new Map<string, string>();
  const extendedSingle = new Map<string, string>();
  const sections = new Map<string, Map<number, RawParam>>();
  const order: string[] = [];
  const seen = new Set<string>();
  for (const p of raw) {
    if (!seen.has(p.name)) {
      seen.add(p.name);
      order.push(p.name);
    }
    if (p.section !== undefined) {
      let m = sections.get(p.name);
      if (m === undefined) sections.set(p.name, (m = new Map()));
      if (m.has(p.section)) defects.push('DUPLICATE_PARAMETER');
      else m.set(p.section, p);
    } else {
      const target = p.extended ? extendedSingle : plain;
      if (target.has(p.name)) defects.push('DUPLICATE_PARAMETER');
      else target.set(p.name, p.value);
    }
  }
  const params = Object.create(null) as Record<string, string>;
  for (const name of order) {
    const parts = sections.get(name);
    const ext = extendedSingle.get(name);
    if (parts !== undefined && parts.has(0)) params[name] = joinSections(parts);
    else if (ext !== undefined) params[name] = decodeExtendedValue(ext);
    else if (plain.has(name)) params[name] = plain.get(name)!;
    else defects.push('INVALID_PARAMETER');
  }
  return params;
}

/** RFC 2231 section 3 and 4: sections 0, 1, 2, ... (stop at a gap); extended ones percent-encoded in one charset. */
function joinSections(parts: Map<number, RawParam>): string {
  let out = '';
  let charset = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length > 0) out += decodeCharset(Uint8Array.from(pending), charset);
    pending = [];
  };
  for (let n = 0; parts.has(n); n++) {
    const p = parts.get(n)!;
    if (!p.extended) {
      flush();
      out += p.value;
      continue;
    }
    const { bytes, charset: cs } = percentDecode(p.value, n === 0);
    if (n === 0) charset = cs;
    for (const b of bytes) pending.push(b);
  }
  flush();
  return out;
}

/** RFC 2231 section 4: `charset'language'percent-encoded`, one value. */
function decodeExtendedValue(value: string): string {
  const { bytes, charset } = percentDecode(value, true);
  return decodeCharset(Uint8Array.from(bytes), charset);
}

/** Percent-decodes, after the `charset'language'` prefix when `withPrefix`. The charset defaults to UTF-8. */
function percentDecode(value: string, withPrefix: boolean): { bytes: number[]; charset: string } {
  let charset = '';
  let rest = value;
  if (withPrefix) {
    const q1 = value.indexOf("'");
    const q2 = q1 === -1 ? -1 : value.indexOf("'", q1 + 1);
    if (q2 !== -1) {
      charset = value.slice(0, q1);
      rest = value.slice(q2 + 1);
    }
  }
  const bytes: number[] = [];
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(rest.charCodeAt(i + 1));
      const lo = hexValue(rest.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    if (c < 0x80) {
      bytes.push(c);
      continue;
    }
    const cp = rest.codePointAt(i)!;
    for (const b of utf8Bytes(String.fromCodePoint(cp))) bytes.push(b);
    if (cp > 0xffff) i++;
  }
  return { bytes, charset: charset || 'utf-8' };
}

/** Parses a Content-Type value; undefined when it has no readable `type/subtype` (RFC 2045 section 5.2 default). */
export function parseContentType(value: string): ContentType | undefined {
  return contentTypeFrom(parseStructuredValue(value));
}

export function contentTypeFrom(parsed: ParsedStructuredValue): ContentType | undefined {
  const slash = parsed.value.indexOf('/');
  if (slash === -1) return undefined;
  return {
    type: parsed.value.slice(0, slash),
    subtype: parsed.value.slice(slash + 1),
    mediaType: parsed.value,
    params: parsed.params,
  };
}

export interface ContentDisposition {
  /** Lowercase: 'inline', 'attachment', ... ('' when unreadable). */
  readonly disposition: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a Content-Disposition value (RFC 2183), e.g. to read `filename`. */
export function parseContentDisposition(value: string): ContentDisposition {
  const parsed = parseStructuredValue(value);
  return { disposition: parsed.value.includes('/') ? '' : parsed.value, params: parsed.params };
}

/** RFC 2231 attribute-char: token chars except `*`, `'` and `%`. */
function isAttributeChar(code: number): boolean {
  return isTokenChar(code) && code !== 0x2a && code !== 0x27 && code !== 0x25;
}

/** Longest parameter section we write, so folded header lines stay well under 78 characters. */
const PARAM_SECTION_LENGTH = 60;

/**
 * Formats parameters as `; name=value` items (no leading `;` on the first). A value of printable ASCII is written
 * as a token or a quoted string; anything else, or a value too long for one line, with RFC 2231 (UTF-8, sections).
 * Items are separated by `; ` so folding can break between them.
 */
export function formatParameters(params: Readonly<Record<string, string>>): string[] {
  const items: string[] = [];
  for (const [rawName, value] of Object.entries(params)) {
    const name = rawName.toLowerCase();
    if (!isToken(name) || name.includes('*') || name.includes("'") || name.includes('%')) {
      throw new MimeError('MIME_INVALID_HEADER', `invalid parameter name: ${JSON.stringify(rawName)}`);
    }
    if (typeof value !== 'string') throw new MimeError('MIME_INVALID_HEADER', `parameter ${name} is not a string`);
    const printable = /^[\x20-\x7e]*$/.test(value);
    if (printable && value.length <= PARAM_SECTION_LENGTH) {
      items.push(`${name}=${isToken(value) ? value : quote(value)}`);
    } else if (printable) {
      for (let n = 0, at = 0; at < value.length; n++, at += PARAM_SECTION_LENGTH) {
        items.push(`${name}*${n}=${quote(value.slice(at, at + PARAM_SECTION_LENGTH))}`);
      }
    } else {
      const encoded = percentEncode(value);
      const whole = encoded.join('');
      if (whole.length <= PARAM_SECTION_LENGTH) {
        items.push(`${name}*=utf-8''${whole}`);
      } else {
        let n = 0;
        let section = '';
        for (const piece of encoded) {
          if (section.length + piece.length > PARAM_SECTION_LENGTH) {
            items.push(`${name}*${n}*=${n === 0 ? "utf-8''" : ''}${section}`);
            n++;
            section = '';
          }
          section += piece;
        }
        items.push(`${name}*${n}*=${n === 0 ? "utf-8''" : ''}${section}`);
      }
    }
  }
  return items;
}

/** Percent-encodes per character (never splitting one UTF-8 sequence across sections). */
function percentEncode(value: string): string[] {
  const pieces: string[] = [];
  for (const ch of value) {
    let piece = '';
    for (const b of utf8Bytes(ch)) {
      piece += isAttributeChar(b) ? String.fromCharCode(b) : `%${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
    }
    pieces.push(piece);
  }
  return pieces;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** `type/subtype; a=b; c="d e"` for a Content-Type field. */
export function formatContentType(mediaType: string, params: Readonly<Record<string, string>> = {}): string {
  const slash = mediaType.indexOf('/');
  if (slash === -1 || !isToken(mediaType.slice(0, slash)) || !isToken(mediaType.slice(slash + 1))) {
    throw new MimeError('MIME_INVALID_HEADER', `invalid media type: ${JSON.stringify(mediaType)}`);
  }
  return [mediaType.toLowerCase(), ...formatParameters(params)].join('; ');
}
