// Content encryption of CMS EnvelopedData / AuthEnvelopedData by algorithm description (cms-algorithms.ts): AES-CBC,
// DES-EDE3-CBC and AES-GCM through lib/des-ede3.ts (node:crypto), RC2-CBC through lib/rc2.ts (node's OpenSSL 3 has
// RC2 only in the legacy provider, which we do not load). Every decryption failure is CipherError DECRYPT_FAILED
// with one message, as in des-ede3.ts: no padding oracle.

import { randomFillSync } from 'node:crypto';
import type { ContentAlgorithm } from '../cms/enveloped/algorithms.ts';
import {
  aesCbcDecrypt,
  aesCbcEncryptor,
  aesGcmDecrypt,
  aesGcmEncryptor,
  CipherError,
  desEde3CbcDecrypt,
  desEde3CbcEncryptor,
  pkcs7PadLength,
  type StreamEncryptor,
} from './des-ede3.ts';
import { rc2CbcDecrypt, RC2_BLOCK_SIZE } from './rc2.ts';

function decryptFailed(): CipherError {
  return new CipherError('DECRYPT_FAILED', 'decryption failed');
}

function rc2Decrypt(key: Uint8Array, bits: number, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length === 0 || data.length % RC2_BLOCK_SIZE !== 0 || key.length === 0) throw decryptFailed();
  let padded: Uint8Array;
  try {
    padded = rc2CbcDecrypt(key, bits, iv, data);
  } catch {
    throw decryptFailed();
  }
  const pad = pkcs7PadLength(padded, RC2_BLOCK_SIZE);
  if (pad === 0) {
    padded.fill(0);
    throw decryptFailed();
  }
  return padded.subarray(0, padded.length - pad);
}

export interface ContentDecryptInput {
  algorithm: ContentAlgorithm;
  key: Uint8Array;
  ciphertext: Uint8Array;
  /** AuthEnvelopedData only: the mac field (GCM tag) and the DER of the authenticated attributes (AAD). */
  tag?: Uint8Array;
  aad?: Uint8Array;
}

/** Decrypts and (GCM) authenticates. CipherError DECRYPT_FAILED for any failure; UNSUPPORTED_CIPHER for `unsupported`. */
export function decryptContent(input: ContentDecryptInput): Uint8Array {
  const { algorithm, key, ciphertext } = input;
  if (algorithm.kind === 'unsupported') throw new CipherError('UNSUPPORTED_CIPHER', `unsupported content cipher ${algorithm.name}`);
  // A key of the wrong length (a sender's mistake, or a synthetic key after implicit rejection) fails like any other.
  if (key.length !== algorithm.keyLength) throw decryptFailed();
  if (algorithm.kind === 'gcm') {
    const tag = input.tag;
    if (!tag || tag.length !== algorithm.tagLength) throw decryptFailed();
    return aesGcmDecrypt(key, algorithm.nonce, ciphertext, tag, input.aad);
  }
  switch (algorithm.family) {
    case 'aes':
      return aesCbcDecrypt(key, algorithm.iv, ciphertext);
    case 'des-ede3':
      return desEde3CbcDecrypt(key, algorithm.iv, ciphertext);
    case 'rc2':
      return rc2Decrypt(key, algorithm.rc2EffectiveBits, algorithm.iv, ciphertext);
  }
}

export interface ContentEncryptResult {
  ciphertext: Uint8Array;
  /** GCM only. */
  tag?: Uint8Array;
}

/** Encrypts with a CBC or GCM algorithm (RC2 is read-only). */
export function encryptContent(algorithm: ContentAlgorithm, key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): ContentEncryptResult {
  const cipher = contentEncryptor(algorithm, key, aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.tag();
  return tag ? { ciphertext, tag } : { ciphertext };
}

/** encryptContent in steps, for content in pieces (issue 6). */
export function contentEncryptor(algorithm: ContentAlgorithm, key: Uint8Array, aad?: Uint8Array): StreamEncryptor {
  if (algorithm.kind === 'gcm') return aesGcmEncryptor(key, algorithm.nonce, aad, algorithm.tagLength);
  if (algorithm.kind === 'cbc' && algorithm.family === 'aes') return aesCbcEncryptor(key, algorithm.iv);
  if (algorithm.kind === 'cbc' && algorithm.family === 'des-ede3') return desEde3CbcEncryptor(key, algorithm.iv);
  throw new CipherError('UNSUPPORTED_CIPHER', `encryption with ${algorithm.name} is not offered`);
}

/**
 * Ciphertext length for `plaintextLength` bytes: GCM adds nothing (the tag travels apart); CBC pads with PKCS #7 to
 * the next whole block, a full block when already aligned (RFC 5652 section 6.3).
 */
export function ciphertextLength(algorithm: ContentAlgorithm, plaintextLength: number): number {
  if (algorithm.kind === 'gcm') return plaintextLength;
  if (algorithm.kind !== 'cbc') throw new CipherError('UNSUPPORTED_CIPHER', `encryption with ${algorithm.name} is not offered`);
  const block = algorithm.iv.length;
  return (Math.floor(plaintextLength / block) + 1) * block;
}

/**
 * A fresh random content-encryption key for `algorithm`, in memory this module owns (never Node's shared pool). DES
 * keys get odd parity (FIPS 46-3 section 3.1): OpenSSL and NSS ignore the parity bits, but strict decoders reject
 * keys without it.
 */
export function generateContentKey(algorithm: ContentAlgorithm): Uint8Array {
  if (algorithm.kind === 'unsupported') throw new CipherError('UNSUPPORTED_CIPHER', `unsupported content cipher ${algorithm.name}`);
  const key = randomFillSync(new Uint8Array(algorithm.keyLength));
  if (algorithm.family === 'des-ede3') {
    for (let i = 0; i < key.length; i++) {
      let b = key[i]! & 0xfe;
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      if (ones % 2 === 0) b |= 1;
      key[i] = b;
    }
  }
  return key;
}
