// Key backup (issue 17): POST /api/v1/keys/{id}/export answers a PKCS#12 that OpenSSL 3 opens with the export
// password, holding the key of the certificate; a wrong or missing passphrase gets no file; the export is audited; and
// neither password reaches the log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { databaseTargets } from '../helpers/db.ts';
import { placeKey } from '../security/world.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';
const EXPORT_PASSWORD = 'backup-password-9c1e';

function openssl(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const [pglite] = (await databaseTargets()).filter((t) => t.name === 'pglite');

describe('key export', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let drop: () => Promise<void>;
  let alice: Client;
  let token: string;
  let keyId: string;
  const work = mkdtempSync(join(tmpdir(), 'key-export-'));

  /** The raw answer: Client decodes bodies as text, which would mangle the DER. */
  const exportRaw = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${srv.url}/api/v1/keys/${id}/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  before(async () => {
    assert.ok(pglite, 'the PGlite target');
    const opened = await pglite.open();
    drop = opened.drop;
    // The export limit shares SMIME_P12_IMPORTS_PER_HOUR (burst 5): high enough here for the 400 cases.
    srv = await startServer(opened.db, { SMIME_P12_IMPORTS_PER_HOUR: 100_000 });
    alice = await placeKey(srv, ALICE, 'Alice.p12', PASS);
    token = await srv.token(ALICE);
    keyId = (await alice.request('GET', '/api/v1/keys')).body.keys[0].id;
  });
  after(() =>
    cleanUp(
      () => srv?.close(),
      () => drop?.(),
      () => rmSync(work, { recursive: true, force: true }),
    ),
  );

  test('the export opens in OpenSSL with the export password and holds the certificate’s key', async () => {
    const res = await exportRaw(keyId, { passphrase: PASS, exportPassword: EXPORT_PASSWORD });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/x-pkcs12');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${ALICE}-${keyId.slice(0, 8)}.p12"`);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const file = join(work, 'alice.p12');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));

    assert.notEqual(openssl(['pkcs12', '-in', file, '-passin', `pass:${PASS}`, '-nodes']).status, 0);
    const key = openssl(['pkcs12', '-in', file, '-passin', `pass:${EXPORT_PASSWORD}`, '-nocerts', '-nodes']);
    assert.equal(key.status, 0, key.stderr);
    const cert = openssl(['pkcs12', '-in', file, '-passin', `pass:${EXPORT_PASSWORD}`, '-clcerts', '-nokeys']);
    assert.equal(cert.status, 0, cert.stderr);
    const fromKey = openssl(['pkey', '-pubout'], key.stdout);
    const fromCert = openssl(['x509', '-pubkey', '-noout'], cert.stdout);
    assert.equal(fromKey.status, 0, fromKey.stderr);
    assert.equal(fromCert.status, 0, fromCert.stderr);
    assert.match(fromKey.stdout, /BEGIN PUBLIC KEY/);
    assert.equal(fromKey.stdout, fromCert.stdout, 'the private key is the certificate’s');
    const served = (await alice.request('GET', `/api/v1/keys/${keyId}/certificate`)).text;
    const subject = (pem: string) => openssl(['x509', '-noout', '-fingerprint', '-sha256'], pem).stdout;
    assert.equal(subject(cert.stdout), subject(served), 'the certificate is the stored one');
  });

  test('a wrong passphrase gets WRONG_PASSPHRASE and no file', async () => {
    const res = await exportRaw(keyId, { passphrase: 'not the passphrase', exportPassword: EXPORT_PASSWORD });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('content-type') ?? '', /json/);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'WRONG_PASSPHRASE');
  });

  test('a missing passphrase or a short export password is a 400', async () => {
    for (const body of [
      { exportPassword: EXPORT_PASSWORD },
      { passphrase: PASS },
      { passphrase: PASS, exportPassword: 'short' },
      { passphrase: PASS, exportPassword: EXPORT_PASSWORD, extra: 1 },
    ]) {
      const res = await exportRaw(keyId, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
    }
  });

  test('the export is in the user’s audit trail', async () => {
    const audit = await alice.request('GET', '/api/v1/me/audit');
    assert.equal(audit.status, 200, audit.text);
    const entries = JSON.stringify(audit.body);
    assert.match(entries, /"key\.exported"/);
    assert.ok(entries.includes(keyId));
    assert.ok(!entries.includes(EXPORT_PASSWORD) && !entries.includes(PASS));
  });

  test('neither password reaches the log', () => {
    const logs = srv.logs.join('');
    assert.ok(logs.length > 0, 'the server logged something');
    assert.ok(!logs.includes(PASS), 'passphrase in the log');
    assert.ok(!logs.includes(EXPORT_PASSWORD), 'export password in the log');
  });
});
