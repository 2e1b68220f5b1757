/**
 * Attack: a certificate from a CA nobody trusts, published in the directory. Whoever can write an entry's
 * userCertificate (in Active Directory, every user for their own entry) can publish a certificate from a CA of their
 * own, or a self-signed one, for any address the entry holds. Before issue 12 any certificate in LDAP was trusted: it
 * was "ready", and mail to that address was encrypted to whoever holds its key.
 *
 * Defence: a directory certificate is usable only when it chains to the directory's trust anchors
 * (SMIME_DIRECTORY_TRUST_ANCHORS, by default the signature anchors SMIME_TRUST_ANCHORS), decided by the engine's
 * path building (smime/x509/chain.ts), at sync (stored verdict, listed among the rejected) and again at every use
 * (directory/trust.ts). The directory's anchors are a setting of their own: trusting a CA for signatures does not make
 * it an issuer of colleagues' encryption certificates.
 *
 * What the test proves, through the real API against a real slapd: a certificate of the Unrelated CA and a
 * self-signed one are rejected by the sync (listed with the reason), shown as unusable in the certificate list, not
 * ready on resolve, and Bob's encrypted mail to them is refused with RECIPIENT_CERTIFICATE_MISSING, while a
 * certificate of the organisation's CA works; a server that trusts the Unrelated CA for signatures still refuses it
 * for the directory; without SMIME_DIRECTORY_TRUST_ANCHORS the signature anchors decide; with no anchors at all
 * nothing from the directory is used, and the reason names the setting. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../backend/src/config.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { pkiFile, slapdSkipReason, type Person } from '../fixtures/ldap/slapd.ts';
import { Client } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  resolveOne,
  sendEncrypted,
  startDirectoryWorld,
  syncNow,
  TEST_TIMEOUT_MS,
  READER,
  type DirectoryWorld,
} from './directory-world.ts';

const skip = slapdSkipReason();
const URSULA = 'ursula@example.org';
const IMPOSTOR = 'alice@example.org';
const TRUSTED = 'user01@example.org';
const fp = (file: string) => describeCertificate(pkiFile(file)).fingerprintSha256;
const UNTRUSTED = /not issued by a CA the directory trusts/;

const people = (): Person[] => [
  { uid: 'ursula', mail: URSULA, certificates: [pkiFile('ursula-untrusted.der')] },
  // Self-signed, naming alice@ (no other entry claims alice@ here: only the trust decision stands in the way).
  { uid: 'impostor', mail: IMPOSTOR, certificates: [pkiFile('mallory-self-alice.der')] },
  { uid: 'user01', mail: TRUSTED, certificates: [pkiFile('user01.der')] },
];

for (const target of await databaseTargets()) {
  describe(
    `a directory certificate from an untrusted CA on ${target.name}`,
    { skip, timeout: 6 * TEST_TIMEOUT_MS },
    () => {
      let w: DirectoryWorld;
      before(async () => {
        w = await startDirectoryWorld(target, people());
      });
      after(async () => {
        await w?.close();
      });

      test(
        'the sync rejects both and says why; the certificate list shows them unusable',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const summary = await syncNow(w.admin);
          assert.equal(summary.certificatesRejected, 2, JSON.stringify(summary));
          const rejected = new Map<string, string>(
            (summary.rejected ?? []).map((r: { fingerprintSha256: string; reason: string }) => [
              r.fingerprintSha256,
              r.reason,
            ]),
          );
          for (const file of ['ursula-untrusted.der', 'mallory-self-alice.der'])
            assert.match(rejected.get(fp(file)) ?? '(not listed)', UNTRUSTED, file);
          const list = await w.reader.request('GET', '/api/v1/certificates?source=directory');
          assert.equal(list.status, 200, list.text);
          const byFp = new Map<string, { usable: boolean; reason: string | null }>(
            list.body.certificates.map((c: any) => [c.fingerprintSha256, c]),
          );
          assert.equal(byFp.get(fp('ursula-untrusted.der'))?.usable, false);
          assert.match(byFp.get(fp('ursula-untrusted.der'))!.reason!, UNTRUSTED);
          assert.equal(byFp.get(fp('user01.der'))?.usable, true);
        },
      );

      test(
        'they are not ready, and mail to them is not encrypted; the organisation CA certificate works',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          for (const email of [URSULA, IMPOSTOR]) {
            const r = await resolveOne(w.reader, email);
            assert.equal(r.ready, false, `${email}: ${JSON.stringify(r)}`);
            assert.match(r.reasons.join(' '), UNTRUSTED);
            const sent = await sendEncrypted(w.sender, email);
            assert.equal(sent.status, 422, `${email}: ${sent.status} ${sent.text.slice(0, 200)}`);
            assert.equal(sent.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
          }
          const ok = await resolveOne(w.reader, TRUSTED);
          assert.equal(ok.ready, true, JSON.stringify(ok));
          assert.equal((await sendEncrypted(w.sender, TRUSTED)).status, 200);
        },
      );

      async function readyOn(
        settings: Partial<Config> & Record<string, unknown>,
      ): Promise<Record<string, Record<string, any>>> {
        const srv = await w.another(settings);
        const c = new Client(srv.url, await srv.token(READER));
        const out: Record<string, Record<string, any>> = {};
        for (const email of [URSULA, IMPOSTOR, TRUSTED]) out[email] = await resolveOne(c, email);
        return out;
      }

      test(
        'trusting the Unrelated CA for signatures does not make it an issuer of directory certificates',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const r = await readyOn({ SMIME_TRUST_ANCHORS: w.slapd.caFile.replace('ca.crt', 'other-ca.crt') });
          assert.equal(r[URSULA]!.ready, false, JSON.stringify(r[URSULA]));
          assert.equal(r[TRUSTED]!.ready, true, JSON.stringify(r[TRUSTED]));
        },
      );

      test(
        'without SMIME_DIRECTORY_TRUST_ANCHORS the signature anchors decide; without any anchor nothing is used',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          const byDefault = await readyOn({
            SMIME_DIRECTORY_TRUST_ANCHORS: undefined,
            SMIME_TRUST_ANCHORS: w.slapd.caFile,
          });
          assert.equal(byDefault[TRUSTED]!.ready, true, JSON.stringify(byDefault[TRUSTED]));
          assert.equal(byDefault[URSULA]!.ready, false);
          const none = await readyOn({ SMIME_DIRECTORY_TRUST_ANCHORS: undefined, SMIME_TRUST_ANCHORS: undefined });
          for (const email of [URSULA, IMPOSTOR, TRUSTED]) {
            assert.equal(none[email]!.ready, false, `${email}: ${JSON.stringify(none[email])}`);
            assert.match(
              none[email]!.reasons.join(' '),
              /no directory trust anchors are configured \(SMIME_DIRECTORY_TRUST_ANCHORS/,
            );
          }
        },
      );
    },
  );
}
