// A minimal DER writer (X.690 section 10) for the envelopes we produce. Values are kept as lists of byte chunks and
// joined once at the end, so a 64 MiB ciphertext is copied exactly once into the output (asn1js' toBER would copy it
// several times while building its tree).

export interface Der {
  length: number;
  parts: Uint8Array[];
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Identifier octet of a context-specific tag [n] (n < 31), constructed or primitive. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

function lengthOctets(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** A TLV with the given identifier octet around the concatenation of `content`. */
export function tlv(tag: number, ...content: Der[]): Der {
  const length = content.reduce((n, c) => n + c.length, 0);
  const header = Uint8Array.of(tag, ...lengthOctets(length));
  return { length: header.length + length, parts: [header, ...content.flatMap((c) => c.parts)] };
}

/** Already-encoded DER, used as is (a Name or serial number copied from a certificate). */
export function raw(bytes: Uint8Array): Der {
  return { length: bytes.length, parts: [bytes] };
}

/** A primitive TLV around `value` (OCTET STRING, [n] IMPLICIT OCTET STRING, ...). */
export function primitive(tag: number, value: Uint8Array): Der {
  const header = Uint8Array.of(tag, ...lengthOctets(value.length));
  return { length: header.length + value.length, parts: [header, value] };
}

export function sequence(...content: Der[]): Der {
  return tlv(TAG.SEQUENCE, ...content);
}

export function octetString(value: Uint8Array): Der {
  return primitive(TAG.OCTET_STRING, value);
}

/** INTEGER from a non-negative safe integer (versions, lengths). */
export function integer(value: number): Der {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('integer: expected a non-negative safe integer');
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return primitive(TAG.INTEGER, Uint8Array.from(bytes));
}

/** Encoded OIDs by dotted text (issue 6): a handful, written for every message. Der values are never mutated. */
const oidCache = new Map<string, Der>();
const OID_CACHE_ENTRIES = 256;

/** OBJECT IDENTIFIER from dotted text (X.690 section 8.19). */
export function oid(dotted: string): Der {
  let der = oidCache.get(dotted);
  if (der === undefined) {
    der = encodeOid(dotted);
    if (oidCache.size < OID_CACHE_ENTRIES) oidCache.set(dotted, der);
  }
  return der;
}

function encodeOid(dotted: string): Der {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new RangeError(`oid: ${dotted}`);
  const values = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const value of values) {
    const group: number[] = [Number(value & 0x7fn)];
    for (let v = value >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  return primitive(TAG.OID, Uint8Array.from(bytes));
}

export function nullValue(): Der {
  return primitive(TAG.NULL, new Uint8Array(0));
}

/** BIT STRING with no unused bits. */
export function bitString(value: Uint8Array): Der {
  const header = Uint8Array.of(TAG.BIT_STRING, ...lengthOctets(value.length + 1), 0);
  return { length: header.length + value.length, parts: [header, value] };
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
export function algorithm(id: string, params?: Der): Der {
  return params ? sequence(oid(id), params) : sequence(oid(id));
}

/** Joins an encoding into one buffer. */
export function toBytes(der: Der): Uint8Array {
  const out = new Uint8Array(der.length);
  let offset = 0;
  for (const part of der.parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** X.690 section 11.6: the elements of a DER SET OF in ascending order of their encodings (shorter ones 0-padded). */
function compareEncodings(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/** SET OF, sorted as DER requires. The elements are small (RecipientInfos), so each is joined to be compared. */
export function setOf(elements: Der[]): Der {
  if (elements.length === 1) return tlv(TAG.SET, elements[0]!); // one element: nothing to sort
  const encoded = elements.map(toBytes).sort(compareEncodings);
  return tlv(TAG.SET, ...encoded.map(raw));
}
