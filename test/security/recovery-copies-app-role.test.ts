/**
 * Attack: someone holds the server's database credentials and wants to take the organisation's ability to recover a
 * user's keys away, quietly (delete or overwrite the recovery copies, or the recovery certificate they are made for),
 * or to swap a copy for one of their own making.
 *
 * Defence: migration 009 gives smime_app only SELECT and INSERT on recovery_certificates and key_recovery_wraps. The
 * server never needs more: a copy is written once, when a key is stored or first unlocked after recovery was
 * configured, and a new recovery certificate gets new rows beside the old ones. When the user deletes their own key
 * its copy goes with it by the foreign key's cascade, which PostgreSQL runs with the table owner's rights.
 *
 * What the test proves, on PostgreSQL as a login role in smime_app: the server places and covers a key; UPDATE,
 * DELETE and TRUNCATE on both tables fail with insufficient_privilege and change nothing; the user's own deletion of
 * the key still removes its copy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createRecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { APP_ROLE } from '../../backend/src/store/app-role.ts';
import { openPostgres, type Database } from '../../backend/src/store/db.ts';
import { startServer, type TestServer } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { databaseTargets, TEST_DATABASE_URL } from '../helpers/db.ts';
import { placeKey } from './world.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';
const INSUFFICIENT_PRIVILEGE = '42501';

const postgres = (await databaseTargets()).find((t) => t.name === 'postgres');

async function asSuperuser(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe(
  'recovery copies through the application role',
  { timeout: 300_000, skip: postgres ? undefined : 'PostgreSQL is not reachable' },
  () => {
    let owner: Database;
    let drop: () => Promise<void>;
    let app: Database | undefined;
    let srv: TestServer | undefined;
    const login = `smime_test_app_${randomBytes(4).toString('hex')}`;
    let loginCreated = false;

    before(async () => {
      const recovery = await createRecoveryKey({ bits: 3072 });
      recovery.pkcs8.fill(0); // the server side needs the certificate only
      const opened = await postgres!.open();
      owner = opened.db;
      drop = opened.drop;
      await asSuperuser(`CREATE ROLE ${login} LOGIN IN ROLE ${APP_ROLE}`);
      loginCreated = true;
      const u = new URL(opened.url!);
      u.username = login;
      app = openPostgres(u.toString(), 3);
      srv = await startServer(app, {
        recovery: { certificate: recovery.certificate, setId: recovery.setId, subject: 'CN=S/MIME key recovery' },
      });
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => app?.close(),
        () => drop?.(),
        () => (loginCreated ? asSuperuser(`DROP ROLE IF EXISTS ${login}`) : undefined),
      ),
    );

    const count = async (table: string) =>
      Number((await owner.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

    test('the server, as the application role, stores the copy; the role cannot change or remove one', async () => {
      const alice = await placeKey(srv!, ALICE, 'Alice.p12', PASS);
      assert.equal((await alice.request('GET', '/api/v1/keys')).body.keys.length, 1);
      assert.equal(await count('key_recovery_wraps'), 1);
      const [before] = await owner.query<{ envelope: Uint8Array }>('SELECT envelope FROM key_recovery_wraps');
      const attacks = [
        "UPDATE key_recovery_wraps SET envelope = '\\x00'",
        'DELETE FROM key_recovery_wraps',
        'TRUNCATE key_recovery_wraps',
        "UPDATE recovery_certificates SET certificate = '\\x00'",
        'DELETE FROM recovery_certificates',
        'TRUNCATE recovery_certificates CASCADE',
        'ALTER TABLE key_recovery_wraps DROP CONSTRAINT key_recovery_wraps_pkey',
        'DROP TABLE key_recovery_wraps',
      ];
      for (const sql of attacks)
        await assert.rejects(
          app!.transaction((tx) => tx.query(sql)),
          (e: { code?: string; message?: string }) => {
            assert.equal(e.code, INSUFFICIENT_PRIVILEGE, `${sql}: ${e.message}`);
            return true;
          },
          sql,
        );
      const [after] = await owner.query<{ envelope: Uint8Array }>('SELECT envelope FROM key_recovery_wraps');
      assert.deepEqual(Buffer.from(after!.envelope), Buffer.from(before!.envelope), 'the copy is as it was');
      assert.equal(await count('recovery_certificates'), 1);
    });

    test("the user's own deletion of the key still takes its copy along (the cascade runs as the owner)", async () => {
      const alice = await placeKey(srv!, 'carol@example.com', 'Alice.p12', PASS, true);
      const key = (await alice.request('GET', '/api/v1/keys')).body.keys[0] as {
        id: string;
        fingerprintSha256: string;
      };
      assert.equal(await count('key_recovery_wraps'), 2);
      const r = await alice.request('DELETE', `/api/v1/keys/${key.id}?confirm=${key.fingerprintSha256}`, {
        json: { passphrase: PASS },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(await count('key_recovery_wraps'), 1);
    });
  },
);
