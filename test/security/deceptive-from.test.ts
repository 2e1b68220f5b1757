/**
 * Attack: a From header that a reader reads as one person and a verifier as another. `<ceo@example.com:alice@...>`
 * (an obsolete source route) and `ceo@example.com <alice@...>` (a display name that is an address) both named alice
 * to the parser, so alice could sign such a message and a reader was shown "signed, valid" under what their mail
 * client displays as the CEO's address. A From with two addresses passed when either matched the signer.
 *
 * Defence: one rule for a sender (mime/address.ts plainSender): exactly one mailbox, not in a group, no source
 * route, no display name that reads as another address. Sending: anything else is refused (422 FROM_NOT_PLAIN)
 * before a key is touched. Reading: anything else makes the email check fail for every signer (email-mismatch),
 * never valid.
 *
 * What the test proves: alice cannot sign any of the deceptive forms, and can sign a plain one; a message alice
 * signed, whose From is then rewritten into each deceptive form, reads as email-mismatch, while the untouched one
 * reads as valid. Runs on PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { CORPUS_CA, placeKey, read, send, startServerTrusting, unlockHeader } from './world.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';
const DECEPTIVE = [
  '<ceo@example.com:alice@example.com>',
  'ceo@example.com <alice@example.com>',
  '"ceo@example.com" <alice@example.com>',
  'alice@example.com, ceo@example.com',
  'Board: alice@example.com;',
];

const message = (from: string) =>
  Buffer.from(
    `From: ${from}\r\nTo: bob@example.com\r\nSubject: wire the money\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease wire 50,000 today.\r\n`,
  );

const [pglite] = await databaseTargets();

describe('deceptive From headers', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let close: () => Promise<void>;
  let alice: Client;
  let unlock: string;
  before(async () => {
    ({ srv, close } = await startServerTrusting(pglite!, [CORPUS_CA]));
    alice = await placeKey(srv, ALICE, 'Alice.p12', PASS);
    unlock = await unlockHeader(alice, PASS);
  });
  after(async () => {
    await close?.();
  });

  test('alice cannot sign a message whose From reads as someone else (422 FROM_NOT_PLAIN)', async () => {
    for (const from of DECEPTIVE) {
      const r = await send(alice, 'sign=true', message(from), { 'x-smime-unlock': unlock });
      assert.equal(r.status, 422, `${from}: ${r.text}`);
      assert.equal(JSON.parse(r.text).error.code, 'FROM_NOT_PLAIN', from);
    }
    const plain = await send(alice, 'sign=true', message(`Alice <${ALICE}>`), { 'x-smime-unlock': unlock });
    assert.equal(plain.status, 200, plain.text);
  });

  test('her signed message with its From rewritten reads as email-mismatch, never valid', async () => {
    const signed = await send(alice, 'sign=true', message(ALICE), { 'x-smime-unlock': unlock });
    assert.equal(signed.status, 200, signed.text);
    const original = signed.text;
    const status = async (raw: string) => {
      const r = await read(alice, raw);
      assert.equal(r.status, 200, r.text);
      return r.body.layers.map((l: { status: string }) => l.status);
    };
    assert.deepEqual(await status(original), ['valid']);
    for (const from of DECEPTIVE) {
      const rewritten = original.replace(/^From: .*$/m, `From: ${from}`);
      assert.notEqual(rewritten, original);
      assert.deepEqual(await status(rewritten), ['email-mismatch'], from);
    }
  });
});
