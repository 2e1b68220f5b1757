/**
 * Directory sync against a real OpenLDAP (issue 4, "Done when"): full sync past the server's size limit by paging,
 * aliases, several certificates per user, rejected certificates with their reasons, incremental sync after a change,
 * removal, a renewed certificate replacing the old one, directory beating harvested in recipient resolution, bad
 * directory configuration (wrong password, unreachable or silent host, bad base DN, untrusted TLS, a filter matching
 * nothing) keeping the last good copy, a directory dying halfway rolling back, and one sync at a time. On the
 * embedded database and on the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Attribute, Change } from 'ldapts';
import { AppError } from '../../backend/src/errors.ts';
import { syncDirectory } from '../../backend/src/directory/sync.ts';
import type { SyncSummary } from '../../backend/src/directory/report.ts';
import { directoryStatus } from '../../backend/src/directory/status.ts';
import { createLogger } from '../../backend/src/log.ts';
import { candidatesFor, pickCertificate } from '../../backend/src/mail/recipients.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { upsertExchanged } from '../../backend/src/store/certificates.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { countDirectory } from '../../backend/src/store/directory.ts';
import { DIRECTORY_SYNC_LOCK_KEY, readSyncStatus } from '../../backend/src/store/directory-sync.ts';
import { ensureUser } from '../../backend/src/store/users.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  BASE_DN,
  PEOPLE_DN,
  personDn,
  pkiFile,
  slapdSkipReason,
  startSlapd,
  SYNC_DN,
  SYNC_PASSWORD,
  type Slapd,
} from '../fixtures/ldap/slapd.ts';
import { ldapOptions, MATCHING, PAGE_LIMIT, people, REJECTED, SIZE_LIMIT, STORED } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = slapdSkipReason();

async function fingerprints(db: Database): Promise<string[]> {
  const rows = await db.query<{ f: string }>('SELECT fingerprint_sha256 AS f FROM directory_certificates ORDER BY 1');
  return rows.map((r) => r.f);
}

function fp(name: string): string {
  return describeCertificate(pkiFile(name)).fingerprintSha256;
}

async function resolve(db: Database, userId: number, email: string) {
  const c = await candidatesFor(db, userId, [email]);
  return { resolution: pickCertificate(email, c.get(email) ?? []), candidates: c.get(email) ?? [] };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, `expected AppError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

for (const target of await databaseTargets()) {
  describe(`directory sync from OpenLDAP on ${target.name}`, { skip }, () => {
    let slapd: Slapd;
    let db: Database;
    let drop: () => Promise<void>;
    let url: string | undefined;
    let readerId: number;
    const logs: string[] = [];
    const log = createLogger(
      'debug',
      new Writable({
        write(chunk, _e, cb) {
          logs.push(String(chunk));
          cb();
        },
      }),
    );

    before(async () => {
      slapd = await startSlapd({ sizeLimit: SIZE_LIMIT, pageLimit: PAGE_LIMIT, people: people() });
      ({ db, drop, url } = await target.open());
      readerId = (await ensureUser(db, 'reader@example.org')).id;
    });
    after(() =>
      cleanUp(
        () => slapd?.stop(),
        () => drop?.(),
      ),
    );

    test('the server really limits a plain search to 5 entries (the paging test below means something)', () => {
      const r = spawnSync(
        'ldapsearch',
        ['-x', '-ZZ', '-H', slapd.url, '-D', SYNC_DN, '-w', SYNC_PASSWORD, '-b', PEOPLE_DN, '(mail=*)', 'mail'],
        { encoding: 'utf8', env: { ...process.env, LDAPTLS_CACERT: slapd.caFile } },
      );
      assert.equal(r.status, 4, 'ldapsearch exits 4: sizeLimitExceeded');
      assert.equal((r.stdout.match(/^dn:/gm) ?? []).length, SIZE_LIMIT);
    });

    test('a first sync is full and reads all 15 entries in pages of 4, past the size limit of 5', async () => {
      const pages: number[] = [];
      const s = await syncDirectory(db, ldapOptions(slapd), {
        log,
        onProgress: (p) => p.phase === 'reading' && pages.push(p.entriesSeen),
      });
      assert.equal(s.mode, 'full');
      assert.equal(s.fullBecause, 'no earlier sync to continue from');
      assert.equal(s.watermarkKind, 'timestamp');
      assert.equal(s.entriesSeen, MATCHING);
      assert.deepEqual(pages, [4, 8, 12, 15]);
      assert.equal(s.certificatesAdded, STORED);
      assert.equal(s.certificatesRejected, REJECTED);
      assert.equal(s.certificatesUpdated + s.certificatesRemoved + s.entriesRemoved, 0);
      assert.deepEqual(await countDirectory(db), {
        entries: MATCHING,
        certificates: STORED,
        usable: STORED - REJECTED,
      });
      const status = (await readSyncStatus(db))!;
      assert.equal(status.full_entry_count, MATCHING);
      assert.equal(status.watermark_kind, 'timestamp');
    });

    test('aliases: SMTP:/smtp: proxy addresses are addresses of the entry, other types are not', async () => {
      const [entry] = await db.query<{ addresses: string[] }>('SELECT addresses FROM directory_entries WHERE dn = $1', [
        personDn('alice'),
      ]);
      assert.deepEqual(entry!.addresses, ['alice@example.org', 'alice.smith@example.org']);
      for (const email of ['alice@example.org', 'alice.smith@example.org']) {
        const { resolution } = await resolve(db, readerId, email);
        assert.equal(resolution.ready, true, email);
        assert.equal(resolution.certificate!.source, 'directory');
        assert.equal(resolution.certificate!.fingerprintSha256, fp('alice.der'));
      }
      // Grace has no mail attribute: her SMTP: primary is her address.
      assert.equal((await resolve(db, readerId, 'grace@example.org')).resolution.ready, true);
    });

    test('several certificates per user: userCertificate and the PKCS#7 userSMIMECertificate bundle, CA left out', async () => {
      const { candidates, resolution } = await resolve(db, readerId, 'bob@example.org');
      assert.deepEqual(candidates.map((c) => c.fingerprintSha256).sort(), [fp('bob-rsa.der'), fp('bob-ec.der')].sort());
      assert.ok(candidates.every((c) => c.source === 'directory'));
      assert.equal(resolution.ready, true);
      const rows = await db.query<{ attribute: string; key_algorithm: string }>(
        `SELECT c.attribute, c.key_algorithm FROM directory_certificates c JOIN directory_entries e ON e.id = c.entry_id
          WHERE e.dn = $1 ORDER BY 1`,
        [personDn('bob')],
      );
      assert.deepEqual(rows, [
        { attribute: 'userCertificate', key_algorithm: 'RSA' },
        { attribute: 'userSMIMECertificate', key_algorithm: 'EC' },
      ]);
      assert.equal((await resolve(db, readerId, 'user01@example.org')).candidates.length, 2);
    });

    test('unusable certificates are kept with the reason, and resolution reports it', async () => {
      const rows = await db.query<{ dn: string; usable: boolean; reason: string | null }>(
        `SELECT e.dn, c.usable, c.reason FROM directory_certificates c JOIN directory_entries e ON e.id = c.entry_id
          WHERE NOT c.usable ORDER BY e.dn`,
      );
      assert.deepEqual(
        rows.map((r) => r.dn),
        ['carol', 'dave', 'erin', 'frank'].map(personDn),
      );
      const reason = (uid: string) => rows.find((r) => r.dn === personDn(uid))!.reason!;
      assert.match(reason('carol'), /expired/);
      assert.match(reason('dave'), /not meant for email protection/);
      assert.match(reason('erin'), /names none of the entry's addresses \(erin@example\.org\)/);
      assert.match(reason('frank'), /1024 bits is too weak/);
      const erin = (await resolve(db, readerId, 'erin@example.org')).resolution;
      assert.equal(erin.ready, false);
      assert.match(erin.reasons.join(' '), /does not name erin@example\.org/);
      const carol = (await resolve(db, readerId, 'carol@example.org')).resolution;
      assert.equal(carol.ready, false);
      assert.match(carol.reasons.join(' '), /expired/);
    });

    test('directory beats harvested: a harvested certificate never replaces or outranks the directory one', async () => {
      const harvested = describeCertificate(pkiFile('bob-harvested.der'));
      const outcome = await upsertExchanged(db, {
        id: randomUUID(),
        userId: readerId,
        email: 'bob@example.org',
        certificate: pkiFile('bob-harvested.der'),
        chain: [],
        fingerprintSha256: harvested.fingerprintSha256,
        subject: harvested.subject,
        issuer: harvested.issuer,
        serialNumber: harvested.serialNumber,
        notBefore: harvested.notBefore,
        notAfter: harvested.notAfter,
        keyUsage: harvested.keyUsage,
        extendedKeyUsage: harvested.extendedKeyUsage,
        keyAlgorithm: harvested.keyAlgorithm,
        keySize: harvested.keySize,
        capabilities: ['aes-256-gcm'],
        source: 'harvested',
      });
      assert.equal(outcome, 'added');
      const { candidates, resolution } = await resolve(db, readerId, 'bob@example.org');
      assert.deepEqual(candidates.map((c) => c.source).sort(), ['directory', 'directory', 'exchanged']);
      assert.equal(resolution.certificate!.source, 'directory');
      assert.notEqual(resolution.certificate!.fingerprintSha256, harvested.fingerprintSha256);
      // The directory copy is untouched by the harvest.
      assert.equal((await countDirectory(db)).certificates, STORED);
    });

    let watermarkAfterFull: string;
    test('incremental sync after a change: only the changed entry (and the one at the watermark edge) is read', async () => {
      watermarkAfterFull = (await readSyncStatus(db))!.watermark!;
      const admin = await slapd.admin();
      try {
        await admin.modify(personDn('bob'), [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userCertificate;binary', values: [pkiFile('bob-rsa-renewed.der')] }),
          }),
          new Change({
            operation: 'add',
            modification: new Attribute({
              type: 'proxyAddresses',
              values: ['SMTP:bob@example.org', 'smtp:robert@example.org'],
            }),
          }),
        ]);
      } finally {
        await admin.unbind();
      }
      const s = await syncDirectory(db, ldapOptions(slapd), { log });
      assert.equal(s.mode, 'incremental');
      // Bob, and user08: the newest entry of the full sync sits at its watermark and is read again, changing nothing.
      assert.equal(s.entriesSeen, 2);
      assert.equal(s.certificatesUpdated, 1, 'the renewed certificate replaced the old one');
      assert.equal(s.certificatesAdded + s.certificatesRemoved + s.entriesRemoved, 0);
      const { candidates } = await resolve(db, readerId, 'robert@example.org');
      assert.deepEqual(
        candidates
          .filter((c) => c.source === 'directory')
          .map((c) => c.fingerprintSha256)
          .sort(),
        [fp('bob-rsa-renewed.der'), fp('bob-ec.der')].sort(),
      );
      const all = await fingerprints(db);
      assert.ok(!all.includes(fp('bob-rsa.der')), 'the old certificate is gone');
      assert.ok((await readSyncStatus(db))!.watermark! > watermarkAfterFull, 'the watermark moved forward');
    });

    test('an incremental sync with nothing changed changes nothing', async () => {
      const before = await fingerprints(db);
      const s = await syncDirectory(db, ldapOptions(slapd), { log });
      assert.equal(s.mode, 'incremental');
      assert.ok(s.entriesSeen <= 1, `only the edge entry is read again, got ${s.entriesSeen}`);
      assert.equal(s.certificatesAdded + s.certificatesUpdated + s.certificatesRemoved + s.entriesRemoved, 0);
      assert.deepEqual(await fingerprints(db), before);
    });

    test('removal: a certificate removed from an entry goes at the next incremental sync', async () => {
      const admin = await slapd.admin();
      try {
        await admin.modify(personDn('user02'), [
          new Change({
            operation: 'delete',
            modification: new Attribute({ type: 'userCertificate;binary', values: [] }),
          }),
        ]);
      } finally {
        await admin.unbind();
      }
      const s = await syncDirectory(db, ldapOptions(slapd), { log });
      assert.equal(s.mode, 'incremental');
      assert.equal(s.entriesRemoved, 1, 'the entry no longer matches the filter');
      assert.equal(s.certificatesRemoved, 1);
      assert.ok(!(await fingerprints(db)).includes(fp('user02.der')));
      assert.equal((await resolve(db, readerId, 'user02@example.org')).resolution.ready, false);
    });

    test('removal: a deleted entry is invisible to an incremental sync and removed by the next full one', async () => {
      const admin = await slapd.admin();
      try {
        await admin.del(personDn('user03'));
      } finally {
        await admin.unbind();
      }
      const inc = await syncDirectory(db, ldapOptions(slapd), { log });
      assert.equal(inc.mode, 'incremental');
      assert.ok(
        (await fingerprints(db)).includes(fp('user03.der')),
        'plain LDAP shows no deletions to an incremental search',
      );
      const full = await syncDirectory(db, ldapOptions(slapd), { mode: 'full', log });
      assert.equal(full.mode, 'full');
      assert.equal(full.entriesSeen, MATCHING - 2);
      assert.equal(full.entriesRemoved, 1);
      assert.equal(full.certificatesRemoved, 1);
      assert.equal(full.certificatesAdded + full.certificatesUpdated, 0);
      assert.ok(!(await fingerprints(db)).includes(fp('user03.der')));
    });

    test('the periodic ("auto") run is full once the last full sync is older than the full-sync interval', async () => {
      const s = await syncDirectory(db, ldapOptions(slapd, { SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S: '0' }), { log });
      assert.equal(s.mode, 'full');
      assert.match(s.fullBecause!, /older than SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S/);
    });

    test('ldaps:// with LDAP_CA_FILE reads the same directory', async () => {
      const s = await syncDirectory(db, ldapOptions(slapd, { LDAP_URL: slapd.ldapsUrl }), { mode: 'full', log });
      assert.equal(s.entriesSeen, MATCHING - 2);
      assert.equal(s.certificatesAdded + s.certificatesUpdated + s.certificatesRemoved, 0);
    });

    describe('bad directory configuration: a clear error, the last good copy kept, the error recorded', () => {
      let silent: Server;
      let silentPort: number;
      const sockets: Socket[] = [];
      before(async () => {
        // Accepts connections and never answers: a hung server or a firewall that swallows packets.
        silent = createServer((socket) => sockets.push(socket));
        await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
        silentPort = (silent.address() as { port: number }).port;
      });
      after(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((r) => silent.close(() => r()));
      });

      const cases: [string, () => Record<string, string>, string, RegExp][] = [
        [
          'wrong password',
          () => ({ LDAP_BIND_PASSWORD: 'not-the-password' }),
          'DIRECTORY_BIND_FAILED',
          /refused the bind as cn=smime-sync/,
        ],
        [
          'unreachable host (nothing listens)',
          () => ({ LDAP_URL: 'ldap://127.0.0.1:1' }),
          'DIRECTORY_UNREACHABLE',
          /127\.0\.0\.1:1 cannot be reached/,
        ],
        [
          'silent host (timeout)',
          () => ({ LDAP_URL: `ldap://127.0.0.1:${silentPort}`, LDAP_TIMEOUT_MS: '300' }),
          'DIRECTORY_UNREACHABLE',
          /cannot be reached/,
        ],
        [
          'bad base DN',
          () => ({ LDAP_BASE_DN: `ou=nowhere,${BASE_DN}` }),
          'DIRECTORY_BAD_BASE_DN',
          /has no entry "ou=nowhere,dc=example,dc=org"/,
        ],
        [
          'untrusted server certificate',
          () => ({ LDAP_CA_FILE: slapd.caFile.replace('ca.crt', 'other-ca.crt') }),
          'DIRECTORY_TLS_FAILED',
          /TLS with ldap:\/\/127\.0\.0\.1:\d+ failed/,
        ],
        [
          'a filter that now matches nothing',
          () => ({ LDAP_FILTER: '(mail=nobody@nowhere.test)' }),
          'DIRECTORY_EMPTY',
          /no entries/,
        ],
      ];
      for (const [what, env, code, message] of cases) {
        test(what, async () => {
          const before = await fingerprints(db);
          const statusBefore = (await readSyncStatus(db))!;
          logs.length = 0;
          // An incremental run may rightly find nothing changed, so an empty answer is an error only for a full one.
          for (const mode of code === 'DIRECTORY_EMPTY' ? (['full'] as const) : (['full', 'auto'] as const)) {
            const e = await expectCode(syncDirectory(db, ldapOptions(slapd, env()), { mode, log }), code);
            assert.match(e.message, message);
            assert.ok(!e.message.includes(SYNC_PASSWORD));
          }
          assert.deepEqual(await fingerprints(db), before, 'the last good copy is kept');
          const status = (await readSyncStatus(db))!;
          assert.equal(status.last_error_code, code);
          assert.equal(status.watermark, statusBefore.watermark, 'the watermark stays');
          assert.equal(String(status.last_success_at), String(statusBefore.last_success_at));
          const shown = await directoryStatus(db, true, 100);
          assert.equal(shown.failing, true);
          assert.equal(shown.lastError!.code, code);
          assert.ok(!logs.join('').includes(SYNC_PASSWORD), 'the bind password is never logged');
        });
      }

      test('the next successful sync clears the failing state', async () => {
        await syncDirectory(db, ldapOptions(slapd), { log });
        assert.equal((await directoryStatus(db, true, 100)).failing, false);
        assert.ok(!logs.join('').includes(SYNC_PASSWORD));
      });
    });

    test('one sync at a time in a process: the second caller is told at once', async () => {
      const first = syncDirectory(db, ldapOptions(slapd), { mode: 'full', log });
      await expectCode(syncDirectory(db, ldapOptions(slapd), { log }), 'DIRECTORY_SYNC_RUNNING');
      await first;
    });

    test(
      'one sync at a time across instances: the advisory lock held elsewhere refuses the sync',
      { skip: target.name !== 'postgres' && 'PGlite has a single session' },
      async () => {
        const other = new pg.Client({ connectionString: url });
        await other.connect();
        try {
          await other.query('BEGIN');
          await other.query('SELECT pg_advisory_xact_lock($1)', [DIRECTORY_SYNC_LOCK_KEY]);
          assert.equal((await directoryStatus(db, true, 100)).running, true);
          const before = (await readSyncStatus(db))!;
          await expectCode(syncDirectory(db, ldapOptions(slapd), { log }), 'DIRECTORY_SYNC_RUNNING');
          assert.equal(
            String((await readSyncStatus(db))!.last_attempt_at),
            String(before.last_attempt_at),
            'a refused sync is no failure',
          );
        } finally {
          await other.query('ROLLBACK');
          await other.end();
        }
        assert.equal((await directoryStatus(db, true, 100)).running, false);
      },
    );

    test('a directory dying halfway through a sync changes nothing (one transaction)', async () => {
      // Changes the copy would take if the sync completed: user04 gets a second certificate, user05 loses its own.
      const admin = await slapd.admin();
      try {
        await admin.modify(personDn('user04'), [
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'userCertificate;binary', values: [pkiFile('user06.der')] }),
          }),
        ]);
        await admin.del(personDn('user05'));
      } finally {
        await admin.unbind();
      }
      const before = await fingerprints(db);
      const statusBefore = (await readSyncStatus(db))!;
      let summary: SyncSummary | undefined;
      let stopped = false;
      const err = await expectCode(
        syncDirectory(db, ldapOptions(slapd), {
          mode: 'full',
          log,
          onProgress: (p) => {
            if (!stopped && p.entriesSeen >= PAGE_LIMIT) {
              stopped = true;
              // SIGKILL before the next page is asked for: a graceful SIGTERM let slapd answer the remaining pages
              // first on a fast database, and the sync then (correctly) completed.
              slapd.kill();
            }
          },
        }).then((s) => (summary = s)),
        'DIRECTORY_UNREACHABLE',
      );
      assert.equal(summary, undefined);
      assert.ok(stopped && err);
      assert.deepEqual(await fingerprints(db), before);
      assert.equal((await readSyncStatus(db))!.watermark, statusBefore.watermark);
    });
  });
}

describe('Active Directory change tracking (uSNChanged, rootDSE highestCommittedUSN)', { skip }, () => {
  let slapd: Slapd;
  let db: Database;
  let drop: () => Promise<void>;
  before(async () => {
    const list = people().map((p, i) => ({ ...p, uSNChanged: 10 + i }));
    slapd = await startSlapd({
      people: list,
      rootDse: {
        highestCommittedUSN: 100,
        dsServiceName: 'CN=NTDS Settings,CN=DC1,CN=Servers,CN=Site,CN=Sites,CN=Configuration,DC=example,DC=org',
      },
    });
    ({ db, drop } = await (await databaseTargets())[0]!.open());
  });
  after(() =>
    cleanUp(
      () => slapd?.stop(),
      () => drop?.(),
    ),
  );

  test('full, then incremental from uSNChanged > highestCommittedUSN: exactly the changed entry', async () => {
    const full = await syncDirectory(db, ldapOptions(slapd));
    assert.equal(full.mode, 'full');
    assert.equal(full.watermarkKind, 'usn');
    assert.equal((await readSyncStatus(db))!.watermark, '100');
    const admin = await slapd.admin();
    try {
      await admin.modify(personDn('user04'), [
        new Change({
          operation: 'replace',
          modification: new Attribute({
            type: 'userCertificate;binary',
            values: [pkiFile('user04.der'), pkiFile('user07.der')],
          }),
        }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'uSNChanged', values: ['101'] }) }),
      ]);
    } finally {
      await admin.unbind();
    }
    const inc = await syncDirectory(db, ldapOptions(slapd));
    assert.equal(inc.mode, 'incremental');
    assert.equal(inc.entriesSeen, 1);
    assert.equal(inc.certificatesAdded, 1);
    assert.equal((await readSyncStatus(db))!.watermark, '100', 'the rootDSE value read before the search');
  });
});
