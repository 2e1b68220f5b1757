import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Rc2,
  RC2_BLOCK_SIZE,
  rc2CbcDecrypt,
  rc2CbcEncrypt,
  rc2EffectiveBitsFromVersion,
} from '../../backend/src/smime/crypto/rc2.ts';
import { unavailable } from '../helpers/unavailable.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 2268 section 5, "Test vectors": key, effective key length T1 in bits, plaintext, ciphertext.
const RFC2268_VECTORS = [
  { key: '0000000000000000', bits: 63, plain: '0000000000000000', cipher: 'ebb773f993278eff' },
  { key: 'ffffffffffffffff', bits: 64, plain: 'ffffffffffffffff', cipher: '278b27e42e2f0d49' },
  { key: '3000000000000000', bits: 64, plain: '1000000000000001', cipher: '30649edf9be7d2c2' },
  { key: '88', bits: 64, plain: '0000000000000000', cipher: '61a8a244adacccf0' },
  { key: '88bca90e90875a', bits: 64, plain: '0000000000000000', cipher: '6ccf4308974c267f' },
  { key: '88bca90e90875a7f0f79c384627bafb2', bits: 64, plain: '0000000000000000', cipher: '1a807d272bbe5db1' },
  { key: '88bca90e90875a7f0f79c384627bafb2', bits: 128, plain: '0000000000000000', cipher: '2269552ab0f85ca6' },
  {
    key: '88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e',
    bits: 129,
    plain: '0000000000000000',
    cipher: '5b78d3a43dfff1f1',
  },
] as const;

void describe('RC2 (RFC 2268)', () => {
  for (const v of RFC2268_VECTORS) {
    void it(`RFC 2268 vector: ${v.key.length / 2}-byte key, ${v.bits} effective bits`, () => {
      const rc2 = new Rc2(hex(v.key), v.bits);
      const out = new Uint8Array(RC2_BLOCK_SIZE);
      rc2.encryptBlock(hex(v.plain), 0, out, 0);
      assert.equal(toHex(out), v.cipher);
      const back = new Uint8Array(RC2_BLOCK_SIZE);
      rc2.decryptBlock(out, 0, back, 0);
      assert.equal(toHex(back), v.plain);
    });
  }

  void it('CBC round-trips and chains blocks', () => {
    const key = randomBytes(5);
    const iv = randomBytes(8);
    const data = randomBytes(64);
    const encrypted = rc2CbcEncrypt(key, 40, iv, data);
    assert.notEqual(toHex(encrypted.subarray(8, 16)), toHex(encrypted.subarray(0, 8)));
    assert.equal(toHex(rc2CbcDecrypt(key, 40, iv, encrypted)), toHex(data));
  });

  void it('maps RC2 parameter versions to effective bits (RFC 8018 appendix B.2.3)', () => {
    assert.equal(rc2EffectiveBitsFromVersion(160), 40);
    assert.equal(rc2EffectiveBitsFromVersion(120), 64);
    assert.equal(rc2EffectiveBitsFromVersion(58), 128);
    assert.equal(rc2EffectiveBitsFromVersion(256), 256);
    assert.equal(rc2EffectiveBitsFromVersion(7), undefined);
    assert.equal(rc2EffectiveBitsFromVersion(2000), undefined);
  });

  void it('rejects out-of-range keys, effective bits, IVs and partial blocks', () => {
    assert.throws(() => new Rc2(new Uint8Array(0)), RangeError);
    assert.throws(() => new Rc2(new Uint8Array(129)), RangeError);
    assert.throws(() => new Rc2(new Uint8Array(5), 0), RangeError);
    assert.throws(() => new Rc2(new Uint8Array(5), 1025), RangeError);
    assert.throws(() => rc2CbcDecrypt(new Uint8Array(5), 40, new Uint8Array(7), new Uint8Array(8)), RangeError);
    assert.throws(() => rc2CbcDecrypt(new Uint8Array(5), 40, new Uint8Array(8), new Uint8Array(9)), RangeError);
  });

  // Cross-check against OpenSSL's RC2 (legacy provider, in a child process only) where the CLI can express the key:
  // `openssl enc` always uses effective bits = key bits, which is what PKCS#12's RC2-40 and RC2-128 use.
  void it('matches OpenSSL rc2-cbc for 40- and 128-bit keys', (t) => {
    for (const keyBytes of [5, 16]) {
      const key = randomBytes(keyBytes);
      const iv = randomBytes(8);
      const data = randomBytes(48);
      const cipherName = keyBytes === 5 ? 'rc2-40-cbc' : 'rc2-cbc';
      const run = spawnSync(
        'openssl',
        [
          'enc',
          `-${cipherName}`,
          '-provider',
          'legacy',
          '-provider',
          'default',
          '-nopad',
          '-K',
          toHex(key),
          '-iv',
          toHex(iv),
        ],
        { input: data },
      );
      if (run.error || run.status !== 0) {
        t.skip(
          unavailable(
            `openssl with the legacy provider is not available (${String(run.stderr).trim()})`,
            'the RC2 cross-check with OpenSSL',
          ),
        );
        return;
      }
      assert.equal(toHex(rc2CbcEncrypt(key, keyBytes * 8, iv, data)), run.stdout.toString('hex'));
      assert.equal(toHex(rc2CbcDecrypt(key, keyBytes * 8, iv, new Uint8Array(run.stdout))), toHex(data));
    }
  });
});
