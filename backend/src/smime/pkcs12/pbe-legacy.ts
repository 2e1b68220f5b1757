// Legacy PKCS#12 password-based encryption (RFC 7292 appendix C): pbeWithSHAAnd3-KeyTripleDES-CBC and friends.
// Key and IV both come from the PKCS#12 KDF with SHA-1 over the BMPString password (appendix B).

import { SmimeError } from '../errors.ts';
import { BerError, sequence, type Tlv } from '../asn1/reader.ts';
import { integerInRange, octetString } from './fields.ts';
import type { KdfBudget } from './kdf-budget.ts';
import {
  OID_PBE_SHA1_2DES,
  OID_PBE_SHA1_3DES,
  OID_PBE_SHA1_RC2_128,
  OID_PBE_SHA1_RC2_40,
  OID_PBE_SHA1_RC4_128,
  OID_PBE_SHA1_RC4_40,
} from '../asn1/oids.ts';
import { DES_EDE3_CBC, DES_EDE_CBC, pbeDecrypt, rc2Cbc, type PbeCipher } from '../crypto/content-cipher.ts';
import { PKCS12_KDF_ID, pkcs12Kdf } from './kdf.ts';

/** RFC 7292 appendix C: the cipher each scheme uses. RC4 schemes are listed so they can be named in errors. */
const SCHEMES: Readonly<Record<string, { name: string; cipher?: PbeCipher }>> = {
  [OID_PBE_SHA1_RC4_128]: { name: 'pbeWithSHAAnd128BitRC4' },
  [OID_PBE_SHA1_RC4_40]: { name: 'pbeWithSHAAnd40BitRC4' },
  [OID_PBE_SHA1_3DES]: { name: 'pbeWithSHAAnd3-KeyTripleDES-CBC', cipher: DES_EDE3_CBC },
  [OID_PBE_SHA1_2DES]: { name: 'pbeWithSHAAnd2-KeyTripleDES-CBC', cipher: DES_EDE_CBC },
  // RFC 7292 appendix C: "the effective key size is the same as the key size" for both RC2 schemes.
  [OID_PBE_SHA1_RC2_128]: { name: 'pbeWithSHAAnd128BitRC2-CBC', cipher: rc2Cbc(16, 128) },
  [OID_PBE_SHA1_RC2_40]: { name: 'pbewithSHAAnd40BitRC2-CBC', cipher: rc2Cbc(5, 40) },
};

export function isPkcs12PbeOid(oid: string): boolean {
  return Object.hasOwn(SCHEMES, oid);
}

export interface Pkcs12PbeResult {
  plaintext: Uint8Array;
  cipher: PbeCipher;
  iterations: number;
}

/**
 * Decrypts `data` protected with one of the appendix C schemes. `bmpPassword` is the password in the form of RFC 7292
 * appendix B.1. Throws BerError (bad parameters), CipherError DECRYPT_FAILED (wrong password or damaged data) or SmimeError
 * (unsupported scheme, limits).
 */
export async function pkcs12PbeDecrypt(
  oid: string,
  params: Tlv | undefined,
  bmpPassword: Uint8Array,
  data: Uint8Array,
  budget: KdfBudget,
): Promise<Pkcs12PbeResult> {
  const scheme = SCHEMES[oid];
  if (!scheme) throw new BerError(`not a PKCS#12 PBE scheme: ${oid}`);
  if (!scheme.cipher) {
    throw new SmimeError(
      'P12_UNSUPPORTED_ALGORITHM',
      `The file is encrypted with ${scheme.name}, which is not supported`,
    );
  }
  // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER } (RFC 7292 appendix C).
  const fields = sequence(params, 'pkcs-12PbeParams');
  if (fields.length !== 2) throw new BerError('pkcs-12PbeParams: expected salt and iterations');
  const salt = octetString(fields[0], 'pkcs-12PbeParams salt');
  const iterations = integerInRange(fields[1], 'pkcs-12PbeParams iterations', 1, Number.MAX_SAFE_INTEGER);
  const cipher = scheme.cipher;
  // Key and IV are two derivations with the same iteration count.
  budget.spend(iterations);
  budget.spend(iterations);
  const key = await pkcs12Kdf('sha1', bmpPassword, salt, PKCS12_KDF_ID.KEY, iterations, cipher.keyLength);
  const iv = await pkcs12Kdf('sha1', bmpPassword, salt, PKCS12_KDF_ID.IV, iterations, cipher.ivLength);
  try {
    return { plaintext: pbeDecrypt(cipher, key, iv, data), cipher, iterations };
  } finally {
    key.fill(0);
    iv.fill(0);
  }
}
