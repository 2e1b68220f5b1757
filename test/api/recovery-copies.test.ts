// Recovery copies (issue 17): with SMIME_RECOVERY_CERTIFICATE configured, a key placed or imported is wrapped to it in
// the same transaction; a key stored before is wrapped at its owner's next unlock (audited, visible to the user); the
// admin status counts what is covered; every copy opens with the recovery key (ours and OpenSSL's cms) to exactly the
// key of its certificate; and the setting refuses what it must not be given.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../backend/src/config.ts';
import { openRecoveryWrap, privateKeyMatches, type RecoveryTarget } from '../../backend/src/recovery/escrow.ts';
import { createRecoveryKey, type RecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { certificateToPem } from '../../backend/src/smime/index.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { databaseTargets } from '../helpers/db.ts';
import { adminClient, b64, corpusP12, placeKey } from '../security/world.ts';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const PASS = 'alice own passphrase 1';

const [pglite] = (await databaseTargets()).filter((t) => t.name === 'pglite');

interface WrapRow {
  key_id: string;
  set_id: string;
  envelope: Uint8Array;
  certificate: Uint8Array;
  email: string;
}

async function wraps(db: Database): Promise<WrapRow[]> {
  return db.query<WrapRow>(
    `SELECT w.key_id, w.set_id, w.envelope, k.certificate, u.email
       FROM key_recovery_wraps w JOIN private_keys k ON k.id = w.key_id JOIN users u ON u.id = k.user_id
      ORDER BY u.email, k.created_at`,
  );
}

describe('recovery copies', { timeout: 180_000 }, () => {
  let recovery: RecoveryKey;
  let target: RecoveryTarget;
  let db: Database;
  let drop: () => Promise<void>;
  let plain: TestServer | undefined;
  let srv: TestServer;
  const work = mkdtempSync(join(tmpdir(), 'recovery-copies-'));

  before(async () => {
    assert.ok(pglite, 'the PGlite target');
    recovery = await createRecoveryKey({ bits: 3072, organisation: 'Example' });
    target = { certificate: recovery.certificate, setId: recovery.setId, subject: 'O=Example, CN=S/MIME key recovery' };
    const opened = await pglite.open();
    db = opened.db;
    drop = opened.drop;
  });
  after(() =>
    cleanUp(
      () => plain?.close(),
      () => srv?.close(),
      () => drop?.(),
      () => rmSync(work, { recursive: true, force: true }),
      () => recovery?.pkcs8.fill(0),
    ),
  );

  const open = (envelope: Uint8Array, keyCertificate: Uint8Array) =>
    openRecoveryWrap(
      envelope,
      {
        certificate: recovery.certificate,
        privateKey: createPrivateKey({ key: Buffer.from(recovery.pkcs8), format: 'der', type: 'pkcs8' }),
      },
      keyCertificate,
    );

  test('a key stored before recovery was configured has no copy, and the status says who is not covered', async () => {
    plain = await startServer(db);
    await placeKey(plain, ALICE, 'Alice.p12', PASS);
    await plain.close();
    plain = undefined;
    srv = await startServer(db, { recovery: target });
    assert.equal((await wraps(db)).length, 0);
    const status = await adminClient(srv).request('GET', '/api/v1/admin/recovery/status');
    assert.equal(status.status, 200, status.text);
    assert.deepEqual(status.body, {
      configured: true,
      setId: recovery.setId,
      subject: target.subject,
      keys: 1,
      covered: 0,
      users: 1,
      usersCovered: 0,
      uncoveredUsers: [ALICE],
    });
  });

  test("the owner's next unlock wraps it, once, and the user sees it in their own audit view", async () => {
    const alice = new Client(srv.url, await srv.token(ALICE));
    for (let i = 0; i < 2; i++) {
      const u = await alice.request('POST', '/api/v1/session/unlock', { json: { passphrase: PASS } });
      assert.equal(u.status, 200, u.text);
    }
    const rows = await wraps(db);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.set_id, recovery.setId);
    const pkcs8 = await open(rows[0]!.envelope, rows[0]!.certificate);
    assert.ok(privateKeyMatches(pkcs8, rows[0]!.certificate));
    const audit = await alice.request('GET', '/api/v1/me/audit');
    const wrapped = (audit.body.entries as { action: string; details: Record<string, unknown> }[]).filter(
      (e) => e.action === 'key.recovery_wrapped',
    );
    assert.equal(wrapped.length, 1, 'one entry: the second unlock found the copy there');
    assert.deepEqual(wrapped[0]!.details.keyIds, [rows[0]!.key_id]);
    assert.equal(wrapped[0]!.details.recoverySetId, recovery.setId);
    const status = await adminClient(srv).request('GET', '/api/v1/admin/recovery/status');
    assert.equal(status.body.covered, 1);
    assert.deepEqual(status.body.uncoveredUsers, []);
  });

  test('a key IT places is wrapped in the same transaction, before anyone unlocks it', async () => {
    const r = await adminClient(srv).request('POST', `/api/v1/admin/users/${encodeURIComponent(BOB)}/keys`, {
      json: { p12: b64(corpusP12('Bob.p12')), password: 'nss' },
    });
    assert.equal(r.status, 201, r.text);
    const bob = (await wraps(db)).filter((w) => w.email === BOB);
    assert.equal(bob.length, 1);
    assert.equal(bob[0]!.key_id, r.body.key.id);
    (await open(bob[0]!.envelope, bob[0]!.certificate)).fill(0);
    const [placed] = await db.query<{ details: { recoverySetId?: string } }>(
      `SELECT details FROM audit_log WHERE action = 'key.placed' AND user_email = $1`,
      [BOB],
    );
    assert.equal(placed?.details.recoverySetId, recovery.setId);
  });

  test("a key the user imports is wrapped too, and OpenSSL's cms opens the copy with the recovery key", async () => {
    const alice = new Client(srv.url, await srv.token(ALICE));
    const alias = await adminClient(srv).request('POST', `/api/v1/admin/users/${encodeURIComponent(ALICE)}/aliases`, {
      json: { alias: 'alice-ec@example.com' },
    });
    assert.equal(alias.status, 201, alias.text);
    const r = await alice.request('POST', '/api/v1/keys', {
      json: { p12: b64(corpusP12('Alice-ec.p12')), password: 'nss', passphrase: PASS },
    });
    assert.equal(r.status, 201, r.text);
    const copy = (await wraps(db)).find((w) => w.key_id === r.body.key.id);
    assert.ok(copy, 'the imported key has its copy');
    const env = join(work, 'copy.der');
    const keyFile = join(work, 'recovery.key');
    writeFileSync(env, copy.envelope);
    writeFileSync(
      keyFile,
      createPrivateKey({ key: Buffer.from(recovery.pkcs8), format: 'der', type: 'pkcs8' }).export({
        type: 'pkcs8',
        format: 'pem',
      }),
      { mode: 0o600 },
    );
    const out = spawnSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', env, '-inkey', keyFile, '-binary']);
    assert.equal(out.status, 0, String(out.stderr));
    assert.ok(privateKeyMatches(out.stdout, copy.certificate), 'OpenSSL opens it to the key of the certificate');
    const status = await adminClient(srv).request('GET', '/api/v1/admin/recovery/status');
    assert.equal(status.body.keys, 3);
    assert.equal(status.body.covered, 3);
    assert.equal(status.body.usersCovered, 2);
  });

  test('a copy moved to another key’s row is refused rather than handed out under the wrong certificate', async () => {
    const rows = await wraps(db);
    const a = rows.find((w) => w.email === ALICE)!;
    const b = rows.find((w) => w.email === BOB)!;
    await assert.rejects(open(a.envelope, b.certificate), { code: 'RECOVERY_WRAP_INVALID' });
    const flipped = Uint8Array.from(a.envelope);
    flipped[flipped.length - 20]! ^= 1;
    await assert.rejects(open(flipped, a.certificate), { code: 'RECOVERY_WRAP_INVALID' });
  });

  test('without the setting nothing is wrapped and the status says so', async () => {
    const other = await startServer(db);
    try {
      const s = await adminClient(other).request('GET', '/api/v1/admin/recovery/status');
      assert.deepEqual(s.body, { configured: false });
    } finally {
      await other.close();
    }
  });

  test('SMIME_RECOVERY_CERTIFICATE takes the PEM certificate, and refuses a private key, a weak key or no file', () => {
    const env = (file: string) => ({
      SMIME_JWT_SECRET: TEST_JWT_SECRET,
      SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      SMIME_RECOVERY_CERTIFICATE: file,
    });
    const pem = join(work, 'recovery-certificate.pem');
    writeFileSync(pem, certificateToPem(recovery.certificate));
    const c = loadConfig(env(pem));
    assert.equal(c.recovery?.setId, recovery.setId);
    assert.match(c.recovery?.subject ?? '', /S\/MIME key recovery/);

    const withKey = join(work, 'with-key.pem');
    const keyPem = createPrivateKey({ key: Buffer.from(recovery.pkcs8), format: 'der', type: 'pkcs8' }).export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(withKey, certificateToPem(recovery.certificate) + String(keyPem));
    assert.throws(
      () => loadConfig(env(withKey)),
      (e: Error) => {
        assert.match(e.message, /holds a private key/);
        assert.doesNotMatch(e.message, /MII/, 'no key material in the message');
        return true;
      },
    );
    // An RSA-2048 certificate (the corpus users'): too weak to protect every key for years.
    const weak = join(work, 'weak.pem');
    const ca = spawnSync(
      'openssl',
      ['pkcs12', '-in', join('test/fixtures/corpus', 'Alice.p12'), '-passin', 'pass:nss', '-nokeys', '-clcerts'],
      { encoding: 'utf8' },
    );
    assert.equal(ca.status, 0, ca.stderr);
    writeFileSync(weak, ca.stdout);
    assert.throws(() => loadConfig(env(weak)), /SMIME_RECOVERY_CERTIFICATE: .*RSA key of at least 3072 bits/);
    assert.throws(() => loadConfig(env(join(work, 'missing.pem'))), /SMIME_RECOVERY_CERTIFICATE: cannot read/);
    const junk = join(work, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    assert.throws(() => loadConfig(env(junk)), /SMIME_RECOVERY_CERTIFICATE: .*not a PEM or DER X\.509 certificate/);
  });
});
