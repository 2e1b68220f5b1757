/**
 * The demo's "tamper" button: change one byte of a stored message the way a careless relay or an attacker would, so a
 * reader sees what the S/MIME status looks like then. Never used outside the demo.
 */

import { AppError } from '../errors.ts';

const CRLF2 = Buffer.from('\r\n\r\n');

function headerEnd(b: Buffer, from = 0): number {
  const i = b.indexOf(CRLF2, from);
  return i < 0 ? -1 : i + 4;
}

/**
 * A copy of `raw` with one byte changed: in a multipart/signed message, the case of one letter of the signed part's
 * body (its signature then fails: invalid-signature); otherwise one base64 character three quarters into the body
 * (inside an opaque signature or the ciphertext of an encrypted message), or failing that one letter anywhere in it.
 */
export function tamper(raw: Uint8Array): Uint8Array {
  const b = Buffer.from(raw);
  const bodyStart = headerEnd(b);
  if (bodyStart < 0) throw new AppError('BAD_REQUEST', 'This message has no body to change.');
  const headers = b.subarray(0, bodyStart).toString('latin1');
  const boundary = /content-type:\s*multipart\/signed[^]*?boundary="?([^";\r\n]+)"?/i.exec(headers)?.[1];
  if (boundary) {
    const first = b.indexOf(`--${boundary}\r\n`, bodyStart, 'latin1');
    const partBody = first < 0 ? -1 : headerEnd(b, first);
    if (partBody > 0) {
      for (let i = partBody; i < b.length; i++) {
        const c = b[i]!;
        if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
          b[i] = c ^ 0x20; // swap case
          return b;
        }
      }
    }
  }
  // Three quarters in first (past the recipient infos of an encrypted message), else anywhere in the body.
  for (const from of [bodyStart + Math.floor((b.length - bodyStart) * 0.75), bodyStart]) {
    for (let i = from; i < b.length; i++) {
      const c = b[i]!;
      if ((c >= 0x41 && c <= 0x59) || (c >= 0x61 && c <= 0x79)) {
        b[i] = c + 1; // A->B: still valid base64, different bytes
        return b;
      }
    }
  }
  throw new AppError('BAD_REQUEST', 'This message has no letter to change.');
}
