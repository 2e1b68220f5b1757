// A small BER reader (X.690 section 8) for the outer layers of a CMS envelope: ContentInfo, EnvelopedData,
// EncryptedContentInfo and the encrypted content itself.
//
// Why not asn1js for everything: asn1js builds a tree with one object per element and refuses content over 16 MiB
// by default (DEFAULT_MAX_CONTENT_LENGTH) and more than 10,000 nodes (DEFAULT_MAX_NODES). A 64 MiB message that NSS
// or OpenSSL streamed as a BER constructed OCTET STRING in 1-4 KiB chunks is tens of thousands of elements, so a
// tree would need limits raised far beyond what is safe for the rest of the structure. Here the ciphertext is
// reached through offsets and joined in two allocation-free passes; the small parts (RecipientInfo, algorithm
// identifiers, attributes) are handed to asn1js (lib/der.ts) one by one, each under asn1js' normal limits.
//
// Everything is bounds-checked against the enclosing element; every failure is DerError (limit: true for the
// resource limits). Nothing here allocates in proportion to the number of elements.

import { DerError } from './asn1js-nodes.ts';
import { MAX_BER_DEPTH } from '../limits.ts';

export const CLASS_UNIVERSAL = 0;
export const CLASS_CONTEXT = 2;

/** One BER element: its identifier, and where its header, value and end are in the input. */
export interface Tlv {
  tagClass: number;
  constructed: boolean;
  tagNumber: number;
  start: number;
  /** First byte of the value (after the identifier and length octets). */
  valueStart: number;
  /** End of the value (before the end-of-contents octets of an indefinite-length element). */
  valueEnd: number;
  /** First byte after the element. */
  end: number;
  indefinite: boolean;
}

/** Tag numbers above this are not ASN.1 anyone uses; refusing them keeps the tag arithmetic in safe integers. */
const MAX_TAG_NUMBER = 0x1fffff;
/** Length octets of the long form: 4 cover every length below 4 GiB, more than any input we accept. */
const MAX_LENGTH_OCTETS = 4;

/** Reads the element at `offset`, which must end by `limit`. Indefinite-length elements are walked to find their end. */
export function readTlv(input: Uint8Array, offset: number, limit: number, depth = 0): Tlv {
  if (depth > MAX_BER_DEPTH) throw new DerError('BER nesting too deep', { limit: true });
  let pos = offset;
  if (pos >= limit) throw new DerError('BER: truncated (identifier)');
  const first = input[pos++]!;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    let byte: number;
    do {
      if (pos >= limit) throw new DerError('BER: truncated (tag number)');
      byte = input[pos++]!;
      tagNumber = tagNumber * 128 + (byte & 0x7f);
      if (tagNumber > MAX_TAG_NUMBER) throw new DerError('BER: tag number too large');
    } while (byte & 0x80);
  }
  if (pos >= limit) throw new DerError('BER: truncated (length)');
  const lengthByte = input[pos++]!;
  if (lengthByte === 0x80) {
    // X.690 section 8.1.3.6: indefinite form, constructed only; the value ends at the first end-of-contents (00 00)
    // at this level.
    if (!constructed) throw new DerError('BER: indefinite length on a primitive element');
    const valueStart = pos;
    for (;;) {
      if (pos + 2 <= limit && input[pos] === 0 && input[pos + 1] === 0) {
        return { tagClass, constructed, tagNumber, start: offset, valueStart, valueEnd: pos, end: pos + 2, indefinite: true };
      }
      if (pos >= limit) throw new DerError('BER: missing end-of-contents');
      pos = readTlv(input, pos, limit, depth + 1).end;
    }
  }
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const octets = lengthByte & 0x7f;
    if (octets === 0x7f) throw new DerError('BER: reserved length octet'); // X.690 section 8.1.3.5 c)
    if (octets > MAX_LENGTH_OCTETS) throw new DerError('BER: length too large');
    if (pos + octets > limit) throw new DerError('BER: truncated (length)');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + input[pos++]!;
  }
  if (length > limit - pos) throw new DerError('BER: element runs past its end');
  return { tagClass, constructed, tagNumber, start: offset, valueStart: pos, valueEnd: pos + length, end: pos + length, indefinite: false };
}

/** The elements inside a constructed element, in order; `max` bounds how many are accepted. */
export function childrenOf(input: Uint8Array, parent: Tlv, what: string, max: number, depth = 0): Tlv[] {
  if (!parent.constructed) throw new DerError(`${what}: expected a constructed element`);
  const out: Tlv[] = [];
  let pos = parent.valueStart;
  while (pos < parent.valueEnd) {
    if (out.length >= max) throw new DerError(`${what}: more than ${max} elements`, { limit: true });
    const child = readTlv(input, pos, parent.valueEnd, depth + 1);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function isUniversal(tlv: Tlv | undefined, tagNumber: number): tlv is Tlv {
  return tlv !== undefined && tlv.tagClass === CLASS_UNIVERSAL && tlv.tagNumber === tagNumber;
}

export function isContext(tlv: Tlv | undefined, tagNumber: number): tlv is Tlv {
  return tlv !== undefined && tlv.tagClass === CLASS_CONTEXT && tlv.tagNumber === tagNumber;
}

const OCTET_STRING = 4;

/**
 * Walks the segments of an OCTET STRING (primitive, or BER constructed with OCTET STRING segments, possibly nested,
 * X.690 section 8.7.3) and calls `visit` with each primitive segment's value range. Returns the total length.
 */
function walkSegments(input: Uint8Array, tlv: Tlv, what: string, depth: number, visit: (start: number, end: number) => void): number {
  if (depth > MAX_BER_DEPTH) throw new DerError(`${what}: nesting too deep`, { limit: true });
  if (!tlv.constructed) {
    visit(tlv.valueStart, tlv.valueEnd);
    return tlv.valueEnd - tlv.valueStart;
  }
  let total = 0;
  let pos = tlv.valueStart;
  while (pos < tlv.valueEnd) {
    const child = readTlv(input, pos, tlv.valueEnd, depth + 1);
    if (!isUniversal(child, OCTET_STRING)) throw new DerError(`${what}: a segment of a constructed string is not an OCTET STRING`);
    total += walkSegments(input, child, what, depth + 1, visit);
    pos = child.end;
  }
  return total;
}

/**
 * The bytes of an OCTET STRING (or an IMPLICIT-tagged one: the tag is the caller's business). A primitive string is
 * returned as a view into `input` (not a copy: callers must not wipe it); a constructed one is joined into a fresh
 * buffer. `maxBytes` is checked before anything is allocated.
 */
export function octetStringValue(input: Uint8Array, tlv: Tlv, what: string, maxBytes: number): Uint8Array {
  if (!tlv.constructed) {
    if (tlv.valueEnd - tlv.valueStart > maxBytes) throw new DerError(`${what}: larger than ${maxBytes} bytes`, { limit: true });
    return input.subarray(tlv.valueStart, tlv.valueEnd);
  }
  const total = walkSegments(input, tlv, what, 0, () => undefined);
  if (total > maxBytes) throw new DerError(`${what}: larger than ${maxBytes} bytes`, { limit: true });
  const out = new Uint8Array(total);
  let offset = 0;
  walkSegments(input, tlv, what, 0, (start, end) => {
    out.set(input.subarray(start, end), offset);
    offset += end - start;
  });
  return out;
}

/** The total length of an OCTET STRING's content, validating its segments, without copying anything. */
export function octetStringLength(input: Uint8Array, tlv: Tlv, what: string): number {
  return walkSegments(input, tlv, what, 0, () => undefined);
}
