// Large content through the ciphers a slice at a time (backend/src/smime/crypto/cipher-slices.ts, issue 16): the same
// bytes as node:crypto in one call, at and around the slice size, and the same one DECRYPT_FAILED for every failure.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';

import { CIPHER_SLICE_BYTES, updateInto } from '../../backend/src/smime/crypto/cipher-slices.ts';
import {
  aesCbcDecrypt,
  aesGcmDecrypt,
  aesGcmEncryptor,
  CipherError,
  cbcDecrypt,
  cbcEncryptor,
  chacha20Poly1305Decrypt,
  decryptContent,
  desEde3CbcDecrypt,
} from '../../backend/src/smime/crypto/content-cipher.ts';

const SLICE = CIPHER_SLICE_BYTES;
/** Below, at and above one slice, several slices, and a last slice of a single block. */
const LENGTHS = [SLICE - 16, SLICE, SLICE + 16, 3 * SLICE + 48, 4 * SLICE + 16];

function failsDecrypt(error: unknown): boolean {
  assert.ok(error instanceof CipherError, `expected a CipherError, got ${String(error)}`);
  assert.equal(error.code, 'DECRYPT_FAILED');
  assert.equal(error.message, 'decryption failed');
  return true;
}

function flip(bytes: Uint8Array, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 1;
  return copy;
}

/** OpenSSL's own padded CBC encryption in one call. */
function openSslCbc(name: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const cipher = createCipheriv(name, key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

void describe('CBC decryption in slices', () => {
  const cases = [
    { name: 'aes-256-cbc', key: randomBytes(32), iv: randomBytes(16), decrypt: aesCbcDecrypt },
    { name: 'des-ede3-cbc', key: randomBytes(24), iv: randomBytes(8), decrypt: desEde3CbcDecrypt },
  ];
  for (const { name, key, iv, decrypt } of cases) {
    void test(`${name}: every length around the slice size decrypts to the plaintext`, () => {
      for (const length of LENGTHS) {
        for (const plaintext of [randomBytes(length), randomBytes(length + 5)]) {
          const out = decrypt(key, iv, openSslCbc(name, key, iv, plaintext));
          assert.ok(Buffer.from(out).equals(plaintext), `${name} ${plaintext.length} bytes`);
        }
      }
    });
    void test(`${name}: a bad padding, a wrong key or a cut ciphertext beyond one slice is DECRYPT_FAILED`, () => {
      const plaintext = randomBytes(3 * SLICE + 7);
      const data = openSslCbc(name, key, iv, plaintext);
      // Flipping a bit of the next-to-last block changes the last block's padding byte (CBC): a padding failure.
      const badPadding = flip(data, data.length - iv.length - 1);
      assert.throws(() => decrypt(key, iv, badPadding), failsDecrypt);
      assert.throws(() => decrypt(key, iv, data.subarray(0, data.length - 1)), failsDecrypt);
      const wrongKey = Buffer.from(key).map((byte) => byte ^ 0x80);
      let failures = 0;
      for (let i = 0; i < 8; i++) {
        try {
          decrypt(wrongKey, flip(iv, i), data);
        } catch (error) {
          failsDecrypt(error);
          failures++;
        }
      }
      assert.ok(failures > 0, 'a wrong key fails (unless its garbage ends in valid padding, about 1 in 256)');
    });
  }
});

void describe('AEAD decryption in slices', () => {
  void test('AES-GCM: every length around the slice size decrypts; a flipped bit in any slice or tag fails', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(20);
    for (const length of LENGTHS) {
      const plaintext = randomBytes(length + 3);
      const cipher = aesGcmEncryptor(key, nonce, aad);
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const tag = cipher.tag()!;
      assert.ok(Buffer.from(aesGcmDecrypt(key, nonce, ciphertext, tag, aad)).equals(plaintext));
      for (const at of [0, SLICE, ciphertext.length - 1]) {
        if (at < ciphertext.length)
          assert.throws(() => aesGcmDecrypt(key, nonce, flip(ciphertext, at), tag, aad), failsDecrypt);
      }
      assert.throws(() => aesGcmDecrypt(key, nonce, ciphertext, flip(tag, 0), aad), failsDecrypt);
      assert.throws(() => aesGcmDecrypt(key, nonce, ciphertext.subarray(1), tag, aad), failsDecrypt);
    }
  });

  void test('ChaCha20-Poly1305: a large content decrypts; a flipped bit in the last slice fails', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const plaintext = randomBytes(2 * SLICE + 100);
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    assert.ok(Buffer.from(chacha20Poly1305Decrypt(key, nonce, ciphertext, tag)).equals(plaintext));
    assert.throws(() => chacha20Poly1305Decrypt(key, nonce, flip(ciphertext, 2 * SLICE + 50), tag), failsDecrypt);
  });
});

