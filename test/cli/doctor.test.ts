/**
 * `smime-admin doctor` (issue 15): runDoctor on configurations that are right and on each one wrong thing, asserting
 * which check fails and that its fix names the variable or command; the unreachable ones within a bound; no secret
 * value in the printed report.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { generateSigningKeyPem } from '../../backend/src/audit/keys.ts';
import {
  doctorCommand,
  doctorExitCode,
  formatDoctorReport,
  runDoctor,
  type DoctorCheck,
  type DoctorReport,
} from '../../backend/src/cli/doctor.ts';
import { createRecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { certificateToPem } from '../../backend/src/smime/index.ts';
import { appendAudit } from '../../backend/src/store/audit.ts';
import { openPGlite } from '../../backend/src/store/db.ts';
import { MIGRATIONS_DIR, migrate } from '../../backend/src/store/migrate.ts';
import { SYNC_PASSWORD, slapdSkipReason, startSlapd, type Slapd } from '../fixtures/ldap/slapd.ts';
import { databaseTargets } from '../helpers/db.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { ldapEnv } from '../directory/world.ts';

/** Opening and migrating an embedded database takes a few seconds; a loaded machine, more. */
const DB_TEST_TIMEOUT_MS = 120_000;
/** What an unreachable service may cost the doctor at most, with the 1 s check timeout the tests give it. */
const UNREACHABLE_BOUND_MS = 8_000;
const CHECK_TIMEOUT_MS = 1_000;

const ESC = String.fromCharCode(0x1b);
const JWT_SECRET = 'doctor-test-jwt-secret-0123456789abcdef';
const ADMIN_TOKEN = 'doctor-test-admin-token-0123456789abcdef';

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** A data folder with private secret files and a trust-anchor bundle: what a careful operator sets. */
function goodEnv(root: string, overrides: Record<string, string> = {}): Record<string, string> {
  const secrets = join(root, 'etc');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const file = (name: string, content: string, mode = 0o600) => {
    const path = join(secrets, name);
    writeFileSync(path, content, { mode });
    return path;
  };
  return {
    SMIME_DATA_DIR: join(root, 'data'),
    SMIME_JWT_SECRET_FILE: file('jwt', JWT_SECRET),
    SMIME_ADMIN_TOKEN_FILE: file('admin', ADMIN_TOKEN),
    SMIME_AUDIT_CHECKPOINT_KEY_FILE: file('checkpoint.pem', generateSigningKeyPem()),
    SMIME_TRUST_ANCHORS: file('anchors.pem', pem(readFileSync(join(FIXTURES, 'pki/ca/root.der'))), 0o644),
    SMIME_DEMO: 'off',
    ...overrides,
  };
}

