/**
 * Attack: cross-user access (broken object-level authorisation). Bob, a legitimate user with his own token and his
 * own unlock session, tries to reach Alice's keys, unlock session, certificates, messages and audit trail through
 * every route the server mounts: by id in the path, by Alice's unlock credential in the X-Smime-Unlock header or in
 * a cookie (under his cookie name and under hers), and with Alice's passphrase. A user token is tried on every admin
 * route and the admin token on every user route.
 *
 * Defence: every user route takes the user from the verified token only and scopes every query by that user's id;
 * unlock sessions are bound to their user (row and AES-GCM associated data); another user's object answers exactly
 * like a missing one; admin and user credentials are checked by separate middleware and do not stand in for each other.
 *
 * What the test proves: the routes are enumerated from the running Koa app (and from every routes.ts under
 * backend/src/api plus the demo's), and each must have a case below, so a new route without a cross-user case fails
 * this test. Each case asserts the attack fails AND that Alice's data is unchanged, next to a sanity check that the
 * same request by Alice does reach it (so the probe could see a leak). Runs on PGlite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Router from '@koa/router';
import { createApp } from '../../backend/src/api/app.ts';
import type { Services } from '../../backend/src/api/context.ts';
import { unlockCookieName } from '../../backend/src/api/session/routes.ts';
import { demoRouters, type DemoHost } from '../../backend/src/demo/entry.ts';
import { insertDemoUser } from '../../backend/src/demo/store.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { startDemoTestServer, type DemoTestServer } from '../helpers/demo.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { b64, CORPUS_CA, corpusP12, mail, placeKey, read, send, thunderbird, unlockHeader } from './world.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const DAVE = 'dave@example.com';
const PASS_A = 'alice own passphrase 1';
const PASS_B = 'bob own passphrase 22';
const SECRET_A = 'alice-only-secret-7f3a';

type Kind = 'user' | 'admin' | 'public' | 'demo-mailbox';
interface RouteCase {
  kind: Kind;
  /** A concrete request for the generic credential checks. */
  request: () => { method: string; path: string; json?: unknown };
  /** Bob's attack on Alice's data through this route, with its assertions. */
  attack: () => Promise<void>;
}

/** "METHOD /path" of every route the app mounts (HEAD is implied by GET; a route for every method is ALL). */
function mountedRoutes(routers: Router[]): Set<string> {
  const out = new Set<string>();
  for (const router of routers)
    for (const layer of router.stack) {
      const methods = layer.methods.filter((m) => m !== 'HEAD');
      if (methods.length === 0) continue; // router.use() middleware
      out.add(`${methods.length > 3 ? 'ALL' : methods.join(',')} ${layer.path}`);
    }
  return out;
}

/** The app as main.ts builds it in demo mode: the product's routers and the demo's (issue 12: wired in by demo/entry.ts). */
function appRouters(s: Services, demo: DemoHost): Router[] {
  return (createApp(s, demoRouters(s, demo)).middleware as { router?: Router }[]).flatMap((m) =>
    m.router ? [m.router] : [],
  );
}

/** Every routes.ts under backend/src/api, and the demo's: each exported `...Routes(services)` router. */
async function sourceRouters(s: Services, demo: DemoHost): Promise<{ file: string; router: Router }[]> {
  const files: string[] = [join(REPO_ROOT, 'backend/src/demo/routes.ts')];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === 'routes.ts') files.push(p);
    }
  };
  walk(join(REPO_ROOT, 'backend/src/api'));
  const out: { file: string; router: Router }[] = [];
  for (const file of files) {
    const mod = (await import(file)) as Record<string, unknown>;
    const fns = Object.entries(mod).filter(([name, v]) => /Routes$/.test(name) && typeof v === 'function');
    assert.ok(fns.length > 0, `${file} exports no ...Routes function`);
    for (const [, fn] of fns) out.push({ file, router: (fn as (s: Services, demo: DemoHost) => Router)(s, demo) });
  }
  return out;
}

// Alice harvests Dave's certificate from a corpus message in the setup.
const NO_CORPUS = corpusUnavailable();

