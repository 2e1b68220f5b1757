/**
 * Attack (found by test/security/cross-user-access.test.ts, once in a few hundred runs): a message encrypted to
 * someone else read as `decrypted`, showing random bytes. When no RecipientInfo names one of the reader's
 * certificates, the engine tries the reader's keys by trial (some senders write wrong identifiers). RSA PKCS #1 v1.5
 * decryption rejects implicitly: a wrong key yields a pseudo-random content key, not an error, and AES-CBC accepts the
 * random plaintext whenever its last byte is valid padding, about once in 256 tries.
 *
 * Defence (cms/enveloped/decrypt.ts decryptByTrial): a trial that rests on PKCS #1 v1.5 and an unauthenticated
 * cipher counts only when the plaintext starts with a MIME header section, as S/MIME content always does
 * (cms/enveloped/entity-shape.ts). The first defence looked at the first field name only (random bytes passed about
 * 1 in 450): this test saw one `decrypted` in a CI run at stop 25; the header section is now checked to its end.
 *
 * What the test proves: 600 messages encrypted (PKCS #1 v1.5, AES-CBC) to Alice only, each read with Bob's key,
 * are all `no-key` (without the defence, about 90% of runs saw at least one `decrypted`); a message whose RecipientInfo
 * names another certificate of the right key still opens by trial.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { decryptEnvelope, encryptEnvelope, type DecryptionKey } from '../../backend/src/smime/cms/enveloped/index.ts';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12/pkcs12.ts';
import { FIXTURES } from '../helpers/paths.ts';

const load = async (name: string) => parsePkcs12(readFileSync(`${FIXTURES}corpus/${name}.p12`), 'nss');
const keyOf = (p: { privateKey: Uint8Array }) =>
  createPrivateKey({ key: Buffer.from(p.privateKey), format: 'der', type: 'pkcs8' });
const CONTENT = Buffer.from('Content-Type: text/plain\r\n\r\nfor alice only\r\n');

test(
  'messages for someone else never read as decrypted by trial (PKCS #1 v1.5, AES-CBC)',
  { timeout: 120_000 },
  async () => {
    const alice = await load('Alice');
    const bob = await load('Bob');
    const bobKey: DecryptionKey = { keyId: 'bob', certificate: bob.certificate, privateKey: keyOf(bob) };
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const der = await encryptEnvelope(CONTENT, [{ certificate: alice.certificate, keyTransport: 'rsa-pkcs1' }], {
        cipher: 'aes-128-cbc',
      });
      const out = await decryptEnvelope(der, [bobKey]);
      outcomes.set(out.status, (outcomes.get(out.status) ?? 0) + 1);
    }
    assert.deepEqual([...outcomes], [['no-key', 600]]);
  },
);

test("the right key under another certificate's name still opens by trial", { timeout: 30_000 }, async () => {
  const alice = await load('Alice');
  const bob = await load('Bob');
  const der = await encryptEnvelope(CONTENT, [{ certificate: alice.certificate, keyTransport: 'rsa-pkcs1' }], {
    cipher: 'aes-256-cbc',
  });
  // Alice's key, labelled with Bob's certificate: no RecipientInfo names it, the key fits.
  const out = await decryptEnvelope(der, [
    { keyId: 'mislabelled', certificate: bob.certificate, privateKey: keyOf(alice) },
  ]);
  assert.equal(out.status, 'decrypted');
  assert.ok(out.status === 'decrypted' && Buffer.from(out.content).toString().includes('for alice only'));
});