/** An embedded database in `dataDir`, migrated with the first `upTo` migrations (default all). */
async function embeddedDatabase(dataDir: string, upTo?: number): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let dir = MIGRATIONS_DIR;
  if (upTo !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'smime-doctor-migrations-')) + '/';
    for (const f of readdirSync(MIGRATIONS_DIR)
      .filter((n) => n.endsWith('.sql'))
      .sort()
      .slice(0, upTo))
      copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
  }
  const db = await openPGlite(join(dataDir, 'db'));
  try {
    await migrate(db, dir);
  } finally {
    await db.close();
    if (upTo !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function check(report: DoctorReport, name: string): DoctorCheck {
  const c = report.checks.find((x) => x.name === name);
  assert.ok(c, `no check ${name} in ${report.checks.map((x) => x.name).join(', ')}`);
  return c;
}

function problems(report: DoctorReport): DoctorCheck[] {
  return report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
}

describe('smime-admin doctor', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'smime-doctor-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test(
    'a good embedded configuration: every check ok or skipped, exit 0',
    { timeout: DB_TEST_TIMEOUT_MS },
    async () => {
      const dir = join(root, 'good');
      const env = goodEnv(dir);
      await embeddedDatabase(env.SMIME_DATA_DIR!);
      const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
      assert.deepEqual(problems(report), []);
      assert.equal(doctorExitCode(report), 0);
      for (const name of [
        'configuration',
        'production settings',
        'secret files',
        'database',
        'migrations',
        'audit chain',
      ])
        assert.equal(check(report, name).status, 'ok', name);
      assert.match(check(report, 'trust anchors').detail, /1 certificate, 1 valid now/);
      assert.equal(check(report, 'directory').status, 'skipped');
      const text = formatDoctorReport(report, { color: false });
      assert.match(text, /^ok {4}configuration/m);
      assert.ok(!text.includes(`${ESC}[`), 'no colour unless asked');
      assert.ok(formatDoctorReport(report, { color: true }).includes(`${ESC}[32mok`));
      for (const secret of [JWT_SECRET, ADMIN_TOKEN]) assert.ok(!text.includes(secret), 'no secret value printed');
    },
  );

  // Every kind of secret file, each made readable by others: the secret-files check fails and says how to fix it.
  const LOOSE: {
    what: string;
    env?: Record<string, string>;
    path: (env: Record<string, string>) => string;
    fix: RegExp;
  }[] = [
    { what: 'SMIME_JWT_SECRET_FILE', path: (e) => e.SMIME_JWT_SECRET_FILE!, fix: /^chmod 600 / },
    { what: 'SMIME_ADMIN_TOKEN_FILE', path: (e) => e.SMIME_ADMIN_TOKEN_FILE!, fix: /^chmod 600 / },
    // loadConfig refuses this one too: the configuration check fails as well.
    { what: 'SMIME_AUDIT_CHECKPOINT_KEY_FILE', path: (e) => e.SMIME_AUDIT_CHECKPOINT_KEY_FILE!, fix: /^chmod 600 / },
    {
      what: 'a generated secret (embedded database: the data folder)',
      path: (e) => join(e.SMIME_DATA_DIR!, 'secrets', 'jwt-secret'),
      fix: /^chmod -R go-rwx /,
    },
    {
      what: 'a generated secret (with DATABASE_URL)',
      env: { DATABASE_URL: 'postgres://doctor@127.0.0.1:1/test' },
      path: (e) => join(e.SMIME_DATA_DIR!, 'secrets', 'jwt-secret'),
      fix: /^chmod 600 /,
    },
  ];
  for (const [i, l] of LOOSE.entries())
    test(`${l.what} open to others fails with the chmod to run, whatever NODE_ENV`, { timeout: 30_000 }, async () => {
      const env = goodEnv(join(root, `loose-${i}`), l.env);
      mkdirSync(join(env.SMIME_DATA_DIR!, 'secrets'), { recursive: true, mode: 0o700 });
      writeFileSync(join(env.SMIME_DATA_DIR!, 'secrets', 'jwt-secret'), JWT_SECRET, { mode: 0o600 });
      chmodSync(l.path(env), 0o644);
      const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
      const c = report.checks.find((x) => x.name === 'secret files' && x.status === 'fail');
      assert.ok(c, formatDoctorReport(report));
      assert.match(c.detail, /open to group or others/);
      assert.match(c.detail, /0644/);
      assert.match(c.fix!, l.fix);
      assert.equal(doctorExitCode(report), 1);
      const text = formatDoctorReport(report);
      assert.match(text, /fix: chmod /);
      assert.ok(!text.includes(JWT_SECRET) && !text.includes(ADMIN_TOKEN), 'no secret value printed');
    });

  test(
    'a secret file owned by another user fails with the chown to run',
    { timeout: 30_000, skip: process.getuid?.() === 0 ? undefined : 'needs root to give a file away' },
    async () => {
      const env = goodEnv(join(root, 'owner'));
      chownSync(env.SMIME_ADMIN_TOKEN_FILE!, 65534, 65534);
      const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
      const c = check(report, 'secret files');
      assert.equal(c.status, 'fail');
      assert.match(c.detail, /SMIME_ADMIN_TOKEN_FILE: .* is owned by uid 65534, not by this user \(uid 0\)/);
      assert.match(c.fix!, /^chown 0 /);
    },
  );

  test('an unreachable DATABASE_URL fails quickly and names DATABASE_URL', { timeout: 30_000 }, async () => {
    const env = goodEnv(join(root, 'refused'), { DATABASE_URL: 'postgres://doctor:s3cret-pw@127.0.0.1:1/test' });
    const started = Date.now();
    const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
    assert.ok(Date.now() - started < UNREACHABLE_BOUND_MS, `took ${Date.now() - started} ms`);
    const c = check(report, 'database');
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /127\.0\.0\.1:1\/test as doctor cannot be reached/);
    assert.match(c.fix!, /DATABASE_URL/);
    assert.equal(check(report, 'migrations').status, 'skipped');
    assert.equal(check(report, 'audit chain').status, 'skipped');
    assert.ok(!formatDoctorReport(report).includes('s3cret-pw'), 'the password in DATABASE_URL is never printed');
  });

  test('a database that accepts and never answers fails within the check timeout', { timeout: 30_000 }, async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const env = goodEnv(join(root, 'silent'), { DATABASE_URL: `postgres://doctor@127.0.0.1:${port}/test` });
      const started = Date.now();
      const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
      assert.ok(Date.now() - started < UNREACHABLE_BOUND_MS, `took ${Date.now() - started} ms`);
      const c = check(report, 'database');
      assert.equal(c.status, 'fail');
      assert.match(c.detail, /did not answer within 1000 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test('pending migrations fail with "smime-admin migrate"', { timeout: DB_TEST_TIMEOUT_MS }, async () => {
    const env = goodEnv(join(root, 'pending'));
    await embeddedDatabase(env.SMIME_DATA_DIR!, 3);
    const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
    const c = check(report, 'migrations');
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /pending: 004_/);
    assert.match(c.fix!, /smime-admin migrate/);
    assert.equal(check(report, 'audit chain').status, 'skipped');
    assert.equal(doctorExitCode(report), 1);
  });

  test('no embedded database yet: fail, and the doctor creates none', { timeout: 30_000 }, async () => {
    const env = goodEnv(join(root, 'nodb'));
    const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
    const c = check(report, 'database');
    assert.equal(c.status, 'fail');
    assert.match(c.fix!, /smime-admin migrate/);
    assert.throws(() => readdirSync(join(env.SMIME_DATA_DIR!, 'db')), /ENOENT/);
  });

  test('a missing trust-anchor file fails naming SMIME_TRUST_ANCHORS', { timeout: 30_000 }, async () => {
    const env = goodEnv(join(root, 'anchors'), { SMIME_TRUST_ANCHORS: join(root, 'no-such-anchors.pem') });
    const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
    const c = check(report, 'trust anchors');
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /SMIME_TRUST_ANCHORS: cannot read .*no-such-anchors\.pem: ENOENT/);
    assert.match(c.fix!, /SMIME_TRUST_ANCHORS/);
  });

  test('an expired anchor is a warning, a bundle of expired anchors a failure', { timeout: 30_000 }, async () => {
    const good = goodEnv(join(root, 'expired'));
    const expired = join(FIXTURES, 'pki/certs/expired.pem');
    const only = check(await runDoctor({ ...good, SMIME_TRUST_ANCHORS: expired }), 'trust anchors');
    assert.equal(only.status, 'fail');
    assert.match(only.detail, /0 valid now; expired: /);
    const both = join(root, 'both.pem');
    writeFileSync(both, readFileSync(expired, 'utf8') + readFileSync(good.SMIME_TRUST_ANCHORS!, 'utf8'));
    const mixed = check(await runDoctor({ ...good, SMIME_TRUST_ANCHORS: both }), 'trust anchors');
    assert.equal(mixed.status, 'warn');
    assert.match(mixed.detail, /2 certificates, 1 valid now/);
  });

  test(
    'a directory at an unreachable port fails, and the later directory checks are skipped',
    { timeout: 30_000 },
    async () => {
      const env = goodEnv(join(root, 'ldap-down'), {
        LDAP_URL: 'ldap://127.0.0.1:1',
        LDAP_BASE_DN: 'dc=example,dc=org',
      });
      const started = Date.now();
      const report = await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS });
      assert.ok(Date.now() - started < UNREACHABLE_BOUND_MS);
      const c = check(report, 'directory reachable');
      assert.equal(c.status, 'fail');
      assert.match(c.detail, /ldap:\/\/127\.0\.0\.1:1 cannot be reached: .*ECONNREFUSED/);
      assert.match(c.fix!, /LDAP_URL/);
      for (const name of ['directory TLS', 'directory bind', 'directory base DN'])
        assert.equal(check(report, name).status, 'skipped');
    },
  );

  test(
    "production.ts's rules: a warning in development, a failure with NODE_ENV=production",
    { timeout: 30_000 },
    async () => {
      const env = goodEnv(join(root, 'weak'), { SMIME_FETCH_ALLOW_PRIVATE: 'true' });
      for (const [nodeEnv, status] of [
        [undefined, 'warn'],
        ['production', 'fail'],
      ] as const) {
        const report = await runDoctor(nodeEnv ? { ...env, NODE_ENV: nodeEnv } : env);
        const c = check(report, 'production settings');
        assert.equal(c.status, status, String(nodeEnv));
        assert.match(c.detail, /^SMIME_FETCH_ALLOW_PRIVATE: /);
        assert.match(c.fix!, /unset it/);
      }
    },
  );

  test('an unreadable LDAP_CA_FILE fails the directory check, naming it', { timeout: 30_000 }, async () => {
    const env = goodEnv(join(root, 'ldap-ca'), {
      LDAP_URL: 'ldaps://127.0.0.1:1',
      LDAP_BASE_DN: 'dc=example,dc=org',
      LDAP_CA_FILE: join(root, 'no-such-ca.pem'),
    });
    const c = check(await runDoctor(env, { timeoutMs: CHECK_TIMEOUT_MS }), 'directory');
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /^LDAP_CA_FILE: cannot read .*no-such-ca\.pem: ENOENT/);
    assert.match(c.fix!, /LDAP_CA_FILE/);
  });

  test('a configuration that does not load fails first and skips what needs it', { timeout: 30_000 }, async () => {
    const report = await runDoctor({ ...goodEnv(join(root, 'badconf')), SMIME_NO_SUCH_SETTING: '1' });
    const c = check(report, 'configuration');
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /unknown settings: SMIME_NO_SUCH_SETTING/);
    assert.equal(check(report, 'database').status, 'skipped');
  });

  test('doctorCommand prints the report and returns the exit code', { timeout: 30_000 }, async () => {
    let text = '';
    const out = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    });
    const code = await doctorCommand({ ...goodEnv(join(root, 'command')), SMIME_NO_SUCH_SETTING: '1' }, out);
    assert.equal(code, 1);
    assert.match(text, /^FAIL {2}configuration +invalid|^FAIL {2}configuration +unknown settings/m);
    assert.match(text, /failed, \d+ skipped: fix the failed checks \(exit 1\)\n$/);
    assert.ok(!text.includes(`${ESC}[`), 'no colour into a pipe');
  });
});

