// PBES2 with PBKDF2 (RFC 8018 sections 6.2 and 5.2): what OpenSSL 3, NSS and Java 12+ write into PKCS#12 files.
// pkijs has its own PBES2 decryption, but it only knows the ciphers WebCrypto has (no des-ede3-cbc, no RC2), ignores
// PBKDF2's keyLength and puts no bound on the iteration count; this one does all three.

import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { SmimeError } from '../errors.ts';
import { algorithm, BerError, isUniversal, sequence, UNIVERSAL, type Tlv } from '../asn1/reader.ts';
import { integerInRange, octetString } from './fields.ts';
import type { KdfBudget } from './kdf-budget.ts';
import {
  OID_AES128_CBC,
  OID_AES192_CBC,
  OID_AES256_CBC,
  OID_DES_EDE3_CBC,
  OID_HMAC_WITH_SHA1,
  OID_HMAC_WITH_SHA224,
  OID_HMAC_WITH_SHA256,
  OID_HMAC_WITH_SHA384,
  OID_HMAC_WITH_SHA512,
  OID_HMAC_WITH_SHA512_224,
  OID_HMAC_WITH_SHA512_256,
  OID_PBKDF2,
  OID_RC2_CBC,
} from '../asn1/oids.ts';
import { aesCbc, DES_EDE3_CBC, pbeDecrypt, rc2Cbc, type PbeCipher } from '../crypto/content-cipher.ts';
import { rc2EffectiveBitsFromVersion } from '../crypto/rc2.ts';

const pbkdf2Async = promisify(pbkdf2);

/** RFC 8018 appendix B.1.1 to B.1.2: PBKDF2 PRFs and the node:crypto digest each uses. */
const PRFS: Readonly<Record<string, string>> = {
  [OID_HMAC_WITH_SHA1]: 'sha1',
  [OID_HMAC_WITH_SHA224]: 'sha224',
  [OID_HMAC_WITH_SHA256]: 'sha256',
  [OID_HMAC_WITH_SHA384]: 'sha384',
  [OID_HMAC_WITH_SHA512]: 'sha512',
  [OID_HMAC_WITH_SHA512_224]: 'sha512-224',
  [OID_HMAC_WITH_SHA512_256]: 'sha512-256',
};

/** RFC 8018 appendix B.2.3: RC2-CBC without rc2ParameterVersion means 32 effective key bits. */
const RC2_DEFAULT_EFFECTIVE_BITS = 32;
/** OpenSSL's default RC2 key length, used when PBKDF2-params has no keyLength (RC2 has a variable key). */
const RC2_DEFAULT_KEY_LENGTH = 16;
/** RFC 2268 section 2 allows 1 to 128 key bytes. */
const RC2_MAX_KEY_LENGTH = 128;

interface EncryptionScheme {
  cipher: PbeCipher;
  iv: Uint8Array;
}

function encryptionScheme(node: Tlv | undefined, keyLength: number | undefined): EncryptionScheme {
  const { oid, params } = algorithm(node, 'PBES2 encryptionScheme');
  const ivParam = (cipher: PbeCipher): EncryptionScheme => {
    const iv = octetString(params, `${cipher.name} IV`);
    if (iv.length !== cipher.ivLength) throw new BerError(`${cipher.name}: IV must be ${cipher.ivLength} bytes`);
    if (keyLength !== undefined && keyLength !== cipher.keyLength) {
      throw new BerError(`${cipher.name}: PBKDF2 keyLength ${keyLength} does not fit the cipher`);
    }
    return { cipher, iv };
  };
  switch (oid) {
    case OID_AES128_CBC:
      return ivParam(aesCbc(16));
    case OID_AES192_CBC:
      return ivParam(aesCbc(24));
    case OID_AES256_CBC:
      return ivParam(aesCbc(32));
    case OID_DES_EDE3_CBC:
      return ivParam(DES_EDE3_CBC);
    case OID_RC2_CBC: {
      // RC2-CBC-Parameter ::= SEQUENCE { rc2ParameterVersion INTEGER OPTIONAL, iv OCTET STRING } (RFC 8018 B.2.3).
      const fields = sequence(params, 'RC2-CBC-Parameter');
      let bits = RC2_DEFAULT_EFFECTIVE_BITS;
      if (fields.length === 2) {
        const version = integerInRange(fields[0], 'rc2ParameterVersion', 0, 0xffff);
        const mapped = rc2EffectiveBitsFromVersion(version);
        if (mapped === undefined) throw new BerError(`rc2ParameterVersion ${version} is not defined`);
        bits = mapped;
      } else if (fields.length !== 1) {
        throw new BerError('RC2-CBC-Parameter: expected [version,] iv');
      }
      const length = keyLength ?? RC2_DEFAULT_KEY_LENGTH;
      if (length < 1 || length > RC2_MAX_KEY_LENGTH) throw new BerError(`RC2 key length ${length} is out of range`);
      const cipher = rc2Cbc(length, bits);
      const iv = octetString(fields[fields.length - 1], 'RC2-CBC iv');
      if (iv.length !== cipher.ivLength) throw new BerError('RC2-CBC: IV must be 8 bytes');
      return { cipher, iv };
    }
    default:
      throw new SmimeError(
        'P12_UNSUPPORTED_ALGORITHM',
        `The file is encrypted with an unsupported PBES2 cipher (${oid})`,
      );
  }
}

