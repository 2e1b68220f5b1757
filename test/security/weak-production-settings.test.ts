/**
 * Attack: a production server started with weak settings, each an open door for someone else. Another local user
 * reads the host-token secret or the admin token from a file left 0644, or the whole key vault from the embedded
 * database (PGlite wrote its files 0666); a network attacker impersonates the directory once NODE_TLS_REJECT_UNAUTHORIZED=0
 * silently turned off its TLS checks, or reads the bind password off the wire with LDAP_STARTTLS=false; a sender's
 * certificate points AIA/OCSP fetches at the internal network with SMIME_FETCH_ALLOW_PRIVATE=true; a short secret is
 * guessed. Until issue 12 a production start accepted all of these without a word.
 *
 * Defence: with NODE_ENV=production, backend/src/production.ts finds every weak setting before anything is opened and
 * main.ts refuses to start, exit code 2, with one message naming each setting and what to set; development keeps its
 * conveniences and only warns. The server and smime-admin run with umask 077 and store/db.ts takes group and others'
 * permissions off the embedded database's files after PGlite's initdb.
 *
 * What the test proves: each weak setting alone refuses the start with its setting and its fix named; all of them at
 * once are listed in one message; a production start as the Roundcube stack makes it (secrets in the environment,
 * cleartext LDAP to a loopback address, a fresh data folder) starts, and every file and folder the embedded database
 * wrote, before and after use, is private to the server's user (0600/0700).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { checkpointKeyEnv, runMain } from './server-process.ts';

/** A refused start exits before it opens the database: seconds. */
const REFUSAL_TIMEOUT_MS = 60_000;
const JWT = 'j'.repeat(48);
const ADMIN = 'a'.repeat(48);

/** Paths under `dir` (itself included) that group or others may read, write or enter. */
function openToOthers(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.mode & 0o077) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return out;
}

