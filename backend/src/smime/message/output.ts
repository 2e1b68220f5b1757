// The bytes of a protected message (issue 6): segments, plain or to be written as base64, each written once into one
// output buffer allocated when its length is known; and the MIME header blocks S/MIME adds around signatures and
// CMS blobs (RFC 8551 sections 3.2 to 3.5).

import { buildEntity, buildMultipartPieces, formatContentType, piecesLength, writePieces } from '../mime/index.ts';
import { Base64LineWriter, base64LinesLength } from '../mime/lib/base64-lines.ts';

/** RFC 2045 section 6.8: encoded lines of at most 76 characters. */
export const BASE64_LINE_LENGTH = 76;

/** Bytes of the output, or bytes written there as base64 in CRLF-terminated lines (issue 6: never a base64 copy). */
export type Segment = Uint8Array | { base64: readonly Uint8Array[] };

function segmentLength(segment: Segment): number {
  return segment instanceof Uint8Array
    ? segment.length
    : base64LinesLength(piecesLength(segment.base64), BASE64_LINE_LENGTH);
}

/** The one buffer of the output: every segment written into it once. */
export function assemble(segments: readonly Segment[]): Uint8Array {
  let total = 0;
  for (const segment of segments) total += segmentLength(segment);
  const out = newOutput(total);
  let at = 0;
  for (const segment of segments) {
    if (segment instanceof Uint8Array) at = writePieces([segment], out, at);
    else {
      const writer = new Base64LineWriter(out, at, BASE64_LINE_LENGTH);
      for (const piece of segment.base64) writer.write(piece);
      at = writer.end();
    }
  }
  return out;
}

/** An output buffer whose every byte the caller writes: not zeroed first, never Node's shared pool. */
export function newOutput(length: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** RFC 8551 section 3.5.3: multipart/signed with the canonical entity as its first part, the signature second. */
export function multipartSigned(canonical: readonly Uint8Array[], signature: Uint8Array, micalg: string): Uint8Array[] {
  const p7s = assemble([P7S_HEAD, { base64: [signature] }]);
  return buildMultipartPieces('signed', { protocol: 'application/pkcs7-signature', micalg }, [canonical, [p7s]]);
}

/** The header block of the signature part: the same for every message, so written once. */
const P7S_HEAD = buildEntity({
  headers: [
    ['Content-Type', formatContentType('application/pkcs7-signature', { name: 'smime.p7s' })],
    ['Content-Transfer-Encoding', 'base64'],
    ['Content-Disposition', 'attachment; filename=smime.p7s'],
    ['Content-Description', 'S/MIME Cryptographic Signature'],
  ],
  body: new Uint8Array(0),
});

/**
 * A MIME entity as segments: its header block (with the blank line) and its body, the body of an application/pkcs7-
 * mime entity being base64 of DER pieces that are written out only once, into the output.
 */
export type Entity = Segment[];

const EMPTY = new Uint8Array(0);

/** RFC 8551 sections 3.2 and 3.4 to 3.5.2: the header block of an application/pkcs7-mime entity named smime.p7m. */
export function pkcs7MimeHead(
  smimeType: 'signed-data' | 'enveloped-data' | 'authEnveloped-data',
  description: string,
): Uint8Array {
  const key = `${smimeType} ${description}`;
  let head = pkcs7MimeHeads.get(key);
  if (head === undefined) {
    head = writePkcs7MimeHead(smimeType, description);
    pkcs7MimeHeads.set(key, head);
  }
  return head;
}

/** The few header blocks pkcs7MimeHead writes, each made once (they are copied into the output, never changed). */
const pkcs7MimeHeads = new Map<string, Uint8Array>();

function writePkcs7MimeHead(smimeType: string, description: string): Uint8Array {
  return buildEntity({
    headers: [
      ['Content-Type', formatContentType('application/pkcs7-mime', { 'smime-type': smimeType, name: 'smime.p7m' })],
      ['Content-Transfer-Encoding', 'base64'],
      ['Content-Disposition', 'attachment; filename=smime.p7m'],
      ['Content-Description', description],
    ],
    body: EMPTY,
  });
}
