// Content-encryption ciphers (backend/src/smime/crypto/content-cipher.ts): known-answer vectors from the standards, and
// the error discipline: every decryption failure is the same CipherError DECRYPT_FAILED, so that padding errors
// cannot be told apart from other failures (no padding oracle).
import assert from 'node:assert/strict';
import { createCipheriv, getCiphers } from 'node:crypto';
import { describe, test } from 'node:test';

import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesGcmDecrypt,
  aesGcmEncrypt,
  CipherError,
  desEde3CbcDecrypt,
  desEde3CbcEncrypt,
} from '../../backend/src/smime/crypto/content-cipher.ts';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function failsWith(code: 'DECRYPT_FAILED' | 'UNSUPPORTED_CIPHER') {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CipherError, `expected a CipherError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (code === 'DECRYPT_FAILED') assert.equal(error.message, 'decryption failed'); // one message for all causes
    return true;
  };
}

void describe("the ciphers are in Node 20's default OpenSSL provider", () => {
  void test('des-ede3-cbc, aes-{128,192,256}-{cbc,gcm} are listed', () => {
    const available = new Set(getCiphers());
    const needed = ['des-ede3-cbc', 'aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc'];
    needed.push('aes-128-gcm', 'aes-192-gcm', 'aes-256-gcm');
    for (const name of needed) {
      assert.ok(available.has(name), `${name} missing from this OpenSSL build`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// DES-EDE3
// ---------------------------------------------------------------------------------------------------------

void describe('DES-EDE3-CBC known answers', () => {
  // NIST SP 800-67 Rev. 1, appendix B (TDEA example, ECB): keys 0123456789ABCDEF, 23456789ABCDEF01,
  // 456789ABCDEF0123 and the plaintext "The qufck brown fox jump". CBC under a zero IV on a single block is
  // the bare block cipher, so each block is checked that way.
  const sp80067 = {
    key: h('0123456789abcdef 23456789abcdef01 456789abcdef0123'),
    blocks: [
      ['5468652071756663', 'a826fd8ce53b855f'],
      ['6b2062726f776e20', 'cce21c8112256fe6'],
      ['666f78206a756d70', '68d5c05dd9b6b900'],
    ],
  };
  for (const [index, [plain, cipher]] of sp80067.blocks.entries()) {
    void test(`SP 800-67 example, block ${index + 1}`, () => {
      const iv = Buffer.alloc(8);
      const out = desEde3CbcEncrypt(sp80067.key, iv, h(plain!));
      assert.equal(out.length, 16, 'one data block and one PKCS #7 padding block');
      assert.equal(hex(out.subarray(0, 8)), cipher);
      assert.equal(hex(desEde3CbcDecrypt(sp80067.key, iv, out)), plain);
    });
  }

  // NIST CAVP tdesmmt, TCBCMMT3.rsp ENCRYPT COUNT = 9 (three distinct keys, ten blocks), followed by the
  // PKCS #7 padding block that CMS adds (a full block of 0x08 here).
  const mmt3 = {
    key: h('9b162a0df8ad9b61c88676e3d586434570b902f12a2046e0'),
    iv: h('ebd6fefe029ad54b'),
    plaintext: h(
      'f4c1c918e77355c8156f0fd778da52bff121ae5f2f44eaf4d2754946d0e10d1f18ce3a0176e69c18b7d20b6e0d0bee5eb5edfe4bd60e4d92adcd86bce72e76f94ee5cbcaa8b01cfddcea2ade575e66ac',
    ),
    ciphertext: h(
      '1ff3c8709f403a8eff291aedf50c010df5c5ff64a8b205f1fce68564798897a390db16ee0d053856b75898009731da290fcc119dad987277aacef694872e880c4bb41471063fae05c89f25e4bd0cad6a' +
        'd260615855357357',
    ),
  };
  void test('CAVP TCBCMMT3 #9 encrypts, with its padding block', () => {
    assert.equal(hex(desEde3CbcEncrypt(mmt3.key, mmt3.iv, mmt3.plaintext)), hex(mmt3.ciphertext));
  });
  void test('CAVP TCBCMMT3 #9 decrypts and unpads', () => {
    assert.equal(hex(desEde3CbcDecrypt(mmt3.key, mmt3.iv, mmt3.ciphertext)), hex(mmt3.plaintext));
  });
  void test('CAVP TCBCMMT3 #9 without its padding block: DECRYPT_FAILED', () => {
    const unpadded = mmt3.ciphertext.subarray(0, 80);
    assert.throws(() => desEde3CbcDecrypt(mmt3.key, mmt3.iv, unpadded), failsWith('DECRYPT_FAILED'));
  });
});

// ---------------------------------------------------------------------------------------------------------
// AES-CBC: NIST SP 800-38A appendix F.2.1, F.2.3, F.2.5 (four blocks, no padding in the standard; the
// fifth block our API adds is the PKCS #7 padding, 16 bytes of 0x10).
// ---------------------------------------------------------------------------------------------------------

const SP80038A_IV = h('000102030405060708090a0b0c0d0e0f');
const SP80038A_PLAINTEXT = h(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
  30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);
const AES_CBC_VECTORS = [
  {
    name: 'F.2.1 CBC-AES128',
    key: h('2b7e151628aed2a6abf7158809cf4f3c'),
    ciphertext: h(`7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
      73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7`),
  },
  {
    name: 'F.2.3 CBC-AES192',
    key: h('8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b'),
    ciphertext: h(`4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a
      571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd`),
  },
  {
    name: 'F.2.5 CBC-AES256',
    key: h('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4'),
    ciphertext: h(`f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
      39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b`),
  },
];

void describe('AES-CBC known answers (SP 800-38A)', () => {
  for (const vector of AES_CBC_VECTORS) {
    void test(`${vector.name}: encrypt, then decrypt our padded output`, () => {
      const out = aesCbcEncrypt(vector.key, SP80038A_IV, SP80038A_PLAINTEXT);
      assert.equal(out.length, 80);
      assert.equal(hex(out.subarray(0, 64)), hex(vector.ciphertext));
      assert.equal(hex(aesCbcDecrypt(vector.key, SP80038A_IV, out)), hex(SP80038A_PLAINTEXT));
    });
    void test(`${vector.name}: the standard's unpadded ciphertext is a bad padding (ends 0x10, rest not)`, () => {
      assert.throws(() => aesCbcDecrypt(vector.key, SP80038A_IV, vector.ciphertext), failsWith('DECRYPT_FAILED'));
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// PKCS #7 unpadding: chosen final blocks, encrypted without padding, then decrypted by ours.
// ---------------------------------------------------------------------------------------------------------

function rawCbc(name: string, key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv(name, key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

const CBC_CIPHERS = [
  {
    label: 'DES-EDE3-CBC',
    name: 'des-ede3-cbc',
    block: 8,
    key: h('0123456789abcdef23456789abcdef01456789abcdef0123'),
    decrypt: desEde3CbcDecrypt,
  },
  { label: 'AES-128-CBC', name: 'aes-128-cbc', block: 16, key: Buffer.alloc(16, 0x11), decrypt: aesCbcDecrypt },
  { label: 'AES-256-CBC', name: 'aes-256-cbc', block: 16, key: Buffer.alloc(32, 0x22), decrypt: aesCbcDecrypt },
];

/** A final block (block bytes) built from a list of trailing bytes, the rest filled with 0x41. */
function finalBlock(block: number, tail: number[]): Buffer {
  const out = Buffer.alloc(block, 0x41);
  out.set(tail, block - tail.length);
  return out;
}

void describe('PKCS #7 unpadding', () => {
  for (const cipher of CBC_CIPHERS) {
    const b = cipher.block;
    const iv = Buffer.alloc(b, 0x5c);
    const good: [string, number[], number][] = [
      ['pad 1', [1], b - 1],
      ['pad 2', [2, 2], b - 2],
      [`full block of ${b}`, Array<number>(b).fill(b), 0],
    ];
    const bad: [string, number[]][] = [
      ['pad byte 0', [0]],
      [`pad byte ${b + 1} (longer than a block)`, [b + 1]],
      ['pad byte 0xff', [0xff]],
      ['inconsistent pad bytes (03 02 03)', [3, 2, 3]],
      ['pad 2 preceded by a wrong byte', [1, 2]],
      [`full block pad ${b} with its first byte wrong`, [b - 1, ...Array<number>(b - 1).fill(b)]],
    ];
    for (const [name, tail, keep] of good) {
      void test(`${cipher.label}: ${name} is removed`, () => {
        const plaintext = Buffer.concat([Buffer.alloc(b, 0x30), finalBlock(b, tail)]);
        const out = cipher.decrypt(cipher.key, iv, rawCbc(cipher.name, cipher.key, iv, plaintext));
        assert.equal(hex(out), hex(plaintext.subarray(0, b + keep)));
      });
    }
    for (const [name, tail] of bad) {
      void test(`${cipher.label}: ${name} is DECRYPT_FAILED`, () => {
        const plaintext = Buffer.concat([Buffer.alloc(b, 0x30), finalBlock(b, tail)]);
        const data = rawCbc(cipher.name, cipher.key, iv, plaintext);
        assert.throws(() => cipher.decrypt(cipher.key, iv, data), failsWith('DECRYPT_FAILED'));
      });
    }

    // Every other way to fail, with the same code and message as a padding failure.
    const valid = rawCbc(cipher.name, cipher.key, iv, Buffer.concat([Buffer.alloc(b, 0x30), finalBlock(b, [1])]));
    const otherFailures: [string, () => unknown][] = [
      // A fixed wrong key whose decryption of `valid` happens to end in a bad padding (deterministic).
      [
        'wrong key',
        () =>
          cipher.decrypt(
            Buffer.from(cipher.key).map((byte) => byte ^ 0x80),
            iv,
            valid,
          ),
      ],
      ['key of the wrong length', () => cipher.decrypt(cipher.key.subarray(0, cipher.key.length - 1), iv, valid)],
      ['IV of the wrong length', () => cipher.decrypt(cipher.key, iv.subarray(1), valid)],
      ['data not a multiple of the block size', () => cipher.decrypt(cipher.key, iv, valid.subarray(1))],
      ['empty data', () => cipher.decrypt(cipher.key, iv, Buffer.alloc(0))],
    ];
    for (const [name, run] of otherFailures) {
      void test(`${cipher.label}: ${name} is DECRYPT_FAILED, like a padding error`, () => {
        assert.throws(run, failsWith('DECRYPT_FAILED'));
      });
    }
  }
});

void describe('CBC encryption misuse', () => {
  void test('AES key of 20 bytes, DES-EDE3 key of 16 bytes: UNSUPPORTED_CIPHER', () => {
    const unsupported = failsWith('UNSUPPORTED_CIPHER');
    assert.throws(() => aesCbcEncrypt(Buffer.alloc(20), Buffer.alloc(16), Buffer.alloc(1)), unsupported);
    assert.throws(() => desEde3CbcEncrypt(Buffer.alloc(16), Buffer.alloc(8), Buffer.alloc(1)), unsupported);
  });
  void test('IV of the wrong length: RangeError', () => {
    assert.throws(() => aesCbcEncrypt(Buffer.alloc(16), Buffer.alloc(8), Buffer.alloc(1)), RangeError);
    assert.throws(() => desEde3CbcEncrypt(Buffer.alloc(24), Buffer.alloc(16), Buffer.alloc(1)), RangeError);
  });
  void test('round trip for every length 0..40 (padding always added, always removed)', () => {
    for (let length = 0; length <= 40; length++) {
      const data = Buffer.alloc(length, length);
      const [aesKey, aesIv] = [Buffer.alloc(24, 3), Buffer.alloc(16, 4)];
      const [desKey, desIv] = [Buffer.alloc(24, 5), Buffer.alloc(8, 6)];
      const aes = aesCbcEncrypt(aesKey, aesIv, data);
      assert.equal(aes.length, (Math.floor(length / 16) + 1) * 16);
      assert.deepEqual(Buffer.from(aesCbcDecrypt(aesKey, aesIv, aes)), data);
      const des = desEde3CbcEncrypt(desKey, desIv, data);
      assert.equal(des.length, (Math.floor(length / 8) + 1) * 8);
      assert.deepEqual(Buffer.from(desEde3CbcDecrypt(desKey, desIv, des)), data);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// AES-GCM: test cases of McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", appendix B (the
// vectors NIST's GCM validation builds on).
// ---------------------------------------------------------------------------------------------------------

const GCM_P60 =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39';
const GCM_AAD = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
const GCM_VECTORS = [
  {
    name: 'test case 1 (AES-128, empty)',
    key: '00000000000000000000000000000000',
    nonce: '000000000000000000000000',
    plaintext: '',
    aad: '',
    ciphertext: '',
    tag: '58e2fccefa7e3061367f1d57a4e7455a',
  },
  {
    name: 'test case 2 (AES-128, one zero block)',
    key: '00000000000000000000000000000000',
    nonce: '000000000000000000000000',
    plaintext: '00000000000000000000000000000000',
    aad: '',
    ciphertext: '0388dace60b6a392f328c2b971b2fe78',
    tag: 'ab6e47d42cec13bdf53a67b21257bddf',
  },
  {
    name: 'test case 4 (AES-128, 60 bytes, AAD)',
    key: 'feffe9928665731c6d6a8f9467308308',
    nonce: 'cafebabefacedbaddecaf888',
    plaintext: GCM_P60,
    aad: GCM_AAD,
    ciphertext:
      '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    tag: '5bc94fbc3221a5db94fae95ae7121a47',
  },
  {
    name: 'test case 10 (AES-192, 60 bytes, AAD)',
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c',
    nonce: 'cafebabefacedbaddecaf888',
    plaintext: GCM_P60,
    aad: GCM_AAD,
    ciphertext:
      '3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710',
    tag: '2519498e80f1478f37ba55bd6d27618c',
  },
  {
    name: 'test case 16 (AES-256, 60 bytes, AAD)',
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    nonce: 'cafebabefacedbaddecaf888',
    plaintext: GCM_P60,
    aad: GCM_AAD,
    ciphertext:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

void describe('AES-GCM known answers and tampering', () => {
  for (const v of GCM_VECTORS) {
    const key = h(v.key);
    const nonce = h(v.nonce);
    const ciphertext = h(v.ciphertext);
    const tag = h(v.tag);
    const aad = h(v.aad);

    void test(`${v.name}: encrypt`, () => {
      const out = aesGcmEncrypt(key, nonce, h(v.plaintext), aad);
      assert.equal(hex(out.ciphertext), v.ciphertext);
      assert.equal(hex(out.tag), v.tag);
    });
    void test(`${v.name}: decrypt`, () => {
      assert.equal(hex(aesGcmDecrypt(key, nonce, ciphertext, tag, aad)), v.plaintext);
    });
    void test(`${v.name}: a tag truncated to 12 bytes (RFC 5084's shortest) still verifies`, () => {
      assert.equal(hex(aesGcmDecrypt(key, nonce, ciphertext, tag.subarray(0, 12), aad)), v.plaintext);
      assert.equal(hex(aesGcmEncrypt(key, nonce, h(v.plaintext), aad, 12).tag), v.tag.slice(0, 24));
    });

    const flip = (bytes: Buffer, index: number): Buffer => {
      const copy = Buffer.from(bytes);
      copy[index]! ^= 0x01;
      return copy;
    };
    const tampered: [string, () => unknown][] = [
      ['tag bit flipped', () => aesGcmDecrypt(key, nonce, ciphertext, flip(tag, 15), aad)],
      ['first tag bit flipped', () => aesGcmDecrypt(key, nonce, ciphertext, flip(tag, 0), aad)],
      ['nonce changed', () => aesGcmDecrypt(key, flip(nonce, 11), ciphertext, tag, aad)],
      ['wrong key', () => aesGcmDecrypt(flip(key, 0), nonce, ciphertext, tag, aad)],
      ['extra AAD', () => aesGcmDecrypt(key, nonce, ciphertext, tag, Buffer.concat([aad, Buffer.from([0])]))],
      ['tag of 11 bytes (below RFC 5084)', () => aesGcmDecrypt(key, nonce, ciphertext, tag.subarray(0, 11), aad)],
      ['tag of 17 bytes', () => aesGcmDecrypt(key, nonce, ciphertext, Buffer.concat([tag, Buffer.from([0])]), aad)],
      ['empty nonce', () => aesGcmDecrypt(key, Buffer.alloc(0), ciphertext, tag, aad)],
      ['key of 20 bytes', () => aesGcmDecrypt(Buffer.alloc(20), nonce, ciphertext, tag, aad)],
    ];
    if (ciphertext.length > 0) {
      tampered.push(['ciphertext bit flipped', () => aesGcmDecrypt(key, nonce, flip(ciphertext, 0), tag, aad)]);
      tampered.push(['ciphertext truncated', () => aesGcmDecrypt(key, nonce, ciphertext.subarray(1), tag, aad)]);
    }
    if (aad.length > 0) {
      tampered.push(['AAD bit flipped', () => aesGcmDecrypt(key, nonce, ciphertext, tag, flip(aad, 0))]);
    }
    for (const [name, run] of tampered) {
      void test(`${v.name}: ${name} is DECRYPT_FAILED`, () => {
        assert.throws(run, failsWith('DECRYPT_FAILED'));
      });
    }
  }

  void test('encryption misuse: RangeError for a nonce not of 12 bytes or a tag outside 12..16', () => {
    const key = Buffer.alloc(16);
    assert.throws(() => aesGcmEncrypt(key, Buffer.alloc(8), Buffer.alloc(1)), RangeError);
    assert.throws(() => aesGcmEncrypt(key, Buffer.alloc(12), Buffer.alloc(1), undefined, 8), RangeError);
    assert.throws(() => aesGcmEncrypt(key, Buffer.alloc(12), Buffer.alloc(1), undefined, 17), RangeError);
  });

  void test('encryption misuse: UNSUPPORTED_CIPHER for a 20-byte key', () => {
    const unsupported = failsWith('UNSUPPORTED_CIPHER');
    assert.throws(() => aesGcmEncrypt(Buffer.alloc(20), Buffer.alloc(12), Buffer.alloc(1)), unsupported);
  });
});