for (const target of await databaseTargets()) {
  describe(`cross-user access on ${target.name}`, { skip: NO_CORPUS }, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let srv: DemoTestServer;
    let alice: Client;
    let bob: Client;
    let aCred: string; // Alice's unlock credential (header delivery)
    let bCred: string;
    let aliceKeyId: string;
    let aliceFingerprint: string;
    let alicePendingId: string;
    let aliceCertId: string; // a certificate Alice harvested
    let aliceDemoIds: string[];
    let encryptedToAlice: Buffer;
    let aliceWraps: string;
    const cases: Record<string, RouteCase> = {};

    const asBob = (method: string, path: string, opts: Parameters<Client['request']>[2] = {}) =>
      bob.request(method, path, opts);
    const viaHeader = { 'x-smime-unlock': '' };
    const credentialVariants = (): { name: string; headers: Record<string, string> }[] => [
      { name: 'header', headers: { 'x-smime-unlock': aCred } },
      { name: "cookie under Bob's name", headers: { cookie: `${unlockCookieName({ email: BOB })}=${aCred}` } },
      { name: "cookie under Alice's name", headers: { cookie: `${unlockCookieName({ email: ALICE })}=${aCred}` } },
    ];
    const notFoundLikeMissing = async (
      method: string,
      path: (id: string) => string,
      aliceId: string,
      code: string,
      json?: unknown,
    ) => {
      const theirs = await asBob(method, path(aliceId), { json, headers: { 'x-smime-unlock': aCred } });
      const missing = await asBob(method, path(randomUUID()), { json });
      assert.equal(theirs.status, 404, `${method} ${path(aliceId)}: ${theirs.text}`);
      assert.equal(theirs.body.error.code, code);
      assert.deepEqual(
        { status: theirs.status, body: theirs.body },
        { status: missing.status, body: missing.body },
        'same answer as a missing id',
      );
    };
    /** Alice's wrapped keys and session rows, to prove an attack changed nothing. */
    const aliceState = async () =>
      JSON.stringify(
        await db.query(
          `SELECT k.id, encode(k.wrapped_key, 'hex') AS w, k.is_default, k.must_change_passphrase
             FROM private_keys k JOIN users u ON u.id = k.user_id WHERE u.email = $1 ORDER BY k.id`,
          [ALICE],
        ),
      );
    const aliceUnlocked = async () =>
      (await alice.request('GET', '/api/v1/session', { headers: { 'x-smime-unlock': aCred } })).body
        .unlocked as boolean;

    before(async () => {
      ({ db, drop } = await target.open());
      srv = await startDemoTestServer(db, { SMIME_TRUST_ANCHORS: CORPUS_CA });
      alice = await placeKey(srv, ALICE, 'Alice.p12', PASS_A);
      bob = await placeKey(srv, BOB, 'Bob.p12', PASS_B);
      // A second key for Alice, placed by IT and still pending (for the adopt route).
      await placeKey(srv, ALICE, 'Alice-ec.p12', undefined, true);
      const keys = (await alice.request('GET', '/api/v1/keys')).body.keys as {
        id: string;
        fingerprintSha256: string;
        mustChangePassphrase: boolean;
      }[];
      const own = keys.find((k) => !k.mustChangePassphrase)!;
      aliceKeyId = own.id;
      aliceFingerprint = own.fingerprintSha256;
      alicePendingId = keys.find((k) => k.mustChangePassphrase)!.id;
      aCred = await unlockHeader(alice, PASS_A);
      bCred = await unlockHeader(bob, PASS_B);
      viaHeader['x-smime-unlock'] = bCred;
      // Alice harvests Dave's certificate from a corpus message Dave signed.
      const h = await read(
        alice,
        thunderbird('mailnews-test-data-smime/alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml'),
      );
      assert.ok(h.body.harvested.length > 0, h.text);
      aliceCertId = (await alice.request('GET', '/api/v1/certificates?source=exchanged')).body.certificates[0].id;
      // A message encrypted to Alice only.
      const enc = await send(alice, 'encrypt=true', mail(ALICE, ALICE, SECRET_A));
      assert.equal(enc.status, 200, enc.text);
      encryptedToAlice = Buffer.from(enc.text, 'latin1');
      // Both are demo users; Alice writes to herself (inbox and sent copies).
      await insertDemoUser(db, { email: ALICE, display_name: 'Alice', position: 1 });
      await insertDemoUser(db, { email: BOB, display_name: 'Bob', position: 2 });
      const d = await alice.request('POST', '/demo/api/messages', {
        json: { messages: [{ bcc: null, message: b64(mail(ALICE, ALICE, SECRET_A)) }] },
      });
      assert.equal(d.status, 201, d.text);
      aliceDemoIds = (await db.query<{ id: string }>('SELECT id FROM demo_messages WHERE owner = $1', [ALICE])).map(
        (r) => r.id,
      );
      assert.equal(aliceDemoIds.length, 2);
      aliceWraps = await aliceState();
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    // ---- the case table: one entry per mounted route ------------------------------------------------------------

    cases['GET /api/v1/session'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: '/api/v1/session' }),
      async attack() {
        for (const v of credentialVariants()) {
          const r = await asBob('GET', '/api/v1/session', { headers: v.headers });
          assert.equal(r.status, 200);
          assert.equal(r.body.unlocked, false, `Alice's credential (${v.name}) does not unlock Bob's view`);
          assert.deepEqual(r.body.unlockedKeyIds, []);
        }
        const own = await asBob('GET', '/api/v1/session', { headers: viaHeader });
        assert.equal(own.body.unlocked, true);
        assert.ok(!own.body.unlockedKeyIds.includes(aliceKeyId));
        assert.equal(await aliceUnlocked(), true);
      },
    };
    cases['POST /api/v1/session/unlock'] = {
      kind: 'user',
      request: () => ({ method: 'POST', path: '/api/v1/session/unlock', json: { passphrase: 'x' } }),
      async attack() {
        const r = await asBob('POST', '/api/v1/session/unlock', { json: { passphrase: PASS_A, delivery: 'header' } });
        assert.equal(r.status, 403, "Alice's passphrase opens none of Bob's keys and none of hers for him");
        assert.equal(r.body.error.code, 'WRONG_PASSPHRASE');
        const [t] = await db.query<{ failures: number }>(
          'SELECT t.failures FROM passphrase_throttle t JOIN users u ON u.id = t.user_id WHERE u.email = $1',
          [ALICE],
        );
        assert.equal(t?.failures ?? 0, 0, "Bob's failure is not counted against Alice");
        const ok = await asBob('POST', '/api/v1/session/unlock', { json: { passphrase: PASS_B, delivery: 'header' } });
        assert.equal(ok.status, 200);
        assert.ok(!ok.body.unlockedKeyIds.includes(aliceKeyId) && !ok.body.lockedKeyIds.includes(aliceKeyId));
      },
    };
    cases['DELETE /api/v1/session/unlock'] = {
      kind: 'user',
      request: () => ({ method: 'DELETE', path: '/api/v1/session/unlock' }),
      async attack() {
        for (const v of credentialVariants()) {
          const r = await asBob('DELETE', '/api/v1/session/unlock', { headers: v.headers });
          assert.equal(r.status, 200);
          assert.equal(r.body.sessionsLocked, 0, `Alice's session is not Bob's to lock (${v.name})`);
        }
        const all = await asBob('DELETE', '/api/v1/session/unlock?all=true', { headers: { 'x-smime-unlock': aCred } });
        assert.ok(all.body.sessionsLocked >= 1, "Bob's own sessions end");
        assert.equal(await aliceUnlocked(), true, "?all=true ends Bob's sessions only");
        bCred = await unlockHeader(bob, PASS_B);
        viaHeader['x-smime-unlock'] = bCred;
      },
    };
    cases['ALL /api/v1/session'] = {
      kind: 'user',
      request: () => ({ method: 'PUT', path: '/api/v1/session' }),
      async attack() {
        const r = await asBob('PATCH', '/api/v1/session', { headers: { 'x-smime-unlock': aCred } });
        assert.equal(r.status, 405);
        assert.equal(r.body.error.code, 'METHOD_NOT_ALLOWED');
        assert.equal(await aliceUnlocked(), true);
      },
    };
    cases['POST /api/v1/session/passphrase'] = {
      kind: 'user',
      request: () => ({
        method: 'POST',
        path: '/api/v1/session/passphrase',
        json: { currentPassphrase: 'x', newPassphrase: 'y' },
      }),
      async attack() {
        const r = await asBob('POST', '/api/v1/session/passphrase', {
          json: { currentPassphrase: PASS_A, newPassphrase: 'chosen by mallory 123' },
          headers: { 'x-smime-unlock': aCred },
        });
        assert.equal(r.status, 403);
        assert.equal(r.body.error.code, 'WRONG_PASSPHRASE');
        assert.equal(await aliceState(), aliceWraps, "Alice's keys are not re-wrapped");
        await unlockHeader(bob, PASS_B); // clears Bob's failure count
      },
    };
    cases['GET /api/v1/keys'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: '/api/v1/keys' }),
      async attack() {
        const r = await asBob('GET', '/api/v1/keys', { headers: { 'x-smime-unlock': aCred } });
        assert.equal(r.status, 200);
        assert.equal(r.body.keys.length, 1);
        assert.ok(
          r.body.keys.every(
            (k: { id: string; emails: string[] }) =>
              k.id !== aliceKeyId && k.id !== alicePendingId && !k.emails.includes(ALICE),
          ),
        );
        assert.equal((await alice.request('GET', '/api/v1/keys')).body.keys.length, 2, 'sanity: Alice sees hers');
      },
    };
    cases['POST /api/v1/keys'] = {
      kind: 'user',
      request: () => ({ method: 'POST', path: '/api/v1/keys', json: { p12: 'AAAA', password: 'x' } }),
      async attack() {
        // Bob uploads Alice's .p12 (he learnt its password) to get her key under his passphrase.
        const r = await asBob('POST', '/api/v1/keys', {
          json: { p12: b64(corpusP12('Alice.p12')), password: 'nss', passphrase: PASS_B },
        });
        assert.equal(r.status, 422);
        assert.equal(r.body.error.code, 'CERT_EMAIL_MISMATCH');
        assert.equal((await asBob('GET', '/api/v1/keys')).body.keys.length, 1);
        assert.equal(await aliceState(), aliceWraps);
      },
    };
    cases['GET /api/v1/keys/:id'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: `/api/v1/keys/${aliceKeyId}` }),
      async attack() {
        await notFoundLikeMissing('GET', (id) => `/api/v1/keys/${id}`, aliceKeyId, 'KEY_NOT_FOUND');
        assert.equal((await alice.request('GET', `/api/v1/keys/${aliceKeyId}`)).status, 200, 'sanity');
      },
    };
    cases['GET /api/v1/keys/:id/certificate'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: `/api/v1/keys/${aliceKeyId}/certificate` }),
      async attack() {
        await notFoundLikeMissing('GET', (id) => `/api/v1/keys/${id}/certificate`, aliceKeyId, 'KEY_NOT_FOUND');
        assert.match(
          (await alice.request('GET', `/api/v1/keys/${aliceKeyId}/certificate`)).text,
          /BEGIN CERTIFICATE/,
          'sanity',
        );
      },
    };
    cases['PUT /api/v1/keys/:id/default'] = {
      kind: 'user',
      request: () => ({ method: 'PUT', path: `/api/v1/keys/${aliceKeyId}/default` }),
      async attack() {
        await notFoundLikeMissing('PUT', (id) => `/api/v1/keys/${id}/default`, alicePendingId, 'KEY_NOT_FOUND');
        assert.equal(await aliceState(), aliceWraps, "Alice's default is unchanged");
      },
    };
    cases['POST /api/v1/keys/:id/adopt'] = {
      kind: 'user',
      request: () => ({
        method: 'POST',
        path: `/api/v1/keys/${alicePendingId}/adopt`,
        json: { keyPassword: 'nss', passphrase: PASS_B },
      }),
      async attack() {
        // Bob knows the password IT sent with Alice's pending key: still not his key.
        await notFoundLikeMissing('POST', (id) => `/api/v1/keys/${id}/adopt`, alicePendingId, 'KEY_NOT_FOUND', {
          keyPassword: 'nss',
          passphrase: PASS_B,
        });
        assert.equal(await aliceState(), aliceWraps, "Alice's pending key stays pending under IT's password");
      },
    };
    cases['POST /api/v1/keys/:id/export'] = {
      kind: 'user',
      request: () => ({
        method: 'POST',
        path: `/api/v1/keys/${aliceKeyId}/export`,
        json: { passphrase: PASS_A, exportPassword: 'bob export pass' },
      }),
      async attack() {
        // Bob learnt Alice's passphrase: her key is still not his to export.
        for (const passphrase of [PASS_A, PASS_B])
          await notFoundLikeMissing('POST', (id) => `/api/v1/keys/${id}/export`, aliceKeyId, 'KEY_NOT_FOUND', {
            passphrase,
            exportPassword: 'bob export pass',
          });
        const own = await alice.request('POST', `/api/v1/keys/${aliceKeyId}/export`, {
          json: { passphrase: PASS_A, exportPassword: 'alice export pass' },
        });
        assert.equal(own.status, 200, 'sanity: Alice exports her own key');
        assert.equal(await aliceState(), aliceWraps);
      },
    };
    cases['DELETE /api/v1/keys/:id'] = {
      kind: 'user',
      request: () => ({ method: 'DELETE', path: `/api/v1/keys/${aliceKeyId}?confirm=${aliceFingerprint}` }),
      async attack() {
        await notFoundLikeMissing(
          'DELETE',
          (id) => `/api/v1/keys/${id}?confirm=${aliceFingerprint}`,
          aliceKeyId,
          'KEY_NOT_FOUND',
        );
        assert.equal(await aliceState(), aliceWraps, "Alice's key is still there");
      },
    };
    cases['GET /api/v1/me'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: '/api/v1/me' }),
      async attack() {
        const r = await asBob('GET', '/api/v1/me', { headers: { 'x-smime-unlock': aCred } });
        assert.equal(r.body.email, BOB);
        assert.equal(r.body.keys, 1);
      },
    };
    cases['GET /api/v1/me/audit'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: '/api/v1/me/audit' }),
      async attack() {
        const r = await asBob('GET', '/api/v1/me/audit');
        assert.ok(r.body.entries.length > 0);
        assert.ok(!JSON.stringify(r.body).includes(ALICE), "no entry of Alice's");
        assert.ok(!JSON.stringify(r.body).includes(aliceKeyId));
        assert.ok(JSON.stringify((await alice.request('GET', '/api/v1/me/audit')).body).includes(aliceKeyId), 'sanity');
      },
    };
    cases['POST /api/v1/messages/outgoing'] = {
      kind: 'user',
      request: () => ({ method: 'POST', path: '/api/v1/messages/outgoing?sign=true' }),
      async attack() {
        // Signing with Alice's unlock credential: refused, whichever way it is presented.
        for (const v of credentialVariants()) {
          const r = await send(bob, 'sign=true', mail(BOB, ALICE, 'signed with whose key?'), v.headers);
          assert.equal(r.status, 403, v.name);
          assert.equal(r.body.error.code, 'LOCKED', v.name);
        }
        // Sending as Alice with Bob's own session.
        const spoof = await send(bob, 'sign=true', mail(ALICE, BOB, 'I am Alice'), viaHeader);
        assert.equal(spoof.body.error.code, 'FROM_NOT_USER');
        // Alice's own certificate is not Bob's to encrypt to (his view has none for her).
        const enc = await send(bob, 'encrypt=true', mail(BOB, ALICE, 'x'));
        assert.equal(enc.status, 422);
        assert.equal(enc.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
        // Nor the certificate Alice harvested from Dave: exchanged certificates are per user (the one statement that
        // reads them beside the directory's, store/recipient-certificates.ts, is filtered by user).
        const toDave = await send(bob, 'encrypt=true', mail(BOB, DAVE, 'x'));
        assert.equal(toDave.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
        assert.deepEqual(toDave.body.error.missing[0].reasons, ['no certificate known for this address']);
        const aliceToDave = await send(alice, 'encrypt=true', mail(ALICE, DAVE, 'x'));
        assert.ok(!aliceToDave.text.includes('no certificate known'), `sanity: Alice has one: ${aliceToDave.text}`);
        const own = await send(bob, 'sign=true', mail(BOB, ALICE, 'mine'), viaHeader);
        assert.equal(own.status, 200, 'sanity: Bob signs with his own session');
      },
    };
    cases['POST /api/v1/messages/incoming'] = {
      kind: 'user',
      request: () => ({ method: 'POST', path: '/api/v1/messages/incoming' }),
      async attack() {
        for (const v of credentialVariants()) {
          const r = await read(bob, encryptedToAlice, v.headers);
          assert.equal(r.status, 200);
          // Encrypted to Alice only: none of Bob's keys is a recipient, whoever's credential he sends (issue 14).
          assert.equal(r.body.layers[0].status, 'no-key', `${v.name}: Alice's session does not open for Bob`);
          assert.ok(!Buffer.from(r.body.content, 'base64').toString('latin1').includes(SECRET_A));
        }
        const own = await read(bob, encryptedToAlice, viaHeader);
        assert.equal(own.body.layers[0].status, 'no-key', "Bob's own keys do not fit");
        assert.ok(!Buffer.from(own.body.content, 'base64').toString('latin1').includes(SECRET_A));
        const sane = await read(alice, encryptedToAlice, { 'x-smime-unlock': aCred });
        assert.equal(sane.body.layers[0].status, 'decrypted', 'sanity: Alice reads it');
        assert.ok(Buffer.from(sane.body.content, 'base64').toString('utf8').includes(SECRET_A));
        // What Bob reads is harvested into Bob's list, never Alice's (and his copy is his to delete).
        const aliceList = async () =>
          JSON.stringify((await alice.request('GET', '/api/v1/certificates?source=exchanged')).body);
        const before = await aliceList();
        const h = await read(
          bob,
          thunderbird('mailnews-test-data-smime/alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml'),
        );
        assert.ok(h.body.harvested.length > 0);
        const bobs = (await asBob('GET', '/api/v1/certificates?source=exchanged')).body.certificates as {
          id: string;
        }[];
        assert.ok(bobs.length > 0 && bobs.every((c) => c.id !== aliceCertId));
        for (const c of bobs) assert.equal((await asBob('DELETE', `/api/v1/certificates/${c.id}`)).status, 200);
        assert.equal(await aliceList(), before);
      },
    };
    cases['GET /api/v1/certificates'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: '/api/v1/certificates' }),
      async attack() {
        for (const q of ['', '?source=exchanged', '?email=dave@example.com', '?q=dave']) {
          const r = await asBob('GET', `/api/v1/certificates${q}`);
          assert.equal(r.status, 200);
          assert.ok(
            r.body.certificates.every((c: { id: string }) => c.id !== aliceCertId),
            q,
          );
        }
      },
    };
    cases['GET /api/v1/certificates/resolve'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: '/api/v1/certificates/resolve?email=dave@example.com' }),
      async attack() {
        const r = await asBob('GET', '/api/v1/certificates/resolve?email=dave@example.com&email=alice@example.com');
        assert.deepEqual(
          r.body.recipients.map((x: { ready: boolean }) => x.ready),
          [false, false],
          "Alice's certificates are hers",
        );
        const sane = await alice.request('GET', '/api/v1/certificates/resolve?email=dave@example.com');
        assert.equal(sane.body.recipients[0].ready, true, 'sanity');
      },
    };
    cases['GET /api/v1/certificates/:id'] = {
      kind: 'user',
      request: () => ({ method: 'GET', path: `/api/v1/certificates/${aliceCertId}` }),
      async attack() {
        await notFoundLikeMissing('GET', (id) => `/api/v1/certificates/${id}`, aliceCertId, 'CERTIFICATE_NOT_FOUND');
        assert.equal((await alice.request('GET', `/api/v1/certificates/${aliceCertId}`)).status, 200, 'sanity');
      },
    };
    cases['DELETE /api/v1/certificates/:id'] = {
      kind: 'user',
      request: () => ({ method: 'DELETE', path: `/api/v1/certificates/${aliceCertId}` }),
      async attack() {
        await notFoundLikeMissing('DELETE', (id) => `/api/v1/certificates/${id}`, aliceCertId, 'CERTIFICATE_NOT_FOUND');
        assert.equal((await alice.request('GET', `/api/v1/certificates/${aliceCertId}`)).status, 200, 'still there');
      },
    };

    // Admin routes: the attack is a user token (or an unlock credential) in place of the admin token.
    const adminCase = (method: string, path: string, json?: unknown): RouteCase => ({
      kind: 'admin',
      request: () => ({ method, path, json }),
      async attack() {
        for (const bearer of [
          await srv.token(BOB),
          await srv.token(ALICE),
          aCred,
          TEST_JWT_SECRET,
          `${TEST_ADMIN_TOKEN}x`,
          TEST_ADMIN_TOKEN.slice(0, -1),
        ]) {
          const r = await new Client(srv.url, bearer).request(method, path, { json });
          assert.equal(r.status, 401, `${method} ${path}`);
          assert.equal(r.body.error.code, 'ADMIN_UNAUTHENTICATED');
        }
        assert.equal(await aliceState(), aliceWraps);
      },
    });
    cases['POST /api/v1/admin/users/:email/keys'] = adminCase('POST', `/api/v1/admin/users/${ALICE}/keys`, {
      p12: b64(corpusP12('Bob.p12')),
      password: 'nss',
      force: true,
    });
    cases['GET /api/v1/admin/users/:email/keys'] = adminCase('GET', `/api/v1/admin/users/${ALICE}/keys`);
    cases['POST /api/v1/admin/users/:email/aliases'] = adminCase('POST', `/api/v1/admin/users/${BOB}/aliases`, {
      alias: 'alice.alias@example.com',
    });
    cases['GET /api/v1/admin/audit/verify'] = adminCase('GET', '/api/v1/admin/audit/verify');
    cases['POST /api/v1/admin/audit/checkpoint'] = adminCase('POST', '/api/v1/admin/audit/checkpoint');
    cases['POST /api/v1/admin/directory/sync'] = adminCase('POST', '/api/v1/admin/directory/sync');
    cases['GET /api/v1/admin/directory/status'] = adminCase('GET', '/api/v1/admin/directory/status');
    cases['GET /api/v1/admin/recovery/status'] = adminCase('GET', '/api/v1/admin/recovery/status');

    // Static files: the same bytes whoever asks (nothing per user in them).
    const publicCase = (path: string): RouteCase => ({
      kind: 'public',
      request: () => ({ method: 'GET', path }),
      async attack() {
        const answers = await Promise.all(
          [undefined, await srv.token(ALICE), await srv.token(BOB), TEST_ADMIN_TOKEN].map((t) =>
            new Client(srv.url, t).request('GET', path),
          ),
        );
        for (const a of answers) assert.deepEqual([a.status, a.text], [answers[0]!.status, answers[0]!.text], path);
        assert.ok(!answers[0]!.text.includes(SECRET_A) && !answers[0]!.text.includes(aliceKeyId));
      },
    });
    // The health check and the API's OpenAPI document: public, the same for everyone (issue 15).
    for (const p of ['/healthz', '/api/v1/openapi.json']) cases[`GET ${p}`] = publicCase(p);
    for (const p of [
      '/plugin/smime-plugin.js',
      '/plugin/smime-plugin.js.map',
      '/plugin/smime-plugin.js.LEGAL.txt',
      '/demo',
      '/demo/',
      '/demo/demo.css',
      '/demo/demo-app.js',
      '/demo/demo-app.js.map',
    ])
      cases[`GET ${p}`] = publicCase(p);

    // The demo host (never on in production): its user list and login are public by design; its mailbox is per user.
    cases['GET /demo/api/users'] = publicCase('/demo/api/users');
    cases['POST /demo/api/login'] = {
      kind: 'public',
      request: () => ({ method: 'POST', path: '/demo/api/login', json: { email: 'mallory@example.com' } }),
      async attack() {
        // By design a demo login issues a demo user's token; it never issues one for anyone else.
        const r = await new Client(srv.url).request('POST', '/demo/api/login', {
          json: { email: 'carol@example.com' },
        });
        assert.equal(r.status, 404);
        assert.equal(r.body.error.code, 'DEMO_USER_UNKNOWN');
      },
    };
    cases['GET /demo/api/messages'] = {
      kind: 'demo-mailbox',
      request: () => ({ method: 'GET', path: '/demo/api/messages' }),
      async attack() {
        for (const folder of ['inbox', 'sent']) {
          const r = await asBob('GET', `/demo/api/messages?folder=${folder}`);
          assert.equal(r.status, 200);
          assert.ok(
            r.body.messages.every((m: { id: string }) => !aliceDemoIds.includes(m.id)),
            folder,
          );
        }
      },
    };
    cases['GET /demo/api/messages/:id/raw'] = {
      kind: 'demo-mailbox',
      request: () => ({ method: 'GET', path: `/demo/api/messages/${aliceDemoIds[0]}/raw` }),
      async attack() {
        for (const id of aliceDemoIds)
          await notFoundLikeMissing('GET', (x) => `/demo/api/messages/${x}/raw`, id, 'DEMO_MESSAGE_NOT_FOUND');
        assert.equal((await alice.request('GET', `/demo/api/messages/${aliceDemoIds[0]}/raw`)).status, 200, 'sanity');
      },
    };
    cases['POST /demo/api/messages'] = {
      kind: 'demo-mailbox',
      request: () => ({
        method: 'POST',
        path: '/demo/api/messages',
        json: { messages: [{ bcc: null, message: b64(mail(BOB, ALICE, 'x')) }] },
      }),
      async attack() {
        const r = await asBob('POST', '/demo/api/messages', {
          json: { messages: [{ bcc: null, message: b64(mail(ALICE, ALICE, 'forged')) }] },
        });
        assert.equal(r.body.error.code, 'FROM_NOT_USER', 'Bob cannot file mail as Alice');
      },
    };
    cases['POST /demo/api/messages/:id/tamper'] = {
      kind: 'demo-mailbox',
      request: () => ({ method: 'POST', path: `/demo/api/messages/${aliceDemoIds[0]}/tamper` }),
      async attack() {
        // The stored bytes are files since issue 12 (demo/mail-files.ts).
        const before = await srv.host.mail.read(aliceDemoIds[0]!);
        await notFoundLikeMissing(
          'POST',
          (x) => `/demo/api/messages/${x}/tamper`,
          aliceDemoIds[0]!,
          'DEMO_MESSAGE_NOT_FOUND',
        );
        const afterBytes = await srv.host.mail.read(aliceDemoIds[0]!);
        assert.ok(before && afterBytes);
        assert.deepEqual(afterBytes, before);
      },
    };

    // ---- tests ---------------------------------------------------------------------------------------------------

    test('every mounted route, and every route in a routes.ts, has a cross-user case (and no case is stale)', async () => {
      const mounted = mountedRoutes(appRouters(srv.services, srv.host));
      assert.ok(mounted.size >= 30, `enumerated ${mounted.size} routes`);
      const missing = [...mounted].filter((r) => !cases[r]);
      assert.deepEqual(
        missing,
        [],
        'routes without a cross-user case: add one to test/security/cross-user-access.test.ts',
      );
      assert.deepEqual(
        Object.keys(cases).filter((c) => !mounted.has(c)),
        [],
        'cases for routes that no longer exist',
      );
      for (const { file, router } of await sourceRouters(srv.services, srv.host))
        for (const r of mountedRoutes([router]))
          assert.ok(mounted.has(r), `${r} of ${file} is not mounted or has no case`);
    });

    test('user routes refuse the admin token and a missing or garbage token; admin routes refuse user tokens', async () => {
      for (const [name, c] of Object.entries(cases)) {
        if (c.kind === 'public') continue;
        const { method, path, json } = c.request();
        if (c.kind === 'admin') {
          const r = await new Client(srv.url, await srv.token(BOB)).request(method, path, { json });
          assert.equal(r.status, 401, name);
          assert.equal(r.body.error.code, 'ADMIN_UNAUTHENTICATED', name);
          continue;
        }
        for (const bearer of [TEST_ADMIN_TOKEN, undefined, aCred, 'not.a.jwt']) {
          const r = await new Client(srv.url, bearer).request(method, path, {
            json,
            headers: { 'x-smime-unlock': aCred },
          });
          assert.equal(
            r.status,
            401,
            `${name} with ${bearer === TEST_ADMIN_TOKEN ? 'the admin token' : String(bearer)}`,
          );
          assert.equal(r.body.error.code, 'UNAUTHENTICATED', name);
        }
      }
      assert.equal(
        (await adminClient().request('GET', `/api/v1/admin/users/${ALICE}/keys`)).status,
        200,
        'sanity: the admin token works there',
      );
    });

    test("Bob reaches nothing of Alice's through any route", async () => {
      const mounted = mountedRoutes(appRouters(srv.services, srv.host));
      for (const name of [...mounted].sort()) {
        try {
          await cases[name]!.attack();
        } catch (e) {
          (e as Error).message = `${name}: ${(e as Error).message}`;
          throw e;
        }
      }
      assert.equal(await aliceState(), aliceWraps, "Alice's keys are exactly as before");
      assert.equal(await aliceUnlocked(), true, 'and she is still unlocked');
    });

    function adminClient() {
      return new Client(srv.url, TEST_ADMIN_TOKEN);
    }
  });
}
