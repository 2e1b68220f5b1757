/**
 * The quickstart and the admin command line as a user runs them: `npm start`'s entry point on a fresh data folder,
 * and `smime-admin` as a subprocess (import-p12, add-alias, list-keys, issue-token, audit-checkpoint, audit-verify),
 * on the embedded database and on the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.ts';
import { runCli } from '../helpers/cli.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const cli = (args: string[], env: Record<string, string>, input?: string) => runCli(args, env, input);

describe('npm start on a fresh data folder', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'smime-start-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves /healthz with the embedded database and generated secrets, and shuts down cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'backend/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, PORT: '0', SMIME_DATA_DIR: dir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 60_000);
        const check = () => {
          const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          } else setTimeout(check, 100);
        };
        check();
      });
      let status = 0;
      for (let i = 0; i < 600 && status !== 200; i++) {
        status = (await fetch(`${address}/healthz`).catch(() => ({ status: 0 }))).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
      assert.match(out, /using generated jwt-secret/);
      assert.doesNotMatch(out, /"created":true[^\n]*[A-Za-z0-9_-]{43}/, 'the generated secret is not logged');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    // Issue 12: a generated checkpoint key (development), and a signed checkpoint written at shutdown at the latest.
    assert.match(out, /using generated audit-checkpoint-key/);
    assert.equal(statSync(join(dir, 'secrets', 'audit-checkpoint-key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'audit-checkpoints.jsonl'), 'utf8'), /^\{"type":"smime-audit-checkpoint"/);
  });
});

for (const target of await databaseTargets()) {
  describe(`smime-admin on ${target.name}`, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: (() => Promise<void>) | undefined;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'smime-cli-'));
      env = { SMIME_DATA_DIR: dir, SMIME_JWT_SECRET: TEST_JWT_SECRET, SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
      if (target.name === 'postgres') {
        // The test keeps its pool open (idle) and drop() closes it once, then drops the database.
        const opened = await target.open();
        env.DATABASE_URL = opened.url!;
        drop = opened.drop;
      }
    });
    after(() =>
      cleanUp(
        () => rmSync(dir, { recursive: true, force: true }),
        () => drop?.(),
      ),
    );

    test('import-p12 places a legacy key with the password from the environment, list-keys shows it', () => {
      const r = cli(['import-p12', '--user', 'fran@example.com', '--file', `${FIXTURES}corpus/Fran.p12`], {
        ...env,
        SMIME_P12_PASSWORD: 'nss',
      });
      assert.equal(r.code, 0, r.err + r.out);
      assert.match(r.out, /placed key [0-9a-f-]{36} for fran@example.com/);
      assert.match(r.out, /must then choose their own passphrase/);
      assert.doesNotMatch(r.out + r.err, /nss/);
      const l = cli(['list-keys', '--user', 'fran@example.com'], env);
      assert.equal(l.code, 0, l.err);
      assert.match(l.out, /default\s+pending/);
    });

    test('import-p12 reads the password from standard input when it is not a terminal', () => {
      const r = cli(
        ['import-p12', '--user', 'rsa-user@example.com', '--file', `${FIXTURES}p12/rsa-legacy.p12`],
        env,
        'fixture-pass\n',
      );
      assert.equal(r.code, 0, r.err + r.out);
    });

    test('import-p12 refuses a wrong password, a foreign certificate (unless --force), and bad usage', () => {
      const wrong = cli(['import-p12', '--user', 'alice@example.com', '--file', `${FIXTURES}corpus/Alice.p12`], {
        ...env,
        SMIME_P12_PASSWORD: 'nope',
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.err, /P12_BAD_PASSWORD/);
      const foreign = cli(['import-p12', '--user', 'bob@example.com', '--file', `${FIXTURES}corpus/Alice.p12`], {
        ...env,
        SMIME_P12_PASSWORD: 'nss',
      });
      assert.equal(foreign.code, 1);
      assert.match(foreign.err, /CERT_EMAIL_MISMATCH/);
      const forced = cli(
        ['import-p12', '--user', 'bob@example.com', '--file', `${FIXTURES}corpus/Alice.p12`, '--force'],
        { ...env, SMIME_P12_PASSWORD: 'nss' },
      );
      assert.equal(forced.code, 0, forced.err);
      const usage = cli(['import-p12', '--file', 'x'], env);
      assert.equal(usage.code, 2);
      const unknown = cli(['import-p12', '--bogus'], env);
      assert.equal(unknown.code, 2);
      const missing = cli(['import-p12', '--user', 'a@example.com', '--file', '/nonexistent.p12'], {
        ...env,
        SMIME_P12_PASSWORD: 'x',
      });
      assert.equal(missing.code, 1);
    });

    test('add-alias lets a certificate for the alias be placed', () => {
      assert.equal(cli(['add-alias', '--user', 'david@example.com', '--alias', 'Dave@example.com'], env).code, 0);
      const r = cli(['import-p12', '--user', 'david@example.com', '--file', `${FIXTURES}corpus/Dave.p12`], {
        ...env,
        SMIME_P12_PASSWORD: 'nss',
      });
      assert.equal(r.code, 0, r.err);
      // An address that is already another user's primary address cannot become an alias.
      const taken = cli(['add-alias', '--user', 'david@example.com', '--alias', 'bob@example.com'], env);
      assert.equal(taken.code, 1);
      assert.match(taken.err, /ALIAS_TAKEN/);
    });

    test('issue-token prints a short-lived token the API accepts', async () => {
      const r = cli(['issue-token', '--user', 'Alice@Example.com', '--ttl', '120'], env);
      assert.equal(r.code, 0, r.err);
      const token = r.out.trim();
      const { payload } = await jwtVerify(token, new TextEncoder().encode(TEST_JWT_SECRET), { audience: 'smime' });
      assert.equal(payload.sub, 'alice@example.com');
      assert.equal(payload.exp! - payload.iat!, 120);
      assert.equal(cli(['issue-token', '--user', 'a@example.com', '--ttl', '999999'], env).code, 2);
    });

    test('migrate says what became of the application role', () => {
      const r = cli(['migrate'], env);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        target.name === 'pglite'
          ? /smime_app: not used by the embedded database/
          : /smime_app: may append to audit_log and not change it/,
      );
    });

    test('audit-checkpoint signs the chain, audit-verify --checkpoints checks it', () => {
      const file = join(dir, 'audit-checkpoints.jsonl');
      const cp = cli(['audit-checkpoint'], env);
      assert.equal(cp.code, 0, cp.err + cp.out);
      assert.match(cp.out, /^\{"type":"smime-audit-checkpoint","v":1,"alg":"Ed25519"/);
      assert.match(cp.out, new RegExp(`written to ${file}`));
      const v = cli(['audit-verify', '--checkpoints', file], env);
      assert.equal(v.code, 0, v.err + v.out);
      assert.match(
        v.out,
        /checkpoints: 1 valid of 1 read from .*audit-checkpoints\.jsonl; last at entry \d+ .*, 0 entries appended since/,
      );
      assert.match(v.out, /audit chain OK/);
      // Asked to check against checkpoints and given none: that is no proof, so it fails.
      const empty = join(dir, 'empty.jsonl');
      writeFileSync(empty, '');
      const none = cli(['audit-verify', '--checkpoints', empty], env);
      assert.equal(none.code, 1, none.out);
      assert.match(none.out, /no-checkpoint/);
    });

    test('audit-verify passes on an intact log and exits 1 after tampering', async () => {
      const ok = cli(['audit-verify'], env);
      assert.equal(ok.code, 0, ok.err + ok.out);
      assert.match(ok.out, /audit chain OK/);
      const head = /head:\s+([0-9a-f]{64})/.exec(ok.out)![1]!;
      assert.equal(cli(['audit-verify', '--expect-head', head], env).code, 0);
      // Tamper as a database superuser would (triggers off), through the same database the CLI uses.
      const { openDatabase } = await import('../../backend/src/services.ts');
      const { loadConfig } = await import('../../backend/src/config.ts');
      const db = await openDatabase(loadConfig(env));
      try {
        await db.transaction(async (tx) => {
          await tx.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
          await tx.query("UPDATE audit_log SET user_email = 'someone@else.example' WHERE seq = 1");
          // And the newest entry, which the checkpoint of the previous test names.
          await tx.query('DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)');
          await tx.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
        });
      } finally {
        await db.close();
      }
      const bad = cli(['audit-verify'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.out, /PROBLEM at entry 1: hash-mismatch/);
      const anchored = cli(['audit-verify', '--checkpoints', join(dir, 'audit-checkpoints.jsonl')], env);
      assert.equal(anchored.code, 1);
      assert.match(anchored.out, /PROBLEM at entry 1: hash-mismatch/);
      assert.match(
        anchored.out,
        /PROBLEM at entry (\d+): checkpoint-missing: entries \1\.\.\1 were removed after the checkpoint of /,
      );
      // No checkpoint is signed for a chain that does not extend the last one.
      const refused = cli(['audit-checkpoint'], env);
      assert.equal(refused.code, 1, refused.out);
      assert.match(refused.err, /AUDIT_CHECKPOINT_REFUSED/);
    });
  });
}
