// RFC 2047 encoded words: `=?charset?B|Q?text?=` in unstructured header values and display names.
import { decodeBase64 } from './transfer-encoding.ts';
import { HEX_UPPER, hexValue, utf8Bytes } from './lib/bytes.ts';
import { decodeCharset } from './lib/charset.ts';

// RFC 2047 section 2, with the RFC 2231 section 5 language suffix (`=?utf-8*en?Q?...?=`). Linear: no nested
// quantifiers, every class excludes the `?` that ends it.
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * Decodes the encoded words in `text`. Whitespace between two adjacent encoded words is dropped (RFC 2047 section
 * 6.2); adjacent words in the same charset are joined before decoding, so a character split across two words (a
 * common encoder bug) survives. Malformed words stay as written.
 */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  let out = '';
  let last = 0;
  let pendingCharset = '';
  let pending: Uint8Array[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    let total = 0;
    for (const p of pending) total += p.length;
    const joined = new Uint8Array(total);
    let at = 0;
    for (const p of pending) {
      joined.set(p, at);
      at += p.length;
    }
    out += decodeCharset(joined, pendingCharset);
    pending = [];
  };
  for (const m of text.matchAll(ENCODED_WORD)) {
    const start = m.index;
    const gap = text.slice(last, start);
    const charset = m[1]!.toLowerCase();
    const bytes = m[2]!.toUpperCase() === 'B' ? decodeBase64(utf8Bytes(m[3]!)) : decodeQ(m[3]!);
    if (pending.length > 0 && /^[ \t\r\n]*$/.test(gap)) {
      if (charset !== pendingCharset) {
        flush();
        pendingCharset = charset;
      }
    } else {
      flush();
      out += gap;
      pendingCharset = charset;
    }
    pending.push(bytes);
    last = start + m[0].length;
  }
  flush();
  return out + text.slice(last);
}

function decodeQ(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 4);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) {
      out[n++] = 0x20;
    } else if (c === 0x3d && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      out[n++] = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2));
      i += 2;
    } else if (c < 0x80) {
      out[n++] = c;
    } else {
      for (const b of utf8Bytes(text.charAt(i))) out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

/** RFC 2047 section 2: an encoded word is at most 75 characters. `=?UTF-8?Q?` and `?=` take 12. */
const MAX_ENCODED_WORD = 75;
const WORD_OVERHEAD = '=?UTF-8?Q?'.length + '?='.length;

/** RFC 2047 section 5 (3): the characters a Q-encoded word may hold literally in any header position. */
function isQSafe(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x21 ||
    byte === 0x2a ||
    byte === 0x2b ||
    byte === 0x2d ||
    byte === 0x2f
  );
}

/** True when `word` can stand in a header as is: printable ASCII that does not look like an encoded word. */
function isPlainWord(word: string): boolean {
  return /^[\x21-\x7e]*$/.test(word) && !word.includes('=?');
}

/**
 * Encodes an unstructured header value (RFC 2047 section 5 (1)) or a display name phrase (section 5 (3)): words
 * that are printable ASCII stay readable, runs of other words become UTF-8 encoded words (Q or B, whichever is
 * shorter) of at most 75 characters, never splitting a character. Words are separated by single spaces, so a
 * folding routine can break the line between any two of them.
 */
export function encodeHeaderWords(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text) && !text.includes('=?')) return text;
  const words = text.split(/[ \t\r\n]+/);
  const out: string[] = [];
  let run: string[] = [];
  const flushRun = (): void => {
    if (run.length > 0) out.push(...encodeRun(run.join(' ')));
    run = [];
  };
  for (const word of words) {
    if (isPlainWord(word)) {
      flushRun();
      out.push(word);
    } else {
      run.push(word);
    }
  }
  flushRun();
  return out.join(' ');
}

/** One run of text as a list of encoded words. */
function encodeRun(text: string): string[] {
  const chars = Array.from(text, (ch) => utf8Bytes(ch));
  let qLength = 0;
  let byteLength = 0;
  for (const bytes of chars) {
    byteLength += bytes.length;
    for (const b of bytes) qLength += isQSafe(b) || b === 0x20 ? 1 : 3;
  }
  const useQ = qLength <= Math.ceil(byteLength / 3) * 4;
  const room = MAX_ENCODED_WORD - WORD_OVERHEAD;
  const words: string[] = [];
  let current: number[] = [];
  let currentLength = 0;
  const emit = (): void => {
    if (current.length === 0) return;
    const payload = useQ ? encodeQ(current) : Buffer.from(current).toString('base64');
    words.push(`=?UTF-8?${useQ ? 'Q' : 'B'}?${payload}?=`);
    current = [];
    currentLength = 0;
  };
  for (const bytes of chars) {
    let width = 0;
    if (useQ) for (const b of bytes) width += isQSafe(b) || b === 0x20 ? 1 : 3;
    const nextLength = useQ ? currentLength + width : Math.ceil((current.length + bytes.length) / 3) * 4;
    if (nextLength > room) emit();
    for (const b of bytes) current.push(b);
    currentLength += width;
  }
  emit();
  return words;
}

function encodeQ(bytes: readonly number[]): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x20) out += '_';
    else if (isQSafe(b)) out += String.fromCharCode(b);
    else out += `=${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
  }
  return out;
}

/** RFC 5322 section 3.2.3 atext: what a phrase word may hold without quotes. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;

/**
 * A display name as an RFC 5322 phrase: as is when every word is an atom, quoted when it is other printable ASCII,
 * and as UTF-8 encoded words (RFC 2047 section 5 (3)) otherwise.
 */
export function encodePhrase(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) {
    const words = name.split(' ');
    if (words.every((w) => ATEXT.test(w)) && !name.includes('=?')) return name;
    return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  }
  return encodeRun(name.replace(/[\r\n]+/g, ' ')).join(' ');
}
