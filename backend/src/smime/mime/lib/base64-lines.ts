// Base64 in CRLF-terminated lines (RFC 2045 section 6.8), written into a buffer the caller sized with
// base64LinesLength, from input that arrives in pieces of any size (issue 6): the input can be the pieces of a
// message or a cipher's output, so a 25 MB body is encoded without ever being joined or held as one 45 MB string.
// Internal.
import { asBuffer, CR, LF } from './bytes.ts';

/** Full lines encoded per native call: large enough to amortise the call, small enough to stay in cache. */
const LINES_PER_BLOCK = 256;

/** Length of `byteLength` bytes as base64 in lines of `lineLength` characters, each line ended by CRLF. */
export function base64LinesLength(byteLength: number, lineLength: number): number {
  if (byteLength === 0) return 0;
  const lineBytes = (lineLength / 4) * 3;
  return Math.ceil(byteLength / 3) * 4 + Math.ceil(byteLength / lineBytes) * 2;
}

export class Base64LineWriter {
  readonly #out: Buffer;
  #at: number;
  readonly #lineLength: number;
  readonly #lineBytes: number;
  readonly #blockBytes: number;
  /** Input bytes waiting for a whole block (or for end()). */
  readonly #staging: Buffer;
  #staged = 0;

  /** `lineLength`: characters per line, a multiple of 4 (76 for MIME). */
  constructor(out: Uint8Array, offset: number, lineLength = 76) {
    this.#out = asBuffer(out);
    this.#at = offset;
    this.#lineLength = lineLength;
    this.#lineBytes = (lineLength / 4) * 3;
    this.#blockBytes = this.#lineBytes * LINES_PER_BLOCK;
    this.#staging = Buffer.allocUnsafe(this.#blockBytes);
  }

  write(bytes: Uint8Array): void {
    let from = 0;
    if (this.#staged > 0) {
      const take = Math.min(bytes.length, this.#blockBytes - this.#staged);
      this.#staging.set(bytes.subarray(0, take), this.#staged);
      this.#staged += take;
      from = take;
      if (this.#staged < this.#blockBytes) return;
      this.#encodeLines(this.#staging);
      this.#staged = 0;
    }
    // Whole blocks straight from the input, the rest staged.
    const source = asBuffer(bytes);
    while (bytes.length - from >= this.#blockBytes) {
      this.#encodeLines(source.subarray(from, from + this.#blockBytes));
      from += this.#blockBytes;
    }
    if (from < bytes.length) {
      this.#staging.set(bytes.subarray(from), 0);
      this.#staged = bytes.length - from;
    }
  }

  /** Encodes what is left (the last line may be short and padded); returns the offset after the last CRLF. */
  end(): number {
    if (this.#staged > 0) this.#encodeLines(this.#staging.subarray(0, this.#staged));
    this.#staged = 0;
    this.#staging.fill(0);
    return this.#at;
  }

  /**
   * Writes `block` as base64 at the current offset, then moves its lines apart from the last to the second and puts
   * CRLF after each: one string per block instead of one per line.
   */
  #encodeLines(block: Buffer): void {
    const text = block.toString('base64');
    const out = this.#out;
    const start = this.#at;
    const width = this.#lineLength;
    out.write(text, start, 'latin1');
    const lines = Math.ceil(text.length / width);
    for (let line = lines - 1; line > 0; line--) {
      const from = start + line * width;
      out.copyWithin(start + line * (width + 2), from, Math.min(from + width, start + text.length));
    }
    for (let line = 0; line < lines; line++) {
      const end = start + line * (width + 2) + Math.min(width, text.length - line * width);
      out[end] = CR;
      out[end + 1] = LF;
    }
    this.#at = start + text.length + lines * 2;
  }
}
