// The state of one PKCS#12 parse and the error discipline every part of it shares: every failure is a SmimeError with
// a P12_* code, and a message never contains the password or key material.

import { SmimeError, type SmimeErrorCode } from '../errors.ts';
import { BerError } from '../asn1/reader.ts';
import type { KdfBudget } from './kdf-budget.ts';
import type { PbeCipherName } from '../crypto/content-cipher.ts';
import type { Pkcs12PasswordEncoding } from './kdf.ts';

/** What protected one bag: the cipher by its OpenSSL name and the key derivation, for the record. */
export interface Protection {
  cipher: PbeCipherName | 'none';
  kdf: string | null;
}

export const UNPROTECTED: Protection = { cipher: 'none', kdf: null };

export interface FoundKey {
  pkcs8: Uint8Array;
  localKeyId: Uint8Array | undefined;
  protection: Protection;
  /** Whether the key came out of a decryption whose result nothing (no MAC) vouches for. */
  unverifiedDecryption: boolean;
}

export interface FoundCertificate {
  der: Uint8Array;
  localKeyId: Uint8Array | undefined;
  protection: Protection;
}

/** State of one parse: the passwords, the shared KDF budget, what was found and what must be wiped. */
export interface ParseState {
  utf8Password: Uint8Array;
  bmpPassword: Uint8Array;
  passwordEncoding: Pkcs12PasswordEncoding;
  integrity: 'mac' | 'none';
  budget: KdfBudget;
  bags: number;
  keys: FoundKey[];
  certificates: FoundCertificate[];
  legacy: boolean;
  /** Decrypted buffers (they hold key material); zeroed when the parse ends. */
  secrets: Uint8Array[];
}

export function malformed(message: string, cause?: unknown): SmimeError {
  return new SmimeError('P12_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/**
 * `message` prefixed with `what`, unless the reader already named it: the reader's messages begin with the name they
 * were given ("PFX: value runs past its container"), and prefixing again printed "PFX: PFX: ..." (issue 15).
 */
export function inContext(what: string, message: string): string {
  return message === what || message.startsWith(`${what}:`) || message.startsWith(`${what} `)
    ? message
    : `${what}: ${message}`;
}

/** Runs `fn`, turning BerError into `code` (or P12_TOO_LARGE for resource limits). */
export function shape<T>(what: string, fn: () => T, code: SmimeErrorCode = 'P12_MALFORMED'): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SmimeError) throw error;
    if (error instanceof BerError && error.limit) {
      throw new SmimeError('P12_TOO_LARGE', `The file exceeds a parsing limit (${what})`, { cause: error });
    }
    if (code === 'P12_BAD_PASSWORD') {
      throw new SmimeError(
        code,
        `The password is wrong or the file is damaged (${what} did not decrypt to valid data)`,
        { cause: error },
      );
    }
    const detail = error instanceof BerError ? inContext(what, error.message) : what;
    throw new SmimeError(code, `The file is damaged or not a PKCS#12 file (${detail})`, { cause: error });
  }
}
