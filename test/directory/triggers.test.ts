/**
 * The directory sync as admins and users meet it (issue 4): the admin HTTP routes (sync, status, errors), the user's
 * certificate list with sources and the resolve API preferring the directory over harvested certificates, and
 * `smime-admin sync-directory` (summary line, progress bar on a terminal, exit codes), against a real slapd, on
 * both databases.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../backend/src/config.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { upsertExchanged } from '../../backend/src/store/certificates.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { startDirectorySchedule } from '../../backend/src/directory/schedule.ts';
import { readSyncStatus } from '../../backend/src/store/directory-sync.ts';
import { ensureUser } from '../../backend/src/store/users.ts';
import { Client, startServer, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { personDn, pkiFile, slapdSkipReason, startSlapd, SYNC_PASSWORD, type Slapd } from '../fixtures/ldap/slapd.ts';
import {
  ldapConfig,
  ldapEnv,
  ldapOptions,
  MATCHING,
  PAGE_LIMIT,
  people,
  REJECTED,
  SIZE_LIMIT,
  STORED,
} from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = slapdSkipReason();
const CLI = join(REPO_ROOT, 'bin/smime-admin.js');

/** The directory part of a configuration, as startServer overrides. */
function directoryOverrides(slapd: Slapd, env: Record<string, string> = {}): Partial<Config> {
  const c = ldapConfig(slapd, env);
  return Object.fromEntries(
    Object.entries(c).filter(
      ([k]) => k.startsWith('LDAP_') || k.startsWith('SMIME_DIRECTORY_') || k === 'ldapBindPassword',
    ),
  );
}

function harvest(db: Database, userId: number, email: string, file: string) {
  const i = describeCertificate(pkiFile(file));
  return upsertExchanged(db, {
    id: randomUUID(),
    userId,
    email,
    certificate: pkiFile(file),
    chain: [],
    fingerprintSha256: i.fingerprintSha256,
    subject: i.subject,
    issuer: i.issuer,
    serialNumber: i.serialNumber,
    notBefore: i.notBefore,
    notAfter: i.notAfter,
    keyUsage: i.keyUsage,
    extendedKeyUsage: i.extendedKeyUsage,
    keyAlgorithm: i.keyAlgorithm,
    keySize: i.keySize,
    capabilities: [],
    source: 'harvested',
  });
}

