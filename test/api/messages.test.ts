/**
 * Sending and reading through the HTTP API (issue 3), on both databases: Alice and Bob hold the NSS corpus keys,
 * trust the corpus CA, exchange certificates by signed mail, then encrypt to each other. What the API produces is
 * checked with OpenSSL (`openssl cms`), the independent reference.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12/pkcs12.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, TEST_ADMIN_TOKEN, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { FIXTURES, SHARED_CORPUS } from '../helpers/paths.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const PASS = 'a long passphrase of the user';
const NO_CORPUS = corpusUnavailable('the Bcc case (a message Dave signed)');
const corpus = (f: string) => readFileSync(`${FIXTURES}corpus/${f}`);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function mail(from: string, to: string, body: string, extra = ''): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\n${extra}Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n` +
      `Message-ID: <${Math.random().toString(36).slice(2)}@example.com>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`,
  );
}

let work: string;
async function pemKey(p12: string): Promise<string> {
  const { privateKey } = await parsePkcs12(corpus(p12), 'nss');
  const path = join(work, `${p12}.key.pem`);
  writeFileSync(
    path,
    `-----BEGIN PRIVATE KEY-----\n${b64(privateKey).replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`,
  );
  return path;
}
function certPem(p12: string): string {
  const path = join(work, `${p12}.crt.pem`);
  writeFileSync(
    path,
    execFileSync('openssl', ['pkcs12', '-nokeys', '-clcerts', '-passin', 'pass:nss', '-legacy'], {
      input: corpus(p12),
    }),
  );
  return path;
}
function opensslCms(args: string[], input: Buffer): Buffer {
  return execFileSync('openssl', ['cms', ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'smime-msg-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

for (const target of await databaseTargets()) {
  describe(`messages API on ${target.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let srv: TestServer;
    let alice: Client;
    let bob: Client;

    before(async () => {
      ({ db, drop } = await target.open());
      srv = await startServer(db, {
        SMIME_TRUST_ANCHORS: `${FIXTURES}corpus/TestCA.pem`,
        // Every client of these users opens AES-GCM: their signatures announce it (off by default, for Thunderbird).
        SMIME_ANNOUNCE_GCM: true,
      });
      // startServer builds services from the config; trust anchors are read by the mail service at construction.
      const admin = new Client(srv.url, TEST_ADMIN_TOKEN);
      for (const [email, file] of [
        ['alice@example.com', 'Alice.p12'],
        ['bob@example.com', 'Bob.p12'],
      ] as const) {
        const r = await admin.request('POST', `/api/v1/admin/users/${email}/keys`, {
          json: { p12: b64(corpus(file)), password: 'nss' },
        });
        assert.equal(r.status, 201, r.text);
        const c = new Client(srv.url, await srv.token(email));
        assert.equal(
          (
            await c.request('POST', '/api/v1/session/passphrase', {
              json: { currentPassphrase: 'nss', newPassphrase: PASS },
            })
          ).status,
          200,
        );
        assert.equal((await c.request('POST', '/api/v1/session/unlock', { json: { passphrase: PASS } })).status, 200);
        if (email.startsWith('alice')) alice = c;
        else bob = c;
      }
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    const send = (c: Client, q: string, raw: Buffer, accept = 'message/rfc822') =>
      c.request('POST', `/api/v1/messages/outgoing?${q}`, {
        body: raw,
        headers: { 'content-type': 'message/rfc822', accept },
      });
    const read = (c: Client, raw: Buffer | string) =>
      c.request('POST', '/api/v1/messages/incoming', { body: raw, headers: { 'content-type': 'message/rfc822' } });

    test('encrypting to someone without a known certificate fails closed and names them', async () => {
      const res = await alice.request(
        'GET',
        '/api/v1/certificates/resolve?email=bob@example.com&email=carol@example.com',
      );
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.recipients.map((r: any) => [r.email, r.ready]),
        [
          ['bob@example.com', false],
          ['carol@example.com', false],
        ],
      );
      const r = await send(
        alice,
        'encrypt=true&sign=true',
        mail('alice@example.com', 'Bob <bob@example.com>, carol@example.com', 'secret'),
      );
      assert.equal(r.status, 422);
      assert.equal(r.body.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
      assert.deepEqual(
        r.body.error.missing.map((m: any) => m.email),
        ['bob@example.com', 'carol@example.com'],
      );
    });

    let signedByAlice: Buffer;
    test('Alice signs: OpenSSL verifies it, Bob sees valid and harvests her certificate', async () => {
      const r = await send(alice, 'sign=true', mail('alice@example.com', 'bob@example.com', 'Grüße aus Köln — signed'));
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type')!, /message\/rfc822/);
      signedByAlice = Buffer.from(r.text, 'latin1');
      assert.match(r.text, /multipart\/signed/);
      const verified = opensslCms(['-verify', '-CAfile', `${FIXTURES}corpus/TestCA.pem`], signedByAlice);
      assert.match(verified.toString('utf8'), /Grüße aus Köln|Gr=C3=BC=C3=9Fe aus K=C3=B6ln/);
      const seen = await read(bob, signedByAlice);
      assert.equal(seen.status, 200, seen.text);
      assert.deepEqual(
        seen.body.layers.map((l: any) => [l.kind, l.status]),
        [['signed', 'valid']],
      );
      assert.equal(seen.body.layers[0].signatures[0].signer.emails[0], 'alice@example.com');
      assert.deepEqual(
        seen.body.harvested.map((h: any) => [h.email, h.outcome]),
        [['alice@example.com', 'added']],
      );
      assert.match(Buffer.from(seen.body.content, 'base64').toString('utf8'), /signed/);
      const list = await bob.request('GET', '/api/v1/certificates');
      assert.deepEqual(
        list.body.certificates.map((c: any) => [c.email, c.source]),
        [['alice@example.com', 'harvested']],
      );
      assert.equal(
        (await alice.request('GET', '/api/v1/certificates')).body.certificates.length,
        0,
        "Bob's harvest is Bob's",
      );
      const again = await read(bob, signedByAlice);
      assert.equal(again.body.harvested[0].outcome, 'seen');
    });

    test('a byte changed in the signed body is invalid-signature, and nothing is harvested from it', async () => {
      const text = signedByAlice.toString('latin1');
      const i = text.indexOf('signed', text.indexOf('Content-Type: text/plain'));
      const tampered = Buffer.from(text.slice(0, i) + 'Signed' + text.slice(i + 6), 'latin1');
      const r = await read(bob, tampered);
      assert.equal(r.body.layers[0].status, 'invalid-signature');
      assert.deepEqual(r.body.harvested, []);
    });

    test('Bob signs and encrypts to Alice: OpenSSL decrypts with her key, Alice reads decrypted + valid', async () => {
      assert.equal((await send(alice, 'sign=true', mail('alice@example.com', 'bob@example.com', 'hi'))).status, 200);
      const ready = await bob.request('GET', '/api/v1/certificates/resolve?email=alice@example.com');
      assert.equal(ready.body.recipients[0].ready, true);
      const r = await send(
        bob,
        'sign=true&encrypt=true',
        mail('bob@example.com', 'alice@example.com', 'for Alice only'),
      );
      assert.equal(r.status, 200, r.text);
      // Alice's signed mail announced AES-256-GCM in SMIMECapabilities, so Bob's client uses AuthEnvelopedData.
      assert.match(r.text, /application\/pkcs7-mime; smime-type=authEnveloped-data/);
      assert.doesNotMatch(r.text, /for Alice only/);
      const raw = Buffer.from(r.text, 'latin1');
      const inner = opensslCms(['-decrypt', '-inkey', await pemKey('Alice.p12'), '-recip', certPem('Alice.p12')], raw);
      opensslCms(['-verify', '-CAfile', `${FIXTURES}corpus/TestCA.pem`], inner);
      // Bob's own copy (Sent) decrypts with Bob's key too.
      opensslCms(['-decrypt', '-inkey', await pemKey('Bob.p12'), '-recip', certPem('Bob.p12')], raw);
      const seen = await read(alice, raw);
      assert.deepEqual(
        seen.body.layers.map((l: any) => [l.kind, l.status]),
        [
          ['encrypted', 'decrypted'],
          ['signed', 'valid'],
        ],
      );
      assert.match(Buffer.from(seen.body.content, 'base64').toString('utf8'), /for Alice only/);
    });

    test('without GCM announced, encryption uses AES-256-CBC EnvelopedData', async () => {
      const r = await send(bob, 'encrypt=true&cipher=aes-256-cbc', mail('bob@example.com', 'alice@example.com', 'cbc'));
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /smime-type=enveloped-data/);
      const inner = opensslCms(
        ['-decrypt', '-inkey', await pemKey('Alice.p12'), '-recip', certPem('Alice.p12')],
        Buffer.from(r.text, 'latin1'),
      );
      assert.match(inner.toString(), /cbc/);
    });

    test('locked keys: reading says locked, signing fails closed with LOCKED', async () => {
      const r = await send(bob, 'encrypt=true', mail('bob@example.com', 'alice@example.com', 'later'));
      assert.equal(r.status, 200, 'encrypting needs no unlock');
      await alice.request('DELETE', '/api/v1/session/unlock');
      const seen = await read(alice, Buffer.from(r.text, 'latin1'));
      assert.equal(seen.body.layers[0].status, 'locked');
      const s = await send(alice, 'sign=true', mail('alice@example.com', 'bob@example.com', 'x'));
      assert.equal(s.status, 403);
      assert.equal(s.body.error.code, 'LOCKED');
      await alice.request('POST', '/api/v1/session/unlock', { json: { passphrase: PASS } });
    });

    test('Bcc recipients get their own copy, and the others cannot see them', { skip: NO_CORPUS }, async () => {
      // Bob learns Dave's certificate from a corpus message Dave signed.
      const daveSigned = readFileSync(
        `${SHARED_CORPUS}thunderbird/mailnews-test-data-smime/alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml`,
      );
      const h = await read(bob, daveSigned);
      assert.ok(
        h.body.harvested.some((x: any) => x.email === 'dave@example.com'),
        JSON.stringify(h.body),
      );
      const raw = mail('bob@example.com', 'alice@example.com', 'with a blind copy', 'Bcc: dave@example.com\r\n');
      const refused = await send(bob, 'encrypt=true', raw);
      assert.equal(refused.status, 406);
      assert.equal(refused.body.error.code, 'BCC_NEEDS_SEPARATE_COPIES');
      const r = await send(bob, 'encrypt=true', raw, 'application/json');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.messages.length, 2);
      const main = Buffer.from(r.body.messages[0].message, 'base64');
      const bcc = Buffer.from(r.body.messages[1].message, 'base64');
      assert.equal(r.body.messages[1].bcc, 'dave@example.com');
      assert.doesNotMatch(main.toString('latin1'), /^Bcc:/im);
      writeFileSync(`${work}/dave.key`, readFileSync(await pemKey('Dave.p12')));
      writeFileSync(`${work}/dave.crt`, readFileSync(certPem('Dave.p12')));
      assert.throws(
        () => opensslCms(['-decrypt', '-inkey', `${work}/dave.key`, '-recip', `${work}/dave.crt`], main),
        'Dave is not a recipient of the main copy',
      );
      assert.match(
        opensslCms(['-decrypt', '-inkey', `${work}/dave.key`, '-recip', `${work}/dave.crt`], bcc).toString(),
        /with a blind copy/,
      );
    });

    test('bad input: wrong content type, not MIME, From not the user, huge body', async () => {
      const wrongType = await alice.request('POST', '/api/v1/messages/incoming', {
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(wrongType.status, 415);
      const notMine = await send(alice, 'sign=true', mail('bob@example.com', 'bob@example.com', 'spoof'));
      assert.equal(notMine.body.error.code, 'FROM_NOT_USER');
      const neither = await send(alice, '', mail('alice@example.com', 'bob@example.com', 'x'));
      assert.equal(neither.status, 400);
      const garbage = await read(alice, Buffer.from([0, 1, 2, 3, 0xff, 0xfe]));
      assert.ok(garbage.status === 200 || (garbage.status >= 400 && garbage.status < 500), garbage.text);
      const huge = await alice.request('POST', '/api/v1/messages/incoming', {
        body: Buffer.alloc(srv.config.SMIME_MAX_MESSAGE_BYTES + 1, 0x41),
        headers: { 'content-type': 'message/rfc822' },
      });
      assert.equal(huge.status, 413);
    });

    test("exchanged certificates: list, filter, details, delete; another user's id is not found", async () => {
      const list = await bob.request('GET', '/api/v1/certificates?q=alice');
      assert.equal(list.body.certificates.length, 1);
      const id = list.body.certificates[0].id;
      const detail = await bob.request('GET', `/api/v1/certificates/${id}`);
      assert.match(detail.body.certificate.pem, /BEGIN CERTIFICATE/);
      assert.equal((await alice.request('GET', `/api/v1/certificates/${id}`)).status, 404);
      assert.equal((await alice.request('DELETE', `/api/v1/certificates/${id}`)).status, 404);
      assert.equal((await bob.request('DELETE', `/api/v1/certificates/${id}`)).status, 200);
      assert.equal(
        (await bob.request('GET', '/api/v1/certificates?email=alice@example.com')).body.certificates.length,
        0,
      );
    });
  });
}
