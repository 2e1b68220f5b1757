/**
 * Attack: online passphrase guessing. Whoever holds a user's token (a stolen browser session, a malicious host
 * script) guesses the passphrase through every route that checks one: unlock, passphrase change, self-service import,
 * adoption of a placed key, key backup (export) and key deletion; sequentially, in parallel to slip between check and update, from a fresh server
 * process to shed in-memory state, and with the right passphrase once blocked to see whether it still gets through.
 *
 * Defence: the throttle lives in the database, per user (one counter for all the user's keys and all routes). Each
 * check first records a failure in its own committed transaction (row locked FOR UPDATE) and clears it on success;
 * after SMIME_THROTTLE_FREE_ATTEMPTS failures each further one blocks the user for a doubling delay up to
 * SMIME_THROTTLE_MAX_DELAY_S, and a blocked attempt is refused (429 THROTTLED, Retry-After) without checking the
 * passphrase at all.
 *
 * What the test proves: exactly the free attempts are checked, in sequence and in parallel; then every route
 * refuses, the right passphrase included, with the same answer as a wrong one; the block holds on another server
 * process; delays double and stop at the cap; another user is unaffected; success resets the count. The clock is
 * moved in the database (blocked_until set to now) instead of sleeping. Runs on PGlite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { adminClient, b64, corpusP12, placeKey } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const EVE = 'eve@example.net';
const BOB = 'bob@example.com';
const PASS = 'eve own passphrase 123';
const BASE = 60;
const MAX = 240;
const FREE = 3;

for (const target of await databaseTargets()) {
  describe(`passphrase brute force on ${target.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let srv: TestServer;
    let eve: Client;
    let bob: Client;
    let pendingId: string;

    const config = {
      SMIME_THROTTLE_FREE_ATTEMPTS: FREE,
      SMIME_THROTTLE_BASE_DELAY_S: BASE,
      SMIME_THROTTLE_MAX_DELAY_S: MAX,
    };
    const state = async (email = EVE) =>
      (
        await db.query<{ failures: number; wait: number }>(
          `SELECT t.failures, COALESCE(EXTRACT(EPOCH FROM (t.blocked_until - now())), 0)::float8 AS wait
             FROM passphrase_throttle t JOIN users u ON u.id = t.user_id WHERE u.email = $1`,
          [email],
        )
      )[0] ?? { failures: 0, wait: 0 };
    /** Move the clock: the current block ends now (the tests never sleep through a delay). */
    const expireBlock = () =>
      db.query(
        'UPDATE passphrase_throttle SET blocked_until = now() WHERE user_id = (SELECT id FROM users WHERE email = $1)',
        [EVE],
      );
    const unlock = (c: Client, passphrase: string) =>
      c.request('POST', '/api/v1/session/unlock', { json: { passphrase } });

    let ownKey: { id: string; fingerprintSha256: string };
    /** Every route that checks a passphrase, as a guess. */
    const guesses: [string, (c: Client, p: string) => ReturnType<Client['request']>][] = [
      ['unlock', (c, p) => unlock(c, p)],
      [
        'passphrase change',
        (c, p) =>
          c.request('POST', '/api/v1/session/passphrase', {
            json: { currentPassphrase: p, newPassphrase: 'attacker chosen 12345' },
          }),
      ],
      [
        'import',
        (c, p) =>
          c.request('POST', '/api/v1/keys', {
            json: { p12: b64(corpusP12('Eve.p12')), password: 'nss', passphrase: p },
          }),
      ],
      [
        'adopt',
        (c, p) => c.request('POST', `/api/v1/keys/${pendingId}/adopt`, { json: { keyPassword: 'nss', passphrase: p } }),
      ],
      [
        'export',
        (c, p) =>
          c.request('POST', `/api/v1/keys/${ownKey.id}/export`, {
            json: { passphrase: p, exportPassword: 'attacker export password' },
          }),
      ],
      [
        'delete',
        (c, p) =>
          c.request('DELETE', `/api/v1/keys/${ownKey.id}?confirm=${ownKey.fingerprintSha256}`, {
            json: { passphrase: p },
          }),
      ],
    ];

    function assertThrottled(r: { status: number; body: any; headers: Headers }, name: string) {
      assert.equal(r.status, 429, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'THROTTLED', name);
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= MAX, `${name}: Retry-After ${retry}`);
      assert.equal(r.body.error.retryAfterSeconds, retry, `${name}: body and header agree`);
    }

    before(async () => {
      ({ db, drop } = await target.open());
      srv = await startServer(db, config);
      eve = await placeKey(srv, EVE, 'Eve.p12', PASS);
      // A second key IT placed for Eve, still pending: the adopt route checks passphrases too.
      const r = await adminClient(srv).request('POST', `/api/v1/admin/users/${EVE}/keys`, {
        json: { p12: b64(corpusP12('Alice-ec.p12')), password: 'nss', force: true },
      });
      assert.equal(r.status, 201, r.text);
      pendingId = r.body.key.id;
      ownKey = (await eve.request('GET', '/api/v1/keys')).body.keys.find((k: { id: string }) => k.id !== pendingId);
      bob = await placeKey(srv, BOB, 'Bob.p12', 'bob own passphrase 22');
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    test('the free attempts are checked one by one, then every route refuses, the right passphrase included', async () => {
      for (let i = 1; i <= FREE; i++) {
        const [name, guess] = guesses[(i - 1) % guesses.length]!;
        const r = await guess(eve, `wrong guess ${i}`);
        assert.equal(r.status, 403, `${name}: ${r.text}`);
        assert.equal(r.body.error.code, 'WRONG_PASSPHRASE', name);
        assert.equal(r.body.error.failures, i, `${name}: one counter across routes and keys`);
      }
      assert.equal((await state()).failures, FREE);
      const wrong = await unlock(eve, 'wrong guess 4');
      assertThrottled(wrong, 'wrong passphrase while blocked');
      const right = await unlock(eve, PASS);
      assertThrottled(right, 'right passphrase while blocked');
      assert.deepEqual(
        { status: right.status, code: right.body.error.code, keys: Object.keys(right.body.error).sort() },
        { status: wrong.status, code: wrong.body.error.code, keys: Object.keys(wrong.body.error).sort() },
        'a blocked guess tells nothing about the passphrase',
      );
      for (const [name, guess] of guesses) assertThrottled(await guess(eve, PASS), name);
      assert.equal((await state()).failures, FREE, 'refused attempts are not checked, so not counted');
      // A fresh token, or a fresh client, changes nothing: the throttle is per user, not per token or connection.
      assertThrottled(await unlock(new Client(srv.url, await srv.token(EVE)), PASS), 'new token');
      // Another user is not affected.
      assert.equal((await unlock(bob, 'bob own passphrase 22')).status, 200);
    });

    test('the block survives a restart: another server process on the same database refuses too', async () => {
      const again = await startServer(db, config);
      try {
        assertThrottled(await unlock(new Client(again.url, await again.token(EVE)), PASS), 'second instance');
      } finally {
        await again.close();
      }
    });

    test('delays double after each further failure and stop at the cap', async () => {
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) {
        await expireBlock();
        const r = await unlock(eve, `wrong again ${i}`);
        assert.equal(r.status, 403, r.text);
        assert.equal(r.body.error.failures, FREE + 1 + i);
        seen.push(r.body.error.retryAfterSeconds);
        assertThrottled(await unlock(eve, PASS), `right passphrase after failure ${FREE + 1 + i}`);
      }
      const expected = [BASE * 2, BASE * 4, MAX, MAX];
      // The block starts when the attempt is registered, before the Argon2 work: the answer says what is left of it.
      seen.forEach((s, i) =>
        assert.ok(s > expected[i]! - 30 && s <= expected[i]!, `delay ${i}: ${s}, expected about ${expected[i]}`),
      );
    });

    test('parallel guesses: each one is counted, and no more than the free attempts are ever checked', async () => {
      await expireBlock();
      assert.equal((await unlock(eve, PASS)).status, 200, 'success resets the count');
      assert.equal((await state()).failures, 0);
      const n = 8;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) => guesses[i % 2]![1](new Client(srv.url, eve.bearer), `parallel ${i}`)),
      );
      const checked = answers.filter((a) => a.status === 403);
      const refused = answers.filter((a) => a.status === 429);
      assert.equal(checked.length, FREE, `checked: ${answers.map((a) => a.status).join(',')}`);
      assert.equal(refused.length, n - FREE);
      for (const r of refused) assert.equal(r.body.error.code, 'THROTTLED');
      // Each answer reports the count when it was written back; the database holds the true total.
      for (const a of checked)
        assert.ok(a.body.error.failures >= 1 && a.body.error.failures <= FREE, JSON.stringify(a.body));
      const s = await state();
      assert.equal(s.failures, FREE);
      assert.ok(s.wait > BASE - 30, `blocked after the last free attempt (${s.wait} s left)`);
      assertThrottled(await unlock(eve, PASS), 'right passphrase after the parallel burst');
    });

    test('every failure and every success is audited; the passphrase itself never is', async () => {
      const rows = await db.query<{ action: string; details: unknown }>(
        `SELECT action, details FROM audit_log WHERE user_email = $1 AND action IN ('unlock.failure', 'passphrase.change_failed') ORDER BY seq`,
        [EVE],
      );
      assert.ok(rows.length >= FREE * 2 + 4, `audited failures: ${rows.length}`);
      const all = JSON.stringify(await db.query('SELECT * FROM audit_log'));
      for (const p of [PASS, 'wrong guess', 'parallel 1']) assert.ok(!all.includes(p), `audit holds ${p}`);
    });
  });
}