for (const target of await databaseTargets()) {
  describe(`directory routes and CLI on ${target.name}`, { skip }, () => {
    let slapd: Slapd;
    let db: Database;
    let drop: () => Promise<void>;
    let url: string | undefined;
    let server: TestServer;
    let admin: Client;
    let user: Client;

    before(async () => {
      slapd = await startSlapd({ sizeLimit: SIZE_LIMIT, pageLimit: PAGE_LIMIT, people: people() });
      ({ db, drop, url } = await target.open());
      server = await startServer(db, directoryOverrides(slapd));
      admin = new Client(server.url, TEST_ADMIN_TOKEN);
      user = new Client(server.url, await server.token('reader@example.org'));
    });
    after(() =>
      cleanUp(
        () => server?.close(),
        () => slapd?.stop(),
        () => drop?.(),
      ),
    );

    test('the sync route needs the admin credential; a user token is refused', async () => {
      assert.equal((await new Client(server.url).request('POST', '/api/v1/admin/directory/sync')).status, 401);
      assert.equal((await user.request('POST', '/api/v1/admin/directory/sync')).status, 401);
      assert.equal((await user.request('GET', '/api/v1/admin/directory/status')).status, 401);
    });

    test('POST /admin/directory/sync runs a full sync and answers its summary; status shows it', async () => {
      const r = await admin.request('POST', '/api/v1/admin/directory/sync', { json: { full: true } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.summary.mode, 'full');
      assert.equal(r.body.summary.entriesSeen, MATCHING);
      assert.equal(r.body.summary.certificatesAdded, STORED);
      assert.equal(r.body.summary.certificatesRejected, REJECTED);
      const s = await admin.request('GET', '/api/v1/admin/directory/status');
      assert.equal(s.status, 200);
      assert.equal(s.body.configured, true);
      assert.equal(s.body.running, false);
      assert.equal(s.body.failing, false);
      assert.equal(s.body.lastAttemptMode, 'full');
      assert.ok(s.body.lastFullSuccessAt);
      assert.deepEqual(s.body.stored, { entries: MATCHING, certificates: STORED, usable: STORED - REJECTED });
      // Without a body the sync is incremental when it can be.
      const inc = await admin.request('POST', '/api/v1/admin/directory/sync');
      assert.equal(inc.status, 200, inc.text);
      assert.equal(inc.body.summary.mode, 'incremental');
      assert.equal(
        (await admin.request('POST', '/api/v1/admin/directory/sync', { json: { full: 'yes' } })).status,
        400,
      );
    });

    test('resolve: directory first, aliases resolve, unusable ones come with their reason', async () => {
      const userId = (await ensureUser(db, 'reader@example.org')).id;
      assert.equal(await harvest(db, userId, 'bob@example.org', 'bob-harvested.der'), 'added');
      const r = await user.request(
        'GET',
        '/api/v1/certificates/resolve?email=bob@example.org&email=Alice.Smith@example.org&email=erin@example.org&email=nobody@example.org',
      );
      assert.equal(r.status, 200, r.text);
      const by = Object.fromEntries(r.body.recipients.map((x: any) => [x.email, x]));
      assert.equal(by['bob@example.org'].ready, true);
      assert.equal(by['bob@example.org'].certificate.source, 'directory');
      assert.equal(by['alice.smith@example.org'].certificate.source, 'directory');
      assert.equal(by['erin@example.org'].ready, false);
      assert.match(by['erin@example.org'].reasons.join(' '), /does not name erin@example\.org/);
      assert.deepEqual(by['nobody@example.org'].reasons, ['no certificate known for this address']);
    });

    test('the certificate list shows each source, filters by source, and directory certificates are read-only', async () => {
      const all = await user.request('GET', '/api/v1/certificates?email=bob@example.org');
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(
        all.body.certificates.map((c: any) => c.source),
        ['directory', 'directory', 'harvested'],
      );
      const dir = await user.request('GET', '/api/v1/certificates?source=directory');
      assert.equal(dir.body.certificates.length, STORED);
      assert.equal(dir.body.directoryTotal, STORED);
      assert.equal(dir.body.directoryTruncated, false);
      assert.ok(dir.body.certificates.every((c: any) => c.source === 'directory'));
      const frank = dir.body.certificates.find((c: any) => c.email === 'frank@example.org');
      assert.equal(frank.usable, false);
      assert.match(frank.reason, /too weak/);
      const harvested = await user.request('GET', '/api/v1/certificates?source=harvested');
      assert.deepEqual(
        harvested.body.certificates.map((c: any) => c.email),
        ['bob@example.org'],
      );
      const one = await user.request('GET', `/api/v1/certificates/${dir.body.certificates[0].id}`);
      assert.equal(one.status, 200);
      assert.match(one.body.certificate.pem, /^-----BEGIN CERTIFICATE-----/);
      assert.equal(one.body.certificate.source, 'directory');
      const del = await user.request('DELETE', `/api/v1/certificates/${dir.body.certificates[0].id}`);
      assert.equal(del.status, 409);
      assert.equal(del.body.error.code, 'DIRECTORY_CERTIFICATE_READ_ONLY');
      assert.equal((await user.request('GET', '/api/v1/certificates?source=bogus')).status, 400);
    });

    test('when the directory drops Bob, resolution falls back to the harvested certificate', async () => {
      const c = await slapd.admin();
      try {
        await c.del(personDn('bob'));
      } finally {
        await c.unbind();
      }
      const r = await admin.request('POST', '/api/v1/admin/directory/sync', { json: { full: true } });
      assert.equal(r.body.summary.entriesRemoved, 1);
      assert.equal(r.body.summary.certificatesRemoved, 2);
      const res = await user.request('GET', '/api/v1/certificates/resolve?email=bob@example.org');
      assert.equal(res.body.recipients[0].certificate.source, 'exchanged');
    });

    test('a misconfigured directory answers a clear 502, the status shows it, nothing leaks the password', async () => {
      const bad = await startServer(db, directoryOverrides(slapd, { LDAP_BIND_PASSWORD: `wrong-${SYNC_PASSWORD}` }));
      try {
        const before = (await admin.request('GET', '/api/v1/admin/directory/status')).body.stored;
        const r = await new Client(bad.url, TEST_ADMIN_TOKEN).request('POST', '/api/v1/admin/directory/sync', {
          json: { full: true },
        });
        assert.equal(r.status, 502);
        assert.equal(r.body.error.code, 'DIRECTORY_BIND_FAILED');
        assert.match(r.body.error.message, /refused the bind/);
        assert.ok(!r.text.includes(SYNC_PASSWORD));
        assert.ok(!bad.logs.join('').includes(SYNC_PASSWORD));
        const s = await admin.request('GET', '/api/v1/admin/directory/status');
        assert.equal(s.body.failing, true);
        assert.equal(s.body.lastError.code, 'DIRECTORY_BIND_FAILED');
        assert.deepEqual(s.body.stored, before, 'the last good copy is kept');
      } finally {
        await bad.close();
      }
      const none = await startServer(db);
      try {
        const r = await new Client(none.url, TEST_ADMIN_TOKEN).request('POST', '/api/v1/admin/directory/sync');
        assert.equal(r.status, 409);
        assert.equal(r.body.error.code, 'DIRECTORY_NOT_CONFIGURED');
      } finally {
        await none.close();
      }
    });

    test('the schedule syncs by itself every SMIME_DIRECTORY_SYNC_INTERVAL_S and stops', async () => {
      const before = (await readSyncStatus(db))!.last_success_at;
      const schedule = startDirectorySchedule(db, ldapOptions(slapd), 1, server.services.log);
      try {
        const deadline = Date.now() + 20_000;
        let after = before;
        while (String(after) === String(before) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          after = (await readSyncStatus(db))!.last_success_at;
        }
        assert.notEqual(String(after), String(before), 'a scheduled sync ran');
      } finally {
        schedule.stop();
      }
    });

    describe('smime-admin sync-directory', () => {
      let dir: string;
      let env: Record<string, string>;
      let dropOther: (() => Promise<void>) | undefined;
      before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'smime-dircli-'));
        env = {
          PATH: process.env.PATH!,
          HOME: process.env.HOME ?? '/tmp',
          SMIME_DATA_DIR: dir,
          SMIME_JWT_SECRET: TEST_JWT_SECRET,
          SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
          ...ldapEnv(slapd),
        };
        // The CLI gets a database of its own: the embedded one in its data folder, or a second PostgreSQL database.
        if (target.name === 'postgres') {
          // Left open: drop() closes the pool and then removes the database.
          const other = await target.open();
          env.DATABASE_URL = other.url!;
          dropOther = other.drop;
        }
        assert.ok(url === undefined || env.DATABASE_URL !== url);
      });
      after(() =>
        cleanUp(
          () => rmSync(dir, { recursive: true, force: true }),
          () => dropOther?.(),
        ),
      );

      const cli = (args: string[], extra: Record<string, string> = {}) => {
        const r = spawnSync(process.execPath, [CLI, ...args], {
          cwd: REPO_ROOT,
          env: { ...env, ...extra },
          encoding: 'utf8',
          timeout: 120_000,
        });
        return { code: r.status, out: r.stdout, err: r.stderr };
      };

      test('prints a one-line summary; --full, then incremental', () => {
        const full = cli(['sync-directory', '--full']);
        assert.equal(full.code, 0, full.err + full.out);
        // Bob was deleted above.
        assert.match(
          full.out,
          new RegExp(
            `^directory sync \\(full\\): ${MATCHING - 1} entries seen, 0 removed; certificates: ${STORED - 2} added, 0 updated, 0 removed, ${REJECTED} rejected; 0 address conflicts; \\d+\\.\\d s\\n`,
          ),
        );
        assert.equal(full.err, '', 'no progress bar when stderr is not a terminal');
        const inc = cli(['sync-directory']);
        assert.equal(inc.code, 0, inc.err);
        assert.match(inc.out, /^directory sync \(incremental\): \d+ entries seen/);
      });

      test(
        'draws a progress bar on a terminal',
        { skip: !existsSync('/usr/bin/script') && 'script(1) missing' },
        () => {
          // script(1) gives the command a pseudo-terminal; -e passes the exit code on.
          const command = [process.execPath, CLI, 'sync-directory', '--full'].map((a) => `'${a}'`).join(' ');
          const r = spawnSync('script', ['-qec', command, '/dev/null'], {
            cwd: REPO_ROOT,
            env: { ...env, TERM: 'dumb' },
            encoding: 'utf8',
            timeout: 120_000,
          });
          assert.equal(r.status, 0, r.stdout + r.stderr);
          assert.match(r.stdout, /\[#+-*\]\s+\d+%\s+\d+\/~\d+ (reading entries|removing what is gone)/);
          assert.match(r.stdout, /directory sync \(full\)/);
        },
      );

      test('fails with the error code and exit 1 on a wrong password, 2 when no directory is configured', () => {
        const wrong = cli(['sync-directory'], { LDAP_BIND_PASSWORD: 'Wr0ng-pa55-XYZ' });
        assert.equal(wrong.code, 1);
        assert.match(wrong.err, /error \[DIRECTORY_BIND_FAILED\]: .*refused the bind/);
        assert.ok(!(wrong.out + wrong.err).includes('Wr0ng-pa55-XYZ'), 'the password is not echoed');
        assert.ok(!(wrong.out + wrong.err).includes(SYNC_PASSWORD));
        const none = cli(['sync-directory'], { LDAP_URL: '' });
        assert.equal(none.code, 2);
        assert.match(none.err, /LDAP_URL is not set/);
      });
    });
  });
}
