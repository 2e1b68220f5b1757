// Password-based decryption of PKCS#12 content and the PKCS#12 MAC, with bounded work and one error type. WebCrypto
// (and so pkijs) has neither the legacy schemes of RFC 7292 appendix C (3DES, RC2) nor PBES2 with des-ede3-cbc or
// RC2, and pkijs leaves iteration counts unbounded: both are done here, for pkcs12.ts (bags.ts, container.ts).
//
// Every failure leaves as a SmimeError with a P12_* code.

import { SmimeError } from '../errors.ts';
import { BerError, type Tlv } from '../asn1/reader.ts';
import { CipherError, type PbeCipherName } from '../crypto/content-cipher.ts';
import { KdfBudget } from './kdf-budget.ts';
import { OID_PBES2 } from '../asn1/oids.ts';
import { pbes2Decrypt } from './pbes2.ts';
import { bmpPassword } from './kdf.ts';
import { verifyPkcs12Mac, type Pkcs12MacInput } from './mac.ts';
import { isPkcs12PbeOid, pkcs12PbeDecrypt } from './pbe-legacy.ts';

export interface PasswordDecryptInput {
  /** contentEncryptionAlgorithm / encryptionAlgorithm: the OID and its parameters node. */
  algorithm: { oid: string; params: Tlv | undefined };
  data: Uint8Array;
  /** The password as UTF-8 bytes: what PBES2 uses (RFC 8018 section 6.2). */
  password: Uint8Array;
  /** The password as the PKCS#12 KDF wants it (RFC 7292 appendix B.1). Defaults to the BMPString of `password`. */
  bmpPassword?: Uint8Array;
  /** Shared key-derivation budget of one operation. Defaults to a fresh budget for this call alone. */
  budget?: KdfBudget;
}

export interface PasswordDecryptResult {
  plaintext: Uint8Array;
  /** 'pbes2' (RFC 8018) or 'pkcs12-pbe' (RFC 7292 appendix C, the legacy schemes). */
  scheme: 'pbes2' | 'pkcs12-pbe';
  cipher: PbeCipherName;
  /** e.g. 'pbkdf2-hmac-sha256' or 'pkcs12-kdf-sha1'. */
  kdf: string;
  iterations: number;
}

/** Turns whatever the internals threw into the one error type the engine exposes. */
export function toSmimeError(error: unknown, context: string): SmimeError {
  if (error instanceof SmimeError) return error;
  // Nothing validly padded came out: with a password-derived key, almost always a wrong password.
  if (error instanceof CipherError && error.code === 'DECRYPT_FAILED') {
    return new SmimeError(
      'P12_BAD_PASSWORD',
      `The password is wrong or the file is damaged (${context} could not be decrypted)`,
    );
  }
  // A cipher this engine does not implement is named as such (issue 14), not called damage.
  if (error instanceof CipherError && error.code === 'UNSUPPORTED_CIPHER') {
    return new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The file uses an unsupported algorithm: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof BerError) {
    return error.limit
      ? new SmimeError('P12_TOO_LARGE', `The file exceeds a parsing limit (${context})`, { cause: error })
      : new SmimeError('P12_MALFORMED', `The file is damaged or not a PKCS#12 file (${context}: ${error.message})`, {
          cause: error,
        });
  }
  return new SmimeError('P12_MALFORMED', `The file is damaged or not a PKCS#12 file (${context})`, { cause: error });
}

/** UTF-8 bytes back to text; bytes that are not UTF-8 are read as Latin-1, as pkijs does. */
export function passwordText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

async function decryptLegacy(input: PasswordDecryptInput, budget: KdfBudget): Promise<PasswordDecryptResult> {
  const { oid, params } = input.algorithm;
  const bmp = input.bmpPassword ?? bmpPassword(passwordText(input.password));
  try {
    const result = await pkcs12PbeDecrypt(oid, params, bmp, input.data, budget);
    return {
      plaintext: result.plaintext,
      scheme: 'pkcs12-pbe',
      cipher: result.cipher.name,
      kdf: 'pkcs12-kdf-sha1',
      iterations: result.iterations,
    };
  } finally {
    if (bmp !== input.bmpPassword) bmp.fill(0);
  }
}

/**
 * Password-based decryption of PKCS#12 content (EncryptedData, PKCS8ShroudedKeyBag). Supports PBES2 (PBKDF2 with
 * any HMAC-SHA PRF; AES-CBC, des-ede3-cbc, RC2-CBC) and RFC 7292 appendix C (3-key and 2-key 3DES, 128- and 40-bit
 * RC2). Throws SmimeError: P12_BAD_PASSWORD when nothing validly padded comes out, P12_UNSUPPORTED_ALGORITHM,
 * P12_MALFORMED, P12_TOO_LARGE.
 */
export async function decryptWithPassword(input: PasswordDecryptInput): Promise<PasswordDecryptResult> {
  const budget = input.budget ?? new KdfBudget();
  const { oid, params } = input.algorithm;
  try {
    if (oid === OID_PBES2) {
      const result = await pbes2Decrypt(params, input.password, input.data, budget);
      return {
        plaintext: result.plaintext,
        scheme: 'pbes2',
        cipher: result.cipher.name,
        kdf: `pbkdf2-hmac-${result.prf}`,
        iterations: result.iterations,
      };
    }
    if (isPkcs12PbeOid(oid)) return await decryptLegacy(input, budget);
  } catch (error) {
    throw toSmimeError(error, 'encrypted content');
  }
  throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The file is encrypted with an unsupported algorithm (${oid})`);
}

/**
 * Checks a PKCS#12 MAC (RFC 7292 section 5). Resolves false on mismatch; rejects with SmimeError P12_TOO_LARGE or
 * P12_MALFORMED when the iteration count is out of bounds.
 */
export async function checkPkcs12Mac(input: Pkcs12MacInput & { budget?: KdfBudget }): Promise<boolean> {
  (input.budget ?? new KdfBudget()).spend(input.iterations);
  try {
    return await verifyPkcs12Mac(input);
  } catch (error) {
    throw toSmimeError(error, 'MAC');
  }
}
