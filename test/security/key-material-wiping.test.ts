/**
 * Attack: reading key material out of the server's memory (a core dump, a swap file, a memory disclosure bug).
 * Unwrapping a private key handed its PKCS#8 to the caller, who wipes it after use, but the decipher's own output
 * piece, copied into the returned buffer, stayed in memory unreferenced until something happened to overwrite it.
 *
 * Defence: every intermediate piece of key material the vault's AES-GCM unwrapping produces is wiped before the
 * function returns (or throws); what is returned is the caller's to wipe, and the vault does.
 *
 * What the test proves: node's decipher is observed (a wrapper around createDecipheriv): after open() returns the
 * right plaintext, every buffer the decipher produced is all zeros; and when the tag does not verify, the
 * unauthenticated plaintext it produced is zeroed too.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { after, before, describe, test } from 'node:test';

const produced: Buffer[] = [];
const original = crypto.createDecipheriv;

describe('key material wiping in the vault', () => {
  before(() => {
    // Observe every buffer a decipher hands out; the wrapper changes nothing else.
    crypto.createDecipheriv = ((...args: Parameters<typeof original>) => {
      const d = original(...args);
      const update = d.update.bind(d) as (b: Buffer) => Buffer;
      const final = d.final.bind(d) as () => Buffer;
      Object.assign(d, {
        update: (b: Buffer) => {
          const out = update(b);
          produced.push(out);
          return out;
        },
        final: () => {
          const out = final();
          produced.push(out);
          return out;
        },
      });
      return d;
    }) as typeof original;
    syncBuiltinESMExports();
  });
  after(() => {
    crypto.createDecipheriv = original;
    syncBuiltinESMExports();
  });

  test('open() leaves no piece of the plaintext behind, on success and on a failed tag', async () => {
    const { open, seal } = await import('../../backend/src/vault/wrap.ts');
    const key = randomBytes(32);
    const secret = Buffer.concat([Buffer.from('PKCS#8 stand-in '), randomBytes(200)]);
    const aad = Buffer.from('aad');
    const { iv, ciphertext } = seal(key, secret, aad);

    produced.length = 0;
    const out = open(key, iv, ciphertext, aad);
    assert.deepEqual(out, secret);
    assert.ok(produced.length > 0, 'the decipher was observed');
    assert.ok(
      produced.some((b) => b.length > 0),
      'it produced plaintext',
    );
    for (const b of produced)
      assert.ok(
        b.every((x) => x === 0),
        'an intermediate piece still holds key material',
      );

    produced.length = 0;
    const tampered = Buffer.from(ciphertext);
    tampered[tampered.length - 1]! ^= 1;
    assert.throws(() => open(key, iv, tampered, aad), { name: 'UnwrapError' });
    for (const b of produced)
      assert.ok(
        b.every((x) => x === 0),
        'unauthenticated plaintext was left in memory',
      );
    out.fill(0);
  });
});
