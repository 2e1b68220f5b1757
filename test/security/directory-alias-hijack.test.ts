/**
 * Attack: a directory entry claims another user's address. Mallory can change her own entry (in Active Directory
 * every user may write her own userCertificate; proxyAddresses takes only a mis-delegated right or a helpdesk
 * account), so she adds smtp:alice@example.org to her proxyAddresses and publishes a certificate naming alice@: one
 * she made herself, or one the organisation's CA issued her by mistake. Before issue 12 every entry holding the
 * address offered its certificates and the newest usable one won, so colleagues' encrypted mail to Alice was
 * encrypted to Mallory.
 *
 * Defence: an address that two entries claim resolves to nothing, with a reason naming both entries
 * (mail/recipients.ts directoryConflict, checked before any certificate is considered), and the sync reports the
 * conflict (directory-address-conflict.test.ts); a certificate she made herself also fails the directory's trust
 * decision (directory-untrusted-ca.test.ts).
 *
 * What the test proves, through the real API against a real slapd: with either of Mallory's certificates, resolving
 * alice@ is not ready and names both entries, and Bob's encrypted mail to alice@ is refused with
 * RECIPIENT_CERTIFICATE_MISSING (nothing is encrypted to Mallory); Mallory's own address still resolves to her own
 * certificate; once the directory is corrected, Bob's mail to alice@ is encrypted to Alice's certificate and to no
 * certificate of Mallory's. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change } from 'ldapts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { personDn, pkiFile, slapdSkipReason, type Person } from '../fixtures/ldap/slapd.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  identityOf,
  recipientsOf,
  resolveOne,
  sendEncrypted,
  startDirectoryWorld,
  syncNow,
  TEST_TIMEOUT_MS,
  type DirectoryWorld,
} from './directory-world.ts';

const skip = slapdSkipReason();
const ALICE = 'alice@example.org';
const MALLORY = 'mallory@example.org';
const fp = (file: string) => describeCertificate(pkiFile(file)).fingerprintSha256;

const people = (): Person[] => [
  {
    uid: 'alice',
    mail: ALICE,
    proxyAddresses: [`SMTP:${ALICE}`, 'smtp:alice.smith@example.org'],
    certificates: [pkiFile('alice-2025.der')],
  },
  {
    uid: 'mallory',
    mail: MALLORY,
    proxyAddresses: [`SMTP:${MALLORY}`, `smtp:${ALICE}`],
    certificates: [pkiFile('mallory.der'), pkiFile('mallory-self-alice.der')],
  },
];

async function setMallory(
  w: DirectoryWorld,
  changes: { certificates?: Uint8Array[]; proxyAddresses?: string[] },
): Promise<void> {
  const c = await w.slapd.admin();
  try {
    const mods: Change[] = [];
    if (changes.certificates)
      mods.push(
        new Change({
          operation: 'replace',
          modification: new Attribute({
            type: 'userCertificate;binary',
            values: changes.certificates.map((d) => Buffer.from(d)),
          }),
        }),
      );
    if (changes.proxyAddresses)
      mods.push(
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'proxyAddresses', values: changes.proxyAddresses }),
        }),
      );
    await c.modify(personDn('mallory'), mods);
  } finally {
    await c.unbind();
  }
}

for (const target of await databaseTargets()) {
  describe(
    `a directory alias claiming another user's address on ${target.name}`,
    { skip, timeout: 4 * TEST_TIMEOUT_MS },
    () => {
      let w: DirectoryWorld;
      before(async () => {
        w = await startDirectoryWorld(target, people());
      });
      after(async () => {
        await w?.close();
      });

      const variants: [string, string][] = [
        ['a certificate Mallory made herself', 'mallory-self-alice.der'],
        ["one the organisation's CA mis-issued to her", 'mallory-misissued-alice.der'],
      ];
      for (const [what, file] of variants) {
        test(
          `with ${what}: alice@ resolves to nothing, naming both entries, and mail to her is not encrypted`,
          { timeout: TEST_TIMEOUT_MS },
          async () => {
            await setMallory(w, { certificates: [pkiFile('mallory.der'), pkiFile(file)] });
            await syncNow(w.admin);

            const r = await resolveOne(w.reader, ALICE);
            assert.equal(r.ready, false, `alice@ must not resolve: ${JSON.stringify(r)}`);
            assert.equal(r.certificate, null);
            const reasons = r.reasons.join(' ');
            assert.match(reasons, /claimed by 2 directory entries/);
            assert.ok(reasons.includes(personDn('alice')) && reasons.includes(personDn('mallory')), reasons);

            const sent = await sendEncrypted(w.sender, ALICE);
            assert.equal(sent.status, 422, `nothing may be encrypted: ${sent.status} ${sent.text.slice(0, 300)}`);
            assert.equal(sent.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
            assert.deepEqual(
              sent.body.error.missing.map((m: { email: string }) => m.email),
              [ALICE],
            );
            assert.match(sent.body.error.missing[0].reasons.join(' '), /claimed by 2 directory entries/);

            // Mallory keeps her own address: the conflict is about alice@ alone.
            const own = await resolveOne(w.reader, MALLORY);
            assert.equal(own.ready, true, JSON.stringify(own));
            assert.equal(own.certificate.fingerprintSha256, fp('mallory.der'));
          },
        );
      }

      test(
        'once the directory is corrected, mail to alice@ is encrypted to Alice and to no certificate of Mallory',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          await setMallory(w, { proxyAddresses: [`SMTP:${MALLORY}`] });
          await syncNow(w.admin);
          const r = await resolveOne(w.reader, ALICE);
          assert.equal(r.ready, true, JSON.stringify(r));
          assert.equal(r.certificate.fingerprintSha256, fp('alice-2025.der'));

          const sent = await sendEncrypted(w.sender, ALICE);
          assert.equal(sent.status, 200, sent.text.slice(0, 300));
          const recipients = recipientsOf(sent.text);
          assert.ok(
            recipients.includes(identityOf(pkiFile('alice-2025.der'))),
            `encrypted to Alice: ${recipients.join(', ')}`,
          );
          for (const file of ['mallory.der', 'mallory-self-alice.der', 'mallory-misissued-alice.der'])
            assert.ok(!recipients.includes(identityOf(pkiFile(file))), `not encrypted to ${file}`);
          // Alice and the sender's own copy: nobody else.
          assert.equal(recipients.length, 2, recipients.join(', '));
        },
      );
    },
  );
}
