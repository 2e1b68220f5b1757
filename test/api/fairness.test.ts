/**
 * Fairness under load (issue 6), proved by ordering, never by milliseconds: with every Argon2 slot held and unlocks
 * queued behind it, a user whose keys are already unlocked still signs and decrypts, the queued unlocks hold no
 * database connection while they wait, and they all complete once the slot frees. Then a short concurrent burst of
 * every kind of request gets no error and no 5xx.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const PASS = 'a long passphrase of the user';
const corpus = (f: string) => readFileSync(`${FIXTURES}corpus/${f}`);
/** Bound of the wait for a condition the test brings about (a hang guard, not a timing assertion). */
const WAIT_LIMIT_MS = 60_000;

function mail(from: string, to: string, body: string): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\nSubject: fairness\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n` +
      `Message-ID: <${Math.random().toString(36).slice(2)}@example.com>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=us-ascii\r\n\r\n${body}\r\n`,
  );
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + WAIT_LIMIT_MS;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const target of await databaseTargets()) {
  describe(`fairness under load on ${target.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let srv: TestServer;
    const users: Record<'alice' | 'bob', { client: Client; unlock: string; email: string }> = {} as never;

    before(async () => {
      ({ db, drop } = await target.open());
      // One Argon2 slot, so holding it queues every unlock.
      srv = await startServer(db, { SMIME_TRUST_ANCHORS: `${FIXTURES}corpus/TestCA.pem`, SMIME_ARGON2_CONCURRENCY: 1 });
      for (const [name, file] of [
        ['alice', 'Alice.p12'],
        ['bob', 'Bob.p12'],
      ] as const) {
        const email = `${name}@example.com`;
        const client = new Client(srv.url, await srv.token(email));
        const imported = await client.request('POST', '/api/v1/keys', {
          json: { p12: corpus(file).toString('base64'), password: 'nss', passphrase: PASS },
        });
        assert.equal(imported.status, 201, imported.text);
        const u = await client.request('POST', '/api/v1/session/unlock', {
          json: { passphrase: PASS, delivery: 'header' },
        });
        assert.equal(u.status, 200, u.text);
        users[name] = { client, unlock: u.body.unlockToken, email };
      }
      // Alice learns Bob's certificate from a signed message, so she can encrypt to him.
      const signed = await send('bob', 'sign=true', mail(users.bob.email, users.alice.email, 'hello'));
      assert.equal(signed.status, 200, signed.text);
      const seen = await read('alice', Buffer.from(signed.text, 'latin1'));
      assert.deepEqual(
        seen.body.harvested.map((h: any) => h.outcome),
        ['added'],
      );
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    const send = (who: 'alice' | 'bob', q: string, raw: Buffer) =>
      users[who].client.request('POST', `/api/v1/messages/outgoing?${q}`, {
        body: raw,
        headers: { 'content-type': 'message/rfc822', 'x-smime-unlock': users[who].unlock },
      });
    const read = (who: 'alice' | 'bob', raw: Buffer) =>
      users[who].client.request('POST', '/api/v1/messages/incoming', {
        body: raw,
        headers: { 'content-type': 'message/rfc822', 'x-smime-unlock': users[who].unlock },
      });
    const unlock = (who: 'alice' | 'bob') =>
      users[who].client.request('POST', '/api/v1/session/unlock', { json: { passphrase: PASS, delivery: 'header' } });

    test('queued unlocks hold no connection, and signing and decrypting with unlocked keys do not wait for them', async () => {
      const kdf = srv.services.vault.kdf;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // Take the only Argon2 slot, as a long derivation would.
      const held = kdf.semaphore.run(() => gate);
      try {
        const settled: string[] = [];
        const queued = (['alice', 'bob', 'alice', 'bob'] as const).map((who, i) =>
          unlock(who).then((r) => {
            settled.push(`unlock ${i}`);
            return r;
          }),
        );
        await until('four unlocks queued behind the held slot', () => kdf.queued === 4);
        const stats = db.poolStats?.();
        if (stats) {
          assert.equal(stats.waiting, 0, 'nobody waits for a connection');
          assert.equal(stats.idle, stats.total, `a queued unlock holds a pool connection: ${JSON.stringify(stats)}`);
        }

        const signed = await send(
          'alice',
          'sign=true&encrypt=true',
          mail(users.alice.email, users.bob.email, 'while others unlock'),
        );
        assert.equal(signed.status, 200, signed.text);
        settled.push('sign');
        const opened = await read('bob', Buffer.from(signed.text, 'latin1'));
        assert.equal(opened.status, 200, opened.text);
        assert.deepEqual(
          opened.body.layers.map((l: any) => [l.kind, l.status]),
          [
            ['encrypted', 'decrypted'],
            ['signed', 'valid'],
          ],
        );
        settled.push('decrypt');

        assert.equal(kdf.queued, 4, 'the unlocks are still queued');
        assert.deepEqual(settled, ['sign', 'decrypt'], 'signing and decrypting finished before any queued unlock');

        release();
        const results = await Promise.all(queued);
        assert.deepEqual(
          results.map((r) => r.status),
          [200, 200, 200, 200],
          results.map((r) => r.text).join('\n'),
        );
        assert.equal(kdf.queued, 0);
      } finally {
        release();
        await held;
      }
    });

    test('a short concurrent burst of every kind of request: no error, no 5xx', async () => {
      const message = await send(
        'alice',
        'sign=true&encrypt=true',
        mail(users.alice.email, users.bob.email, 'read me in a burst'),
      );
      assert.equal(message.status, 200, message.text);
      const raw = Buffer.from(message.text, 'latin1');
      const kinds = [
        () => send('alice', 'sign=true&encrypt=true', mail(users.alice.email, users.bob.email, 'burst')),
        () => send('bob', 'sign=true', mail(users.bob.email, users.alice.email, 'burst')),
        () => read('bob', raw),
        () =>
          users.alice.client.request('GET', '/api/v1/session', { headers: { 'x-smime-unlock': users.alice.unlock } }),
        () => users.bob.client.request('GET', '/api/v1/certificates/resolve?email=alice@example.com'),
      ];
      const requests = [
        ...Array.from({ length: 30 }, (_, i) => kinds[i % kinds.length]!()),
        unlock('alice'),
        unlock('bob'),
      ];
      const results = await Promise.all(requests);
      const bad = results.filter((r) => r.status < 200 || r.status >= 300);
      assert.deepEqual(
        bad.map((r) => `${r.status} ${r.text.slice(0, 200)}`),
        [],
      );
      const stats = db.poolStats?.();
      if (stats) assert.equal(stats.waiting, 0);
    });
  });
}
