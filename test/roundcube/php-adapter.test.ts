/**
 * The Roundcube plugin's PHP half against the real backend, without Roundcube (issue 11): the tokens it mints pass
 * the backend's own verifier (HS256 with the shared secret, RS256 and ES256 with the host's key) and carry only
 * what the contract asks; the unlock cookie name is the backend's; a message goes through the plugin's client to
 * /messages/outgoing and /messages/incoming and comes back protected, then verified and decrypted; every failure of
 * the backend (down, slow, an error answer, a proxy's HTML page) becomes a stable code, never a PHP error; and the
 * Mail_mime replacement hands Roundcube the backend's bytes untouched, for SMTP and for the Sent folder alike.
 *
 * Needs php-cli and Debian's php-mail-mime (what roundcube-core installs): without them a developer's run skips
 * loudly, with CI=true it fails.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TokenVerifier } from '../../backend/src/auth/tokens.ts';
import { unlockCookieName } from '../../backend/src/api/session/routes.ts';
import { Client, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { CORPUS_CA, mail, placeKey, startServerTrusting, unlockHeader } from '../security/world.ts';
import { unavailable } from '../helpers/unavailable.ts';

const HARNESS = `${REPO_ROOT}test/roundcube/php/harness.php`;

function phpUnavailable(): string | undefined {
  let why: string | undefined;
  try {
    execFileSync('php', ['-v'], { stdio: 'ignore' });
    if (!existsSync('/usr/share/php/Mail/mime.php'))
      why = 'php-mail-mime is not installed (/usr/share/php/Mail/mime.php)';
  } catch {
    why = 'php is not installed (apt-get install php-cli)';
  }
  if (!why) return undefined;
  return unavailable(why, "the Roundcube plugin's PHP tests");
}

const skip = phpUnavailable();

/** Run one harness request; the harness answers JSON (an `error` member for a smime_backend_error). */
function php(request: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', [HARNESS], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`php exited ${code}`);
        resolve(JSON.parse(out));
      } catch (e) {
        reject(new Error(`${(e as Error).message}\nstdout: ${out}\nstderr: ${err}`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}

const verifierConfig = {
  SMIME_JWT_AUDIENCE: 'smime',
  SMIME_JWT_ISSUER: undefined,
  SMIME_JWT_MAX_LIFETIME_S: 900,
  SMIME_JWT_CLOCK_TOLERANCE_S: 30,
};
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
const header = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString());

describe('Roundcube plugin: tokens', { skip, timeout: 60_000 }, () => {
  test('HS256 with the shared secret passes the backend verifier, with only sub/aud/iat/exp/jti', async () => {
    const t = await php({
      op: 'token',
      email: ' Alice@Example.TEST ',
      options: { jwt_secret: TEST_JWT_SECRET, token_lifetime: 300 },
    });
    assert.equal(header(t.token).alg, 'HS256');
    const v = new TokenVerifier({
      ...verifierConfig,
      jwtSecret: new TextEncoder().encode(TEST_JWT_SECRET),
      jwtPublicKeyPem: undefined,
    });
    const user = await v.verify(t.token);
    assert.equal(user.email, 'alice@example.test');
    const c = claims(t.token);
    assert.deepEqual(Object.keys(c).sort(), ['aud', 'exp', 'iat', 'jti', 'sub']);
    assert.equal(c.exp - c.iat, 300);
    assert.equal(t.expiresAt, c.exp);
  });

  test('RS256 and ES256 with the host private key pass the verifier holding only the public key', async () => {
    for (const kind of ['rsa', 'ec'] as const) {
      const pair =
        kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const t = await php({
        op: 'token',
        email: 'bob@example.test',
        options: { jwt_private_key: pem, jwt_issuer: 'roundcube' },
      });
      assert.equal(header(t.token).alg, kind === 'rsa' ? 'RS256' : 'ES256');
      const v = new TokenVerifier({
        ...verifierConfig,
        SMIME_JWT_ISSUER: 'roundcube',
        jwtSecret: undefined,
        jwtPublicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      });
      assert.equal((await v.verify(t.token)).email, 'bob@example.test');
    }
  });

  test('a lifetime above the backend cap is clamped; a short or missing secret is a configuration error', async () => {
    const t = await php({
      op: 'token',
      email: 'a@example.test',
      options: { jwt_secret: TEST_JWT_SECRET, token_lifetime: 86400 },
    });
    const c = claims(t.token);
    assert.ok(c.exp - c.iat <= 900);
    const short = await php({ op: 'token', email: 'a@example.test', options: { jwt_secret: 'too short' } });
    assert.equal(short.error.code, 'PLUGIN_MISCONFIGURED');
  });

  test('the unlock cookie name is the backend one', async () => {
    for (const email of ['alice@example.test', 'Bob@Example.com']) {
      const { name } = await php({ op: 'cookie', email });
      assert.equal(name, unlockCookieName({ email: email.toLowerCase() }));
    }
  });
});

describe('Roundcube plugin: the backend client on failure', { skip, timeout: 60_000 }, () => {
  let server: Server;
  let url: string;
  let hang: (() => void)[] = [];
  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/slow')) {
        hang.push(() => res.end());
        return;
      }
      if (req.url?.startsWith('/html')) {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
        return;
      }
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'MESSAGE_MALFORMED', message: 'The message is not RFC 5322.' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    hang.forEach((h) => h());
    hang = [];
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const options = { jwt_secret: TEST_JWT_SECRET, timeout: 1 };
  const raw = Buffer.from('From: a@example.test\r\n\r\nhi\r\n').toString('base64');

  test('nothing listening: BACKEND_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const a = await php({ op: 'incoming', url: `http://127.0.0.1:${port}`, email: 'a@example.test', options, raw });
    assert.equal(a.error.code, 'BACKEND_UNAVAILABLE');
  });

  test('no answer within smime_timeout: BACKEND_TIMEOUT', async () => {
    const a = await php({ op: 'incoming', url: `${url}/slow`, email: 'a@example.test', options, raw });
    assert.equal(a.error.code, 'BACKEND_TIMEOUT');
  });

  test("a proxy's HTML error page: BACKEND_UNAVAILABLE", async () => {
    const a = await php({
      op: 'outgoing',
      url: `${url}/html`,
      email: 'a@example.test',
      options,
      raw,
      sign: true,
      encrypt: false,
    });
    assert.equal(a.error.code, 'BACKEND_UNAVAILABLE');
  });

  test("the backend's error answer: its code, status and message", async () => {
    const a = await php({ op: 'incoming', url, email: 'a@example.test', options, raw });
    assert.deepEqual(
      [a.error.code, a.error.status, a.error.message],
      ['MESSAGE_MALFORMED', 422, 'The message is not RFC 5322.'],
    );
  });
});

