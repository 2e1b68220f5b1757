/**
 * Attack: a certificate that names an address only in its subject DN, not in its subjectAltName. A CA checks the
 * rfc822Name it puts in the subjectAltName; the legacy emailAddress attribute of the subject DN is often copied from
 * the request unchecked. Mallory's certificate from the organisation's CA vouches for mallory@ in the subjectAltName
 * and carries payroll@ (a shared mailbox with no directory entry of its own) in the subject DN; she adds
 * smtp:payroll@ to her entry. Before issue 12 any address the certificate named anywhere counted, so mail to payroll@
 * was encrypted to Mallory.
 *
 * Defence: a directory certificate serves an address only when its subjectAltName names it (CertificateInfo
 * subjectAltNameEmails; evaluate.ts at sync, mail/recipients.ts candidatesFor at every use, read from the
 * certificate itself).
 *
 * What the test proves, through the real API against a real slapd: payroll@ is not ready, with a reason saying the
 * certificate does not name it in its subjectAltName, and Bob's encrypted mail to it is refused with
 * RECIPIENT_CERTIFICATE_MISSING; the same certificate still serves mallory@ (its subjectAltName), and a certificate with
 * the address in both places (Grace's) serves it. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { pkiFile, slapdSkipReason, type Person } from '../fixtures/ldap/slapd.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  resolveOne,
  sendEncrypted,
  startDirectoryWorld,
  syncNow,
  TEST_TIMEOUT_MS,
  type DirectoryWorld,
} from './directory-world.ts';

const skip = slapdSkipReason();
const PAYROLL = 'payroll@example.org';
const MALLORY = 'mallory@example.org';
const GRACE = 'grace@example.org';
const fp = (file: string) => describeCertificate(pkiFile(file)).fingerprintSha256;

const people = (): Person[] => [
  {
    uid: 'mallory',
    mail: MALLORY,
    proxyAddresses: [`SMTP:${MALLORY}`, `smtp:${PAYROLL}`],
    certificates: [pkiFile('mallory-dn-payroll.der')],
  },
  { uid: 'grace', mail: GRACE, certificates: [pkiFile('grace.der')] },
];

for (const target of await databaseTargets()) {
  describe(`an address outside the subjectAltName on ${target.name}`, { skip, timeout: 3 * TEST_TIMEOUT_MS }, () => {
    let w: DirectoryWorld;
    before(async () => {
      w = await startDirectoryWorld(target, people());
      await syncNow(w.admin);
    });
    after(async () => {
      await w?.close();
    });

    test(
      'the certificate (subject DN emailAddress=payroll@) does not serve payroll@; mail to it is not encrypted',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        assert.ok(
          describeCertificate(pkiFile('mallory-dn-payroll.der')).emails.includes(PAYROLL),
          'the fixture names payroll@ in its subject DN',
        );
        const r = await resolveOne(w.reader, PAYROLL);
        assert.equal(r.ready, false, JSON.stringify(r));
        assert.match(r.reasons.join(' '), /does not name payroll@example\.org in its subjectAltName/);
        const sent = await sendEncrypted(w.sender, PAYROLL);
        assert.equal(sent.status, 422, `${sent.status} ${sent.text.slice(0, 200)}`);
        assert.equal(sent.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
      },
    );

    test(
      'the subjectAltName address is served; the certificate list shows only it as the addresses it serves',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const own = await resolveOne(w.reader, MALLORY);
        assert.equal(own.ready, true, JSON.stringify(own));
        assert.equal(own.certificate.fingerprintSha256, fp('mallory-dn-payroll.der'));
        const grace = await resolveOne(w.reader, GRACE);
        assert.equal(grace.ready, true, JSON.stringify(grace));
        const list = await w.reader.request('GET', `/api/v1/certificates?email=${MALLORY}`);
        assert.deepEqual(list.body.certificates.find((c: any) => c.source === 'directory').addresses, [MALLORY]);
      },
    );
  });
}
