// The block ciphers that password-based encryption in PKCS#12 uses, in CBC mode with PKCS#5 padding: AES and 3DES
// through node:crypto, RC2 through our own implementation (node's OpenSSL 3 only has it in the legacy provider).

import { createDecipheriv } from 'node:crypto';
import { copyBytes } from '../asn1/asn1js-nodes.ts';
import { pkcs7PadLength } from './des-ede3.ts';
import { rc2CbcDecrypt } from './rc2.ts';

/** Names follow OpenSSL's cipher names, so that what we record matches what `openssl pkcs12 -info` prints. */
export type PbeCipherName =
  | 'aes-128-cbc'
  | 'aes-192-cbc'
  | 'aes-256-cbc'
  | 'des-ede3-cbc'
  | 'des-ede-cbc'
  | `rc2-${number}-cbc`;

export interface PbeCipher {
  name: PbeCipherName;
  keyLength: number;
  ivLength: number;
  blockSize: number;
  /** RC2 only: the effective key bits of RFC 2268. */
  rc2EffectiveBits?: number;
}

export function aesCbc(keyLength: 16 | 24 | 32): PbeCipher {
  return { name: `aes-${keyLength * 8}-cbc` as PbeCipherName, keyLength, ivLength: 16, blockSize: 16 };
}

export const DES_EDE3_CBC: PbeCipher = { name: 'des-ede3-cbc', keyLength: 24, ivLength: 8, blockSize: 8 };
/** Two-key 3DES: K1, K2, K1 (NIST SP 800-67 keying option 2). */
export const DES_EDE_CBC: PbeCipher = { name: 'des-ede-cbc', keyLength: 16, ivLength: 8, blockSize: 8 };

export function rc2Cbc(keyLength: number, effectiveBits: number): PbeCipher {
  return { name: `rc2-${effectiveBits}-cbc`, keyLength, ivLength: 8, blockSize: 8, rc2EffectiveBits: effectiveBits };
}

/**
 * Decryption produced no validly padded plaintext. With a password-derived key this almost always means a wrong
 * password; callers turn it into P12_BAD_PASSWORD. Deliberately carries no detail.
 */
export class BadDecryptError extends Error {
  constructor() {
    super('decryption failed');
    this.name = 'BadDecryptError';
  }
}

/**
 * Checks and strips PKCS#5 padding (RFC 8018 section 6.1.1 step 4) without branching on each byte: the same
 * constant-time check as the CMS content ciphers (des-ede3.ts).
 */
function unpad(plain: Uint8Array, blockSize: number): Uint8Array {
  const n = pkcs7PadLength(plain, blockSize);
  if (n === 0) throw new BadDecryptError();
  return plain.subarray(0, plain.length - n);
}

/**
 * CBC-decrypts `data` with `key` and `iv` and removes the padding. The key and IV lengths are the caller's
 * responsibility (they come from the KDF for the cipher); a wrong length is a programming error (RangeError).
 * Returns a fresh buffer the caller owns.
 */
export function pbeDecrypt(cipher: PbeCipher, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== cipher.keyLength || iv.length !== cipher.ivLength) {
    throw new RangeError(`${cipher.name}: wrong key or IV length`);
  }
  if (data.length === 0 || data.length % cipher.blockSize !== 0) throw new BadDecryptError();
  let plain: Uint8Array;
  if (cipher.rc2EffectiveBits !== undefined) {
    plain = rc2CbcDecrypt(key, cipher.rc2EffectiveBits, iv, data);
  } else {
    let nodeName: string = cipher.name;
    let nodeKey = key;
    if (cipher.name === 'des-ede-cbc') {
      // Expand K1 K2 to K1 K2 K1 so that only des-ede3-cbc, which every OpenSSL 3 build has, is needed.
      nodeName = 'des-ede3-cbc';
      nodeKey = new Uint8Array(24);
      nodeKey.set(key);
      nodeKey.set(key.subarray(0, 8), 16);
    }
    try {
      const decipher = createDecipheriv(nodeName, nodeKey, iv).setAutoPadding(false);
      plain = Buffer.concat([decipher.update(data), decipher.final()]);
    } finally {
      if (nodeKey !== key) nodeKey.fill(0);
    }
  }
  try {
    return copyBytes(unpad(plain, cipher.blockSize));
  } finally {
    plain.fill(0);
  }
}
