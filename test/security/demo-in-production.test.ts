/**
 * Attack: the demo on a production server. The demo webmail hands a login for its users to anyone who asks, and makes
 * the server trust a CA whose key sits in the data folder. Until issue 12 a production start with default settings
 * (NODE_ENV=production, the embedded database) served it, and SMIME_DEMO=on turned it on with a real DATABASE_URL; its
 * tables were created in every production database by the product's migrations.
 *
 * Defence: with NODE_ENV=production the demo is never wired in (backend/src/main.ts imports the demo's entry module,
 * backend/src/demo/entry.ts, only in demo mode, which production never resolves to); SMIME_DEMO=on refuses the start
 * with a message that says why (backend/src/production.ts); the product's app mounts no demo route; the product's
 * migrations create no demo table (migrations/005 drops what 004 made; the demo applies its own schema).
 *
 * What the test proves: NODE_ENV=production with nothing configured does not start, and its message names the
 * settings to set; with proper secrets and SMIME_DEMO=on it does not start either, naming SMIME_DEMO; with proper
 * secrets and the defaults it starts, serves the plugin bundle and the API, but /demo, the demo's login and its API
 * answer 404, no demo CA is made in the data folder and the production database has no demo table.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openPGlite } from '../../backend/src/store/db.ts';
import { checkpointKeyEnv, runMain } from './server-process.ts';

/** A refused start exits before it opens the database: seconds. */
const REFUSAL_TIMEOUT_MS = 60_000;

describe('the demo on a production server', { concurrency: false, timeout: 600_000 }, () => {
  let work: string;
  let secrets: Record<string, string>;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'smime-prod-demo-'));
    writeFileSync(join(work, 'jwt-secret'), 'j'.repeat(48), { mode: 0o600 });
    writeFileSync(join(work, 'admin-token'), 'a'.repeat(48), { mode: 0o600 });
    secrets = {
      SMIME_JWT_SECRET_FILE: join(work, 'jwt-secret'),
      SMIME_ADMIN_TOKEN_FILE: join(work, 'admin-token'),
      ...checkpointKeyEnv(work),
    };
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('NODE_ENV=production with default settings is refused, naming what to set; the demo never comes up', async () => {
    const data = join(work, 'defaults');
    const run = await runMain({ NODE_ENV: 'production', SMIME_DATA_DIR: data }, 'exit', REFUSAL_TIMEOUT_MS);
    try {
      assert.equal(run.exitCode, 2, run.output());
      assert.equal(run.url, undefined, 'never listened');
      assert.match(run.output(), /NODE_ENV=production refuses to start/);
      assert.match(run.output(), /SMIME_JWT_SECRET_FILE: .*set SMIME_JWT_SECRET_FILE/);
      assert.match(run.output(), /SMIME_ADMIN_TOKEN_FILE: .*set SMIME_ADMIN_TOKEN_FILE/);
      assert.equal(existsSync(join(data, 'demo')), false, 'no demo CA was made');
    } finally {
      await run.stop();
    }
  });

  test('SMIME_DEMO=on with NODE_ENV=production is refused, saying why', async () => {
    const variants: Record<string, string>[] = [{}, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }];
    for (const extra of variants) {
      const run = await runMain(
        { NODE_ENV: 'production', SMIME_DATA_DIR: join(work, 'on'), SMIME_DEMO: 'on', ...secrets, ...extra },
        'exit',
        REFUSAL_TIMEOUT_MS,
      );
      try {
        assert.equal(run.exitCode, 2, run.output());
        assert.match(
          run.output(),
          /SMIME_DEMO: SMIME_DEMO=on: .*never served in production; unset SMIME_DEMO or set it to off/,
        );
        assert.equal(run.url, undefined);
      } finally {
        await run.stop();
      }
    }
  });

  test('a production start with proper secrets serves the product and nothing of the demo', async () => {
    const data = join(work, 'product');
    const run = await runMain({ NODE_ENV: 'production', SMIME_DATA_DIR: data, ...secrets }, 'ready');
    try {
      const get = (path: string, init?: RequestInit) => fetch(`${run.url}${path}`, init);
      assert.equal((await get('/api/v1/me')).status, 401, 'the API is there');
      assert.equal((await get('/plugin/smime-plugin.js')).status, 200, 'the plugin bundle is there');
      for (const path of ['/demo', '/demo/', '/demo/demo-app.js', '/demo/api/users', '/demo/api/messages'])
        assert.equal((await get(path)).status, 404, path);
      const login = await get('/demo/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'alice@demo.example' }),
      });
      assert.equal(login.status, 404, 'no demo login');
      assert.equal(existsSync(join(data, 'demo')), false, 'no demo CA in the data folder');
    } finally {
      await run.stop();
    }
    // The embedded database, now that the server let go of it: the product's schema only.
    const db = await openPGlite(join(data, 'db'));
    try {
      const tables = await db.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      assert.ok(
        tables.some((t) => t.name === 'private_keys'),
        'sanity: the product schema is there',
      );
      assert.deepEqual(
        tables.filter((t) => t.name.startsWith('demo')),
        [],
        'no demo table in a production database',
      );
    } finally {
      await db.close();
    }
  });
});
