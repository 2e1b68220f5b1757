/**
 * Attack: a demo login used as a real credential. The demo's login gives anyone a user token for a demo user, no
 * questions asked. Until issue 12 it signed that token with the server's own SMIME_JWT_SECRET, the secret the host
 * webmail shares: a visitor of a demo (or of a server where the demo was on by mistake) got a token that any server
 * sharing the secret (the production backend behind the webmail) accepted, and demo mode could not run at all with a
 * host public key.
 *
 * Defence: the demo signs its logins with a key of its own, random and in memory only (backend/src/demo/tokens.ts),
 * marked with kid and aud "smime-demo"; only a server with the demo wired in (demo/entry.ts, never in production)
 * accepts such a token, and only for a demo address; the demo's login refuses to mint one for anyone else.
 *
 * What the test proves: a token from the demo's login works on the demo server (sanity) but is refused (401) by a
 * production server sharing the same SMIME_JWT_SECRET, and does not verify under that secret at all; the host's own
 * tokens still work on the demo server; the demo's login names no address outside the demo.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jwtVerify, SignJWT } from 'jose';
import { startDemoServer, type DemoServer } from '../e2e/server.ts';
import { checkpointKeyEnv, runMain, type ServerRun } from './server-process.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const SHARED_SECRET = 'the-secret-the-host-webmail-shares-0123456789';
const ADMIN = 'admin-token-of-production-0123456789abcdef';

async function post(url: string, json: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
}
const me = (base: string, token: string) =>
  fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

describe('a demo login used against the product', { concurrency: false, timeout: 600_000 }, () => {
  let demo: DemoServer;
  let prod: ServerRun;
  let prodData: string;

  before(async () => {
    demo = await startDemoServer({ SMIME_JWT_SECRET: SHARED_SECRET });
    prodData = mkdtempSync(join(tmpdir(), 'smime-prod-'));
    prod = await runMain(
      {
        NODE_ENV: 'production',
        SMIME_DATA_DIR: join(prodData, 'data'),
        SMIME_JWT_SECRET: SHARED_SECRET,
        SMIME_ADMIN_TOKEN: ADMIN,
        SMIME_DEMO: 'off',
        ...checkpointKeyEnv(prodData),
      },
      'ready',
    );
  });
  after(() =>
    cleanUp(
      () => prod?.stop(),
      () => demo?.stop(),
      () => prodData && rmSync(prodData, { recursive: true, force: true }),
    ),
  );

  test('the demo token works on the demo, not on a production server that shares the host secret', async () => {
    const login = await post(`${demo.url}/demo/api/login`, { email: 'alice@demo.example' });
    assert.equal(login.status, 200);
    const { token } = (await login.json()) as { token: string };
    const onDemo = await me(demo.url, token);
    assert.equal(onDemo.status, 200, 'sanity: the demo accepts its own login');
    assert.equal(((await onDemo.json()) as { email: string }).email, 'alice@demo.example');

    const onProd = await me(prod.url!, token);
    assert.equal(onProd.status, 401, 'production refuses a demo login');
    assert.equal(((await onProd.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    await assert.rejects(jwtVerify(token, new TextEncoder().encode(SHARED_SECRET)), 'not signed with the host secret');
  });

  test("the host's own tokens still work on the demo and on production (sanity)", async () => {
    const host = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice@demo.example')
      .setAudience('smime')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SHARED_SECRET));
    assert.equal((await me(demo.url, host)).status, 200);
    assert.equal((await me(prod.url!, host)).status, 200);
  });

  test('the demo login names demo users only', async () => {
    for (const email of ['ceo@example.com', 'alice@demo.example.attacker.com', 'alice@example.com']) {
      const r = await post(`${demo.url}/demo/api/login`, { email });
      assert.equal(r.status, 404, email);
    }
  });
});
