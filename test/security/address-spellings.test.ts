/**
 * Attack: one person, two spellings; or two people, one spelling. The token verifier lowercased subjects with
 * JavaScript's toLowerCase, which maps the Kelvin sign (U+212A) to an ASCII k: a host account spelled
 * "\u212Aaren@example.com" reached karen@example.com's keys. Elsewhere addresses were compared in other forms (the
 * domain of a Unicode address in IDNA form in mail, as written in tokens and user rows), so one person could end up
 * as two users.
 *
 * Defence: one documented normalisation (mime/address.ts canonicalAddress) everywhere an address identifies someone:
 * token subjects, user and alias rows (and so the admin routes and the CLI), certificate addresses, senders,
 * recipients and directory entries. Case and the IDNA form of the domain do not matter; a spelling with Unicode
 * compatibility characters (Kelvin sign, fullwidth letters) is refused, never merged into someone else's.
 *
 * What the test proves: a Kelvin-sign or fullwidth subject gets 401 and reaches none of karen's data; KAREN@EXAMPLE.COM
 * is karen; a key IT placed for alice@xn--bcher-kva.example belongs to the user whose token says alice@bücher.example.
 * Runs on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { adminClient, b64, corpusP12 } from './world.ts';
import { SignJWT } from 'jose';
import { TEST_JWT_SECRET } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';

/** A token for any subject, as a host would sign it (issueUserToken would normalise it first). */
async function tokenFor(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience('smime')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

for (const target of await databaseTargets()) {
  describe(`address spellings on ${target.name}`, { timeout: 120_000 }, () => {
    let srv: TestServer;
    let drop: () => Promise<void>;
    before(async () => {
      const opened = await target.open();
      drop = opened.drop;
      srv = await startServer(opened.db);
      // Karen's key, placed by IT (Bob's corpus key, her address an alias for it).
      const admin = adminClient(srv);
      await admin.request('POST', '/api/v1/admin/users/karen@example.com/aliases', {
        json: { alias: 'bob@example.com' },
      });
      const placed = await admin.request('POST', '/api/v1/admin/users/karen@example.com/keys', {
        json: { p12: b64(corpusP12('Bob.p12')), password: 'nss' },
      });
      assert.equal(placed.status, 201, placed.text);
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    const me = async (sub: string) => new Client(srv.url, await tokenFor(sub)).request('GET', '/api/v1/me');

    test("a compatibility spelling of karen's address reaches nothing of hers", async () => {
      for (const sub of ['\u212Aaren@example.com', 'ｋaren@example.com', 'karen@ｅxample.com']) {
        const r = await me(sub);
        assert.equal(r.status, 401, `${sub}: ${r.text}`);
        assert.equal(r.body.error.code, 'UNAUTHENTICATED');
      }
    });

    test('case does not make another user', async () => {
      const a = await me('karen@example.com');
      const b = await me(' KAREN@Example.COM ');
      assert.equal(a.status, 200);
      assert.equal(b.status, 200, b.text);
      assert.equal(b.body.email, 'karen@example.com');
      assert.equal(b.body.keys, 1);
    });

    test('the IDNA and the Unicode form of a domain are one user', async () => {
      const placed = await adminClient(srv).request(
        'POST',
        `/api/v1/admin/users/${encodeURIComponent('alice@xn--bcher-kva.example')}/aliases`,
        {
          json: { alias: 'alice@example.com' },
        },
      );
      assert.equal(placed.status, 201, placed.text);
      const key = await adminClient(srv).request(
        'POST',
        `/api/v1/admin/users/${encodeURIComponent('alice@xn--bcher-kva.example')}/keys`,
        {
          json: { p12: b64(corpusP12('Alice.p12')), password: 'nss' },
        },
      );
      assert.equal(key.status, 201, key.text);
      const r = await me('alice@bücher.example');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.email, 'alice@xn--bcher-kva.example');
      assert.equal(r.body.keys, 1);
    });
  });
}
