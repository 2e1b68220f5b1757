/**
 * Attack: two directory entries claim one address (as mail or as a proxy address): a stale duplicate account, a
 * migration gone wrong, or someone who added another's address to their entry (directory-alias-hijack.test.ts shows
 * the hijack itself). Both entries may hold perfectly trusted certificates naming it. Before issue 12 one of them won
 * silently (the newest certificate), and nobody was told that the directory did not say whose the address is.
 *
 * Defence: such an address resolves to nothing, with a reason naming both entries (mail/recipients.ts
 * directoryConflict); the sync finds every conflict of the stored copy after each run (store/directory.ts
 * directoryConflicts) and reports it in its summary (the admin route's answer, the CLI's summary line and one line per
 * conflict, the audit entry) and GET /api/v1/admin/directory/status lists the current ones, at most
 * SMIME_DIRECTORY_REPORT_LIMIT with the whole count.
 *
 * What the test proves, through the real API, the real CLI (on PostgreSQL) and a real slapd: with two entries holding
 * valid certificates of the organisation's CA for alice@, the sync summary, its audit entry and the status list the
 * conflict with both DNs; resolve says why alice@ is not ready; Bob's encrypted mail to it is refused with
 * RECIPIENT_CERTIFICATE_MISSING; the alias only one entry holds still works; the CLI's summary mentions the conflict;
 * once the duplicate entry is gone the conflict is gone and alice@ is ready again. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { listAudit } from '../../backend/src/store/audit.ts';
import { personDn, pkiFile, slapdSkipReason, type Person } from '../fixtures/ldap/slapd.ts';
import { ldapEnv } from '../directory/world.ts';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import {
  resolveOne,
  sendEncrypted,
  startDirectoryWorld,
  syncNow,
  TEST_TIMEOUT_MS,
  type DirectoryWorld,
} from './directory-world.ts';

const skip = slapdSkipReason();
const ALICE = 'alice@example.org';
const ALIAS = 'alice.smith@example.org';
const CONFLICT = { address: ALICE, entries: [personDn('alice'), personDn('alice-old')].sort() };

const people = (): Person[] => [
  {
    uid: 'alice',
    mail: ALICE,
    proxyAddresses: [`SMTP:${ALICE}`, `smtp:${ALIAS}`],
    certificates: [pkiFile('alice-2025.der')],
  },
  // A stale duplicate account: its certificate (alice.der) is as trusted as the other.
  { uid: 'alice-old', mail: ALICE, certificates: [pkiFile('alice.der')] },
  { uid: 'user01', mail: 'user01@example.org', certificates: [pkiFile('user01.der')] },
];

for (const target of await databaseTargets()) {
  describe(
    `two directory entries claiming one address on ${target.name}`,
    { skip, timeout: 5 * TEST_TIMEOUT_MS },
    () => {
      let w: DirectoryWorld;
      before(async () => {
        w = await startDirectoryWorld(target, people());
      });
      after(async () => {
        await w?.close();
      });

      test(
        'the sync summary, its audit entry and the admin status list the conflict with both entries',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const summary = await syncNow(w.admin);
          assert.equal(summary.conflictCount, 1, JSON.stringify(summary));
          assert.deepEqual(summary.conflicts, [CONFLICT]);
          const [entry] = await listAudit(w.db, { limit: 1 });
          assert.equal(entry?.action, 'directory.synced');
          assert.deepEqual(entry!.details.conflicts, [CONFLICT]);
          const status = await w.admin.request('GET', '/api/v1/admin/directory/status');
          assert.equal(status.status, 200, status.text);
          assert.equal(status.body.conflictCount, 1);
          assert.deepEqual(status.body.conflicts, [CONFLICT]);
        },
      );

      test(
        'neither entry wins: alice@ is not ready, the reason names both, mail to it is not encrypted',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const r = await resolveOne(w.reader, ALICE);
          assert.equal(r.ready, false, JSON.stringify(r));
          const reasons = r.reasons.join(' ');
          for (const dn of CONFLICT.entries) assert.ok(reasons.includes(dn), `${dn} in ${reasons}`);
          const sent = await sendEncrypted(w.sender, ALICE);
          assert.equal(sent.status, 422, `${sent.status} ${sent.text.slice(0, 200)}`);
          assert.equal(sent.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
          // The alias only Alice's entry holds is no conflict.
          const alias = await resolveOne(w.reader, ALIAS);
          assert.equal(alias.ready, true, JSON.stringify(alias));
          assert.equal(
            alias.certificate.fingerprintSha256,
            describeCertificate(pkiFile('alice-2025.der')).fingerprintSha256,
          );
        },
      );

      test(
        'smime-admin sync-directory mentions the conflict',
        {
          timeout: TEST_TIMEOUT_MS,
          skip: target.name !== 'postgres' && 'the CLI needs a database it can open beside the server: PostgreSQL',
        },
        async () => {
          const env = ldapEnv(w.slapd);
          delete env.SMIME_DIRECTORY_TRUST_ANCHORS;
          const dir = mkdtempSync(join(tmpdir(), 'smime-dirsec-cli-'));
          try {
            const r = runCli(
              ['sync-directory', '--full'],
              {
                SMIME_DATA_DIR: dir,
                SMIME_JWT_SECRET: TEST_JWT_SECRET,
                SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                DATABASE_URL: w.url!,
                // The organisation CA as the signature anchors: the directory's anchors default to them.
                SMIME_TRUST_ANCHORS: w.slapd.caFile,
                ...env,
              },
              undefined,
              TEST_TIMEOUT_MS,
            );
            assert.equal(r.code, 0, r.err + r.out);
            assert.match(r.out, /^directory sync \(full\): .*; 1 address conflicts; /m);
            assert.ok(r.out.includes(`conflict: ${ALICE} is claimed by ${CONFLICT.entries.join(' and ')}`), r.out);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      );

      test(
        'once the duplicate entry is gone, so is the conflict, and alice@ is ready',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const c = await w.slapd.admin();
          try {
            await c.del(personDn('alice-old'));
          } finally {
            await c.unbind();
          }
          const summary = await syncNow(w.admin);
          assert.equal(summary.conflictCount, 0);
          assert.deepEqual(summary.conflicts, []);
          assert.equal((await w.admin.request('GET', '/api/v1/admin/directory/status')).body.conflictCount, 0);
          const r = await resolveOne(w.reader, ALICE);
          assert.equal(r.ready, true, JSON.stringify(r));
          assert.equal((await sendEncrypted(w.sender, ALICE)).status, 200);
        },
      );
    },
  );
}