for (const target of await databaseTargets()) {
  describe(
    `Roundcube plugin: the backend client against the real backend on ${target.name}`,
    { skip, timeout: 180_000 },
    () => {
      let srv: TestServer;
      let close: () => Promise<void>;
      let bobUnlock: string;
      const ALICE = 'Alice@example.com';
      const BOB = 'Bob@example.com';

      before(async () => {
        ({ srv, close } = await startServerTrusting(target, [CORPUS_CA]));
        await placeKey(srv, ALICE.toLowerCase(), 'Alice.p12', 'alice passphrase 12');
        const bob: Client = await placeKey(srv, BOB.toLowerCase(), 'Bob.p12', 'bob passphrase 123');
        bobUnlock = await unlockHeader(bob, 'bob passphrase 123');
        // Alice knows Bob's certificate from a signed message of his.
        const bobSigned = await new Client(srv.url, await srv.token(BOB.toLowerCase())).request(
          'POST',
          '/api/v1/messages/outgoing?sign=true',
          {
            body: mail(BOB, ALICE, 'hello Alice'),
            headers: { 'content-type': 'message/rfc822', accept: 'message/rfc822', 'x-smime-unlock': bobUnlock },
          },
        );
        assert.equal(bobSigned.status, 200, bobSigned.text);
        const harvest = await new Client(srv.url, await srv.token(ALICE.toLowerCase())).request(
          'POST',
          '/api/v1/messages/incoming',
          {
            body: Buffer.from(bobSigned.text, 'latin1'),
            headers: { 'content-type': 'message/rfc822' },
          },
        );
        assert.equal(harvest.status, 200, harvest.text);
      });
      after(async () => {
        await close?.();
      });

      test('outgoing with Bcc through the plugin, then incoming: protected, then decrypted and verified', async () => {
        const aliceClient = new Client(srv.url, await srv.token(ALICE.toLowerCase()));
        const aliceUnlock = await unlockHeader(aliceClient, 'alice passphrase 12');
        const raw = mail(ALICE, BOB, 'Secret plan for Bob', `Bcc: ${BOB}\r\n`);
        const out = await php({
          op: 'outgoing',
          url: srv.url,
          email: ALICE,
          options: { jwt_secret: TEST_JWT_SECRET },
          raw: raw.toString('base64'),
          sign: true,
          encrypt: true,
          unlock: aliceUnlock,
        });
        assert.ok(out.copies, JSON.stringify(out));
        assert.equal(out.copies[0].bcc, null);
        const main = Buffer.from(out.copies[0].raw, 'base64').toString('latin1');
        assert.match(main, /Content-Type: application\/pkcs7-mime/i);
        assert.doesNotMatch(main, /^Bcc:/im);
        assert.doesNotMatch(main, /Secret plan/);

        const read = await php({
          op: 'incoming',
          url: srv.url,
          email: BOB,
          options: { jwt_secret: TEST_JWT_SECRET },
          raw: out.copies[0].raw,
          unlock: bobUnlock,
        });
        assert.ok(read.answer, JSON.stringify(read));
        assert.deepEqual(
          read.answer.layers.map((l: { kind: string; status: string }) => `${l.kind}:${l.status}`),
          ['encrypted:decrypted', 'signed:valid'],
        );
        assert.equal(read.answer.unwrapped, true);
        assert.match(Buffer.from(read.answer.content, 'base64').toString(), /Secret plan for Bob/);

        // Without Bob's unlock credential the key is locked; the plugin sees the status, not an error.
        const locked = await php({
          op: 'incoming',
          url: srv.url,
          email: BOB,
          options: { jwt_secret: TEST_JWT_SECRET },
          raw: out.copies[0].raw,
        });
        assert.equal(locked.answer.layers[0].status, 'locked');
      });

      test('refusals reach the plugin with the backend code and details (missing certificate, locked key)', async () => {
        const raw = mail(ALICE, 'nobody@example.com', 'x').toString('base64');
        const missing = await php({
          op: 'outgoing',
          url: srv.url,
          email: ALICE,
          options: { jwt_secret: TEST_JWT_SECRET },
          raw,
          sign: false,
          encrypt: true,
        });
        assert.equal(missing.error.code, 'RECIPIENT_CERTIFICATE_MISSING');
        assert.deepEqual(
          missing.error.details.missing.map((m: { email: string }) => m.email),
          ['nobody@example.com'],
        );
        const locked = await php({
          op: 'outgoing',
          url: srv.url,
          email: ALICE,
          options: { jwt_secret: TEST_JWT_SECRET },
          raw,
          sign: true,
          encrypt: false,
        });
        assert.equal(locked.error.code, 'LOCKED');
      });
    },
  );
}

