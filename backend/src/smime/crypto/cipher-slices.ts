/**
 * Large content through node:crypto's ciphers a slice at a time (issue 16), for crypto/content-cipher.ts: each slice's
 * output is written into one buffer, and what node allocates for it is garbage that the young generation's scavenges
 * collect, instead of a new buffer per slice (or one 34 MiB buffer and its copy) waiting for a full collection.
 */
import type { Cipher, Decipher } from 'node:crypto';

/**
 * Content of more than this many bytes goes through the cipher a slice at a time, each slice's output written into one
 * buffer (issue 16): see `updateInto`. Smaller content (and every key PKCS#12 decrypts) takes one call.
 */
export const CIPHER_SLICE_BYTES = 64 * 1024;

/**
 * `data` through a node:crypto cipher, its output written into `out` at `offset`; returns the bytes written. node:crypto
 * hands back every update() as a new buffer outside the JavaScript heap, and those stay until a full garbage collection
 * (25 MB in slices left about 34 MiB of them at the peak, issue 16). Asked for a latin1 string, node makes the same
 * buffer and copies it into a young string: both are then garbage of the young generation, which the scavenges that
 * the strings themselves bring about take within a few slices. latin1 maps each byte to one character and back, so no
 * byte changes. Throws RangeError when `out` has no room for the output.
 */
export function updateInto(cipher: Cipher | Decipher, data: Uint8Array, out: Buffer, offset: number): number {
  const text = cipher.update(data, undefined, 'latin1');
  if (text.length > out.length - offset) throw new RangeError('no room for the cipher output');
  return out.write(text, offset, 'latin1');
}

/**
 * Ciphertext in one piece, or as the segments it arrived in (a chunked BER OCTET STRING read in place: views of the
 * message, never joined when it is large).
 */
export type CipherInput = Uint8Array | readonly Uint8Array[];

export function inputLength(data: CipherInput): number {
  if (data instanceof Uint8Array) return data.length;
  let length = 0;
  for (const segment of data) length += segment.length;
  return length;
}

/** The input as one array: itself, its one segment, or its segments joined into a new array. */
export function joinInput(data: CipherInput): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data.length === 1) return data[0]!;
  const out = new Uint8Array(inputLength(data));
  let at = 0;
  for (const segment of data) {
    out.set(segment, at);
    at += segment.length;
  }
  return out;
}

/**
 * Calls `visit` with the input in slices of at most CIPHER_SLICE_BYTES, in order: views of a large segment, and small
 * segments (a BER writer's 1 KiB or 4 KiB chunks) gathered into one reused buffer first, since a cipher call costs more
 * than a few bytes would. A slice is only valid during the call.
 */
function forEachSlice(data: CipherInput, visit: (slice: Uint8Array) => void): void {
  const segments = data instanceof Uint8Array ? [data] : data;
  let gather: Buffer | undefined;
  let gathered = 0;
  for (const segment of segments) {
    let at = 0;
    while (at < segment.length) {
      if (gathered === 0 && segment.length - at >= CIPHER_SLICE_BYTES) {
        visit(segment.subarray(at, at + CIPHER_SLICE_BYTES));
        at += CIPHER_SLICE_BYTES;
        continue;
      }
      gather ??= Buffer.allocUnsafeSlow(CIPHER_SLICE_BYTES);
      const take = Math.min(CIPHER_SLICE_BYTES - gathered, segment.length - at);
      gather.set(segment.subarray(at, at + take), gathered);
      gathered += take;
      at += take;
      if (gathered === CIPHER_SLICE_BYTES) {
        visit(gather);
        gathered = 0;
      }
    }
  }
  if (gathered > 0) visit(gather!.subarray(0, gathered));
}

/**
 * Decrypts `data` a slice at a time into one buffer of its length (a stream cipher or CBC without padding writes
 * exactly that much), then final(): for the AEAD ciphers that checks the tag. Any failure wipes what was decrypted and
 * throws (the caller turns it into its one decryption error); the buffer is memory of its own, never Node's shared
 * pool.
 */
export function decryptSliced(decipher: Decipher, data: CipherInput): Buffer {
  const out = Buffer.allocUnsafeSlow(inputLength(data));
  let at = 0;
  try {
    forEachSlice(data, (slice) => {
      at += updateInto(decipher, slice, out, at);
    });
    const last = decipher.final();
    out.set(last, at);
    at += last.length;
    if (at !== out.length) throw new RangeError('the cipher wrote less than it read');
    return out;
  } catch (error) {
    out.fill(0);
    throw error;
  }
}

/**
 * Encryption in steps, for content that arrives in pieces or is written out as it is encrypted (issue 6): update()
 * for each piece in order, then final(), then tag() (GCM only). Each returns a new buffer of ciphertext.
 */
export interface StreamEncryptor {
  update(data: Uint8Array): Buffer;
  final(): Buffer;
  tag(): Uint8Array | undefined;
}

/** A node:crypto cipher as a StreamEncryptor; `tag` gives the AEAD tag after final(), undefined for CBC. */
export function streamEncryptor(cipher: Cipher, tag: () => Uint8Array | undefined): StreamEncryptor {
  return {
    update: (data) => cipher.update(data),
    final: () => cipher.final(),
    tag,
  };
}