/** `data` cut into segments of the given sizes, the last one taking the rest (a chunked BER string read in place). */
function cut(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const segments: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    segments.push(data.subarray(at, at + size));
    at += size;
  }
  return segments;
}

void describe('ciphertext in segments (a chunked BER OCTET STRING, not joined)', () => {
  const cuts: [string, number[]][] = [
    ['1000-byte chunks (not whole blocks)', [1000]],
    ['4 KiB chunks', [4096]],
    ['uneven, with empty segments', [5, 0, 17, SLICE - 3, 1, 2 * SLICE + 11]],
    ['one large segment', [Number.MAX_SAFE_INTEGER]],
  ];
  void test('AES-CBC: every cut decrypts to the same plaintext; a bad padding still fails', () => {
    const key = randomBytes(32);
    const iv = randomBytes(16);
    for (const length of [100, 3 * SLICE + 7]) {
      const plaintext = randomBytes(length);
      const data = openSslCbc('aes-256-cbc', key, iv, plaintext);
      for (const [label, sizes] of cuts) {
        const out = cbcDecrypt('aes', key, iv, cut(data, sizes));
        assert.ok(Buffer.from(out).equals(plaintext), `${length} bytes, ${label}`);
        const bad = flip(data, data.length - iv.length - 1);
        assert.throws(() => cbcDecrypt('aes', key, iv, cut(bad, sizes)), failsDecrypt);
        assert.throws(() => cbcDecrypt('aes', key, iv, cut(data.subarray(1), sizes)), failsDecrypt);
      }
    }
  });

  void test('AES-GCM through decryptContent: every cut decrypts; a flipped bit in a late segment fails', () => {
    const key = randomBytes(16);
    const nonce = randomBytes(12);
    const algorithm = {
      kind: 'gcm',
      family: 'aes',
      name: 'aes-128-gcm',
      oid: '2.16.840.1.101.3.4.1.6',
      keyLength: 16,
      nonce,
      tagLength: 16,
    } as const;
    const plaintext = randomBytes(2 * SLICE + 1001);
    const cipher = aesGcmEncryptor(key, nonce);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.tag()!;
    for (const [label, sizes] of cuts) {
      const out = decryptContent({ algorithm, key, ciphertext: cut(ciphertext, sizes), tag });
      assert.ok(Buffer.from(out).equals(plaintext), label);
      const bad = cut(flip(ciphertext, ciphertext.length - 10), sizes);
      assert.throws(() => decryptContent({ algorithm, key, ciphertext: bad, tag }), failsDecrypt);
    }
  });
});

void describe('updateInto', () => {
  void test('writes exactly what update() returns, at the offset', () => {
    const key = randomBytes(16);
    const iv = randomBytes(16);
    const data = randomBytes(SLICE + 5);
    const a = createCipheriv('aes-128-cbc', key, iv);
    const b = cbcEncryptor('aes', key, iv);
    const out = Buffer.alloc(SLICE + 64, 0xee);
    const n = updateInto(a, data, out, 7);
    const expected = b.update(data);
    assert.equal(n, expected.length);
    assert.ok(out.subarray(7, 7 + n).equals(expected));
    assert.ok(out.subarray(0, 7).every((byte) => byte === 0xee) && out[7 + n] === 0xee, 'nothing else is written');
    assert.ok(a.final().equals(b.final()));
  });

  void test('RangeError when the output has no room', () => {
    const decipher = createDecipheriv('aes-128-cbc', randomBytes(16), randomBytes(16));
    decipher.setAutoPadding(false);
    assert.throws(() => updateInto(decipher, randomBytes(64), Buffer.alloc(80), 20), RangeError);
  });
});
