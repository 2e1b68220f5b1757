/**
 * Attack: planting a key. Whoever holds a user's host token (a malicious host script, a stolen session) imports a
 * PKCS#12 of their own for a user whose only key was placed by IT and not yet taken over. The import took the
 * passphrase it was given as the user's new one: the planted key became the signing default, received every
 * encrypt-to-self copy (the attacker holds its private key), and the user's own passphrase change then failed.
 *
 * Defence: a self-service import needs proof of the user's passphrase whenever the user has any key; while only keys
 * IT placed exist there is no passphrase of the user's own to prove, so the import is refused
 * (PASSPHRASE_CHANGE_REQUIRED) until the user has taken over IT's key.
 *
 * What the test proves: the token-only import is refused and leaves the user's keys as they were; after the user
 * takes over IT's key, an import needs that passphrase (a wrong one is refused and counted) and works with it.
 * Runs on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { adminClient, b64, corpusP12 } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const BOB = 'bob@example.com';

for (const target of await databaseTargets()) {
  describe(`key planting on ${target.name}`, { timeout: 120_000 }, () => {
    let srv: TestServer;
    let drop: () => Promise<void>;
    let bob: Client;
    before(async () => {
      const opened = await target.open();
      drop = opened.drop;
      srv = await startServer(opened.db);
      // IT places Bob's key; Bob has not taken it over yet.
      const placed = await adminClient(srv).request('POST', `/api/v1/admin/users/${BOB}/keys`, {
        json: { p12: b64(corpusP12('Bob.p12')), password: 'nss' },
      });
      assert.equal(placed.status, 201, placed.text);
      bob = new Client(srv.url, await srv.token(BOB));
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    // The attacker's key: one whose certificate names an address of Bob's (here Eve's key, her address made an
    // alias of Bob's, standing for any certificate the attacker got for one of Bob's addresses).
    const planted = () =>
      bob.request('POST', '/api/v1/keys', {
        json: { p12: b64(corpusP12('Eve.p12')), password: 'nss', passphrase: 'attacker chosen passphrase' },
      });

    test('with only an IT-placed key, a token-only import is refused and changes nothing', async () => {
      const alias = await adminClient(srv).request('POST', `/api/v1/admin/users/${BOB}/aliases`, {
        json: { alias: 'eve@example.net' },
      });
      assert.equal(alias.status, 201, alias.text);
      const before = (await bob.request('GET', '/api/v1/keys')).body.keys;
      const r = await planted();
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, 'PASSPHRASE_CHANGE_REQUIRED');
      assert.deepEqual((await bob.request('GET', '/api/v1/keys')).body.keys, before);
      // Bob can still take over his key with the passphrase IT gave him.
      const ch = await bob.request('POST', '/api/v1/session/passphrase', {
        json: { currentPassphrase: 'nss', newPassphrase: 'bob chose this one' },
      });
      assert.equal(ch.status, 200, ch.text);
    });

    test('once Bob has his passphrase, an import needs it', async () => {
      const wrong = await planted();
      assert.equal(wrong.status, 403, wrong.text);
      assert.equal(wrong.body.error.code, 'WRONG_PASSPHRASE');
      const right = await bob.request('POST', '/api/v1/keys', {
        json: { p12: b64(corpusP12('Eve.p12')), password: 'nss', passphrase: 'bob chose this one' },
      });
      assert.equal(right.status, 201, right.text);
    });
  });
}
