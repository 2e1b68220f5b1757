// ECDH key agreement of CMS (KeyAgreeRecipientInfo, RFC 5753 sections 3.1 and 7.2): ephemeral-static ECDH on
// P-256/384/521, the ANSI X9.63 KDF with ECC-CMS-SharedInfo as SharedInfo, and AES key wrap (RFC 3394) of the
// content-encryption key (or, read only, the Triple-DES key wrap of RFC 3217 that OpenSSL uses with 3DES content). Node has ECDH and the wrap ciphers but no X9.63 KDF, which is a few lines over createHash.
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
  type KeyObject,
} from 'node:crypto';
import { CURVES, type KeyAgreementAlgorithm } from './algorithms.ts';
import * as w from '../../asn1/writer.ts';
import { CipherError } from '../../crypto/content-cipher.ts';
import { type HashName, OID_EC_PUBLIC_KEY } from '../../asn1/oids.ts';

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

/** A public key object for an EC point on `curve` (uncompressed or compressed, SEC 1 section 2.3.3). */
function importPoint(curve: Curve, point: Uint8Array): KeyObject {
  const spki = w.sequence(
    w.sequence(w.objectIdentifier(OID_EC_PUBLIC_KEY), w.objectIdentifier(curve.oid)),
    w.bitString(point),
  );
  return createPublicKey({ key: Buffer.from(w.toBytes(spki)), format: 'der', type: 'spki' });
}

function deriveKek(
  algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' },
  privateKey: KeyObject,
  publicKey: KeyObject,
  ukm: Uint8Array | undefined,
): Uint8Array {
  const z = diffieHellman({ privateKey, publicKey });
  try {
    return x963Kdf(
      algorithm.kdfHash,
      z,
      algorithm.wrap.keyLength,
      sharedInfo(algorithm.wrapEncoding, algorithm.wrap.keyLength, ukm),
    );
  } finally {
    z.fill(0);
  }
}

export interface KeyAgreementDecryptInput {
  algorithm: KeyAgreementAlgorithm;
  privateKey: KeyObject;
  /** originatorKey publicKey: the sender's ephemeral point. */
  originatorPoint: Uint8Array;
  /** The originatorKey's curve, when its parameters name one; else the recipient key's curve is assumed. */
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
  const curve = curveOfKey(input.privateKey);
  if (!curve || input.privateKey.type !== 'private')
    throw new CipherError('UNSUPPORTED_CIPHER', 'ECDH needs a P-256, P-384 or P-521 private key');
  // A sender's point on another curve than our key cannot be ours (public information).
  if (input.originatorCurveOid !== undefined && input.originatorCurveOid !== curve.oid) throw decryptFailed();
  const wrapped = input.wrappedKey;
  if (wrapped.length < 3 * KEY_WRAP_BLOCK || wrapped.length % KEY_WRAP_BLOCK !== 0) throw decryptFailed();
  let kek: Uint8Array | undefined;
  const parts: Buffer[] = [];
  try {
    let publicKey: KeyObject;
    try {
      publicKey = importPoint(curve, input.originatorPoint);
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
  /** The ephemeral public key as an uncompressed point (SEC 1 section 2.3.3), for originatorKey. */
  ephemeralPoint: Uint8Array;
  wrappedKey: Uint8Array;
}

/** Wraps a content-encryption key for an EC recipient with a fresh ephemeral key (RFC 5753 section 3.1.1). */
export function encryptKeyAgreement(
  algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' },
  recipientKey: KeyObject,
  key: Uint8Array,
): KeyAgreementEncryptResult {
  const curve = curveOfKey(recipientKey);
  if (!curve) throw new CipherError('UNSUPPORTED_CIPHER', 'ECDH needs a P-256, P-384 or P-521 key');
  if (key.length < 2 * KEY_WRAP_BLOCK || key.length % KEY_WRAP_BLOCK !== 0)
    throw new CipherError('UNSUPPORTED_CIPHER', 'AES key wrap needs whole 64-bit blocks');
  const ephemeral = generateKeyPairSync('ec', { namedCurve: curve.nodeName });
  const jwk = ephemeral.publicKey.export({ format: 'jwk' });
  const ephemeralPoint = new Uint8Array(1 + 2 * curve.coordinateBytes);
  ephemeralPoint[0] = 0x04;
  ephemeralPoint.set(Buffer.from(jwk.x!, 'base64url'), 1);
  ephemeralPoint.set(Buffer.from(jwk.y!, 'base64url'), 1 + curve.coordinateBytes);
  const kek = deriveKek(algorithm, ephemeral.privateKey, recipientKey, undefined);
  try {
    const cipher = createCipheriv(algorithm.wrap.nodeCipher, kek, algorithm.wrap.defaultIv ? KEY_WRAP_IV : null);
    const wrappedKey = new Uint8Array(Buffer.concat([cipher.update(key), cipher.final()]));
    return { ephemeralPoint, wrappedKey };
  } finally {
    kek.fill(0);
  }
}
