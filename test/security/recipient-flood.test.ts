/**
 * Attack: amplification through recipients. One request with hundreds of Bcc recipients makes the server produce a
 * whole protected copy per recipient: 990 Bcc once turned a 125 KB message into a 199 MB answer, and a 335 KB one
 * into an answer too large to serialise, a 500 that was logged as 200 with no error line.
 *
 * Defence: SMIME_MAX_RECIPIENTS (default 500, as Exchange Online and most mail servers cap it) before any work, and
 * SMIME_MAX_OUTPUT_BYTES on what one request may produce, estimated before the work and counted while copies are
 * made; JSON answers are serialised inside the error handler, so a failure there is logged and answered honestly.
 *
 * What the test proves: 990 Bcc answer 413 TOO_MANY_RECIPIENTS; under the recipient cap, a message whose copies
 * would pass the output cap answers 413 OUTPUT_TOO_LARGE before any certificate is looked up (the Bcc recipients
 * here have none); a normal message with a few Bcc recipients still gets its copies; no error line is logged.
 * Runs on PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { CORPUS_CA, mail, placeKey, read, send as send2, startServerTrusting, unlockHeader } from './world.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';

function message(bcc: string[], bodyBytes: number, to = 'bob@example.com'): Buffer {
  const line = 'x'.repeat(76);
  const body = Array.from({ length: Math.ceil(bodyBytes / 78) }, () => line).join('\r\n');
  return Buffer.from(
    `From: ${ALICE}\r\nTo: ${to}\r\nBcc: ${bcc.join(', ')}\r\nSubject: flood\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=us-ascii\r\n\r\n${body}\r\n`,
  );
}

const [pglite] = await databaseTargets();

describe('recipient flood', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let close: () => Promise<void>;
  let alice: Client;
  let unlock: string;

  before(async () => {
    ({ srv, close } = await startServerTrusting(pglite!, [CORPUS_CA]));
    alice = await placeKey(srv, ALICE, 'Alice.p12', PASS);
    // Alice knows Bob's certificate from a signed message of his.
    const bob = await placeKey(srv, 'bob@example.com', 'Bob.p12', 'bob own passphrase 2');
    const signed = await send2(bob, 'sign=true', mail('bob@example.com', ALICE, 'hi'), {
      'x-smime-unlock': await unlockHeader(bob, 'bob own passphrase 2'),
    });
    assert.equal(signed.status, 200, signed.text);
    assert.equal((await read(alice, Buffer.from(signed.text, 'latin1'))).status, 200);
    unlock = await unlockHeader(alice, PASS);
  });
  after(async () => {
    await close?.();
  });

  const send = (raw: Buffer, query = 'sign=true&encrypt=true') =>
    alice.request('POST', `/api/v1/messages/outgoing?${query}`, {
      body: raw,
      headers: { 'content-type': 'message/rfc822', accept: 'application/json', 'x-smime-unlock': unlock },
    });

  test('990 Bcc recipients: 413 TOO_MANY_RECIPIENTS', async () => {
    const bcc = Array.from({ length: 990 }, (_, i) => `reader${i}@example.org`);
    const r = await send(message(bcc, 125 * 1024));
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.equal(r.body.error.code, 'TOO_MANY_RECIPIENTS');
    assert.equal(r.body.error.recipients, 991);
    assert.equal(r.body.error.limit, 500);
  });

  test('under the recipient cap, copies beyond the output cap: 413 OUTPUT_TOO_LARGE before any work', async () => {
    const bcc = Array.from({ length: 490 }, (_, i) => `reader${i}@example.org`);
    const r = await send(message(bcc, 600 * 1024));
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.equal(r.body.error.code, 'OUTPUT_TOO_LARGE');
    assert.equal(r.body.error.copies, 491);
    assert.ok(r.body.error.estimatedBytes > r.body.error.limit);
  });

  test('a normal message with Bcc recipients still gets a copy each, and nothing was logged as an error', async () => {
    // To alice herself, Bcc bob: the To copy and one for bob.
    const r = await send(message(['bob@example.com'], 4 * 1024, ALICE), 'sign=true&encrypt=true');
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.deepEqual(
      r.body.messages.map((m: { bcc: string | null }) => m.bcc),
      [null, 'bob@example.com'],
    );
    assert.deepEqual(
      srv.logs.filter((l) => /"level":5\d/.test(l)),
      [],
    );
  });
});
