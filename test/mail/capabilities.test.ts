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
import { announcedCapabilities, contentCipherFor } from '../../backend/src/mail/outgoing.ts';
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
  assert.deepEqual(announcedCapabilities(true, false), DEFAULT_CAPABILITIES);
  const without = announcedCapabilities(false);
  assert.ok(!without.some((c) => typeof c === 'string' && c.endsWith('-gcm')));
  assert.deepEqual(
    without,
    DEFAULT_CAPABILITIES.filter((c) => !String(c).endsWith('-gcm')),
  );
  assert.ok(without.includes('aes-256-cbc'));
});

// Issue 14: ChaCha20-Poly1305 (RFC 8103) is never announced by default (NSS and OpenSSL 3.0 cannot open it).
test('ChaCha20-Poly1305 is announced only with SMIME_ANNOUNCE_CHACHA20_POLY1305, after AES-GCM, before AES-CBC', () => {
  assert.ok(!DEFAULT_CAPABILITIES.includes('chacha20-poly1305'));
  for (const gcm of [true, false]) {
    assert.ok(!announcedCapabilities(gcm).includes('chacha20-poly1305'));
    const withChaCha = announcedCapabilities(gcm, true);
    assert.deepEqual(
      withChaCha.filter((c) => c !== 'chacha20-poly1305'),
      announcedCapabilities(gcm),
    );
    const at = withChaCha.indexOf('chacha20-poly1305');
    assert.equal(at, gcm ? 2 : 0, JSON.stringify(withChaCha));
    assert.equal(withChaCha[at + 1], 'aes-256-cbc');
  }
});

void describe('the content cipher follows what every recipient announced (RFC 8551 section 2.7)', () => {
  const GCM = ['aes-256-gcm', 'aes-256-cbc'];
  const CHACHA = ['chacha20-poly1305', 'aes-256-cbc'];
  const BOTH = ['aes-256-gcm', 'chacha20-poly1305', 'aes-256-cbc'];
  const CBC = ['aes-256-cbc'];
  const cases: { name: string; announced: string[][]; expected: string }[] = [
    { name: 'no recipients with announcements', announced: [], expected: 'aes-256-cbc' },
    { name: 'one recipient, ChaCha20-Poly1305', announced: [CHACHA], expected: 'chacha20-poly1305' },
    { name: 'every recipient ChaCha20-Poly1305', announced: [CHACHA, BOTH, CHACHA], expected: 'chacha20-poly1305' },
    { name: 'all but one ChaCha20-Poly1305', announced: [CHACHA, BOTH, CBC], expected: 'aes-256-cbc' },
    { name: 'one announced nothing', announced: [CHACHA, []], expected: 'aes-256-cbc' },
    // AES-GCM is preferred when every recipient announced both (see AUTHENTICATED_CIPHERS in mail/outgoing.ts).
    { name: 'every recipient both', announced: [BOTH, BOTH], expected: 'aes-256-gcm' },
    { name: 'every recipient GCM, some also ChaCha', announced: [GCM, BOTH], expected: 'aes-256-gcm' },
    // Neither is announced by all, though each recipient announced an AEAD: one copy cannot serve both.
    { name: 'one GCM only, one ChaCha only', announced: [GCM, CHACHA], expected: 'aes-256-cbc' },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.expected}`, () => {
      assert.equal(contentCipherFor(c.announced, 'aes-256-cbc'), c.expected);
    });
  }
  test('the fallback is SMIME_DEFAULT_CIPHER, whatever it is', () => {
    assert.equal(contentCipherFor([GCM, CHACHA], 'aes-128-gcm'), 'aes-128-gcm');
    assert.equal(contentCipherFor([CHACHA], 'aes-128-gcm'), 'chacha20-poly1305');
  });
});
