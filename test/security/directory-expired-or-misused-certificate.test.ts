/**
 * Attack: a directory certificate that is expired or not meant for encryption, at the leaf or on its path. Beside the
 * leaf's own dates and key usage (checked before issue 12), the path must hold too: a certificate minted with an
 * end-entity key (Mallory's certificate is no CA and may not sign certificates, yet her key signed one for minted@),
 * a leaf issued by a CA that has expired, or a certificate with a critical extension nobody understands (RFC 5280
 * section 4.2). Before issue 12 the path was never looked at, so those three were "ready".
 *
 * Defence: the engine's path building (smime/x509/chain.ts, as for signers) on every directory certificate, at sync and at
 * every use: each CA on the path must be a CA (basicConstraints cA), allowed to sign certificates (keyUsage
 * keyCertSign), valid now, with no unknown critical extension; the leaf's validity, key usage (keyEncipherment for
 * RSA) and extended key usage (emailProtection) as for any recipient (mail/recipients.ts unusableReason).
 *
 * What the test proves, through the real API against a real slapd, one row per case: the address is not ready, the
 * reason names the problem, and Bob's encrypted mail to it is refused with RECIPIENT_CERTIFICATE_MISSING, while a
 * good certificate of the same CA works. The leaf rows (expired, signing-only key usage, clientAuth purpose) were
 * refused before issue 12 too and stay as regression rows; the path rows are what failed. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

interface Row {
  what: string;
  person: Person;
  reason: RegExp;
}

const rows: Row[] = [
  {
    what: 'an expired certificate',
    person: { uid: 'carol', mail: 'carol@example.org', certificates: [pkiFile('carol.der')] },
    reason: /expired/,
  },
  {
    what: 'key usage without keyEncipherment (signing only)',
    person: { uid: 'signonly', mail: 'signonly@example.org', certificates: [pkiFile('sign-only.der')] },
    reason: /key usage does not allow key encipherment/,
  },
  {
    what: 'extended key usage clientAuth only',
    person: { uid: 'dave', mail: 'dave@example.org', certificates: [pkiFile('dave.der')] },
    reason: /not meant for email protection/,
  },
  {
    what: 'minted with an end-entity key (issuer not a CA, no keyCertSign)',
    // The entry carries Mallory's certificate too, so the path is found and judged, not merely missing.
    person: {
      uid: 'minted',
      mail: 'minted@example.org',
      certificates: [pkiFile('minted-by-mallory.der'), pkiFile('mallory.der')],
    },
    reason: /not issued by a CA the directory trusts \(CN=Mallory: not a CA certificate/,
  },
  {
    what: 'issued by an expired CA (carried in the PKCS#7 bundle)',
    person: { uid: 'underexpired', mail: 'underexpired@example.org', smime: [pkiFile('under-expired-ca.p7b')] },
    reason: /not issued by a CA the directory trusts \(CN=Example Expired Issuing CA: expired on 2021-01-01/,
  },
  {
    what: 'an unknown critical extension',
    person: { uid: 'critical', mail: 'critical@example.org', certificates: [pkiFile('critical-ext.der')] },
    reason: /unsupported critical extension 1\.2\.3\.4\.5/,
  },
];
const GOOD = 'user01@example.org';

for (const target of await databaseTargets()) {
  describe(
    `expired or misused directory certificates on ${target.name}`,
    { skip, timeout: 3 * TEST_TIMEOUT_MS },
    () => {
      let w: DirectoryWorld;
      before(async () => {
        w = await startDirectoryWorld(target, [
          ...rows.map((r) => r.person),
          { uid: 'user01', mail: GOOD, certificates: [pkiFile('user01.der')] },
        ]);
        await syncNow(w.admin);
      });
      after(async () => {
        await w?.close();
      });

      for (const row of rows) {
        test(
          `${row.what}: not ready, the reason says why, mail is not encrypted`,
          { timeout: TEST_TIMEOUT_MS },
          async () => {
            const email = row.person.mail!;
            const r = await resolveOne(w.reader, email);
            assert.equal(r.ready, false, `${email}: ${JSON.stringify(r)}`);
            assert.match(r.reasons.join(' '), row.reason);
            const sent = await sendEncrypted(w.sender, email);
            assert.equal(sent.status, 422, `${sent.status} ${sent.text.slice(0, 200)}`);
            assert.equal(sent.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
          },
        );
      }

      test(
        'a good certificate of the same CA works (the rows fail for their own reason)',
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          assert.equal((await resolveOne(w.reader, GOOD)).ready, true);
          assert.equal((await sendEncrypted(w.sender, GOOD)).status, 200);
        },
      );
    },
  );
}
