/**
 * Attack: a revoked certificate left in the directory. Rita's key was compromised and her CA revoked her certificate
 * (keyCompromise, on its CRL), but her entry still holds it: whoever has the key reads what is encrypted to it. Before
 * issue 12 directory certificates were never checked for revocation, so mail to Rita was encrypted to the compromised
 * key.
 *
 * Defence: at every use, after the path to the directory's anchors, revocation along it (the engine's
 * RevocationChecker.checkPath, OCSP then CRL, as for signers, sharing its cache): revoked is refused; a check that
 * cannot complete is 'unknown' and shown as a warning, used unless SMIME_DIRECTORY_REVOCATION_UNKNOWN=block refuses it
 * (directory/trust.ts explains the default). The sync does not fetch: it would make one request per certificate inside
 * its transaction.
 *
 * What the test proves, with a CA made for the test whose CRL is served on loopback (SMIME_FETCH_ALLOW_PRIVATE), a
 * real slapd and the real API: Rita is not ready (revoked, keyCompromise) and Bob's encrypted mail to her is refused
 * with RECIPIENT_CERTIFICATE_MISSING; Gina (not on the CRL) is ready with revocation 'good'; Uma, whose distribution
 * point fails, is ready with revocation 'unknown' and a warning, and refused on a server set to block unknown; the sync
 * itself fetched nothing. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { slapdSkipReason, type Person } from '../fixtures/ldap/slapd.ts';
import { Client } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  READER,
  resolveOne,
  sendEncrypted,
  startDirectoryWorld,
  syncNow,
  TEST_TIMEOUT_MS,
  type DirectoryWorld,
} from './directory-world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = slapdSkipReason();
const MAKE = fileURLToPath(new URL('../fixtures/ldap/make-revocation-pki.sh', import.meta.url));
const targets = await databaseTargets();

describe('revoked directory certificates', { skip, timeout: 8 * TEST_TIMEOUT_MS }, () => {
  let http: Server;
  let pki: string;
  const hits: string[] = [];
  before(async () => {
    http = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/crl/ca.crl') {
        const body = readFileSync(join(pki, 'ca.crl'));
        res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': body.length }).end(body);
      } else res.writeHead(503).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    pki = mkdtempSync(join(tmpdir(), 'smime-revoking-ca-'));
    const made = spawnSync('bash', [MAKE, pki, `http://127.0.0.1:${(http.address() as AddressInfo).port}`], {
      encoding: 'utf8',
      timeout: TEST_TIMEOUT_MS,
    });
    assert.equal(made.status, 0, made.stderr);
  });
  after(() =>
    cleanUp(
      () => http?.closeAllConnections(),
      () => new Promise<void>((r) => (http ? http.close(() => r()) : r())),
      () => pki && rmSync(pki, { recursive: true, force: true }),
    ),
  );

  const der = (name: string) => readFileSync(join(pki, `${name}.der`));
  const people = (): Person[] => [
    { uid: 'rita', mail: 'rita@example.org', certificates: [der('rita')] },
    { uid: 'gina', mail: 'gina@example.org', certificates: [der('gina')] },
    { uid: 'uma', mail: 'uma@example.org', certificates: [der('uma')] },
  ];

  for (const target of targets) {
    describe(`on ${target.name}`, () => {
      let w: DirectoryWorld;
      before(async () => {
        w = await startDirectoryWorld(target, people(), {
          SMIME_DIRECTORY_TRUST_ANCHORS: join(pki, 'ca.crt'),
          SMIME_REVOCATION_CHECK: 'on',
          SMIME_FETCH_ALLOW_PRIVATE: true,
          SMIME_FETCH_TIMEOUT_MS: 2000,
        });
      });
      after(async () => {
        await w?.close();
      });

      test(
        'the sync stores the three as usable without fetching anything (revocation is checked at use)',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const before = hits.length;
          const summary = await syncNow(w.admin);
          assert.equal(summary.certificatesAdded, 3);
          assert.equal(summary.certificatesRejected, 0, JSON.stringify(summary.rejected));
          assert.equal(hits.length, before, `no fetch during the sync: ${hits.slice(before).join(', ')}`);
        },
      );

      test(
        'a revoked certificate is not used: not ready, and mail to it is not encrypted',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const r = await resolveOne(w.reader, 'rita@example.org');
          assert.equal(r.ready, false, JSON.stringify(r));
          assert.match(r.reasons.join(' '), /revoked .*CRL: revoked on .*keyCompromise/);
          const sent = await sendEncrypted(w.sender, 'rita@example.org');
          assert.equal(sent.status, 422, `${sent.status} ${sent.text.slice(0, 200)}`);
          assert.equal(sent.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
          assert.ok(hits.includes('/crl/ca.crl'), 'the CRL was fetched');
        },
      );

      test(
        'one not on the CRL is ready, its revocation status shown as good',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const r = await resolveOne(w.reader, 'gina@example.org');
          assert.equal(r.ready, true, JSON.stringify(r));
          assert.equal(r.certificate.revocation?.status, 'good');
          assert.deepEqual(r.warnings, []);
          assert.equal((await sendEncrypted(w.sender, 'gina@example.org')).status, 200);
        },
      );

      test(
        'an unknown status is shown as such, used by default, refused with SMIME_DIRECTORY_REVOCATION_UNKNOWN=block',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const r = await resolveOne(w.reader, 'uma@example.org');
          assert.equal(r.ready, true, JSON.stringify(r));
          assert.equal(r.certificate.revocation?.status, 'unknown');
          assert.match(r.warnings.join(' '), /revocation status unknown .*FETCH_HTTP_ERROR/);
          const strict = await w.another({
            SMIME_DIRECTORY_TRUST_ANCHORS: join(pki, 'ca.crt'),
            SMIME_REVOCATION_CHECK: 'on',
            SMIME_FETCH_ALLOW_PRIVATE: true,
            SMIME_FETCH_TIMEOUT_MS: 2000,
            SMIME_DIRECTORY_REVOCATION_UNKNOWN: 'block',
          });
          const blocked = await resolveOne(new Client(strict.url, await strict.token(READER)), 'uma@example.org');
          assert.equal(blocked.ready, false, JSON.stringify(blocked));
          assert.match(
            blocked.reasons.join(' '),
            /revocation status unknown .*SMIME_DIRECTORY_REVOCATION_UNKNOWN=block/,
          );
        },
      );
    });
  }
});
