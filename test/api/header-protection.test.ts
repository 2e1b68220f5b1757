/**
 * Header protection through the HTTP API (issue 14, RFC 9788), on both databases: `protectHeaders=true` on
 * POST /messages/outgoing, and `headerProtection` in the answer of POST /messages/incoming, including a Cc added to a
 * replayed copy (RFC 9788 section 10: a reply-all would go to the attacker).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';
import { CORPUS_CA, decodeContent, placeKey, read, send, startServerTrusting } from '../security/world.ts';

const BOB = 'bob@example.com';
const OWN = 'bob chose this passphrase';
const TEST_TIMEOUT_MS = 60_000;
const NO_CORPUS = corpusUnavailable('the header protection API tests (Bob.p12 of the corpus)');

const MESSAGE = Buffer.from(
  [
    `From: Bob <${BOB}>`,
    `To: ${BOB}`,
    'Cc: carol@example.com',
    'Subject: Salary review',
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    'Message-ID: <hp-api@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Numbers inside.',
    '',
  ].join('\r\n'),
);

const subjectOf = (raw: string) => /^Subject: (.*)$/m.exec(raw)?.[1]?.trim();

for (const target of await databaseTargets()) {
  describe(
    `header protection through the API on ${target.name}`,
    { timeout: 5 * TEST_TIMEOUT_MS, skip: NO_CORPUS },
    () => {
      let world: Awaited<ReturnType<typeof startServerTrusting>>;
      let bob: Client;
      before(async () => {
        world = await startServerTrusting(target, [CORPUS_CA]);
        bob = await placeKey(world.srv, BOB, 'Bob.p12', OWN);
        const u = await bob.request('POST', '/api/v1/session/unlock', { json: { passphrase: OWN } });
        assert.equal(u.body.unlocked, true, u.text);
      });
      after(async () => {
        await world?.close();
      });

      test(
        'signed and encrypted with protectHeaders: "[...]" outside, the real Subject read back inside',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          // carol has no certificate: encrypting to her would fail, so she is only in the signed-only message below.
          const toSelf = Buffer.from(MESSAGE.toString('latin1').replace('Cc: carol@example.com\r\n', ''), 'latin1');
          const sent = await send(bob, 'sign=true&encrypt=true&protectHeaders=true', toSelf);
          assert.equal(sent.status, 200, sent.text);
          const wire = sent.text;
          assert.equal(subjectOf(wire), '[...]');
          assert.ok(!wire.includes('Salary review'));

          const r = await read(bob, Buffer.from(sent.text, 'latin1'));
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(
            r.body.layers.map((l: { status: string }) => l.status),
            ['decrypted', 'valid'],
          );
          const hp = r.body.headerProtection;
          assert.equal(hp.mode, 'cipher');
          assert.equal(hp.fields.find((f: { name: string }) => f.name === 'Subject').value, 'Salary review');
          assert.deepEqual(hp.mismatches, []);
          assert.match(decodeContent(r.body), /; hp="?cipher"?\r\n/);

          // The same bytes with a Cc added outside on the way: flagged.
          const replayed = Buffer.from(
            wire.replace(/^To: .*$/m, (to) => `${to}\r\nCc: mallory@example.org`),
            'latin1',
          );
          const again = await read(bob, replayed);
          assert.equal(again.status, 200, again.text);
          assert.deepEqual(again.body.headerProtection.mismatches, [{ field: 'cc', outer: 'mallory@example.org' }]);
        },
      );

      test(
        'signed only with protectHeaders: hp="clear", the Subject stays outside; without it no headerProtection',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const sent = await send(bob, 'sign=true&protectHeaders=true', MESSAGE);
          assert.equal(sent.status, 200, sent.text);
          assert.equal(subjectOf(sent.text), 'Salary review');
          const r = await read(bob, Buffer.from(sent.text, 'latin1'));
          assert.equal(r.body.headerProtection.mode, 'clear');
          assert.deepEqual(r.body.headerProtection.mismatches, []);

          const plain = await send(bob, 'sign=true', MESSAGE);
          assert.equal((await read(bob, Buffer.from(plain.text, 'latin1'))).body.headerProtection, undefined);
        },
      );

      test('protectHeaders=maybe is a 400 with a stable code, not a 500', { timeout: TEST_TIMEOUT_MS }, async () => {
        const bad = await send(bob, 'sign=true&protectHeaders=maybe', MESSAGE);
        assert.equal(bad.status, 400, bad.text);
        assert.equal(typeof bad.body.error.code, 'string');
      });
    },
  );
}
