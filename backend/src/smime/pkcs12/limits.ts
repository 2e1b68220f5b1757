// Resource limits for parsing untrusted PKCS#12 input. Each one is far above what a real file needs and far below
// what would let a crafted file pin a CPU or exhaust memory. Exceeding one is P12_TOO_LARGE.

import { SmimeError } from '../errors.ts';

/** A PKCS#12 with a key and a chain is a few KiB; 1 MiB leaves room for long chains and still bounds parsing work. */
export const MAX_P12_BYTES = 1024 * 1024;

/**
 * asn1js node budget for one decode (the outer PFX, one SafeContents, one certificate). A SafeContents with a key and
 * a dozen certificates is a few hundred nodes when embedded content is not expanded (we never expand it).
 */
export const MAX_ASN1_NODES = 10_000;

/** Nesting depth for one decode: PKCS#12 structures are at most ~12 deep; asn1js' own default is 100. */
export const MAX_ASN1_DEPTH = 64;

/** SafeBags in the whole file, nested ones included. Windows may export a full chain plus CRLs; a few dozen at most. */
export const MAX_BAGS = 256;

/** Certificates in the whole file. A chain is rarely longer than 5; stores exported whole stay well under 100. */
export const MAX_CERTIFICATES = 100;

/** safeContentsBag inside safeContentsBag (RFC 7292 section 4.2.6): real files never nest; recursion must end. */
export const MAX_SAFE_CONTENTS_DEPTH = 4;

/**
 * Iteration count of one key derivation (PBKDF2, or the PKCS#12 KDF of RFC 7292 appendix B). Real files use 2,000
 * (Windows), 2,048 (OpenSSL), 10,000 (NSS, Java 12+) or 100,000 (Java's MAC); a crafted 2^31 would take hours.
 */
export const MAX_KDF_ITERATIONS = 1_000_000;

/**
 * Sum of the iteration counts of every derivation one file may ask for (MAC plus each encrypted item). Bounds the
 * cost of a file that repeats an expensive encrypted bag many times; a Java keystore needs about 200,000.
 */
export const MAX_TOTAL_KDF_ITERATIONS = 3_000_000;

/** Accounts the key-derivation work of one parse against MAX_TOTAL_KDF_ITERATIONS. */
export class KdfBudget {
  #remaining: number;

  constructor(total: number = MAX_TOTAL_KDF_ITERATIONS) {
    this.#remaining = total;
  }

  /** Throws P12_TOO_LARGE if `iterations` is out of range for one derivation or exceeds what is left. */
  spend(iterations: number): void {
    if (!Number.isSafeInteger(iterations) || iterations < 1) {
      throw new SmimeError('P12_MALFORMED', 'The file has an invalid key-derivation iteration count');
    }
    if (iterations > MAX_KDF_ITERATIONS || iterations > this.#remaining) {
      throw new SmimeError(
        'P12_TOO_LARGE',
        `The file asks for more key-derivation work than this server allows (${iterations} iterations; limit ${MAX_KDF_ITERATIONS} per item, ${MAX_TOTAL_KDF_ITERATIONS} per file)`,
      );
    }
    this.#remaining -= iterations;
  }
}
