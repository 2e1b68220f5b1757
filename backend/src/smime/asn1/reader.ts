// The engine's one BER/DER reader (X.690 section 8), over byte offsets: SignedData, EnvelopedData, certificates, CRLs,
// OCSP, PKCS#12. One set of limits (../limits.ts: depth, elements per constructed value and values per tree) and
// one error type, BerError, whatever the structure.
//
// Why not asn1js: it builds a tree of objects for the whole input and refuses values over 16 MiB by default, but a
// 25 MB attachment signed opaquely is one OCTET STRING (or 25,000 BER chunks of one), and a CRL of a big CA holds
// hundreds of thousands of entries. This reader never copies: a value is its offsets in the input, children are read
// on demand, and the content of an OCTET STRING is handed out as views (`octetSegments`) that the caller hashes.
//
// Every failure is a BerError; nothing else is thrown on bad input.

import { MAX_ASN1_NODES, MAX_BER_CHILDREN, MAX_BER_DEPTH } from '../limits.ts';

/** Input did not have the expected ASN.1 shape. `limit` marks a resource limit rather than a format error. */
export class BerError extends Error {
  readonly limit: boolean;

  constructor(message: string, options?: { cause?: unknown; limit?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerError';
    this.limit = options?.limit ?? false;
  }
}

export const CLASS = { UNIVERSAL: 0, APPLICATION: 1, CONTEXT: 2, PRIVATE: 3 } as const;

export const UNIVERSAL = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  ENUMERATED: 10,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
} as const;

/** One TLV: where it is in `bytes`, never a copy. */
export interface Tlv {
  readonly bytes: Uint8Array;
  readonly cls: number;
  readonly constructed: boolean;
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  readonly contentStart: number;
  /** Exclusive; for an indefinite length, the offset of the end-of-contents octets. */
  readonly contentEnd: number;
  /** Exclusive end of the whole TLV (after the end-of-contents octets when indefinite). */
  readonly end: number;
  readonly indefinite: boolean;
  readonly depth: number;
}

// End offsets of indefinite-length values already walked, per input: without this, reading the children of nested
// indefinite values would walk the same bytes once per level.
const indefiniteEnds = new WeakMap<Uint8Array, Map<number, number>>();

/** The identifier and length octets of one TLV; `length` is undefined for the indefinite form. */
export interface TlvHeader {
  readonly cls: number;
  readonly constructed: boolean;
  readonly tag: number;
  readonly contentStart: number;
  readonly length: number | undefined;
}

/**
 * Reads the identifier and length octets at `offset` (which must lie before `limit`), without checking that the
 * content fits: readTlv does that, and a caller that only peeks at the first bytes of a large value needs no more.
 */