describe('weak production settings', { concurrency: false, timeout: 900_000 }, () => {
  let work: string;
  let n = 0;
  /** A private data folder and private secret files: the baseline every case weakens in one way. */
  const baseline = () => {
    const dir = join(work, `case-${n++}`);
    mkdirSync(dir, { mode: 0o700 });
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(dir, 'jwt-secret'), JWT, { mode: 0o600 });
    writeFileSync(join(dir, 'admin-token'), ADMIN, { mode: 0o600 });
    return {
      dir,
      data,
      env: {
        NODE_ENV: 'production',
        SMIME_DATA_DIR: data,
        SMIME_JWT_SECRET_FILE: join(dir, 'jwt-secret'),
        SMIME_ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
        ...checkpointKeyEnv(dir),
      } as Record<string, string>,
    };
  };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'smime-weak-'));
    chmodSync(work, 0o700);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const cases: { name: string; weaken: (b: ReturnType<typeof baseline>) => void; setting: string; says: RegExp }[] = [
    {
      name: 'a short host-token secret',
      weaken: (b) => writeFileSync(join(b.dir, 'jwt-secret'), 'only-20-characters!!'),
      setting: 'SMIME_JWT_SECRET_FILE',
      says: /shorter than 32 characters/,
    },
    {
      name: 'a short admin token in the environment',
      weaken: (b) => {
        delete b.env.SMIME_ADMIN_TOKEN_FILE;
        b.env.SMIME_ADMIN_TOKEN = 'short';
      },
      setting: 'SMIME_ADMIN_TOKEN',
      says: /shorter than 32 characters/,
    },
    {
      name: 'the secret file readable by others',
      weaken: (b) => chmodSync(join(b.dir, 'jwt-secret'), 0o644),
      setting: 'SMIME_JWT_SECRET_FILE',
      says: /open to group or others \(mode 0644\); chmod 600 /,
    },
    {
      name: 'the admin token file readable by its group',
      weaken: (b) => {
        b.env.SMIME_ADMIN_TOKEN_FILE = join(b.dir, 'admin-token');
        chmodSync(join(b.dir, 'admin-token'), 0o640);
      },
      setting: 'SMIME_ADMIN_TOKEN_FILE',
      says: /mode 0640\); chmod 600 /,
    },
    {
      name: 'no audit checkpoint key (it would be generated beside the database)',
      weaken: (b) => delete b.env.SMIME_AUDIT_CHECKPOINT_KEY_FILE,
      setting: 'SMIME_AUDIT_CHECKPOINT_KEY_FILE',
      says: /no audit checkpoint key is configured.*openssl genpkey -algorithm ed25519/,
    },
    {
      name: 'the data folder open to others',
      weaken: (b) => chmodSync(b.data, 0o755),
      setting: 'SMIME_DATA_DIR',
      says: /data \(0755\) is open to group or others; chmod -R go-rwx /,
    },
    {
      name: 'a database file readable by others',
      weaken: (b) => {
        mkdirSync(join(b.data, 'db'), { mode: 0o700 });
        writeFileSync(join(b.data, 'db', 'PG_VERSION'), '17', { mode: 0o644 });
      },
      setting: 'SMIME_DATA_DIR',
      says: /PG_VERSION \(0644\)/,
    },
    {
      name: 'TLS checks turned off for the whole process',
      weaken: (b) => (b.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'),
      setting: 'NODE_TLS_REJECT_UNAUTHORIZED',
      says: /turns off certificate checks.*unset it/,
    },
    {
      name: 'cleartext LDAP to a directory on the network',
      weaken: (b) =>
        Object.assign(b.env, {
          LDAP_URL: 'ldap://dc1.corp.example:389',
          LDAP_BASE_DN: 'dc=corp,dc=example',
          LDAP_STARTTLS: 'false',
        }),
      setting: 'LDAP_STARTTLS',
      says: /in clear to dc1\.corp\.example; .*ldaps:\/\//,
    },
    {
      name: 'fetches to private addresses',
      weaken: (b) => (b.env.SMIME_FETCH_ALLOW_PRIVATE = 'true'),
      setting: 'SMIME_FETCH_ALLOW_PRIVATE',
      says: /private and loopback addresses/,
    },
  ];

  for (const c of cases) {
    test(`${c.name} refuses the start, naming ${c.setting}`, async () => {
      const b = baseline();
      c.weaken(b);
      const run = await runMain(b.env, 'exit', REFUSAL_TIMEOUT_MS);
      try {
        assert.equal(run.exitCode, 2, run.output());
        assert.equal(run.url, undefined, 'never listened');
        const line = run
          .output()
          .split('\n')
          .find((l) => l.startsWith(`  - ${c.setting}: `));
        assert.ok(line, `no line for ${c.setting} in:\n${run.output()}`);
        assert.match(line, c.says);
        for (const secret of [JWT, ADMIN]) assert.ok(!run.output().includes(secret), 'no secret value in the message');
      } finally {
        await run.stop();
      }
    });
  }

  test('every weak setting at once: one message listing each', async () => {
    const b = baseline();
    // Both admin token forms cannot be set at once (loadConfig refuses that on its own): the file's case wins.
    for (const c of cases.filter((x) => x.name !== 'a short host-token secret' && x.setting !== 'SMIME_ADMIN_TOKEN'))
      c.weaken(b);
    const run = await runMain(b.env, 'exit', REFUSAL_TIMEOUT_MS);
    try {
      assert.equal(run.exitCode, 2, run.output());
      const named = new Set(
        run
          .output()
          .split('\n')
          .flatMap((l) => /^ {2}- ([A-Z_]+): /.exec(l)?.[1] ?? []),
      );
      for (const setting of [
        'SMIME_ADMIN_TOKEN_FILE',
        'SMIME_JWT_SECRET_FILE',
        'SMIME_DATA_DIR',
        'NODE_TLS_REJECT_UNAUTHORIZED',
        'LDAP_STARTTLS',
        'SMIME_FETCH_ALLOW_PRIVATE',
      ])
        assert.ok(named.has(setting), `${setting} named in:\n${run.output()}`);
    } finally {
      await run.stop();
    }
  });

  test('a sound production start (as the Roundcube stack makes it) starts, and the embedded database stays private', async () => {
    const b = baseline();
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      SMIME_DATA_DIR: b.data,
      // Secrets in the environment, as scripts/roundcube/stack.ts passes them.
      SMIME_JWT_SECRET: JWT,
      SMIME_ADMIN_TOKEN: ADMIN,
      ...checkpointKeyEnv(b.dir),
      SMIME_DEMO: 'off',
      // Cleartext LDAP is fine to a loopback address (a local slapd, the directory tests); no periodic sync here.
      LDAP_URL: 'ldap://127.0.0.1:9',
      LDAP_BASE_DN: 'dc=test',
      LDAP_STARTTLS: 'false',
      SMIME_DIRECTORY_SYNC_INTERVAL_S: '0',
    };
    const run = await runMain(env, 'ready');
    try {
      assert.deepEqual(openToOthers(b.data), [], 'after initdb and migrations');
      // Use it: a user row and an audit entry are written.
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice@example.com')
        .setAudience('smime')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JWT));
      const me = await fetch(`${run.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200, await me.text());
    } finally {
      await run.stop();
    }
    assert.deepEqual(openToOthers(b.data), [], 'after use and shutdown');
    assert.ok(readdirSync(join(b.data, 'db')).length > 5, 'sanity: the embedded database is there');
  });
});
