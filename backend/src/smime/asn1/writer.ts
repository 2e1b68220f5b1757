// The engine's one DER writer (X.690 section 10), for everything it produces: SignedData, EnvelopedData and
// AuthEnvelopedData, OCSP requests, and the DER form of signed attributes received in BER. The output must be DER to
// the byte (signed attributes are signed as DER, RFC 5652 section 5.4) and one value can be very large: the eContent
// of an opaque-signed 25 MB message, or a 64 MiB ciphertext (asn1js' toBER would copy it several times while
// building its tree).
//
// A value is kept as a list of byte pieces plus its total length, never copied into its parent: a SEQUENCE is its
// header followed by its children's pieces. The bytes are joined once, by toBytes, so a large OCTET STRING is copied
// exactly once on its way to the output, and no tree of objects is built around it.

export interface Der {
  /** The encoding, in pieces to be concatenated in order. The pieces may be views of the caller's buffers. */
  readonly parts: readonly Uint8Array[];
  /** Total length of the pieces. */
  readonly length: number;
}

import { BerError, children, CLASS, content, encoding, UNIVERSAL, type Tlv } from './reader.ts';

/** Identifier octets of the universal types written here (X.690 section 8, X.680 section 8.4). */
export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONTEXT_PRIMITIVE = 0x80;
const CONSTRUCTED = 0x20;
/** Tag numbers from 31 up need the multi-byte form (X.690 section 8.1.2.4), which no CMS structure here uses. */
const MAX_LOW_TAG_NUMBER = 30;

