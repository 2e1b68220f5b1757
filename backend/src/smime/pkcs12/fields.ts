// Two accessors of the PKCS#12 parser over the engine's reader (asn1/reader.ts), for the two places where the
// reader's general accessors draw a line the parser has never drawn, so that a file reads as it always has.
//
// - OCTET STRING: the reader allows a chunked string as many segments as any constructed value may hold (here bounded
//   only by readTree's values budget); a PKCS#12 file has always been refused (P12_TOO_LARGE) beyond
//   MAX_OCTET_STRING_SEGMENTS segments in one string.
// - INTEGER: the reader's smallInteger refuses anything wider than 6 bytes. An iteration count up to 2^53 - 1 is a
//   valid INTEGER that the KDF budget refuses as too much work (P12_TOO_LARGE), not as damage, and a count written
//   with leading zero bytes is still that count.

import { BerError, bigInteger, concatBytes, octetSegments, type Tlv } from '../asn1/reader.ts';

/** Segments of one BER-constructed OCTET STRING: a 1 MiB file in 256-byte pieces. */
const MAX_OCTET_STRING_SEGMENTS = 4096;

/**
 * The content of an OCTET STRING, primitive or BER-constructed (Windows and Java write constructed strings); with
 * `implicitTag`, a context-specific [n] IMPLICIT OCTET STRING (EncryptedContentInfo's content). A primitive string is
 * a view into the input: what the parse keeps, hands out or wipes is copied first (copyBytes).
 */
export function octetString(t: Tlv | undefined, what: string, implicitTag?: number): Uint8Array {
  const segments = octetSegments(t, what, implicitTag);
  if (segments.length > MAX_OCTET_STRING_SEGMENTS) throw new BerError(`${what}: too many segments`, { limit: true });
  return concatBytes(segments);
}

/** An INTEGER of any width that must lie in [min, max] (at most Number.MAX_SAFE_INTEGER). */
export function integerInRange(t: Tlv | undefined, what: string, min: number, max: number): number {
  const value = bigInteger(t, what);
  if (value < BigInt(min) || value > BigInt(max)) throw new BerError(`${what}: ${value} is out of range`);
  return Number(value);
}
