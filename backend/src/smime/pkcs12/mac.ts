// The PKCS#12 integrity MAC (RFC 7292 section 5 and appendix B): HMAC over the AuthenticatedSafe octets, keyed with
// the PKCS#12 KDF (ID 3) of the BMPString password, the MacData salt and iteration count.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { HASH_BY_OID, type HashName } from '../asn1/oids.ts';
import { hashOutputSize, PKCS12_KDF_ID, pkcs12Kdf } from './kdf.ts';

/** MacData.mac.digestAlgorithm OIDs we accept (RFC 7292 section 4 via RFC 8018 / FIPS 180-4). */
export const MAC_DIGESTS: Readonly<Record<string, HashName>> = HASH_BY_OID;

export interface Pkcs12MacInput {
  hash: HashName;
  /** Password in the RFC 7292 appendix B.1 form (see pkcs12-kdf.ts). */
  bmpPassword: Uint8Array;
  salt: Uint8Array;
  iterations: number;
  content: Uint8Array;
  expected: Uint8Array;
}

/** True when the MAC matches. Compares in constant time; a MAC of the wrong length simply does not match. */
export async function verifyPkcs12Mac(input: Pkcs12MacInput): Promise<boolean> {
  const key = await pkcs12Kdf(
    input.hash,
    input.bmpPassword,
    input.salt,
    PKCS12_KDF_ID.MAC,
    input.iterations,
    hashOutputSize(input.hash),
  );
  try {
    const actual = createHmac(input.hash, key).update(input.content).digest();
    return actual.length === input.expected.length && timingSafeEqual(actual, input.expected);
  } finally {
    key.fill(0);
  }
}