/** The identifier and length octets (definite form: short below 128, else long, X.690 sections 8.1.3 and 10.1). */
export function header(tag: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid DER length ${length}`);
  if (length < 0x80) return Uint8Array.of(tag, length);
  let count = 0;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) count++;
  const out = new Uint8Array(2 + count);
  out[0] = tag;
  out[1] = 0x80 | count;
  for (let i = count + 1, rest = length; i >= 2; i--, rest = Math.floor(rest / 256)) out[i] = rest % 256;
  return out;
}

/** An already encoded value (a certificate, a Name) taken as it is. */
export function encoded(bytes: Uint8Array): Der {
  return { parts: [bytes], length: bytes.length };
}

/** A value with `tag` whose contents are `content` (primitive bytes) or the concatenation of `content` values. */
export function tlv(tag: number, content: Uint8Array | readonly Der[]): Der {
  if (content instanceof Uint8Array) {
    const head = header(tag, content.length);
    return { parts: [head, content], length: head.length + content.length };
  }
  let length = 0;
  for (const d of content) length += d.length;
  const head = header(tag, length);
  const parts: Uint8Array[] = [head];
  for (const d of content) for (const p of d.parts) parts.push(p);
  return { parts, length: head.length + length };
}

export function sequence(...items: Der[]): Der {
  return tlv(TAG.SEQUENCE, items);
}

/**
 * SET OF: the elements sorted by their encodings (X.690 section 11.6, "compared as octet strings with the shorter
 * components being padded at their trailing end with 0-octets"). Needed for DER, which the signed attributes must be.
 */
export function setOf(items: readonly Der[], tag: number = TAG.SET): Der {
  if (items.length === 1) return tlv(tag, items); // one element: nothing to sort
  const flat = items.map(toBytes);
  flat.sort(compareForSetOf);
  return tlv(tag, flat.map(encoded));
}

export function compareForSetOf(a: Uint8Array, b: Uint8Array): number {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  // Equal up to the shorter length: the shorter one is padded with zeros, so it is smaller only if the longer one
  // has a non-zero octet left.
  const [longer, sign] = a.length > b.length ? [a, 1] : [b, -1];
  for (let i = common; i < longer.length; i++) if (longer[i] !== 0) return sign;
  return 0;
}

/** Encoded OIDs by dotted text: the same few dozen are written for every message (issue 6). Der values are never mutated. */
const oidCache = new Map<string, Der>();
/** A bound on the cache, for callers that pass OIDs of their own (custom SMIMECapabilities). */
const OID_CACHE_ENTRIES = 1024;

/** OBJECT IDENTIFIER from dotted text (X.690 section 8.19). */
export function objectIdentifier(dotted: string): Der {
  let der = oidCache.get(dotted);
  if (der === undefined) {
    der = encodeObjectIdentifier(dotted);
    if (oidCache.size < OID_CACHE_ENTRIES) oidCache.set(dotted, der);
  }
  return der;
}

function encodeObjectIdentifier(dotted: string): Der {
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(dotted)) throw new RangeError(`invalid OID ${dotted}`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  if (first < 2n && second > 39n) throw new RangeError(`invalid OID ${dotted}`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** A non-negative INTEGER in its minimal two's complement form (X.690 section 8.3). */
export function integer(value: number | bigint): Der {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('negative INTEGER not supported');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

/** An INTEGER whose content octets are given as stored elsewhere (a certificate's serialNumber). */
export function integerFromContent(content: Uint8Array): Der {
  return tlv(TAG.INTEGER, content);
}

/** OCTET STRING, primitive (DER forbids the constructed form, X.690 section 10.2). The content is not copied. */
export function octetString(content: Uint8Array): Der {
  return tlv(TAG.OCTET_STRING, content);
}

export const NULL: Der = encoded(Uint8Array.of(TAG.NULL, 0));

/** [n] EXPLICIT: a constructed context-specific tag around one value. */
export function explicit(tagNumber: number, inner: Der): Der {
  return tlv(contextTag(tagNumber), [inner]);
}

/** [n] IMPLICIT on a constructed type (SEQUENCE, SET): the context tag replaces the universal one. */
export function implicitConstructed(tagNumber: number, contents: readonly Der[]): Der {
  return tlv(contextTag(tagNumber), contents);
}

/** Identifier octet of a context-specific tag [n], constructed (the default) or primitive (an IMPLICIT string). */
export function contextTag(tagNumber: number, constructed = true): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER)
    throw new RangeError(`tag [${tagNumber}]`);
  return CONTEXT_PRIMITIVE | (constructed ? CONSTRUCTED : 0) | tagNumber;
}

/** BIT STRING with no unused bits (public keys). */
export function bitString(value: Uint8Array): Der {
  const head = header(TAG.BIT_STRING, value.length + 1);
  return { parts: [head, Uint8Array.of(0), value], length: head.length + 1 + value.length };
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
export function algorithm(id: string, params?: Der): Der {
  return params ? sequence(objectIdentifier(id), params) : sequence(objectIdentifier(id));
}

/** UTCTime for 1950 through 2049, GeneralizedTime otherwise (RFC 5652 section 11.3, as RFC 5280 section 4.1.2.5). */
const UTC_TIME_FIRST_YEAR = 1950;
const UTC_TIME_LAST_YEAR = 2049;

/**
 * A Time value: `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ` (GeneralizedTime), always UTC, always with seconds,
 * never fractions (RFC 5652 section 11.3). Milliseconds are dropped.
 */
export function time(date: Date): Der {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 0 || year > 9999) throw new RangeError('time out of range');
  const two = (n: number) => String(n).padStart(2, '0');
  const fields = [
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];
  const rest = `${fields.map(two).join('')}Z`;
  const utc = year >= UTC_TIME_FIRST_YEAR && year <= UTC_TIME_LAST_YEAR;
  const text = utc ? `${two(year % 100)}${rest}` : `${String(year).padStart(4, '0')}${rest}`;
  return tlv(utc ? TAG.UTC_TIME : TAG.GENERALIZED_TIME, Buffer.from(text, 'latin1'));
}

/** Joins the pieces: the one copy of every byte on its way out. */
export function toBytes(der: Der): Uint8Array {
  if (der.parts.length === 1) return der.parts[0]!;
  return Buffer.concat(der.parts as Uint8Array[], der.length);
}

/** A byte-level shorthand: the DER TLV with identifier octet `identifier` around the concatenation of `parts`. */
export function der(identifier: number, ...parts: Uint8Array[]): Uint8Array {
  return toBytes(tlv(identifier, parts.map(encoded)));
}

const STRING_TAGS = new Set([4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29, 30]);

/**
 * Re-encodes a BER value in DER (X.690 section 10): definite minimal lengths, constructed strings made primitive,
 * SET OF elements sorted (section 11.6). Used for the signed attributes, which RFC 5652 section 5.4 signs in DER
 * whatever encoding the sender transmitted.
 */
export function reencode(t: Tlv): Der {
  const identifier = encoding(t)[0]!;
  if (t.tag >= 31) throw new BerError('high tag numbers are not re-encoded');
  if (!t.constructed) return tlv(identifier, content(t));
  if (t.cls === CLASS.UNIVERSAL && STRING_TAGS.has(t.tag)) return tlv(identifier & ~CONSTRUCTED, joinedString(t));
  if (t.cls === CLASS.UNIVERSAL && t.tag === UNIVERSAL.BIT_STRING)
    throw new BerError('constructed BIT STRING is not re-encoded');
  const parts = children(t).map(reencode);
  return t.cls === CLASS.UNIVERSAL && t.tag === UNIVERSAL.SET ? setOf(parts) : tlv(identifier, parts);
}

/** The content of a constructed string (X.690 section 8.21): its segments, which must carry its own tag, joined. */
function joinedString(t: Tlv): Uint8Array {
  const out: Uint8Array[] = [];
  const walk = (node: Tlv): void => {
    if (!node.constructed) {
      out.push(content(node));
      return;
    }
    for (const c of children(node)) {
      if (c.cls !== CLASS.UNIVERSAL || c.tag !== t.tag) throw new BerError('string: bad segment in constructed string');
      walk(c);
    }
  };
  walk(t);
  return Buffer.concat(out);
}
