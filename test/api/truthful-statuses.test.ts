/**
 * Truthful statuses (issue 14), through the HTTP API on both databases: what a reader is told about a message must be
 * what is true of it. Each test names the untrue answer it replaces.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { CORPUS_CA, mail, placeKey, read, send, startServerTrusting } from '../security/world.ts';

const BOB = 'bob@example.com';
const TEST_TIMEOUT_MS = 60_000;

for (const target of await databaseTargets()) {
  describe(`truthful statuses on ${target.name}`, { timeout: 10 * TEST_TIMEOUT_MS }, () => {
    let world: { srv: TestServer; close(): Promise<void> };
    let bob: Client;
    before(async () => {
      world = await startServerTrusting(target, [CORPUS_CA]);
      bob = await placeKey(world.srv, BOB, 'Bob.p12', 'a long passphrase of bob');
    });
    after(async () => {
      await world?.close();
    });

    // Before: 200 with no layers, as if it were an unprotected message.
    for (const [name, body] of [
      ['plain text', 'hello, this is not a message\r\nsecond line\r\n'],
      ['binary', '\x00\x01\x02\xff\xfe'],
      ['nothing', ''],
      ['a body with no header', '\r\nonly a body\r\n'],
    ] as const) {
      test(`reading ${name} is answered MIME_NOT_A_MESSAGE (422)`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const r = await read(bob, body);
        assert.equal(r.status, 422, r.text);
        assert.equal(r.body.error.code, 'MIME_NOT_A_MESSAGE');
      });
    }

    test(
      'sending text that is not a message is refused with MIME_NOT_A_MESSAGE',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const r = await send(bob, 'sign=false&encrypt=true', Buffer.from('just text\r\n'));
        assert.equal(r.status, 422, r.text);
        assert.equal(r.body.error.code, 'MIME_NOT_A_MESSAGE');
      },
    );

    test(
      'a message with header fields and no S/MIME is still read as unprotected',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const r = await read(bob, mail('alice@example.com', BOB, 'hello'));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.layers, []);
        assert.equal(r.body.signed, false);
        assert.equal(r.body.encrypted, false);
      },
    );

    // Before: a damaged encrypted message was reported as a malformed *signature*.
    for (const smimeType of ['enveloped-data', 'authEnveloped-data'] as const) {
      test(
        `damaged ${smimeType} is an encrypted layer that failed, not a signature`,
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const raw =
            `From: alice@example.com\r\nTo: ${BOB}\r\nSubject: damaged\r\nMIME-Version: 1.0\r\n` +
            `Content-Type: application/pkcs7-mime; smime-type=${smimeType}; name=smime.p7m\r\n` +
            `Content-Transfer-Encoding: base64\r\n\r\nTUlNRSBidXQgbm90IENNUw==\r\n`;
          const r = await read(bob, raw);
          assert.equal(r.status, 200, r.text);
          assert.equal(r.body.layers.length, 1);
          const [layer] = r.body.layers;
          assert.equal(layer.kind, 'encrypted');
          assert.equal(layer.format, smimeType === 'enveloped-data' ? 'enveloped' : 'auth-enveloped');
          assert.equal(layer.status, 'failed');
          assert.equal(r.body.signed, false);
          assert.equal(r.body.encrypted, true);
        },
      );
    }

    test('damaged signed-data is still a malformed signature', { timeout: TEST_TIMEOUT_MS }, async () => {
      const raw =
        `From: alice@example.com\r\nTo: ${BOB}\r\nSubject: damaged\r\nMIME-Version: 1.0\r\n` +
        `Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n` +
        `Content-Transfer-Encoding: base64\r\n\r\nTUlNRSBidXQgbm90IENNUw==\r\n`;
      const r = await read(bob, raw);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.layers[0].kind, 'signed');
      assert.equal(r.body.layers[0].status, 'malformed');
    });
  });
}
