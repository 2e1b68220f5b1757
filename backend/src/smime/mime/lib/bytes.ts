// Byte helpers shared by the MIME modules. Internal: not re-exported from index.ts.
import { isAscii as nativeIsAscii } from 'node:buffer';

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const DASH = 0x2d;
export const EQUALS = 0x3d;

/** A Buffer over the same memory (no copy), for Buffer's fast native indexOf. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const utf8Encoder = new TextEncoder();

/** UTF-8 bytes of a string (for ASCII strings, the same bytes as latin1). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Each byte as one char: lossless, and the right reading of ASCII. */
export function latin1(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('latin1');
}

/** Bytes of a string whose chars are all < 256 (ASCII protocol text we produced). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Header bytes as text, best effort: ASCII as is, valid UTF-8 (RFC 6532 headers) as UTF-8, anything else as latin1
 * (so no byte is lost or turned into U+FFFD).
 */
export function decodeHeaderText(bytes: Uint8Array): string {
  if (isAscii(bytes)) return latin1(bytes);
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/** No byte at or above 0x80 (node:buffer's native check, issue 6). */
export function isAscii(bytes: Uint8Array): boolean {
  return nativeIsAscii(bytes);
}

export function isWsp(byte: number | undefined): boolean {
  return byte === SP || byte === HTAB;
}

/** Strips SP and HTAB at both ends, without a regex (`/\s+$/` is quadratic on long runs of spaces). */
export function trimWsp(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === SP || text.charCodeAt(start) === HTAB)) start++;
  while (end > start && (text.charCodeAt(end - 1) === SP || text.charCodeAt(end - 1) === HTAB)) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** True when `bytes` holds `prefix` (ASCII) at `at`. */
export function startsWithAscii(bytes: Uint8Array, at: number, prefix: string): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Hex value of an ASCII hex digit (either case), or -1. */
export function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

export const HEX_UPPER = '0123456789ABCDEF';
