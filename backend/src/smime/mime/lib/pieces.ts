// Bytes kept as an ordered list of pieces, most of them views of the input, and joined once at the very end (issue
// 6): a 25 MB attachment is then copied once on its way out instead of once per layer (entity, multipart, message).
// Internal.
import { asBuffer } from './bytes.ts';

export type Pieces = Uint8Array[];

export function piecesLength(pieces: readonly Uint8Array[]): number {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  return total;
}

/** Copies the pieces into `out` from `offset`; returns the offset after them. */
export function writePieces(pieces: readonly Uint8Array[], out: Uint8Array, offset: number): number {
  let at = offset;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return at;
}

/** One new buffer holding the pieces in order (always a copy, never a view of a piece). */
export function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(piecesLength(pieces));
  writePieces(pieces, out, 0);
  return out;
}

/** Up to this many bytes, piecesInclude joins the pieces and searches once. */
const SMALL_JOIN_BYTES = 64 * 1024;

/** Whether `needle` occurs in the concatenation of the pieces, including across the joins between them. */
export function piecesInclude(pieces: readonly Uint8Array[], needle: Uint8Array): boolean {
  // Small content: one join and one search cost less than a search per piece and per join (issue 6: small mail).
  if (piecesLength(pieces) <= SMALL_JOIN_BYTES) return asBuffer(joinPieces(pieces)).indexOf(needle) !== -1;
  const overlap = needle.length - 1;
  for (let i = 0; i < pieces.length; i++) {
    const piece = asBuffer(pieces[i]!);
    if (piece.indexOf(needle) !== -1) return true;
    if (overlap === 0) continue;
    // A match across the join: the last `overlap` bytes so far, then the first `overlap` bytes from here on.
    const before: Uint8Array[] = [];
    let need = overlap;
    for (let j = i; j >= 0 && need > 0; j--) {
      const p = pieces[j]!;
      before.unshift(p.subarray(Math.max(0, p.length - need)));
      need -= Math.min(need, p.length);
    }
    const after: Uint8Array[] = [];
    need = overlap;
    for (let j = i + 1; j < pieces.length && need > 0; j++) {
      const p = pieces[j]!;
      after.push(p.subarray(0, need));
      need -= Math.min(need, p.length);
    }
    if (after.length > 0 && asBuffer(joinPieces([...before, ...after])).indexOf(needle) !== -1) return true;
  }
  return false;
}
