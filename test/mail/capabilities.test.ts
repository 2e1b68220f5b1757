/**
 * What is sent to a correspondent follows the SMIMECapabilities of their newest signed message by signing time
 * (issue 14), not of the message read last: reading an old message again (a search, a thread) must not change the
 * content cipher chosen for them. On both databases, through the store the harvest uses.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { recordOf } from '../../backend/src/store/certificate-record.ts';
import { listExchanged, touchExchanged, upsertExchanged } from '../../backend/src/store/certificates.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { ensureUser } from '../../backend/src/store/users.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { databaseTargets } from '../helpers/db.ts';
import { announcedCapabilities } from '../../backend/src/mail/outgoing.ts';
import { DEFAULT_CAPABILITIES } from '../../backend/src/smime/index.ts';
import { FIXTURES } from '../helpers/paths.ts';

const EMAIL = 'alice@example.com';
const day = (d: number) => new Date(Date.UTC(2026, 10, d));

for (const target of await databaseTargets()) {
  describe(`capabilities by signing time on ${target.name}`, { timeout: 60_000 }, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let userId: number;
    let certificate: Uint8Array;
    before(async () => {
      ({ db, drop } = await target.open());
      userId = (await ensureUser(db, 'reader@example.com')).id;
      certificate = pemToDer(readFileSync(`${FIXTURES}pki/certs/signer.pem`, 'utf8'))[0]!;
    });
    after(async () => {
      await drop?.();
    });

    const stored = async () => (await listExchanged(db, userId, { email: EMAIL }))[0]!;
    const seen = (caps: string[], at?: Date) =>
      touchExchanged(db, userId, EMAIL, describeCertificate(certificate).fingerprintSha256, caps, at);

    test('the newest announcement wins; an older one read later changes nothing', { timeout: 30_000 }, async () => {
      const info = describeCertificate(certificate);
      const first = await upsertExchanged(db, {
        id: randomUUID(),
        userId,
        email: EMAIL,
        certificate,
        chain: [],
        ...recordOf(info),
        capabilities: ['aes-256-cbc'],
        capabilitiesSignedAt: day(10),
        source: 'harvested',
      });
      assert.equal(first, 'added');
      assert.ok(await seen(['aes-256-gcm', 'aes-256-cbc'], day(20)));
      assert.deepEqual((await stored()).capabilities, ['aes-256-gcm', 'aes-256-cbc']);
      // An old message read again: it announced less, but it is older.
      assert.ok(await seen(['aes-128-cbc'], day(15)));
      assert.deepEqual((await stored()).capabilities, ['aes-256-gcm', 'aes-256-cbc']);
      // A message without a signing time cannot be placed in time: it does not replace a dated announcement.
      assert.ok(await seen(['aes-128-cbc']));
      assert.deepEqual((await stored()).capabilities, ['aes-256-gcm', 'aes-256-cbc']);
      // A message without capabilities says nothing about them.
      assert.ok(await seen([], day(25)));
      assert.deepEqual((await stored()).capabilities, ['aes-256-gcm', 'aes-256-cbc']);
      // A newer one that no longer announces GCM (the correspondent moved to a client without it) is followed.
      assert.ok(await seen(['aes-256-cbc'], day(30)));
      assert.deepEqual((await stored()).capabilities, ['aes-256-cbc']);
      assert.equal((await stored()).capabilities_signed_at?.getTime(), day(30).getTime());
    });
  });
}

test('what our users announce: AES-GCM only with SMIME_ANNOUNCE_GCM, everything else in the same order', () => {
  assert.deepEqual(announcedCapabilities(true), DEFAULT_CAPABILITIES);
  const without = announcedCapabilities(false);
  assert.ok(!without.some((c) => typeof c === 'string' && c.endsWith('-gcm')));
  assert.deepEqual(
    without,
    DEFAULT_CAPABILITIES.filter((c) => !String(c).endsWith('-gcm')),
  );
  assert.ok(without.includes('aes-256-cbc'));
});
