// The PKCS#12 integrity MAC (RFC 7292 section 5 and appendix B): HMAC over the AuthenticatedSafe octets, keyed with
// the PKCS#12 KDF (ID 3) of the BMPString password, the MacData salt and iteration count.

import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type HashName,
  OID_SHA1,
  OID_SHA224,
  OID_SHA256,
  OID_SHA384,
  OID_SHA512,
  OID_SHA512_224,
  OID_SHA512_256,
} from '../asn1/oids.ts';
import { hashOutputSize, PKCS12_KDF_ID, pkcs12Kdf } from './kdf.ts';

/** MacData.mac.digestAlgorithm OIDs we accept (RFC 7292 section 4 via RFC 8018 / FIPS 180-4). */
export const MAC_DIGESTS: Readonly<Record<string, HashName>> = {
  [OID_SHA1]: 'sha1',
  [OID_SHA224]: 'sha224',
  [OID_SHA256]: 'sha256',
  [OID_SHA384]: 'sha384',
  [OID_SHA512]: 'sha512',
  [OID_SHA512_224]: 'sha512-224',
  [OID_SHA512_256]: 'sha512-256',
};

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
