/**
 * Attack: changing whose certificate colleagues encrypt to without a trace. A sync rewrites the shared copy of every
 * colleague's certificate; whoever can start one (the admin route, the CLI on the server, the schedule) or point it
 * at another directory could swap certificates, and before issue 12 nothing recorded that a sync ran, who started
 * it, what it changed, what it rejected or that it failed.
 *
 * Defence: every sync appends one entry to the hash-chained audit log (store/audit.ts): 'directory.synced' in the
 * sync's own transaction (no copy without its entry), with the actor ('admin:api', 'admin:cli', 'system:schedule'),
 * the mode, the counts, the address conflicts and the rejected certificates (fingerprint and reason, at most
 * SMIME_DIRECTORY_REPORT_LIMIT, beside the whole count); 'directory.sync_failed' with the error code when it fails.
 *
 * What the test proves, against a real slapd: a sync through the admin route, one by the schedule, one by the CLI (on
 * PostgreSQL) and a failed one (wrong bind password) each leave exactly one entry naming its actor; the entry carries
 * the counts of the summary and the rejected certificates, bounded by the report limit; the password appears nowhere
 * in the log; the chain still verifies. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { directoryOptions } from '../../backend/src/directory/options.ts';
import { startDirectorySchedule } from '../../backend/src/directory/schedule.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { listAudit, verifyAudit, type AuditEntry } from '../../backend/src/store/audit.ts';
import { pkiFile, slapdSkipReason, SYNC_PASSWORD, type Person } from '../fixtures/ldap/slapd.ts';
import { ldapEnv } from '../directory/world.ts';
import { Client, TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { startDirectoryWorld, syncNow, TEST_TIMEOUT_MS, type DirectoryWorld } from './directory-world.ts';

const skip = slapdSkipReason();
const fp = (file: string) => describeCertificate(pkiFile(file)).fingerprintSha256;

const people = (): Person[] => [
  { uid: 'user01', mail: 'user01@example.org', certificates: [pkiFile('user01.der')] },
  // Three rejected certificates: expired, another CA's, clientAuth only.
  { uid: 'carol', mail: 'carol@example.org', certificates: [pkiFile('carol.der')] },
  { uid: 'ursula', mail: 'ursula@example.org', certificates: [pkiFile('ursula-untrusted.der')] },
  { uid: 'dave', mail: 'dave@example.org', certificates: [pkiFile('dave.der')] },
];

const directoryEntries = async (w: DirectoryWorld): Promise<AuditEntry[]> =>
  (await listAudit(w.db, { limit: 1000 })).filter((e) => e.action.startsWith('directory.')).reverse();

for (const target of await databaseTargets()) {
  describe(`every directory sync is audited on ${target.name}`, { skip, timeout: 6 * TEST_TIMEOUT_MS }, () => {
    let w: DirectoryWorld;
    before(async () => {
      w = await startDirectoryWorld(target, people());
    });
    after(async () => {
      await w?.close();
    });

    test(
      'a sync through the admin route: one entry, actor admin:api, the counts and the rejected certificates',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const summary = await syncNow(w.admin);
        const entries = await directoryEntries(w);
        assert.equal(entries.length, 1, JSON.stringify(entries));
        const e = entries[0]!;
        assert.equal(e.action, 'directory.synced');
        assert.equal(e.actor, 'admin:api');
        assert.equal(e.user_email, null);
        const d = e.details as Record<string, any>;
        assert.equal(d.mode, 'full');
        for (const k of [
          'entriesSeen',
          'entriesRemoved',
          'certificatesAdded',
          'certificatesUpdated',
          'certificatesRemoved',
          'certificatesRejected',
          'conflictCount',
        ])
          assert.equal(d[k], summary[k], k);
        assert.equal(d.certificatesRejected, 3);
        assert.deepEqual(
          d.rejected.map((r: { fingerprintSha256: string }) => r.fingerprintSha256).sort(),
          [fp('carol.der'), fp('ursula-untrusted.der'), fp('dave.der')].sort(),
        );
        assert.ok(
          d.rejected.every((r: { reason: string; dn: string }) => r.reason.length > 0 && r.dn.startsWith('uid=')),
        );
      },
    );

    test(
      'the rejected certificates listed are bounded by SMIME_DIRECTORY_REPORT_LIMIT; the count is whole',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const srv = await w.another({ SMIME_DIRECTORY_REPORT_LIMIT: 1 });
        await syncNow(new Client(srv.url, TEST_ADMIN_TOKEN));
        const d = (await directoryEntries(w)).at(-1)!.details as Record<string, any>;
        assert.equal(d.certificatesRejected, 3);
        assert.equal(d.rejected.length, 1);
      },
    );

    test('a sync by the schedule: actor system:schedule', { timeout: TEST_TIMEOUT_MS }, async () => {
      const before = (await directoryEntries(w)).length;
      const schedule = startDirectorySchedule(w.db, directoryOptions(w.srv.config)!, 1, w.srv.services.log);
      try {
        const deadline = Date.now() + TEST_TIMEOUT_MS / 2;
        while ((await directoryEntries(w)).length === before && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 200));
      } finally {
        schedule.stop();
      }
      const e = (await directoryEntries(w)).at(before);
      assert.ok(e, 'the scheduled sync left an entry');
      assert.equal(e.actor, 'system:schedule');
      assert.equal(e.action, 'directory.synced');
    });

    test(
      'a failed sync (wrong bind password): directory.sync_failed with the code, no password anywhere',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const before = (await directoryEntries(w)).length;
        const srv = await w.another({
          LDAP_BIND_PASSWORD: `wrong-${SYNC_PASSWORD}`,
          ldapBindPassword: `wrong-${SYNC_PASSWORD}`,
        });
        const r = await new Client(srv.url, TEST_ADMIN_TOKEN).request('POST', '/api/v1/admin/directory/sync', {
          json: { full: true },
        });
        assert.equal(r.status, 502, r.text);
        const entries = await directoryEntries(w);
        assert.equal(entries.length, before + 1);
        const e = entries.at(-1)!;
        assert.equal(e.action, 'directory.sync_failed');
        assert.equal(e.actor, 'admin:api');
        assert.equal((e.details as Record<string, unknown>).code, 'DIRECTORY_BIND_FAILED');
        const all = JSON.stringify(await listAudit(w.db, { limit: 1000 }));
        assert.ok(!all.includes(SYNC_PASSWORD), 'no bind password in the audit log');
      },
    );

    test(
      'a sync by smime-admin: actor admin:cli',
      {
        timeout: TEST_TIMEOUT_MS,
        skip: target.name !== 'postgres' && 'the CLI needs a database it can open beside the server: PostgreSQL',
      },
      async () => {
        const before = (await directoryEntries(w)).length;
        const env = ldapEnv(w.slapd);
        delete env.SMIME_DIRECTORY_TRUST_ANCHORS;
        const dir = mkdtempSync(join(tmpdir(), 'smime-dirsec-cli-'));
        try {
          const r = runCli(
            ['sync-directory'],
            {
              SMIME_DATA_DIR: dir,
              SMIME_JWT_SECRET: TEST_JWT_SECRET,
              SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
              DATABASE_URL: w.url!,
              SMIME_TRUST_ANCHORS: w.slapd.caFile,
              ...env,
            },
            undefined,
            TEST_TIMEOUT_MS,
          );
          assert.equal(r.code, 0, r.err + r.out);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        const entries = await directoryEntries(w);
        assert.equal(entries.length, before + 1);
        assert.equal(entries.at(-1)!.actor, 'admin:cli');
      },
    );

    test('the audit chain still verifies', { timeout: TEST_TIMEOUT_MS }, async () => {
      const v = await verifyAudit(w.db);
      assert.equal(v.ok, true, JSON.stringify(v.problems));
    });
  });
}
