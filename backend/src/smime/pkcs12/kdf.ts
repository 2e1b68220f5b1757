// The PKCS#12 key derivation function (RFC 7292 appendix B.2) and the password encodings it is used with.
//
// Used by the PKCS#12 MAC (RFC 7292 section 5, ID 3) and by the legacy pbeWithSHAAnd... schemes (appendix C, IDs 1
// and 2). PBES2 does not use it: PBES2 runs PBKDF2 over the UTF-8 password bytes (RFC 8018 section 6.2).

import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { HashName } from '../asn1/oids.ts';

/** u = output size and v = block size of each hash, in bytes (RFC 7292 appendix B.2 notation). */
const HASH_SIZES: Readonly<Record<HashName, { u: number; v: number }>> = {
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
  'sha512-224': { u: 28, v: 128 },
  'sha512-256': { u: 32, v: 128 },
};

/** The diversifier ID of RFC 7292 appendix B.3. */
export const PKCS12_KDF_ID = { KEY: 1, IV: 2, MAC: 3 } as const;
export type Pkcs12KdfId = (typeof PKCS12_KDF_ID)[keyof typeof PKCS12_KDF_ID];

export function hashOutputSize(hash: HashName): number {
  return HASH_SIZES[hash].u;
}

/**
 * Iterations between yields to the event loop. The PKCS#12 KDF is a loop of single hash calls (about 3 us each with
 * node:crypto), so a file asking for 1,000,000 iterations would otherwise block a server for seconds.
 */
const ITERATIONS_PER_YIELD = 4096;

/** Repeats `input` to fill a whole number of v-byte blocks (RFC 7292 appendix B.2 steps 2 and 3). */
function stretch(input: Uint8Array, v: number): Uint8Array {
  const out = new Uint8Array(v * Math.ceil(input.length / v));
  for (let i = 0; i < out.length; i++) out[i] = input[i % input.length] ?? 0;
  return out;
}

/**
 * RFC 7292 appendix B.2. `password` is already encoded (see `bmpPassword`); `iterations` must have been checked
 * against the limits by the caller. Yields to the event loop every ITERATIONS_PER_YIELD iterations.
 */
export async function pkcs12Kdf(
  hash: HashName,
  password: Uint8Array,
  salt: Uint8Array,
  id: Pkcs12KdfId,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  const { u, v } = HASH_SIZES[hash];
  const d = new Uint8Array(v).fill(id);
  const s = stretch(salt, v);
  const p = stretch(password, v);
  const i = new Uint8Array(s.length + p.length);
  i.set(s);
  i.set(p, s.length);
  p.fill(0);
  const out = new Uint8Array(Math.ceil(length / u) * u);
  const b = new Uint8Array(v);
  try {
    for (let block = 0; block * u < length; block++) {
      // Step 6a: A = H^r(D || I).
      let a: Uint8Array = createHash(hash).update(d).update(i).digest();
      for (let r = 1; r < iterations; r++) {
        if (r % ITERATIONS_PER_YIELD === 0) await yieldToEventLoop();
        const next = createHash(hash).update(a).digest();
        a.fill(0);
        a = next;
      }
      out.set(a, block * u);
      if ((block + 1) * u >= length) {
        a.fill(0);
        break;
      }
      // Steps 6b and 6c: B = A repeated to v bytes; every v-byte block I_j of I becomes (I_j + B + 1) mod 2^(8v).
      for (let k = 0; k < v; k++) b[k] = a[k % u] ?? 0;
      a.fill(0);
      for (let j = 0; j < i.length; j += v) {
        let carry = 1;
        for (let k = v - 1; k >= 0; k--) {
          const sum = (i[j + k] ?? 0) + (b[k] ?? 0) + carry;
          i[j + k] = sum & 0xff;
          carry = sum >>> 8;
        }
      }
    }
    return out.slice(0, length);
  } finally {
    i.fill(0);
    b.fill(0);
    out.fill(0);
  }
}

/**
 * The password as RFC 7292 appendix B.1 wants it: a BMPString (UTF-16 big-endian) followed by two zero bytes.
 * Characters outside the BMP become surrogate pairs, as OpenSSL 1.1.0+ writes them.
 */
export function bmpPassword(password: string): Uint8Array {
  const out = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    const unit = password.charCodeAt(i);
    out[2 * i] = unit >>> 8;
    out[2 * i + 1] = unit & 0xff;
  }
  return out;
}

/** How a candidate password was turned into bytes for the PKCS#12 KDF. */
export type Pkcs12PasswordEncoding = 'bmp' | 'bmp-empty-without-terminator' | 'bmp-of-utf8-bytes';

export interface Pkcs12PasswordCandidate {
  encoding: Pkcs12PasswordEncoding;
  bytes: Uint8Array;
}

/**
 * The encodings to try, best first, when a MAC can tell which one the file was made with:
 * - 'bmp': RFC 7292, what every current implementation writes.
 * - 'bmp-empty-without-terminator': an empty password as zero bytes instead of 00 00; some exporters (older OpenSSL
 *   and Windows) write the MAC this way, and OpenSSL's reader tries both.
 * - 'bmp-of-utf8-bytes': OpenSSL before 1.1.0 widened each UTF-8 *byte* to 16 bits, so non-ASCII passwords of files
 *   it made do not match the RFC encoding; OpenSSL's reader still tries this form.
 */
export function pkcs12PasswordCandidates(password: string): Pkcs12PasswordCandidate[] {
  const candidates: Pkcs12PasswordCandidate[] = [{ encoding: 'bmp', bytes: bmpPassword(password) }];
  if (password === '') candidates.push({ encoding: 'bmp-empty-without-terminator', bytes: new Uint8Array(0) });
  const utf8 = Buffer.from(password, 'utf8');
  // Only differs from 'bmp' when the password has a character outside ASCII.
  if (utf8.some((byte) => byte > 0x7f)) {
    candidates.push({ encoding: 'bmp-of-utf8-bytes', bytes: bmpPassword(utf8.toString('latin1')) });
  }
  utf8.fill(0);
  return candidates;
}
