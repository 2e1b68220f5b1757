// ECDH key agreement of CMS (KeyAgreeRecipientInfo, RFC 5753 sections 3.1 and 7.2): ephemeral-static ECDH on
// P-256/384/521, the ANSI X9.63 KDF with ECC-CMS-SharedInfo as SharedInfo, and AES key wrap (RFC 3394) of the
// content-encryption key (or, read only, the Triple-DES key wrap of RFC 3217 that OpenSSL uses with 3DES content). Node has ECDH and the wrap ciphers but no X9.63 KDF, which is a few lines over createHash.
// The same with X25519 (RFC 8418, issue 14): the originator key is id-X25519 with the raw 32-byte public key, and the
// KDF is HKDF (RFC 8418 section 2.2) or, when the sender names one, the X9.63 KDF; ECC-CMS-SharedInfo is unchanged.
//
// Every decryption failure is CipherError DECRYPT_FAILED with one message; the AES key-wrap integrity check makes a
// wrong key certain to fail (unlike RSA PKCS #1 v1.5 with implicit rejection).

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { CURVES, type KeyAgreementAlgorithm } from './algorithms.ts';
import * as w from '../../asn1/writer.ts';
import { CipherError } from '../../crypto/content-cipher.ts';
import { type HashName, OID_EC_PUBLIC_KEY, OID_X25519 } from '../../asn1/oids.ts';

/** RFC 3394 section 2.2.3.1: the default initial value of AES key wrap. */
const KEY_WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
/** RFC 3394: the wrapped key is the key plus one 64-bit block, and keys are whole 64-bit blocks of at least two
 * (RFC 3217's 3DES wrap adds two blocks, so it is longer still). */
const KEY_WRAP_BLOCK = 8;

type Curve = (typeof CURVES)[number];

function decryptFailed(): CipherError {
  return new CipherError('DECRYPT_FAILED', 'decryption failed');
}

/** The curve of an EC key among those we accept, or undefined. */
export function curveOfKey(key: KeyObject): Curve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const name = key.asymmetricKeyDetails?.namedCurve;
  return CURVES.find((c) => c.nodeName === name);
}

/**
 * What a key agrees keys on: an EC curve (RFC 5753) or X25519 (RFC 8418). `oid` is what an originatorKey names it
 * by: the curve OID in id-ecPublicKey's parameters, or id-X25519 itself.
 */
export type AgreementGroup = { kind: 'ec'; oid: string; curve: Curve } | { kind: 'x25519'; oid: string };

const X25519_GROUP: AgreementGroup = { kind: 'x25519', oid: OID_X25519 };
/** RFC 7748 section 5: X25519 public keys and shared secrets are 32 bytes. */
const X25519_BYTES = 32;

/** The group of a key we can agree keys with, or undefined (another curve, X448, RSA, ...). */
export function agreementGroupOfKey(key: KeyObject): AgreementGroup | undefined {
  if (key.asymmetricKeyType === 'x25519') return X25519_GROUP;
  const curve = curveOfKey(key);
  return curve ? { kind: 'ec', oid: curve.oid, curve } : undefined;
}

/**
 * Whether a sender's originatorKey can belong to the same group as our key. id-ecPublicKey may leave the curve out
 * (RFC 5753 section 3.1.1: it is the recipient's), so an absent `originatorOid` fits any curve, never X25519.
 */
export function originatorFits(group: AgreementGroup, originatorOid: string | undefined): boolean {
  if (originatorOid === undefined) return group.kind === 'ec';
  return originatorOid === group.oid;
}

/** ANSI X9.63 KDF (SEC 1 section 3.6.1): Hash(Z || counter || SharedInfo) for counter = 1, 2, ... */
export function x963Kdf(hash: HashName, z: Uint8Array, length: number, sharedInfo: Uint8Array): Uint8Array {
  const out = new Uint8Array(length);
  const counter = Buffer.alloc(4);
  for (let i = 1, pos = 0; pos < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(z).update(counter).update(sharedInfo).digest();
    out.set(block.subarray(0, Math.min(block.length, length - pos)), pos);
    pos += block.length;
    block.fill(0);
  }
  return out;
}