describe('Roundcube plugin: the Mail_mime replacement', { skip, timeout: 30_000 }, () => {
  test("SMTP and the Sent folder get the backend's bytes untouched", async () => {
    const raw = Buffer.from(
      'From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nCc: carol@example.test\r\nSubject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\n' +
        'Message-ID: <abc@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n' +
        ' name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\nggEhMIIBHQIBADAF\r\n',
    );
    const m = await php({ op: 'mime', raw: raw.toString('base64') });
    const at = raw.indexOf('\r\n\r\n');
    assert.equal(Buffer.from(m.txtHeaders, 'base64').toString('latin1'), raw.subarray(0, at + 2).toString('latin1'));
    assert.equal(Buffer.from(m.body, 'base64').toString('latin1'), raw.subarray(at + 4).toString('latin1'));
    assert.equal(Buffer.from(m.file, 'base64').toString('latin1'), raw.subarray(at + 4).toString('latin1'));
    assert.equal(Buffer.from(m.message, 'base64').toString('latin1'), raw.toString('latin1'));
    assert.equal(
      createHash('sha256').update(Buffer.from(m.message, 'base64')).digest('hex'),
      createHash('sha256').update(raw).digest('hex'),
    );
    assert.equal(m.headers['Message-ID'], '<abc@example.test>');
    assert.equal(m.headers.Cc, 'carol@example.test');
    assert.equal(m.headers['Content-Type'], 'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m');
    assert.equal(m.headers.Bcc, undefined);
  });
});
