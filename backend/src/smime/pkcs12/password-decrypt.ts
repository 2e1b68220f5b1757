// Password-based decryption of PKCS#12 content and the PKCS#12 MAC, with bounded work and one error type: PBES2
// (pbes2.ts) and the legacy schemes of RFC 7292 appendix C (pbe-legacy.ts), on node:crypto, since WebCrypto has
// neither 3DES nor RC2. bags.ts and container.ts call these with the passwords and the key-derivation budget of one
// parse.
//
// Every failure leaves as a SmimeError with a P12_* code.

import { SmimeError } from '../errors.ts';
import { BerError, type Tlv } from '../asn1/reader.ts';
import { CipherError, type PbeCipherName } from '../crypto/content-cipher.ts';
import type { KdfBudget } from './kdf-budget.ts';
import { OID_PBES2 } from '../asn1/oids.ts';
import { pbes2Decrypt } from './pbes2.ts';
import { verifyPkcs12Mac, type Pkcs12MacInput } from './mac.ts';
import { isPkcs12PbeOid, pkcs12PbeDecrypt } from './pbe-legacy.ts';
import { inContext } from './state.ts';

export interface PasswordDecryptInput {
  /** contentEncryptionAlgorithm / encryptionAlgorithm: the OID and its parameters. */
  algorithm: { oid: string; params: Tlv | undefined };
  data: Uint8Array;
  /** The password as UTF-8 bytes: what PBES2 uses (RFC 8018 section 6.2). */
  password: Uint8Array;
  /** The password as the PKCS#12 KDF wants it (RFC 7292 appendix B.1), in the encoding the MAC verified. */
  bmpPassword: Uint8Array;
  /** The key-derivation budget of the whole parse. */
  budget: KdfBudget;
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
function toSmimeError(error: unknown, context: string): SmimeError {
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
      : new SmimeError(
          'P12_MALFORMED',
          `The file is damaged or not a PKCS#12 file (${inContext(context, error.message)})`,
          {
            cause: error,
          },
        );
  }
  return new SmimeError('P12_MALFORMED', `The file is damaged or not a PKCS#12 file (${context})`, { cause: error });
}

async function decryptLegacy(input: PasswordDecryptInput): Promise<PasswordDecryptResult> {
  const { oid, params } = input.algorithm;
  const result = await pkcs12PbeDecrypt(oid, params, input.bmpPassword, input.data, input.budget);
  return {
    plaintext: result.plaintext,
    scheme: 'pkcs12-pbe',
    cipher: result.cipher.name,
    kdf: 'pkcs12-kdf-sha1',
    iterations: result.iterations,
  };
}

/**
 * Password-based decryption of PKCS#12 content (EncryptedData, PKCS8ShroudedKeyBag). Supports PBES2 (PBKDF2 with
 * any HMAC-SHA PRF; AES-CBC, des-ede3-cbc, RC2-CBC) and RFC 7292 appendix C (3-key and 2-key 3DES, 128- and 40-bit
 * RC2). Throws SmimeError: P12_BAD_PASSWORD when nothing validly padded comes out, P12_UNSUPPORTED_ALGORITHM,
 * P12_MALFORMED, P12_TOO_LARGE.
 */
export async function decryptWithPassword(input: PasswordDecryptInput): Promise<PasswordDecryptResult> {
  const { oid, params } = input.algorithm;
  try {
    if (oid === OID_PBES2) {
      const result = await pbes2Decrypt(params, input.password, input.data, input.budget);
      return {
        plaintext: result.plaintext,
        scheme: 'pbes2',
        cipher: result.cipher.name,
        kdf: `pbkdf2-hmac-${result.prf}`,
        iterations: result.iterations,
      };
    }
    if (isPkcs12PbeOid(oid)) return await decryptLegacy(input);
  } catch (error) {
    throw toSmimeError(error, 'encrypted content');
  }
  throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The file is encrypted with an unsupported algorithm (${oid})`);
}

/**
 * Checks a PKCS#12 MAC (RFC 7292 section 5). Resolves false on mismatch; rejects with SmimeError P12_TOO_LARGE or
 * P12_MALFORMED when the iteration count is out of bounds.
 */
export async function checkPkcs12Mac(input: Pkcs12MacInput & { budget: KdfBudget }): Promise<boolean> {
  input.budget.spend(input.iterations);
  try {
    return await verifyPkcs12Mac(input);
  } catch (error) {
    throw toSmimeError(error, 'MAC');
  }
}