export interface Pbes2Result {
  plaintext: Uint8Array;
  cipher: PbeCipher;
  /** node:crypto digest name of the PBKDF2 PRF, e.g. 'sha256'. */
  prf: string;
  iterations: number;
}

/**
 * Decrypts `data` protected with PBES2 (`params` is PBES2-params). `password` is the UTF-8 password (RFC 8018
 * section 6.2 leaves the encoding to the application; RFC 7292 appendix B.1 and every PKCS#12 writer use UTF-8).
 * Throws BerError, CipherError DECRYPT_FAILED (wrong password or damaged data) or SmimeError (unsupported, limits).
 */
export async function pbes2Decrypt(
  params: Tlv | undefined,
  password: Uint8Array,
  data: Uint8Array,
  budget: KdfBudget,
): Promise<Pbes2Result> {
  // PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
  const fields = sequence(params, 'PBES2-params');
  if (fields.length !== 2) throw new BerError('PBES2-params: expected keyDerivationFunc and encryptionScheme');
  const kdf = algorithm(fields[0], 'PBES2 keyDerivationFunc');
  if (kdf.oid !== OID_PBKDF2) {
    throw new SmimeError(
      'P12_UNSUPPORTED_ALGORITHM',
      `The file uses an unsupported key derivation function (${kdf.oid})`,
    );
  }
  // PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
  //   iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
  const kdfFields = sequence(kdf.params, 'PBKDF2-params');
  if (kdfFields.length < 2 || kdfFields.length > 4) throw new BerError('PBKDF2-params: wrong number of fields');
  if (!isUniversal(kdfFields[0], UNIVERSAL.OCTET_STRING)) {
    throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', 'The file uses a PBKDF2 salt source other than a specified salt');
  }
  const salt = octetString(kdfFields[0], 'PBKDF2 salt');
  const iterations = integerInRange(kdfFields[1], 'PBKDF2 iterationCount', 1, Number.MAX_SAFE_INTEGER);
  let rest = kdfFields.slice(2);
  let keyLength: number | undefined;
  if (isUniversal(rest[0], UNIVERSAL.INTEGER)) {
    keyLength = integerInRange(rest[0], 'PBKDF2 keyLength', 1, RC2_MAX_KEY_LENGTH);
    rest = rest.slice(1);
  }
  if (rest.length > 1) throw new BerError('PBKDF2-params: unexpected fields');
  const prfOid = rest[0] ? algorithm(rest[0], 'PBKDF2 prf').oid : OID_HMAC_WITH_SHA1;
  const prf = PRFS[prfOid];
  if (!prf) throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The file uses an unsupported PBKDF2 PRF (${prfOid})`);
  const { cipher, iv } = encryptionScheme(fields[1], keyLength);

  budget.spend(iterations);
  const key: Uint8Array = await pbkdf2Async(password, salt, iterations, cipher.keyLength, prf);
  try {
    return { plaintext: pbeDecrypt(cipher, key, iv, data), cipher, prf, iterations };
  } finally {
    key.fill(0);
  }
}
