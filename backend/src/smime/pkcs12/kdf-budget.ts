// The key-derivation work one PKCS#12 parse may spend (RFC 7292 appendix B, RFC 8018): the count of one derivation
// and the sum over the file are both bounded, so a crafted file cannot ask for hours of PBKDF2.

import { SmimeError } from '../errors.ts';
import { MAX_KDF_ITERATIONS, MAX_TOTAL_KDF_ITERATIONS } from '../limits.ts';

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