const slapdSkip = slapdSkipReason();

describe('smime-admin doctor against a real slapd', { skip: slapdSkip }, () => {
  let slapd: Slapd | undefined;
  let root: string;
  before(
    async () => {
      root = mkdtempSync(join(tmpdir(), 'smime-doctor-ldap-'));
      slapd = await startSlapd();
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await slapd?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('StartTLS, bind and base DN are ok', { timeout: 30_000 }, async () => {
    const report = await runDoctor(goodEnv(root, ldapEnv(slapd!)), { timeoutMs: 5_000 });
    for (const name of ['directory reachable', 'directory TLS', 'directory bind', 'directory base DN'])
      assert.equal(check(report, name).status, 'ok', `${name}: ${check(report, name).detail}`);
    assert.ok(!formatDoctorReport(report).includes(SYNC_PASSWORD), 'the bind password is never printed');
  });

  test('a wrong password fails the bind, the TLS check still ok', { timeout: 30_000 }, async () => {
    const report = await runDoctor(goodEnv(root, ldapEnv(slapd!, { LDAP_BIND_PASSWORD: 'wrong-password-xyz' })), {
      timeoutMs: 5_000,
    });
    assert.equal(check(report, 'directory TLS').status, 'ok');
    const c = check(report, 'directory bind');
    assert.equal(c.status, 'fail');
    assert.match(c.fix!, /LDAP_BIND_DN and LDAP_BIND_PASSWORD/);
    assert.ok(!formatDoctorReport(report).includes('wrong-password-xyz'));
  });

  test("a CA that did not issue the directory's certificate fails the TLS check", { timeout: 30_000 }, async () => {
    const other = join(root, 'other-ca.pem');
    writeFileSync(other, pem(readFileSync(join(FIXTURES, 'pki/ca/root.der'))));
    const report = await runDoctor(goodEnv(root, ldapEnv(slapd!, { LDAP_CA_FILE: other })), { timeoutMs: 5_000 });
    const c = check(report, 'directory TLS');
    assert.equal(c.status, 'fail');
    assert.match(c.fix!, /LDAP_CA_FILE/);
    assert.equal(check(report, 'directory bind').status, 'skipped');
  });

  test('a base DN that does not exist fails naming LDAP_BASE_DN', { timeout: 30_000 }, async () => {
    const report = await runDoctor(goodEnv(root, ldapEnv(slapd!, { LDAP_BASE_DN: 'ou=nowhere,dc=example,dc=org' })), {
      timeoutMs: 5_000,
    });
    const c = check(report, 'directory base DN');
    assert.equal(c.status, 'fail');
    assert.match(c.fix!, /LDAP_BASE_DN/);
  });
});

const postgres = (await databaseTargets()).find((t) => t.name === 'postgres');

describe('smime-admin doctor on PostgreSQL', { skip: postgres ? undefined : 'PostgreSQL is not reachable' }, () => {
  test(
    'a migrated database: roles reported; an edited audit entry fails the audit chain',
    { timeout: DB_TEST_TIMEOUT_MS },
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'smime-doctor-pg-'));
      const { db, drop, url } = await postgres!.open();
      try {
        await appendAudit(db, {
          actor: 'admin:cli',
          userEmail: null,
          action: 'alias.added',
          details: { alias: 'a@x' },
        });
        const env = goodEnv(root, { DATABASE_URL: url! });
        const good = await runDoctor(env, { timeoutMs: 5_000 });
        for (const name of ['database', 'migrations', 'audit chain'])
          assert.ok(['ok', 'warn'].includes(check(good, name).status), `${name}: ${check(good, name).detail}`);
        assert.match(check(good, 'migrations').detail, /none pending/);
        // The test connects as the owner: the doctor says the server should not.
        assert.equal(check(good, 'database role').status, 'warn');
        assert.match(check(good, 'database role').fix!, /smime_app/);
        assert.ok(['ok', 'warn', 'fail'].includes(check(good, 'application role').status));
        assert.equal(check(good, 'key recovery').status, 'ok');
        assert.match(check(good, 'key recovery').detail, /not configured/);
        // With a recovery certificate: the coverage of what is stored (nothing yet), from the database itself.
        const recovery = await createRecoveryKey({ bits: 3072 });
        recovery.pkcs8.fill(0);
        const pem = join(root, 'recovery-certificate.pem');
        writeFileSync(pem, certificateToPem(recovery.certificate));
        const withRecovery = await runDoctor({ ...env, SMIME_RECOVERY_CERTIFICATE: pem }, { timeoutMs: 5_000 });
        assert.equal(check(withRecovery, 'key recovery').status, 'ok');
        assert.match(
          check(withRecovery, 'key recovery').detail,
          new RegExp(`set ${recovery.setId.slice(0, 16)}\\): 0 of 0 keys covered`),
        );

        await db.transaction(async (tx) => {
          await tx.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
          await tx.query(`UPDATE audit_log SET actor = 'someone-else' WHERE seq = (SELECT max(seq) FROM audit_log)`);
          await tx.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
        });
        const broken = await runDoctor(env, { timeoutMs: 5_000 });
        const c = check(broken, 'audit chain');
        assert.equal(c.status, 'fail');
        assert.match(c.detail, /BROKEN: hash-mismatch at entry \d+/);
        assert.match(c.fix!, /smime-admin audit-verify/);
      } finally {
        await drop();
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
