/**
 * The demo host's own API and seeding, without a browser (issue 5): seeding is idempotent and goes through IT's
 * placement path; a demo login works only for demo users; a mailbox reaches only its owner's messages; "send" checks
 * the From address; tamper changes one byte; the demo is absent when SMIME_DEMO is off while the plugin bundle is not,
 * and the product's app never mounts it (issue 12: only the demo's entry module does); a pre-issue-12 demo CA without
 * name constraints is refused; demo certificates and PKCS#12 files are read by OpenSSL too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPkcs12, generateCa, issueUser, toPem } from '../../backend/src/demo/pki.ts';
import { ConfigError } from '../../backend/src/config.ts';
import { openDemoHost } from '../../backend/src/demo/entry.ts';
import { DEMO_USERS, demoCaPaths, ensureDemoCa, seedDemo } from '../../backend/src/demo/seed.ts';
import { tamper } from '../../backend/src/demo/tamper.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, testConfig } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { startDemoTestServer, type DemoTestServer } from '../helpers/demo.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const mail = (from: string, to: string, subject: string) =>
  `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello\r\n`;

const [pglite] = await databaseTargets();

describe('demo API and seeding', () => {
  let db: Database;
  let drop: () => Promise<void>;
  let srv: DemoTestServer;

  before(async () => {
    ({ db, drop } = await pglite!.open());
    srv = await startDemoTestServer(db, {}, { seed: true });
  });
  after(() =>
    cleanUp(
      () => srv?.close(),
      () => drop?.(),
    ),
  );

  test('seeding runs once; keys are placed by the admin path, one is still pending', async () => {
    const { ca } = await ensureDemoCa(srv.dataDir); // the same CA, loaded from the data folder
    assert.deepEqual(Buffer.from(ca.certificate), Buffer.from(srv.host.ca.certificate));
    assert.equal(await seedDemo(srv.services, ca), false);
    const placed = await db.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE action = 'key.placed'`,
    );
    assert.equal(placed.length, 3);
    assert.ok(placed.every((p) => p.actor === 'admin:demo-seed'));
    const pending = await db.query<{ email: string }>(
      'SELECT u.email FROM private_keys k JOIN users u ON u.id = k.user_id WHERE k.must_change_passphrase',
    );
    assert.deepEqual(
      pending.map((p) => p.email),
      ['carol@demo.example'],
    );
  });

  test('users list, and a login only for demo users', async () => {
    const anon = new Client(srv.url);
    const users = (await anon.request('GET', '/demo/api/users')).body.users;
    assert.deepEqual(
      users.map((u: any) => u.email),
      DEMO_USERS.map((u) => u.email),
    );
    assert.equal(users.find((u: any) => u.email === 'dave@demo.example').passphrase, null);
    const bad = await anon.request('POST', '/demo/api/login', { json: { email: 'mallory@example.com' } });
    assert.equal(bad.status, 404);
    assert.equal(bad.body.error.code, 'DEMO_USER_UNKNOWN');
    const ok = await anon.request('POST', '/demo/api/login', { json: { email: 'alice@demo.example' } });
    assert.equal(ok.status, 200);
    const me = await new Client(srv.url, ok.body.token).request('GET', '/api/v1/me');
    assert.equal(me.body.email, 'alice@demo.example');
  });

  test('a mailbox reaches only its own messages; From must be the sender', async () => {
    const alice = new Client(srv.url, await srv.token('alice@demo.example'));
    const bob = new Client(srv.url, await srv.token('bob@demo.example'));
    const outsider = new Client(srv.url, await srv.token('mallory@example.com'));
    const sent = await alice.request('POST', '/demo/api/messages', {
      json: {
        messages: [
          { bcc: null, message: b64(mail('alice@demo.example', 'bob@demo.example, x@elsewhere.example', 'hi')) },
        ],
      },
    });
    assert.equal(sent.status, 201, sent.text);
    assert.deepEqual(sent.body, { delivered: ['bob@demo.example'], undeliverable: ['x@elsewhere.example'] });
    const inbox = (await bob.request('GET', '/demo/api/messages?folder=inbox')).body.messages;
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0].subject, 'hi');
    const id = inbox[0].id;
    assert.equal((await bob.request('GET', `/demo/api/messages/${id}/raw`)).status, 200);
    // Alice's Sent copy is another row; Bob's inbox copy is not hers to read or tamper with.
    assert.equal((await alice.request('GET', `/demo/api/messages/${id}/raw`)).status, 404);
    assert.equal((await alice.request('POST', `/demo/api/messages/${id}/tamper`)).status, 404);
    assert.equal((await alice.request('GET', '/demo/api/messages?folder=sent')).body.messages.length, 1);
    assert.equal((await outsider.request('GET', '/demo/api/messages')).body.error.code, 'DEMO_USER_UNKNOWN');
    assert.equal((await new Client(srv.url).request('GET', '/demo/api/messages')).status, 401);
    const forged = await bob.request('POST', '/demo/api/messages', {
      json: { messages: [{ bcc: null, message: b64(mail('alice@demo.example', 'bob@demo.example', 'forged')) }] },
    });
    assert.equal(forged.body.error.code, 'FROM_NOT_USER');
    assert.equal((await bob.request('POST', `/demo/api/messages/${id}/tamper`)).body.tampered, true);
    assert.equal((await bob.request('GET', '/demo/api/messages')).body.messages[0].tampered, true);
  });

  test('the plugin bundle and the demo page are served', async () => {
    const anon = new Client(srv.url);
    const js = await anon.request('GET', '/plugin/smime-plugin.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.text, /createSmimePlugin/);
    const page = await anon.request('GET', '/demo');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  });
});

describe('demo off', () => {
  test('no /demo, no demo API; the plugin bundle is still served', async () => {
    const { db, drop } = await pglite!.open();
    const srv = await startServer(db, { demo: false });
    try {
      const anon = new Client(srv.url);
      assert.equal((await anon.request('GET', '/demo')).status, 404);
      assert.equal((await anon.request('GET', '/demo/api/users')).status, 404);
      assert.equal((await anon.request('GET', '/plugin/smime-plugin.js')).status, 200);
    } finally {
      await srv.close();
      await drop();
    }
  });

  test("the product's app never mounts the demo, whatever its config says: only the demo's entry module does (issue 12)", async () => {
    const { db, drop } = await pglite!.open();
    const srv = await startServer(db, { demo: true });
    try {
      const anon = new Client(srv.url);
      assert.equal((await anon.request('GET', '/demo')).status, 404);
      assert.equal(
        (await anon.request('POST', '/demo/api/login', { json: { email: 'alice@demo.example' } })).status,
        404,
      );
      const tables = await db.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'demo%'",
      );
      assert.deepEqual(tables, [], "the product's migrations create no demo table");
    } finally {
      await srv.close();
      await drop();
    }
  });
});

describe('a demo data folder from before issue 12', () => {
  test('its demo CA, without name constraints, is refused with a message that says what to do', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'smime-demo-old-'));
    try {
      const old = await generateCa(); // unconstrained, as demo CAs were made before
      const p = demoCaPaths(dataDir);
      mkdirSync(p.dir, { recursive: true, mode: 0o700 });
      writeFileSync(p.key, old.pkcs8, { mode: 0o600 });
      writeFileSync(p.certificate, toPem(old.certificate));
      await assert.rejects(openDemoHost(testConfig({ SMIME_DATA_DIR: dataDir, dataDir, demo: true })), (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /predates name constraints and could certify any address; remove /);
        return true;
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('tamper', () => {
  const diff = (a: Uint8Array, b: Uint8Array) => [...a].filter((x, i) => x !== b[i]).length;
  test('multipart/signed: one letter of the signed part changes case', () => {
    const raw = Buffer.from(
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="b1"\r\n\r\n' +
        '--b1\r\nContent-Type: text/plain\r\n\r\n1. Pay now\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--b1--\r\n',
    );
    const t = tamper(raw);
    assert.equal(diff(raw, t), 1);
    assert.match(Buffer.from(t).toString(), /1\. pay now/);
  });
  test('opaque or encrypted: one base64 character of the body changes', () => {
    const raw = Buffer.from(
      `Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n${'QUJD'.repeat(40)}\r\n`,
    );
    const t = tamper(raw);
    assert.equal(diff(raw, t), 1);
    assert.equal(t.length, raw.length);
  });
});

describe('demo PKI read by OpenSSL', () => {
  let openssl = true;
  try {
    execFileSync('openssl', ['version']);
  } catch {
    openssl = false;
  }
  test(
    'the user certificate chains to the demo CA; the PKCS#12 opens with its password',
    { skip: !openssl && 'openssl not installed' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'smime-demo-pki-'));
      try {
        const ca = await generateCa();
        const u = await issueUser(ca, { name: 'Erin Demo', email: 'erin@demo.example' });
        writeFileSync(join(dir, 'ca.pem'), toPem(ca.certificate));
        writeFileSync(join(dir, 'u.pem'), toPem(u.certificate));
        const out = execFileSync('openssl', [
          'verify',
          '-purpose',
          'smimesign',
          '-CAfile',
          join(dir, 'ca.pem'),
          join(dir, 'u.pem'),
        ]).toString();
        assert.match(out, /OK/);
        const text = execFileSync('openssl', [
          'x509',
          '-in',
          join(dir, 'u.pem'),
          '-noout',
          '-ext',
          'subjectAltName,extendedKeyUsage',
        ]).toString();
        assert.match(text, /email:erin@demo\.example/);
        assert.match(text, /E-mail Protection/);
        writeFileSync(
          join(dir, 'u.p12'),
          await buildPkcs12({
            certificate: u.certificate,
            chain: [ca.certificate],
            pkcs8: u.pkcs8,
            password: 'pw 1',
            friendlyName: 'Erin',
          }),
        );
        const key = execFileSync('openssl', [
          'pkcs12',
          '-in',
          join(dir, 'u.p12'),
          '-passin',
          'pass:pw 1',
          '-nocerts',
          '-nodes',
        ]).toString();
        assert.match(key, /BEGIN PRIVATE KEY/);
        assert.throws(() =>
          execFileSync('openssl', ['pkcs12', '-in', join(dir, 'u.p12'), '-passin', 'pass:wrong', '-noout'], {
            stdio: 'pipe',
          }),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
