/**
 * Shamir's secret sharing (Shamir, "How to share a secret", CACM 22(11), 1979) over GF(2^8), byte by byte (issue 17).
 *
 * Each byte of the secret is the constant term of its own random polynomial of degree M-1 over GF(2^8) with the AES
 * reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b, FIPS-197 section 4.2); share x holds the value of every
 * polynomial at x (x = 1..N, never 0, which is the secret). Any M shares rebuild the secret by Lagrange interpolation
 * at 0; M-1 shares are consistent with every possible secret, each equally likely, so they say nothing about it
 * (information-theoretically, not by a hardness assumption).
 *
 * Field arithmetic is done without lookup tables and without branches on secret values: table lookups indexed by
 * secret bytes leak through the cache, and a branch on a secret bit leaks through timing.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';

export interface Share {
  /** The evaluation point, 1..255. Public. */
  x: number;
  /** One byte per byte of the secret. Secret. */
  y: Uint8Array;
}

/** The field has 255 non-zero elements, so at most 255 distinct evaluation points besides 0. */
export const MAX_SHARES = 255;
/** A threshold of 1 would make every share the secret itself. */
export const MIN_THRESHOLD = 2;

/** Multiplication in GF(2^8) modulo 0x11b (FIPS-197 section 4.2.1), constant time. */
export function gfMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    p ^= -(b & 1) & a; // add a when the low bit of b is set, without branching on it
    const carry = -((a >> 7) & 1) & 0x1b; // reduce by x^8 = x^4 + x^3 + x + 1 when a overflows
    a = ((a << 1) & 0xff) ^ carry;
    b >>= 1;
  }
  return p & 0xff;
}

/** Multiplicative inverse: a^254 = a^-1, since a^255 = 1 for every non-zero a. Only ever applied to public x values. */
export function gfInv(a: number): number {
  if (a === 0) throw new AppError('RECOVERY_SHARES_INVALID', 'Zero has no inverse in GF(2^8).');
  let result = 1;
  let base = a;
  for (let e = 254; e > 0; e >>= 1) {
    if (e & 1) result = gfMul(result, base);
    base = gfMul(base, base);
  }
  return result;
}

function invalid(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('RECOVERY_SHARES_INVALID', message, details);
}

/** Split `secret` into `n` shares of which any `m` rebuild it. */
export function split(secret: Uint8Array, n: number, m: number): Share[] {
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < MIN_THRESHOLD || m > n || n > MAX_SHARES)
    throw invalid(`A split needs ${MIN_THRESHOLD} <= threshold <= shares <= ${MAX_SHARES}.`, {
      shares: n,
      threshold: m,
    });
  if (secret.length === 0) throw invalid('The secret is empty.');
  const len = secret.length;
  // coefficients[i * (m-1) + k] is the coefficient of x^(k+1) of byte i's polynomial: uniformly random, including 0.
  const coefficients = randomBytes(len * (m - 1));
  const shares: Share[] = [];
  try {
    for (let x = 1; x <= n; x++) {
      const y = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        // Horner's rule from the highest coefficient down to the constant term, the secret byte.
        let acc = 0;
        for (let k = m - 2; k >= 0; k--) acc = gfMul(acc, x) ^ coefficients[i * (m - 1) + k]!;
        y[i] = gfMul(acc, x) ^ secret[i]!;
      }
      shares.push({ x, y });
    }
    return shares;
  } catch (err) {
    for (const s of shares) s.y.fill(0);
    throw err;
  } finally {
    coefficients.fill(0);
  }
}

function checkShares(shares: readonly Share[]): number {
  if (!Array.isArray(shares) || shares.length < MIN_THRESHOLD)
    throw new AppError('RECOVERY_TOO_FEW_SHARES', undefined, {
      have: Array.isArray(shares) ? shares.length : 0,
      need: MIN_THRESHOLD,
      missing: MIN_THRESHOLD - (Array.isArray(shares) ? shares.length : 0),
    });
  if (shares.length > MAX_SHARES) throw invalid(`More than ${MAX_SHARES} shares.`);
  const seen = new Set<number>();
  const len = shares[0]!.y?.length;
  for (const s of shares) {
    if (!Number.isInteger(s.x) || s.x < 1 || s.x > MAX_SHARES) throw invalid('A share index is not in 1..255.');
    if (seen.has(s.x)) throw invalid('Two shares have the same index.', { index: s.x });
    seen.add(s.x);
    if (!(s.y instanceof Uint8Array) || s.y.length !== len || len === 0)
      throw invalid('The shares are not all of the same, non-zero length.');
  }
  return len;
}

/**
 * Rebuild the secret from M or more shares of one split (Lagrange interpolation at x = 0). Fewer than M shares, or
 * shares of different splits, give a wrong value, not an error: only checking the result (the rebuilt key against
 * its certificate) can tell.
 */
export function combine(shares: readonly Share[]): Uint8Array {
  const len = checkShares(shares);
  // The Lagrange basis at 0: w_j = prod_{k != j} x_k / (x_k - x_j); subtraction is XOR in GF(2^8). The x are public.
  const weights = shares.map((sj, j) => {
    let num = 1;
    let den = 1;
    shares.forEach((sk, k) => {
      if (k === j) return;
      num = gfMul(num, sk.x);
      den = gfMul(den, sk.x ^ sj.x);
    });
    return gfMul(num, gfInv(den));
  });
  const secret = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    let acc = 0;
    for (let j = 0; j < shares.length; j++) acc ^= gfMul(shares[j]!.y[i]!, weights[j]!);
    secret[i] = acc;
  }
  return secret;
}