/**
 * ECC-CMS-SharedInfo ::= SEQUENCE { keyInfo AlgorithmIdentifier, entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,
 * suppPubInfo [2] EXPLICIT OCTET STRING } with suppPubInfo the KEK length in bits, 32-bit big-endian (RFC 5753 7.2).
 */
export function sharedInfo(wrapEncoding: Uint8Array, kekBytes: number, ukm: Uint8Array | undefined): Uint8Array {
  const bits = new Uint8Array(4);
  new DataView(bits.buffer).setUint32(0, kekBytes * 8);
  const fields = [w.encoded(wrapEncoding)];
  if (ukm) fields.push(w.tlv(w.contextTag(0, true), [w.octetString(ukm)]));
  fields.push(w.tlv(w.contextTag(2, true), [w.octetString(bits)]));
  return w.toBytes(w.sequence(...fields));
}

/**
 * A public key object for the sender's key in `group`: an EC point (uncompressed or compressed, SEC 1 section 2.3.3)
 * or the 32 bytes of an X25519 key (RFC 8410 section 4: the raw key is the subjectPublicKey).
 */
function importPoint(group: AgreementGroup, point: Uint8Array): KeyObject {
  if (group.kind === 'x25519' && point.length !== X25519_BYTES) throw decryptFailed();
  const algorithm =
    group.kind === 'ec'
      ? w.sequence(w.objectIdentifier(OID_EC_PUBLIC_KEY), w.objectIdentifier(group.oid))
      : w.sequence(w.objectIdentifier(OID_X25519));
  const spki = w.sequence(algorithm, w.bitString(point));
  return createPublicKey({ key: Buffer.from(w.toBytes(spki)), format: 'der', type: 'spki' });
}

/**
 * HKDF as RFC 8418 section 2.2 applies it: IKM the shared secret Z, info the DER ECC-CMS-SharedInfo, L the KEK length,
 * and the salt the ukm when the sender gave one, else absent (RFC 5869 section 2.2: a string of HashLen zeros, which
 * HMAC treats exactly as the empty key node is given here).
 */
function hkdfKek(
  hash: HashName,
  z: Uint8Array,
  length: number,
  info: Uint8Array,
  ukm: Uint8Array | undefined,
): Uint8Array {
  return new Uint8Array(hkdfSync(hash, z, ukm ?? new Uint8Array(0), info, length));
}

function deriveKek(
  algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' },
  privateKey: KeyObject,
  publicKey: KeyObject,
  ukm: Uint8Array | undefined,
): Uint8Array {
  // X25519 with a small-order public key gives an all-zero Z (RFC 7748 section 6.1); OpenSSL refuses to derive it.
  const z = diffieHellman({ privateKey, publicKey });
  try {
    const info = sharedInfo(algorithm.wrapEncoding, algorithm.wrap.keyLength, ukm);
    return algorithm.kdf === 'hkdf'
      ? hkdfKek(algorithm.kdfHash, z, algorithm.wrap.keyLength, info, ukm)
      : x963Kdf(algorithm.kdfHash, z, algorithm.wrap.keyLength, info);
  } finally {
    z.fill(0);
  }
}

export interface KeyAgreementDecryptInput {
  algorithm: KeyAgreementAlgorithm;
  privateKey: KeyObject;
  /** originatorKey publicKey: the sender's ephemeral point (EC) or raw key (X25519). */
  originatorPoint: Uint8Array;
  /**
   * The originatorKey's group: the curve its id-ecPublicKey parameters name, or id-X25519; absent for id-ecPublicKey
   * without parameters, when the recipient key's curve is assumed.
   */
  originatorCurveOid?: string;
  ukm?: Uint8Array;
  wrappedKey: Uint8Array;
  expectedLength: number;
}

