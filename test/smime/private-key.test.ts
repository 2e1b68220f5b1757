// privateKeyFromPkcs8 (issue 16): an rsaEncryption key goes to OpenSSL as its PKCS#1 RSAPrivateKey (a view of the
// PKCS#8 bytes), every other key as PKCS#8; either way the same key comes out, and bad bytes still fail.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { privateKeyFromPkcs8 } from '../../backend/src/smime/index.ts';

const KEYS: [string, () => KeyObject][] = [
  ['rsa 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
  ['rsa-pss', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey],
  ['ec p-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
  ['ed25519', () => generateKeyPairSync('ed25519').privateKey],
  ['x25519', () => generateKeyPairSync('x25519').privateKey],
];

for (const [name, make] of KEYS)
  test(`privateKeyFromPkcs8 gives the same ${name} key`, () => {
    const original = make();
    const pkcs8 = original.export({ format: 'der', type: 'pkcs8' });
    const key = privateKeyFromPkcs8(new Uint8Array(pkcs8));
    assert.equal(key.asymmetricKeyType, original.asymmetricKeyType);
    assert.deepEqual(key.export({ format: 'der', type: 'pkcs8' }), pkcs8);
    if (name !== 'x25519') {
      const alg = name.startsWith('ed') ? null : 'sha256';
      const data = Buffer.from('issue 16');
      assert.ok(verify(alg, data, createPublicKey(original), sign(alg, data, key)));
    }
  });

test('privateKeyFromPkcs8 reads the key from a view inside a larger buffer', () => {
  const pkcs8 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
  const big = new Uint8Array(pkcs8.length + 32);
  big.set(pkcs8, 16);
  const key = privateKeyFromPkcs8(big.subarray(16, 16 + pkcs8.length));
  assert.deepEqual(key.export({ format: 'der', type: 'pkcs8' }), pkcs8);
});

test('privateKeyFromPkcs8 accepts and refuses exactly what the PKCS#8 import does (damaged RSA keys)', () => {
  const pkcs8 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
  const viaPkcs8 = (b: Buffer) => createPrivateKey({ key: b, format: 'der', type: 'pkcs8' });
  const outcome = (f: () => KeyObject) => {
    try {
      return f().export({ format: 'der', type: 'pkcs8' }).toString('hex');
    } catch {
      return 'refused';
    }
  };
  // Every byte of the headers (PrivateKeyInfo, AlgorithmIdentifier, RSAPrivateKey and its first INTEGERs), then
  // bytes across the key, each replaced by two values; then truncations.
  const positions = [...Array.from({ length: 48 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => 48 + i * 29)];
  let refused = 0;
  for (const at of positions.filter((p) => p < pkcs8.length))
    for (const value of [0x00, 0xff, pkcs8[at]! ^ 0x01]) {
      const damaged = Buffer.from(pkcs8);
      damaged[at] = value;
      const expected = outcome(() => viaPkcs8(damaged));
      if (expected === 'refused') refused++;
      assert.equal(
        outcome(() => privateKeyFromPkcs8(damaged)),
        expected,
        `byte ${at} = ${value}`,
      );
    }
  assert.ok(refused > 20, 'the damage must make some keys unreadable, or this test proves nothing');
  for (const length of [0, 1, 26, 100, pkcs8.length - 1])
    assert.throws(() => privateKeyFromPkcs8(pkcs8.subarray(0, length)));
});
