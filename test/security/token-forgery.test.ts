/**
 * Attack: forged, replayed or stretched credentials. The user token (a JWT the host webmail signs) is forged with
 * `alg: none`, with HS256 keyed by the host's RSA public key (algorithm confusion), with the attacker's own key (also
 * as an embedded `jwk` header), with a wrong secret; a genuine token is tampered with (payload or header changed,
 * signature kept); claims are removed, expired, not yet valid, issued in the future, or stretched beyond the
 * lifetime the server allows. The unlock credential (`<session id>.<session key>`) is forged, spliced from two
 * sessions, taken from another user, or replayed after lock, logout, idle or absolute expiry and passphrase change.
 *
 * Defence: jose verifies with a fixed algorithm list derived from the configured key type (HS* for a secret,
 * RS/PS, ES or EdDSA for a public key: never both); `sub`, `exp`, `iat` are required, `aud` (and `iss` when set)
 * must match; lifetime and issue time are bounded. An unlock credential opens nothing unless its session row
 * belongs to the token's user, is live by the database clock, and its key opens the session's AES-GCM blobs.
 *
 * What the test proves: every forged or stretched token gets 401 with a stable code on a real route, every forged
 * or replayed unlock credential leaves the user locked (status unlocked:false, signing 403 LOCKED), while the genuine
 * token and credential work (sanity). Runs on PGlite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { mail, placeKey, send, unlockHeader } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const PASS_A = 'alice own passphrase 1';
const PASS_B = 'bob own passphrase 22';

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const nowS = () => Math.floor(Date.now() / 1000);
const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function hs(claims: Record<string, unknown>, key: Uint8Array = secret, header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(key);
}
/** A token signed by hand (jose refuses to sign some of the headers an attacker would send). */
function hmacToken(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64u(header)}.${b64u(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const good = (extra: Record<string, unknown> = {}) => ({
  sub: ALICE,
  aud: 'smime',
  iat: nowS(),
  exp: nowS() + 300,
  ...extra,
});

for (const target of await databaseTargets()) {
  describe(`token forgery and expiry on ${target.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let srv: TestServer;
    let rsaSrv: TestServer;
    const host = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const hostPublicPem = host.publicKey.export({ type: 'spki', format: 'pem' }).toString();

    before(async () => {
      ({ db, drop } = await target.open());
      srv = await startServer(db);
      // The same database behind a server that verifies RS/PS tokens with the host's public key.
      rsaSrv = await startServer(db, { jwtSecret: undefined, jwtPublicKeyPem: hostPublicPem });
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => rsaSrv?.close(),
        () => drop?.(),
      ),
    );

    async function expect401(server: TestServer, token: string, code: string, name: string) {
      const r = await new Client(server.url, token).request('GET', '/api/v1/me');
      assert.equal(r.status, 401, `${name}: ${r.text}`);
      assert.equal(r.body.error.code, code, name);
      assert.ok(!r.text.includes(ALICE), `${name}: the answer names no user`);
    }

    test('sanity: a genuine HS256 token and a genuine RS256 token are accepted', async () => {
      const me = await new Client(srv.url, await hs(good())).request('GET', '/api/v1/me');
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.email, ALICE);
      const rs = await new SignJWT(good()).setProtectedHeader({ alg: 'RS256' }).sign(host.privateKey);
      assert.equal((await new Client(rsaSrv.url, rs).request('GET', '/api/v1/me')).body.email, ALICE);
    });

    test('forged signatures: alg none, wrong secret, attacker keys, algorithm confusion', async () => {
      const claims = good();
      const cases: [string, TestServer, string][] = [
        ['alg none', srv, `${b64u({ alg: 'none' })}.${b64u(claims)}.`],
        ['alg None', srv, `${b64u({ alg: 'None', typ: 'JWT' })}.${b64u(claims)}.`],
        ['alg none with a signature', srv, `${b64u({ alg: 'none' })}.${b64u(claims)}.${b64u('x'.repeat(32))}`],
        ['alg none on the RSA server', rsaSrv, `${b64u({ alg: 'none' })}.${b64u(claims)}.`],
        ['wrong secret', srv, await hs(claims, new TextEncoder().encode('y'.repeat(48)))],
        [
          'secret with one character changed',
          srv,
          await hs(claims, new TextEncoder().encode(`${TEST_JWT_SECRET.slice(0, -1)}X`)),
        ],
        ['empty signature', srv, (await hs(claims)).replace(/\.[^.]+$/, '.')],
        [
          'RS256 by an attacker key on the HS server',
          srv,
          await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(attacker.privateKey),
        ],
        // Algorithm confusion: HS256 keyed with the bytes of the host's public key, which anyone has.
        ['HS256 keyed by the host public key (PEM)', rsaSrv, await hs(claims, new TextEncoder().encode(hostPublicPem))],
        [
          'HS256 keyed by the host public key (DER)',
          rsaSrv,
          await hs(claims, new Uint8Array(host.publicKey.export({ type: 'spki', format: 'der' }))),
        ],
        [
          'RS256 by an attacker key',
          rsaSrv,
          await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(attacker.privateKey),
        ],
        [
          'RS256 by an attacker key named in an embedded jwk header',
          rsaSrv,
          await new SignJWT(claims)
            .setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(attacker.publicKey) })
            .sign(attacker.privateKey),
        ],
        [
          'PS256 by an attacker key',
          rsaSrv,
          await new SignJWT(claims).setProtectedHeader({ alg: 'PS256' }).sign(attacker.privateKey),
        ],
        ['the admin token as a JWT', srv, 'admin-token-admin-token-admin-token-0123456789'],
        ['garbage', srv, 'a.b.c'],
      ];
      for (const [name, server, token] of cases) await expect401(server, token, 'UNAUTHENTICATED', name);
    });

    test('a genuine token tampered with: payload or header changed, signature kept', async () => {
      const token = await hs(good());
      const [h, , s] = token.split('.');
      const cases: [string, string][] = [
        ['subject changed', `${h}.${b64u(good({ sub: BOB }))}.${s}`],
        ['expiry extended', `${h}.${b64u(good({ exp: nowS() + 600 }))}.${s}`],
        ['header changed to HS512', `${b64u({ alg: 'HS512' })}.${token.split('.')[1]}.${s}`],
        ['header changed to none', `${b64u({ alg: 'none' })}.${token.split('.')[1]}.${s}`],
        ['unknown critical header', hmacToken({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, good())],
        ['two tokens', `${token} ${token}`],
        ['re-signed by hand with the right secret but alg none in the header', hmacToken({ alg: 'none' }, good())],
      ];
      for (const [name, t] of cases) await expect401(srv, t, 'UNAUTHENTICATED', name);
    });

    test('claims: missing, wrong audience or issuer, not an email', async () => {
      const strip = (k: string) => Object.fromEntries(Object.entries(good()).filter(([x]) => x !== k));
      const cases: [string, Record<string, unknown>][] = [
        ['no sub', strip('sub')],
        ['no exp', strip('exp')],
        ['no iat', strip('iat')],
        ['no aud', strip('aud')],
        ['wrong aud', good({ aud: 'another-service' })],
        ['aud list without ours', good({ aud: ['a', 'b'] })],
        ['sub not an email', good({ sub: 'alice' })],
        ['sub a list', good({ sub: [ALICE] })],
        ['exp not a number', good({ exp: String(nowS() + 300) })],
      ];
      for (const [name, claims] of cases) await expect401(srv, await hs(claims), 'UNAUTHENTICATED', name);
      const withIssuer = await startServer(db, { SMIME_JWT_ISSUER: 'https://webmail.example' });
      try {
        await expect401(withIssuer, await hs(good()), 'UNAUTHENTICATED', 'no iss where one is required');
        await expect401(withIssuer, await hs(good({ iss: 'https://evil.example' })), 'UNAUTHENTICATED', 'wrong iss');
        assert.equal(
          (
            await new Client(withIssuer.url, await hs(good({ iss: 'https://webmail.example' }))).request(
              'GET',
              '/api/v1/me',
            )
          ).status,
          200,
        );
      } finally {
        await withIssuer.close();
      }
    });

    test('time: expired, not yet valid, issued in the future, longer-lived than allowed', async () => {
      const max = srv.config.SMIME_JWT_MAX_LIFETIME_S;
      const tol = srv.config.SMIME_JWT_CLOCK_TOLERANCE_S;
      const n = nowS();
      await expect401(
        srv,
        await hs(good({ iat: n - 600, exp: n - tol - 5 })),
        'TOKEN_EXPIRED',
        'expired beyond the tolerance',
      );
      await expect401(srv, await hs(good({ nbf: n + tol + 60 })), 'UNAUTHENTICATED', 'nbf in the future');
      await expect401(
        srv,
        await hs(good({ iat: n, exp: n + max + 1 })),
        'TOKEN_LIFETIME_TOO_LONG',
        'exp - iat above the maximum',
      );
      await expect401(
        srv,
        await hs(good({ iat: n - 10 * max, exp: n + 60 })),
        'TOKEN_LIFETIME_TOO_LONG',
        'backdated iat',
      );
      // Issued "in the future": exp - iat looks short, but the token would be usable from now until a day ahead.
      await expect401(
        srv,
        await hs(good({ iat: n + 86400 - 60, exp: n + 86400 })),
        'UNAUTHENTICATED',
        'iat a day ahead',
      );
      await expect401(
        srv,
        await hs(good({ iat: n + 3600, exp: n + 600 })),
        'UNAUTHENTICATED',
        'exp before iat, iat ahead',
      );
      // Inside the clock tolerance both ways, and exactly at the maximum: accepted.
      for (const claims of [
        good({ iat: n + tol - 5, exp: n + 300 }),
        good({ iat: n - 100, exp: n - Math.floor(tol / 3) }),
        good({ iat: n, exp: n + max }),
      ]) {
        const r = await new Client(srv.url, await hs(claims)).request('GET', '/api/v1/me');
        assert.equal(r.status, 200, `${JSON.stringify(claims)}: ${r.text}`);
      }
    });

    describe('unlock credentials', () => {
      let alice: Client;
      let bob: Client;
      before(async () => {
        alice = await placeKey(srv, ALICE, 'Alice.p12', PASS_A);
        bob = await placeKey(srv, BOB, 'Bob.p12', PASS_B);
      });

      /** The credential unlocks nothing: status says locked and signing is refused. */
      async function assertLocked(c: Client, cred: string, name: string) {
        const st = await c.request('GET', '/api/v1/session', { headers: { 'x-smime-unlock': cred } });
        assert.equal(st.status, 200, `${name}: ${st.text}`);
        assert.equal(st.body.unlocked, false, name);
        const email = c === alice ? ALICE : BOB;
        const s = await send(c, 'sign=true', mail(email, email, 'x'), { 'x-smime-unlock': cred });
        assert.equal(s.status, 403, `${name}: ${s.text}`);
        assert.equal(s.body.error.code, 'LOCKED', name);
      }
      async function assertUnlocked(c: Client, cred: string, name: string) {
        const st = await c.request('GET', '/api/v1/session', { headers: { 'x-smime-unlock': cred } });
        assert.equal(st.body.unlocked, true, name);
      }

      test("forged, spliced, malformed and other users' credentials open nothing", async () => {
        const one = await unlockHeader(alice, PASS_A);
        const two = await unlockHeader(alice, PASS_A);
        const bobs = await unlockHeader(bob, PASS_B);
        await assertUnlocked(alice, one, 'sanity');
        const [id1, key1] = one.split('.') as [string, string];
        const [id2, key2] = two.split('.') as [string, string];
        const cases: [string, string][] = [
          ['right session, random key', `${id1}.${randomBytes(32).toString('base64url')}`],
          [
            'right session, key with one bit flipped',
            `${id1}.${Buffer.from(Buffer.from(key1, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url')}`,
          ],
          ['session 1 with the key of session 2', `${id1}.${key2}`],
          ['session 2 with the key of session 1', `${id2}.${key1}`],
          ["Bob's credential", bobs],
          ['random session id, real key', `00000000-0000-4000-8000-000000000000.${key1}`],
          ['key too short', `${id1}.${key1.slice(0, 42)}`],
          ['key too long', `${id1}.${key1}A`],
          ['not base64url', `${id1}.${'%'.repeat(43)}`],
          ['no key', id1],
          ['empty', ''],
          ['SQL in the id', `' OR '1'='1.${key1}`],
        ];
        for (const [name, cred] of cases) await assertLocked(alice, cred, name);
        await assertLocked(bob, one, "Alice's credential in Bob's request");
        await assertUnlocked(alice, one, 'the real credential still works');
        await assertUnlocked(bob, bobs, "Bob's still works");
      });

      test('replay after lock, logout, idle timeout and absolute expiry', async () => {
        const locked = await unlockHeader(alice, PASS_A);
        const keep = await unlockHeader(alice, PASS_A);
        assert.equal(
          (await alice.request('DELETE', '/api/v1/session/unlock', { headers: { 'x-smime-unlock': locked } })).body
            .sessionsLocked,
          1,
        );
        await assertLocked(alice, locked, 'after lock');
        await assertUnlocked(alice, keep, 'another session of the same user is unaffected');

        // The database clock decides expiry; the test moves the session's times instead of sleeping.
        const idle = await unlockHeader(alice, PASS_A);
        await db.query(
          `UPDATE unlock_sessions SET last_used_at = now() - make_interval(secs => idle_timeout_s + 1) WHERE id = $1`,
          [idle.split('.')[0]],
        );
        await assertLocked(alice, idle, 'after the idle timeout');
        const expired = await unlockHeader(alice, PASS_A);
        await db.query(`UPDATE unlock_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [
          expired.split('.')[0],
        ]);
        await assertLocked(alice, expired, 'after the absolute lifetime');

        assert.ok((await alice.request('DELETE', '/api/v1/session/unlock?all=true')).body.sessionsLocked >= 1);
        await assertLocked(alice, keep, 'after logout (all sessions)');
      });

      test('a passphrase change ends every other unlock session of the user', async () => {
        // Someone who learnt the old passphrase and unlocked must lose the keys when the owner changes it.
        const intruder = await unlockHeader(alice, PASS_A);
        const owner = await unlockHeader(alice, PASS_A);
        const next = 'alice new passphrase 33';
        const ch = await alice.request('POST', '/api/v1/session/passphrase', {
          json: { currentPassphrase: PASS_A, newPassphrase: next },
          headers: { 'x-smime-unlock': owner },
        });
        assert.equal(ch.status, 200, ch.text);
        await assertLocked(alice, intruder, 'the other session, after the passphrase change');
        await assertUnlocked(alice, owner, 'the session that made the change keeps working');
        const ch2 = await alice.request('POST', '/api/v1/session/passphrase', {
          json: { currentPassphrase: next, newPassphrase: PASS_A },
        });
        assert.equal(ch2.status, 200, ch2.text);
        await assertLocked(alice, owner, 'a change presenting no session ends them all');
      });
    });
  });
}
