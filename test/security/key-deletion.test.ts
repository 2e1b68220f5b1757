/**
 * Attack: destroying a user's keys with the host token alone. Deleting a key makes every message encrypted to it
 * unreadable; the route asked for the key's fingerprint as confirmation, and a refusal without it answered with the
 * fingerprint, so a token holder (a malicious host script, a stolen session) deleted any key in two requests.
 *
 * Defence: deleting needs the user: their passphrase (checked and throttled like an unlock) or a live unlock session
 * of theirs, besides the fingerprint, which a refusal no longer gives away.
 *
 * What the test proves: without confirmation the answer names no fingerprint; with the fingerprint but only the
 * token the key stays (403 LOCKED); a wrong passphrase is refused and counted (WRONG_PASSPHRASE); the right
 * passphrase deletes, and so does an unlocked session. Runs on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { adminClient, b64, corpusP12, placeKey, unlockHeader } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';

for (const target of await databaseTargets()) {
  describe(`key deletion on ${target.name}`, { timeout: 120_000 }, () => {
    let srv: TestServer;
    let drop: () => Promise<void>;
    let alice: Client;
    let keys: { id: string; fingerprintSha256: string }[];
    before(async () => {
      const opened = await target.open();
      drop = opened.drop;
      srv = await startServer(opened.db);
      alice = await placeKey(srv, ALICE, 'Alice.p12', PASS);
      // A second key of hers (an EC one, under an alias), so there is something left to delete it with.
      await adminClient(srv).request('POST', `/api/v1/admin/users/${ALICE}/aliases`, {
        json: { alias: 'alice-ec@example.com' },
      });
      const imported = await alice.request('POST', '/api/v1/keys', {
        json: { p12: b64(corpusP12('Alice-ec.p12')), password: 'nss', passphrase: PASS },
      });
      assert.equal(imported.status, 201, imported.text);
      keys = (await alice.request('GET', '/api/v1/keys')).body.keys;
      assert.equal(keys.length, 2);
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    const del = (
      k: { id: string; fingerprintSha256: string },
      opts: { confirm?: boolean; json?: unknown; headers?: Record<string, string> } = {},
    ) =>
      alice.request(
        'DELETE',
        `/api/v1/keys/${k.id}${opts.confirm === false ? '' : `?confirm=${k.fingerprintSha256}`}`,
        {
          ...(opts.json !== undefined ? { json: opts.json } : {}),
          headers: opts.headers ?? {},
        },
      );

    test('a refusal never gives away the fingerprint it asks for', async () => {
      const r = await del(keys[0]!, { confirm: false });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'CONFIRMATION_REQUIRED');
      for (const k of keys) assert.ok(!r.text.includes(k.fingerprintSha256), 'no fingerprint in the refusal');
    });

    test('the token and the fingerprint alone delete nothing', async () => {
      const r = await del(keys[1]!);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.body.error.code, 'LOCKED');
      assert.equal((await alice.request('GET', '/api/v1/keys')).body.keys.length, 2);
    });

    test('a wrong passphrase is refused and counted; the right one deletes', async () => {
      const wrong = await del(keys[1]!, { json: { passphrase: 'not her passphrase' } });
      assert.equal(wrong.status, 403, wrong.text);
      assert.equal(wrong.body.error.code, 'WRONG_PASSPHRASE');
      assert.equal(wrong.body.error.failures, 1);
      const right = await del(keys[1]!, { json: { passphrase: PASS } });
      assert.equal(right.status, 200, right.text);
      assert.equal((await alice.request('GET', '/api/v1/keys')).body.keys.length, 1);
    });

    test('an unlocked session of hers is proof enough', async () => {
      const unlock = await unlockHeader(alice, PASS);
      const r = await del(keys[0]!, { headers: { 'x-smime-unlock': unlock } });
      assert.equal(r.status, 200, r.text);
      assert.equal((await alice.request('GET', '/api/v1/keys')).body.keys.length, 0);
    });
  });
}
