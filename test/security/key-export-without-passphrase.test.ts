/**
 * Attack: taking a user's private key away with what a host script or a stolen browser session holds: the user's
 * token and a live unlock session (cookie or X-Smime-Unlock), but not the passphrase. Or with another user's key id,
 * or a key IT placed that the user never took under their own passphrase.
 *
 * Defence (issue 17): the export route needs the passphrase in the body, checked through the unlock throttle, whatever
 * session is open; keys are looked up under the caller only; a pending key is refused before any passphrase is tried.
 *
 * What the test proves: with an unlocked session (header and cookie) and no passphrase, 400 and no file; with the
 * session and a wrong passphrase, 403 WRONG_PASSPHRASE, counted by the throttle; Bob, even knowing Alice's
 * passphrase, gets the 404 of a missing key for her key id; a pending key answers PASSPHRASE_CHANGE_REQUIRED; no
 * refusal is audited as an export. Runs on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { databaseTargets } from '../helpers/db.ts';
import { placeKey, unlockHeader } from './world.ts';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const PASS_A = 'alice own passphrase 1';
const PASS_B = 'bob own passphrase 22';
const EXPORT_PASSWORD = 'export-password-77';

for (const target of await databaseTargets()) {
  describe(`key export without the passphrase on ${target.name}`, { timeout: 120_000 }, () => {
    let srv: TestServer;
    let drop: () => Promise<void>;
    let alice: Client;
    let bob: Client;
    let aliceKeyId: string;
    let alicePendingId: string;

    before(async () => {
      const opened = await target.open();
      drop = opened.drop;
      srv = await startServer(opened.db, { SMIME_P12_IMPORTS_PER_HOUR: 100_000 });
      alice = await placeKey(srv, ALICE, 'Alice.p12', PASS_A);
      bob = await placeKey(srv, BOB, 'Bob.p12', PASS_B);
      // A second key of Alice's, placed by IT and still pending.
      await placeKey(srv, ALICE, 'Alice-ec.p12', undefined, true);
      const keys = (await alice.request('GET', '/api/v1/keys')).body.keys as {
        id: string;
        mustChangePassphrase: boolean;
      }[];
      aliceKeyId = keys.find((k) => !k.mustChangePassphrase)!.id;
      alicePendingId = keys.find((k) => k.mustChangePassphrase)!.id;
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    const exported = async () =>
      JSON.stringify((await alice.request('GET', '/api/v1/me/audit')).body).includes('"key.exported"');

    test('an unlocked session alone exports nothing', async () => {
      const credential = await unlockHeader(alice, PASS_A);
      // A cookie session too (the browser's delivery).
      assert.equal(
        (await alice.request('POST', '/api/v1/session/unlock', { json: { passphrase: PASS_A } })).status,
        200,
      );
      for (const json of [{ exportPassword: EXPORT_PASSWORD }, { passphrase: '', exportPassword: EXPORT_PASSWORD }]) {
        const r = await alice.request('POST', `/api/v1/keys/${aliceKeyId}/export`, {
          json,
          headers: { 'x-smime-unlock': credential },
        });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.body.error.code, 'BAD_REQUEST');
        assert.doesNotMatch(r.headers.get('content-type') ?? '', /pkcs12/);
      }
      const wrong = await alice.request('POST', `/api/v1/keys/${aliceKeyId}/export`, {
        json: { passphrase: 'a guess at it', exportPassword: EXPORT_PASSWORD },
        headers: { 'x-smime-unlock': credential },
      });
      assert.equal(wrong.status, 403, wrong.text);
      assert.equal(wrong.body.error.code, 'WRONG_PASSPHRASE');
      assert.equal(wrong.body.error.failures, 1, 'counted by the unlock throttle');
      assert.equal(await exported(), false);
    });

    test("another user's key id answers like a missing one, even with its owner's passphrase", async () => {
      const bobCredential = await unlockHeader(bob, PASS_B);
      for (const passphrase of [PASS_A, PASS_B]) {
        const json = { passphrase, exportPassword: EXPORT_PASSWORD };
        const theirs = await bob.request('POST', `/api/v1/keys/${aliceKeyId}/export`, {
          json,
          headers: { 'x-smime-unlock': bobCredential },
        });
        const missing = await bob.request('POST', `/api/v1/keys/${randomUUID()}/export`, { json });
        assert.equal(theirs.status, 404, theirs.text);
        assert.equal(theirs.body.error.code, 'KEY_NOT_FOUND');
        assert.deepEqual(theirs.body, missing.body);
      }
      assert.equal(await exported(), false);
    });

    test('a key IT placed is not exported before the user takes it', async () => {
      const r = await alice.request('POST', `/api/v1/keys/${alicePendingId}/export`, {
        json: { passphrase: 'nss', exportPassword: EXPORT_PASSWORD },
      });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, 'PASSPHRASE_CHANGE_REQUIRED');
      assert.equal(await exported(), false);
    });

    test('sanity: the passphrase does export', async () => {
      const r = await alice.request('POST', `/api/v1/keys/${aliceKeyId}/export`, {
        json: { passphrase: PASS_A, exportPassword: EXPORT_PASSWORD },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('content-type'), 'application/x-pkcs12');
      assert.equal(await exported(), true);
    });
  });
}