export function readHeader(bytes: Uint8Array, offset: number, limit: number = bytes.length): TlvHeader {
  let i = offset;
  if (i >= limit) throw new BerError('unexpected end of data');
  const first = bytes[i++]!;
  const cls = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    // X.690 section 8.1.2.4: high tag number form, base 128. Four bytes cover every tag anyone uses.
    tag = 0;
    for (let n = 0; ; n++) {
      if (i >= limit || n >= 4) throw new BerError('bad tag');
      const b = bytes[i++]!;
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (i >= limit) throw new BerError('unexpected end of data');
  const lengthByte = bytes[i++]!;
  // X.690 section 8.1.3.6: indefinite length, constructed only; the end is found by reading the children.
  if (lengthByte === 0x80) {
    if (!constructed) throw new BerError('indefinite length on a primitive value');
    return { cls, constructed, tag, contentStart: i, length: undefined };
  }
  let length = lengthByte;
  if (lengthByte > 0x80) {
    const count = lengthByte & 0x7f;
    // Four length bytes address 4 GiB, more than any input we accept; 0xff is reserved (X.690 section 8.1.3.5).
    if (count > 4) throw new BerError('length too long');
    length = 0;
    for (let n = 0; n < count; n++) {
      if (i >= limit) throw new BerError('unexpected end of data');
      length = length * 256 + bytes[i++]!;
    }
  }
  return { cls, constructed, tag, contentStart: i, length };
}

/** Reads one TLV at `offset` that must end by `limit`. */
export function readTlv(bytes: Uint8Array, offset: number, limit: number = bytes.length, depth = 0): Tlv {
  if (depth > MAX_BER_DEPTH) throw new BerError('nesting too deep', { limit: true });
  const { cls, constructed, tag, contentStart, length } = readHeader(bytes, offset, limit);
  // Object literals of one shape, not spreads: this runs once per element, a million times for a chunked eContent.
  if (length === undefined) {
    const end = indefiniteEnd(bytes, offset, contentStart, limit, depth);
    const contentEnd = end - 2;
    return { bytes, cls, constructed, tag, start: offset, contentStart, contentEnd, end, indefinite: true, depth };
  }
  const end = contentStart + length;
  if (end > limit) throw new BerError('value runs past its container');
  return { bytes, cls, constructed, tag, start: offset, contentStart, contentEnd: end, end, indefinite: false, depth };
}

/** The end (after the end-of-contents octets) of the indefinite-length value at `offset`. */
function indefiniteEnd(bytes: Uint8Array, offset: number, contentStart: number, limit: number, depth: number): number {
  let ends = indefiniteEnds.get(bytes);
  if (!ends) indefiniteEnds.set(bytes, (ends = new Map()));
  const known = ends.get(offset);
  if (known !== undefined && known <= limit) return known;
  let p = contentStart;
  for (let n = 0; ; n++) {
    if (n > MAX_BER_CHILDREN) throw new BerError('too many elements', { limit: true });
    if (p + 2 <= limit && bytes[p] === 0 && bytes[p + 1] === 0) {
      ends.set(offset, p + 2);
      return p + 2;
    }
    p = readTlv(bytes, p, limit, depth + 1).end;
  }
}

/** Reads exactly one TLV spanning the whole input. */
export function readOne(bytes: Uint8Array, what: string): Tlv {
  let t: Tlv;
  try {
    t = readTlv(bytes, 0, bytes.length);
  } catch (e) {
    if (e instanceof BerError) throw new BerError(`${what}: ${e.message}`, { limit: e.limit });
    throw e;
  }
  if (t.end !== bytes.length) throw new BerError(`${what}: ${bytes.length - t.end} bytes after the end`);
  return t;
}

/**
 * Reads exactly one TLV and every value nested in it, up front, for structures that are read field by field afterwards
 * (a PFX, a SafeContents, a certificate, a RecipientInfo): a damaged byte anywhere fails here, as one BerError, and
 * not later in whichever accessor happens to reach it; two readers of the same bytes (describe and verify) cannot see
 * different things. More than `maxNodes` values is a resource limit (a SafeContents of ten thousand empty bags).
 */
export function readTree(bytes: Uint8Array, what: string, maxNodes: number = MAX_ASN1_NODES): Tlv {
  if (bytes.length === 0) throw new BerError(`${what}: empty input`);
  const root = readOne(bytes, what);
  let nodes = 0;
  const walk = (t: Tlv): void => {
    if (++nodes > maxNodes) throw new BerError(`${what}: more than ${maxNodes} ASN.1 values`, { limit: true });
    if (t.constructed) for (const child of children(t, what)) walk(child);
  };
  try {
    walk(root);
  } catch (e) {
    if (e instanceof BerError && !e.message.startsWith(`${what}:`))
      throw new BerError(`${what}: ${e.message}`, { limit: e.limit });
    throw e;
  }
  return root;
}

/**
 * A fresh, non-shared copy. (`Buffer#subarray` returns a view, and a Buffer's memory may be a shared pool: anything
 * that will be wiped or handed out goes through here.)
 */
export function copyBytes(source: Uint8Array): Uint8Array {
  const out = new Uint8Array(source.length);
  out.set(source);
  return out;
}

/** The values inside a constructed `t`, in order; more than `max` is a resource limit. */
export function children(t: Tlv, what?: string, max: number = MAX_BER_CHILDREN): Tlv[] {
  if (!t.constructed) throw new BerError(`${what ? `${what}: ` : ''}expected a constructed value`);
  const out: Tlv[] = [];
  let p = t.contentStart;
  while (p < t.contentEnd) {
    if (out.length >= max) {
      throw new BerError(what ? `${what}: more than ${max} elements` : 'too many elements', { limit: true });
    }
    const child = readTlv(t.bytes, p, t.contentEnd, t.depth + 1);
    out.push(child);
    p = child.end;
  }
  return out;
}

/** The exact encoding of `t` as it appeared in the input (a view). */
export function encoding(t: Tlv): Uint8Array {
  return t.bytes.subarray(t.start, t.end);
}

/** The content octets of a primitive value (a view). */
export function content(t: Tlv): Uint8Array {
  if (t.constructed) throw new BerError('expected a primitive value');
  return t.bytes.subarray(t.contentStart, t.contentEnd);
}

function describe(t: Tlv | undefined): string {
  return t ? `[class ${t.cls} tag ${t.tag}${t.constructed ? ' constructed' : ''}]` : 'nothing';
}

export function is(t: Tlv | undefined, cls: number, tag: number): t is Tlv {
  return t !== undefined && t.cls === cls && t.tag === tag;
}

export function isUniversal(t: Tlv | undefined, tag: number): t is Tlv {
  return is(t, CLASS.UNIVERSAL, tag);
}

export function isContext(t: Tlv | undefined, tag: number): t is Tlv {
  return is(t, CLASS.CONTEXT, tag);
}

export function expect(t: Tlv | undefined, tag: number, what: string, cls: number = CLASS.UNIVERSAL): Tlv {
  if (!is(t, cls, tag)) throw new BerError(`${what}: unexpected ${describe(t)}`);
  return t;
}

export function sequence(t: Tlv | undefined, what: string): Tlv[] {
  const s = expect(t, UNIVERSAL.SEQUENCE, what);
  if (!s.constructed) throw new BerError(`${what}: not constructed`);
  return children(s);
}

export function setOf(t: Tlv | undefined, what: string): Tlv[] {
  const s = expect(t, UNIVERSAL.SET, what);
  if (!s.constructed) throw new BerError(`${what}: not constructed`);
  return children(s);
}

/** The single value inside an EXPLICIT [n]. */
export function explicit(t: Tlv | undefined, tag: number, what: string): Tlv {
  const e = expect(t, tag, what, CLASS.CONTEXT);
  if (!e.constructed) throw new BerError(`${what}: [${tag}] not constructed`);
  const inner = children(e);
  if (inner.length !== 1) throw new BerError(`${what}: [${tag}] must hold one value`);
  return inner[0]!;
}

export function oid(t: Tlv | undefined, what: string): string {
  return decodeOid(content(expect(t, UNIVERSAL.OID, what)), what);
}

/** The dotted form of OBJECT IDENTIFIER content octets (X.690 section 8.19), minimal encoding required. */
export function decodeOid(b: Uint8Array, what: string): string {
  if (b.length === 0 || b.length > 64 || (b[b.length - 1]! & 0x80) !== 0)
    throw new BerError(`${what}: bad OBJECT IDENTIFIER`);
  const parts: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    if (v === 0 && b[i] === 0x80) throw new BerError(`${what}: bad OBJECT IDENTIFIER`); // non-minimal
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) throw new BerError(`${what}: OBJECT IDENTIFIER arc too large`);
    if (!(b[i]! & 0x80)) {
      if (parts.length === 0) {
        const first = v < 40 ? 0 : v < 80 ? 1 : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** INTEGER content bytes (two's complement, as stored). */
export function integerBytes(t: Tlv | undefined, what: string): Uint8Array {
  const b = content(expect(t, UNIVERSAL.INTEGER, what));
  if (b.length === 0) throw new BerError(`${what}: empty INTEGER`);
  return b;
}

export function bigInteger(t: Tlv | undefined, what: string): bigint {
  const b = integerBytes(t, what);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if (b[0]! & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}

/**
 * The bit length of a positive INTEGER (0 for zero or a negative one), read from its bytes: the key size of an RSA
 * modulus without building a bigint of it (issue 16: a directory sync describes thousands of certificates).
 */
export function positiveBitLength(t: Tlv | undefined, what: string): number {
  const b = integerBytes(t, what);
  if (b[0]! & 0x80) return 0;
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return i === b.length ? 0 : (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

/** An INTEGER in [min, max]. */
export function smallInteger(t: Tlv | undefined, what: string, min = 0, max = 1_000_000): number {
  const b = integerBytes(t, what);
  if (b.length > 6) throw new BerError(`${what}: INTEGER out of range`);
  const v = bigInteger(t, what);
  if (v < BigInt(min) || v > BigInt(max)) throw new BerError(`${what}: ${v} out of range`);
  return Number(v);
}

export function boolean(t: Tlv | undefined, what: string): boolean {
  const b = content(expect(t, UNIVERSAL.BOOLEAN, what));
  if (b.length !== 1) throw new BerError(`${what}: bad BOOLEAN`);
  return b[0] !== 0;
}

/** A primitive BIT STRING's bytes after the unused-bits octet (a view), and the unused-bit count. */
export function bitString(t: Tlv | undefined, what: string): { bytes: Uint8Array; unusedBits: number } {
  const b = content(expect(t, UNIVERSAL.BIT_STRING, what));
  if (b.length === 0) throw new BerError(`${what}: BIT STRING without content`);
  const unusedBits = b[0]!;
  if (unusedBits > 7 || (b.length === 1 && unusedBits !== 0)) throw new BerError(`${what}: bad unused-bits count`);
  return { bytes: b.subarray(1), unusedBits };
}

/**
 * The content of an OCTET STRING as views, primitive or BER-constructed (chunked, possibly indefinite length, chunks
 * possibly nested: X.690 section 8.7.3). With `implicit`, a context [n] IMPLICIT OCTET STRING.
 */
export function octetSegments(t: Tlv | undefined, what: string, implicit?: number): Uint8Array[] {
  const ok = implicit === undefined ? isUniversal(t, UNIVERSAL.OCTET_STRING) : isContext(t, implicit);
  if (!ok) throw new BerError(`${what}: expected OCTET STRING, got ${describe(t)}`);
  return stringSegments(t!, UNIVERSAL.OCTET_STRING, what);
}

/** Segments of a string value whose constructed form is made of `segmentTag` pieces (X.690 section 8.21). */
function stringSegments(t: Tlv, segmentTag: number, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  walkSegments(t, segmentTag, what, (segment) => out.push(segment));
  return out;
}

/**
 * Calls `visit` with each primitive segment of a string value, in order, reading the chunks by offsets (no array of
 * children: a 64 MiB envelope streamed in 1 KiB chunks is 64,000 of them). Returns how many segments it visited.
 */
function walkSegments(
  t: Tlv,
  segmentTag: number,
  what: string,
  visit: (segment: Uint8Array) => void,
  seen = 0,
): number {
  if (!t.constructed) {
    visit(content(t));
    return seen + 1;
  }
  let count = seen;
  for (let p = t.contentStart; p < t.contentEnd;) {
    const c = readTlv(t.bytes, p, t.contentEnd, t.depth + 1);
    if (!isUniversal(c, segmentTag)) throw new BerError(`${what}: bad segment in constructed string`);
    if (count >= MAX_BER_CHILDREN) throw new BerError(`${what}: too many segments`, { limit: true });
    count = walkSegments(c, segmentTag, what, visit, count);
    p = c.end;
  }
  return count;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The total length of an OCTET STRING's content (or a [n] IMPLICIT one), validating its segments, copying nothing. */
export function octetStringLength(t: Tlv, what: string): number {
  let total = 0;
  walkSegments(t, UNIVERSAL.OCTET_STRING, what, (segment) => (total += segment.length));
  return total;
}

/**
 * The bytes of an OCTET STRING (or an IMPLICIT-tagged one: the tag is the caller's business). A primitive string is
 * a view into the input (not a copy: callers must not wipe it); a constructed one is joined into a fresh buffer.
 * `maxBytes` is checked before anything is allocated.
 */
export function octetStringValue(t: Tlv, what: string, maxBytes: number): Uint8Array {
  const total = octetStringLength(t, what);
  if (total > maxBytes) throw new BerError(`${what}: larger than ${maxBytes} bytes`, { limit: true });
  if (!t.constructed) return content(t);
  const out = new Uint8Array(total);
  let offset = 0;
  walkSegments(t, UNIVERSAL.OCTET_STRING, what, (segment) => {
    out.set(segment, offset);
    offset += segment.length;
  });
  return out;
}

/** OCTET STRING content as one array (a view when primitive, a copy when chunked). */
export function octets(t: Tlv | undefined, what: string, implicit?: number): Uint8Array {
  return concatBytes(octetSegments(t, what, implicit));
}

/**
 * OCTET STRING content as a fresh copy the caller owns: for what is wiped (key material) or kept after the input is
 * (a PKCS#12 parse wipes its copy of the file and every plaintext when it ends).
 */
export function ownedOctets(t: Tlv | undefined, what: string, implicit?: number): Uint8Array {
  const segments = octetSegments(t, what, implicit);
  return segments.length === 1 ? copyBytes(segments[0]!) : concatBytes(segments);
}

// RFC 5280 section 4.1.2.5 and RFC 5652 section 11.3: UTCTime YYMMDDHHMMSSZ (YY >= 50 is 19YY), GeneralizedTime
// YYYYMMDDHHMMSS[.f]Z. Both must be in UTC ("Z"); local times and offsets are refused.
const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,9})?Z$/;

export function time(t: Tlv | undefined, what: string): Date {
  if (!t || t.cls !== CLASS.UNIVERSAL || t.constructed) throw new BerError(`${what}: expected a time`);
  const text = Buffer.from(content(t)).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === UNIVERSAL.UTC_TIME && (m = UTC_TIME.exec(text))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === UNIVERSAL.GENERALIZED_TIME && (m = GENERALIZED_TIME.exec(text))) {
    year = Number(m[1]);
  } else throw new BerError(`${what}: not a UTCTime or GeneralizedTime in UTC`);
  const [month, day, hour, minute, second] = m.slice(2, 7).map(Number) as [number, number, number, number, number];
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new BerError(`${what}: invalid date`);
  }
  return d;
}

/** A BIT STRING that must be whole bytes (signatures, public keys): DER gives them 0 unused bits. */
export function byteBitString(t: Tlv | undefined, what: string): Uint8Array {
  const { bytes, unusedBits } = bitString(t, what);
  if (unusedBits !== 0) throw new BerError(`${what}: unused bits in a byte-aligned BIT STRING`);
  return bytes;
}

/** AlgorithmIdentifier: OID and parameters (absent or NULL => undefined). */
export function algorithm(t: Tlv | undefined, what: string): { oid: string; params: Tlv | undefined } {
  const [id, params, ...rest] = sequence(t, what);
  if (rest.length > 0) throw new BerError(`${what}: too many fields`);
  return { oid: oid(id, what), params: params && !isUniversal(params, UNIVERSAL.NULL) ? params : undefined };
}

/**
 * The content type of a ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }, read
 * from its first bytes only (the content after them may be tens of megabytes), or undefined when the bytes do not
 * start like one. With `exact`, the outer length must be definite and cover exactly the input, and [0] must follow.
 */
export function contentInfoType(bytes: Uint8Array, exact = false): string | undefined {
  try {
    const outer = readHeader(bytes, 0);
    if (outer.cls !== CLASS.UNIVERSAL || outer.tag !== UNIVERSAL.SEQUENCE || !outer.constructed) return undefined;
    if (exact && outer.contentStart + (outer.length ?? -1) !== bytes.length) return undefined;
    const type = readHeader(bytes, outer.contentStart);
    if (type.cls !== CLASS.UNIVERSAL || type.tag !== UNIVERSAL.OID || type.length === undefined) return undefined;
    const end = type.contentStart + type.length;
    if (end > bytes.length || (exact && bytes[end] !== 0xa0)) return undefined;
    return decodeOid(bytes.subarray(type.contentStart, end), 'contentType');
  } catch (e) {
    if (e instanceof BerError) return undefined;
    throw e;
  }
}
