// RSA key transport of CMS (KeyTransRecipientInfo): PKCS #1 v1.5 (RFC 3370 section 4.2.1) and RSAES-OAEP (RFC 3560,
// RFC 8017 section 7.1).
//
// PKCS #1 v1.5 is always decrypted through rsaPkcs1v15DecryptImplicit with the content cipher's key length, so a bad
// padding and a wrong key both yield an unusable key and fail later, the same way (see rsa-pkcs1v15.ts).
//
// OAEP goes through OpenSSL (node's privateDecrypt with oaepHash and oaepLabel) when the OAEP and MGF1 digests are
// the same, which is every OAEP message we have seen. Node cannot set a separate MGF1 digest, so for the rare mixed
// case the raw RSA output is decoded here (RFC 8017 section 7.1.2 step 3) without data-dependent branches, and every
// failure is one DECRYPT_FAILED, so that the "first byte is not zero" case cannot be told apart (Manger 2001).

import { constants, createHash, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import type { KeyTransportAlgorithm } from './algorithms.ts';
import { CipherError } from '../../crypto/content-cipher.ts';
import { rsaPkcs1v15DecryptImplicit, rsaPkcs1v15Encrypt } from '../../crypto/rsa-pkcs1v15.ts';
import type { HashName } from '../../asn1/oids.ts';

const HASH_LENGTH: Readonly<Record<HashName, number>> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  'sha512-224': 28,
  'sha512-256': 32,
};

function decryptFailed(): CipherError {
  return new CipherError('DECRYPT_FAILED', 'decryption failed');
}

function ctIsZero(x: number): number {
  return ~(x | -x) >> 31;
}
function ctSelect(mask: number, a: number, b: number): number {
  return (a & mask) | (b & ~mask);
}

function rsaModulusBytes(key: KeyObject): number {
  const bits =
    key.asymmetricKeyType === 'rsa' && key.type === 'private' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  if (bits === undefined) throw new CipherError('UNSUPPORTED_CIPHER', 'RSA key transport needs an RSA private key');
  return Math.ceil(bits / 8);
}

/** MGF1 (RFC 8017 appendix B.2.1). */
function mgf1(hash: HashName, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let i = 0, pos = 0; pos < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(seed).update(counter).digest();
    block.copy(out, pos, 0, Math.min(block.length, length - pos));
    pos += block.length;
    block.fill(0);
  }
  return out;
}

/** RSAES-OAEP decoding of EM (k bytes) per RFC 8017 section 7.1.2 step 3, with masks instead of branches. */
function oaepDecode(em: Uint8Array, hash: HashName, mgf1Hash: HashName, label: Uint8Array): Uint8Array {
  const k = em.length;
  const hLen = HASH_LENGTH[hash];
  if (k < 2 * hLen + 2) throw decryptFailed(); // public: depends on the key size only
  const lHash = createHash(hash).update(label).digest();
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = mgf1(mgf1Hash, maskedDb, hLen);
  const db = Buffer.alloc(k - hLen - 1);
  try {
    for (let i = 0; i < hLen; i++) seed[i]! ^= maskedSeed[i]!;
    const dbMask = mgf1(mgf1Hash, seed, db.length);
    for (let i = 0; i < db.length; i++) db[i] = maskedDb[i]! ^ dbMask[i]!;
    dbMask.fill(0);
    let good = ctIsZero(em[0]!);
    for (let i = 0; i < hLen; i++) good &= ctIsZero(db[i]! ^ lHash[i]!);
    // After lHash: PS (zeros), then 0x01, then M. Find the first nonzero byte; it must be 0x01.
    let found = 0;
    let index = 0;
    for (let i = hLen; i < db.length; i++) {
      const isZero = ctIsZero(db[i]!);
      const isOne = ctIsZero(db[i]! ^ 1);
      const first = ~found & ~isZero;
      good &= ~first | isOne;
      index = ctSelect(first, i, index);
      found |= ~isZero;
    }
    good &= found;
    if (good === 0) throw decryptFailed();
    return Uint8Array.from(db.subarray(index + 1));
  } finally {
    seed.fill(0);
    db.fill(0);
  }
}

function oaepDecryptMixed(
  privateKey: KeyObject,
  encryptedKey: Uint8Array,
  hash: HashName,
  mgf1Hash: HashName,
  label: Uint8Array,
): Uint8Array {
  const k = rsaModulusBytes(privateKey);
  if (encryptedKey.length > k) throw decryptFailed();
  const c = Buffer.alloc(k);
  c.set(encryptedKey, k - encryptedKey.length);
  let em: Buffer;
  try {
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, c);
  } catch {
    throw decryptFailed(); // only a ciphertext not below the modulus: public information
  }
  const padded = Buffer.alloc(k);
  try {
    em.copy(padded, k - em.length);
    return oaepDecode(padded, hash, mgf1Hash, label);
  } finally {
    em.fill(0);
    padded.fill(0);
  }
}

/**
 * Recovers a content-encryption key. `expectedLength` is the content cipher's key length: PKCS #1 v1.5 substitutes a
 * synthetic key of that length for any other outcome, OAEP fails on any other length. Throws CipherError
 * DECRYPT_FAILED (one message) or UNSUPPORTED_CIPHER (an algorithm or key type we do not handle).
 */
export function decryptKeyTransport(
  algorithm: KeyTransportAlgorithm,
  privateKey: KeyObject,
  encryptedKey: Uint8Array,
  expectedLength: number,
): Uint8Array {
  if (algorithm.kind === 'unsupported')
    throw new CipherError('UNSUPPORTED_CIPHER', `unsupported key transport ${algorithm.name}`);
  const k = rsaModulusBytes(privateKey);
  if (algorithm.kind === 'rsa-pkcs1') {
    // A modulus too small to carry the key cannot be the recipient's (public information).
    if (expectedLength > k - 11) throw decryptFailed();
    return rsaPkcs1v15DecryptImplicit(privateKey, encryptedKey, expectedLength);
  }
  let key: Uint8Array;
  if (algorithm.mgf1Hash === algorithm.hash) {
    if (encryptedKey.length > k) throw decryptFailed();
    const c = Buffer.alloc(k);
    c.set(encryptedKey, k - encryptedKey.length);
    try {
      const out = privateDecrypt(
        {
          key: privateKey,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: algorithm.hash,
          oaepLabel: algorithm.label,
        },
        c,
      );
      key = Uint8Array.from(out);
      out.fill(0);
    } catch {
      throw decryptFailed();
    }
  } else {
    key = oaepDecryptMixed(privateKey, encryptedKey, algorithm.hash, algorithm.mgf1Hash, algorithm.label);
  }
  if (key.length !== expectedLength) {
    key.fill(0);
    throw decryptFailed();
  }
  return key;
}

/** Encrypts a content-encryption key to an RSA public key (PKCS #1 v1.5, or OAEP with one digest and no label). */
export function encryptKeyTransport(
  algorithm: KeyTransportAlgorithm,
  publicKey: KeyObject,
  key: Uint8Array,
): Uint8Array {
  if (algorithm.kind === 'rsa-pkcs1') return rsaPkcs1v15Encrypt(publicKey, key);
  if (algorithm.kind === 'rsa-oaep' && algorithm.mgf1Hash === algorithm.hash && algorithm.label.length === 0) {
    return new Uint8Array(
      publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: algorithm.hash }, key),
    );
  }
  throw new CipherError('UNSUPPORTED_CIPHER', `encryption with ${algorithm.name} is not offered`);
}