/** Recovers a content-encryption key from a RecipientEncryptedKey. CipherError DECRYPT_FAILED or UNSUPPORTED_CIPHER. */
export function decryptKeyAgreement(input: KeyAgreementDecryptInput): Uint8Array {
  const { algorithm } = input;
  if (algorithm.kind === 'unsupported')
    throw new CipherError('UNSUPPORTED_CIPHER', `unsupported key agreement ${algorithm.name}`);
  const group = agreementGroupOfKey(input.privateKey);
  if (!group || input.privateKey.type !== 'private')
    throw new CipherError('UNSUPPORTED_CIPHER', 'ECDH needs a P-256, P-384, P-521 or X25519 private key');
  // A sender's key in another group than ours cannot be meant for us (public information).
  if (!originatorFits(group, input.originatorCurveOid)) throw decryptFailed();
  const wrapped = input.wrappedKey;
  if (wrapped.length < 3 * KEY_WRAP_BLOCK || wrapped.length % KEY_WRAP_BLOCK !== 0) throw decryptFailed();
  let kek: Uint8Array | undefined;
  const parts: Buffer[] = [];
  try {
    let publicKey: KeyObject;
    try {
      publicKey = importPoint(group, input.originatorPoint);
      kek = deriveKek(algorithm, input.privateKey, publicKey, input.ukm);
      const decipher = createDecipheriv(algorithm.wrap.nodeCipher, kek, algorithm.wrap.defaultIv ? KEY_WRAP_IV : null);
      parts.push(decipher.update(wrapped));
      parts.push(decipher.final()); // throws when the RFC 3394 integrity check fails
    } catch {
      throw decryptFailed();
    }
    const joined = Buffer.concat(parts);
    const key = Uint8Array.from(joined);
    joined.fill(0); // Buffer.concat may hand out a slice of Node's shared pool
    if (key.length !== input.expectedLength) {
      key.fill(0);
      throw decryptFailed();
    }
    return key;
  } finally {
    kek?.fill(0);
    for (const part of parts) part.fill(0);
  }
}

export interface KeyAgreementEncryptResult {
  /**
   * The ephemeral public key for originatorKey: an uncompressed point (SEC 1 section 2.3.3) for EC, the 32 raw bytes
   * for X25519 (RFC 8418 section 3.1).
   */
  ephemeralPoint: Uint8Array;
  wrappedKey: Uint8Array;
}

/** A fresh key pair in `group` and its public key as originatorKey carries it. */
function ephemeralKey(group: AgreementGroup): { privateKey: KeyObject; point: Uint8Array } {
  if (group.kind === 'x25519') {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return { privateKey, point: new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')) };
  }
  const { curve } = group;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve.nodeName });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = new Uint8Array(1 + 2 * curve.coordinateBytes);
  point[0] = 0x04;
  point.set(Buffer.from(jwk.x!, 'base64url'), 1);
  point.set(Buffer.from(jwk.y!, 'base64url'), 1 + curve.coordinateBytes);
  return { privateKey, point };
}

/**
 * Wraps a content-encryption key for an EC or X25519 recipient with a fresh ephemeral key (RFC 5753 section 3.1.1,
 * RFC 8418 section 3.1).
 */
export function encryptKeyAgreement(
  algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' },
  recipientKey: KeyObject,
  key: Uint8Array,
): KeyAgreementEncryptResult {
  const group = agreementGroupOfKey(recipientKey);
  if (!group) throw new CipherError('UNSUPPORTED_CIPHER', 'ECDH needs a P-256, P-384, P-521 or X25519 key');
  if (key.length < 2 * KEY_WRAP_BLOCK || key.length % KEY_WRAP_BLOCK !== 0)
    throw new CipherError('UNSUPPORTED_CIPHER', 'AES key wrap needs whole 64-bit blocks');
  const { privateKey: ephemeralPrivate, point: ephemeralPoint } = ephemeralKey(group);
  const kek = deriveKek(algorithm, ephemeralPrivate, recipientKey, undefined);
  try {
    const cipher = createCipheriv(algorithm.wrap.nodeCipher, kek, algorithm.wrap.defaultIv ? KEY_WRAP_IV : null);
    const wrappedKey = new Uint8Array(Buffer.concat([cipher.update(key), cipher.final()]));
    return { ephemeralPoint, wrappedKey };
  } finally {
    kek.fill(0);
  }
}
