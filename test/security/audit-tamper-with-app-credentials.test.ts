/**
 * Attack: someone holds the server's database credentials (the DATABASE_URL in its environment or unit file, a
 * compromised server process) and uses them to rewrite the audit log directly: UPDATE or DELETE an entry, TRUNCATE
 * the table, disable its append-only trigger first, add a trigger of their own, drop the table, or become the owner.
 * On today's main the server connects as the owner of the tables, so every one of these works.
 *
 * Defence: migration 007 creates the role smime_app, which the server runs as (a login role IN ROLE smime_app, as the
 * README sets up): ordinary rights on the application's tables, but on audit_log only SELECT and INSERT, no UPDATE,
 * DELETE, TRUNCATE, TRIGGER or REFERENCES, and not the owner, so no ALTER TABLE ... DISABLE TRIGGER. Migrations run
 * as the owner; the server's start-up migration step, as smime_app, passes on an up-to-date database and refuses with
 * MIGRATION_NEEDS_OWNER when a migration is pending. Tables of later migrations get the ordinary rights by default.
 *
 * What the test proves, on PostgreSQL: each of those statements fails with insufficient_privilege for the login role,
 * and leaves the audit log intact, while the server's whole workflow works as that role through the HTTP API (IT
 * placement, passphrase change, unlock, signing, lock, a wrong passphrase, a checkpoint and the verification), and
 * its audit entries join the chain. On PGlite (one user) the migration skips the role, detectably.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { generateSigningKeyPem, parseSigningKey } from '../../backend/src/audit/keys.ts';
import { APP_ROLE, appRoleStatus, auditRightsOfCurrentRole } from '../../backend/src/store/app-role.ts';
import { verifyAudit } from '../../backend/src/store/audit.ts';
import { openPostgres, type Database } from '../../backend/src/store/db.ts';
import { migrate, MIGRATIONS_DIR, MigrationError } from '../../backend/src/store/migrate.ts';
import { startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets, TEST_DATABASE_URL } from '../helpers/db.ts';
import { adminClient, mail, placeKey, send, unlockHeader } from './world.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';
const INSUFFICIENT_PRIVILEGE = '42501';

for (const target of await databaseTargets()) {
  if (target.name === 'pglite') {
    describe('the application role on pglite', () => {
      test('is skipped, detectably: the embedded database has one user', async () => {
        const { db, drop } = await target.open();
        try {
          assert.deepEqual(await appRoleStatus(db), { state: 'embedded' });
          const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [
            APP_ROLE,
          ]);
          assert.equal(r!.n, 0, 'no smime_app role inside PGlite');
          const [m] = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM schema_migrations WHERE version = 7',
          );
          assert.equal(m!.n, 1, 'migration 007 is recorded all the same');
        } finally {
          await drop();
        }
      });
    });
    continue;
  }

  describe(`the audit log through the application's own credentials on ${target.name}`, { timeout: 300_000 }, () => {
    let owner: Database;
    let drop: () => Promise<void>;
    let app: Database;
    let appUrl: string;
    // A login role of this test only, member of smime_app, as the README has the operator create one. smime_app
    // itself belongs to the whole cluster and to every test database: never dropped here.
    const login = `smime_test_app_${randomBytes(4).toString('hex')}`;
    let srv: TestServer;
    let work: string;

    before(async () => {
      const opened = await target.open();
      owner = opened.db;
      drop = opened.drop;
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`CREATE ROLE ${login} LOGIN IN ROLE ${APP_ROLE}`);
      } finally {
        await c.end();
      }
      const u = new URL(opened.url!);
      u.username = login;
      appUrl = u.toString();
      app = openPostgres(appUrl, 3);
      work = mkdtempSync(join(tmpdir(), 'smime-app-role-'));
      srv = await startServer(app, {
        auditCheckpoint: {
          signingKey: parseSigningKey(generateSigningKeyPem()),
          verifyingKeys: [],
          file: join(work, 'audit-checkpoints.jsonl'),
          syslog: undefined,
          intervalS: 0,
        },
      });
    });

    after(async () => {
      await srv?.close();
      await app?.close();
      await drop?.();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP ROLE IF EXISTS ${login}`);
      } finally {
        await c.end();
      }
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('the migration made smime_app append-only on the audit log', async () => {
      const status = await appRoleStatus(owner);
      assert.equal(status.state, 'present');
      assert.equal(status.state === 'present' && status.appendOnly, true, JSON.stringify(status));
      assert.deepEqual(await auditRightsOfCurrentRole(app), { role: login, owner: false, modify: false });
      // Sanity: the owner (here a superuser) has every right; that is what the checkpoints are for.
      assert.equal((await auditRightsOfCurrentRole(owner)).owner, true);
    });

    test("the server's whole workflow works as the application role", async () => {
      // Start-up: the migration step passes on an up-to-date database without the owner's rights.
      assert.deepEqual(await migrate(app), []);
      const admin = adminClient(srv);
      const alice = await placeKey(srv, ALICE, 'Alice.p12', PASS);
      const wrong = await alice.request('POST', '/api/v1/session/unlock', { json: { passphrase: 'not it at all' } });
      assert.equal(wrong.status, 403, wrong.text);
      const cred = await unlockHeader(alice, PASS);
      const signed = await send(alice, 'sign=true', mail(ALICE, ALICE, 'signed by the restricted role'), {
        'x-smime-unlock': cred,
      });
      assert.equal(signed.status, 200, signed.text);
      assert.match(signed.text, /application\/pkcs7-signature/);
      assert.equal(
        (await alice.request('DELETE', '/api/v1/session/unlock', { headers: { 'x-smime-unlock': cred } })).status,
        200,
      );
      const cp = await admin.request('POST', '/api/v1/admin/audit/checkpoint');
      assert.equal(cp.status, 201, cp.text);
      const v = await admin.request('GET', '/api/v1/admin/audit/verify');
      assert.equal(v.body.ok, true, JSON.stringify(v.body.problems));
      const actions = (await owner.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq')).map(
        (r) => r.action,
      );
      for (const a of ['key.placed', 'passphrase.changed', 'unlock.failure', 'unlock.success', 'session.locked'])
        assert.ok(actions.includes(a), `audited as the application role: ${a}`);
    });

    test('UPDATE, DELETE, TRUNCATE, disabling or adding a trigger, dropping the table: all refused', async () => {
      const before = await verifyAudit(owner);
      assert.ok(before.entries >= 5, `entries to attack: ${before.entries}`);
      const attacks = [
        "UPDATE audit_log SET action = 'session.locked' WHERE action = 'unlock.failure'",
        'DELETE FROM audit_log WHERE seq = 1',
        'TRUNCATE audit_log',
        'ALTER TABLE audit_log DISABLE TRIGGER USER',
        'ALTER TABLE audit_log DISABLE TRIGGER ALL',
        'ALTER TABLE audit_log OWNER TO CURRENT_USER',
        'CREATE TRIGGER smime_test_noop BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()',
        'DROP TABLE audit_log',
        'SELECT smime_grant_app_role()',
      ];
      for (const sql of attacks)
        await assert.rejects(
          app.transaction((tx) => tx.query(sql)),
          (e: { code?: string; message?: string }) => {
            assert.equal(e.code, INSUFFICIENT_PRIVILEGE, `${sql}: ${e.message}`);
            return true;
          },
          sql,
        );
      // Granting itself more: PostgreSQL answers a grantor without grant options with a warning and grants nothing.
      await app.query(`GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO ${login}`).catch(() => {});
      assert.deepEqual(
        await auditRightsOfCurrentRole(app),
        { role: login, owner: false, modify: false },
        'no right was gained',
      );
      // The superuser cannot be borrowed either.
      await assert.rejects(app.query('SET ROLE postgres'), (e: { code?: string }) => e.code === INSUFFICIENT_PRIVILEGE);
      const after = await verifyAudit(owner);
      assert.equal(after.ok, true);
      assert.equal(after.headHash, before.headHash, 'the log is exactly as it was');
      const [t] = await owner.query<{ enabled: string }>(
        "SELECT tgenabled AS enabled FROM pg_trigger WHERE tgname = 'audit_log_no_update'",
      );
      assert.equal(t!.enabled, 'O', 'the trigger is still enabled');
    });

    test('a pending migration stops the restricted role with MIGRATION_NEEDS_OWNER; its tables get the ordinary rights', async () => {
      const dir = join(work, 'migrations') + '/';
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      writeFileSync(
        join(dir, '999_later_table.sql'),
        'CREATE TABLE later_table (id bigserial PRIMARY KEY, note text);\n',
      );
      await assert.rejects(migrate(app, dir), (e: unknown) => {
        assert.ok(e instanceof MigrationError);
        assert.equal(e.code, 'MIGRATION_NEEDS_OWNER');
        assert.match(e.message, /999_later_table\.sql/);
        assert.match(e.message, /smime-admin migrate/);
        return true;
      });
      assert.deepEqual(await migrate(owner, dir), ['999_later_table.sql']);
      await app.query("INSERT INTO later_table (note) VALUES ('by the application')");
      assert.equal((await app.query('SELECT note FROM later_table')).length, 1);
      assert.deepEqual(await migrate(app, dir), [], 'up to date again: the restricted role starts');
    });
  });
}
