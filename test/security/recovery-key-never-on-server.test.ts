/**
 * Attack: whoever takes the server (its process memory, its data folder, its logs, its database) looks for the
 * organisation's recovery private key, which would open every user's recovery copy at once, or for a custodian's
 * share of it.
 *
 * Defence: the server is only ever given the recovery certificate (SMIME_RECOVERY_CERTIFICATE; a file holding a
 * private key is refused at start). The private key is made offline by `smime-admin recovery-init`, exists only as
 * M-of-N Shamir shares in the custodians' password-protected files, and is rebuilt by `smime-admin recover` on an
 * admin machine, in that process's memory alone.
 *
 * What the test proves: a real server process (main.ts, as an operator starts it) configured with the recovery
 * certificate, after IT places a key (copy made), the user takes it over, unlocks, signs and encrypts to themself and
 * reads it back, and the admin status reports the key covered, holds nowhere the recovery key's private exponent or
 * primes, nor a byte string of a custodian's share: not in any readable page of its memory (/proc/PID/mem), not in
 * any file of its data folder, not in its output. The same memory scan finds the recovery certificate's public
 * modulus, so it would have found the private parts. A certificate file that also holds the private key stops the
 * server at start, saying why.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRecoveryKey, type RecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { split, type Share } from '../../backend/src/recovery/shamir.ts';
import { certificateToPem } from '../../backend/src/smime/index.ts';
import { Client, TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { issueUserToken } from '../../backend/src/auth/tokens.ts';
import { loadConfig } from '../../backend/src/config.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { b64, corpusP12, mail, read, send } from './world.ts';
import { runMain, START_TIMEOUT_MS, type ServerRun } from './server-process.ts';

const ALICE = 'alice@example.com';
const IT_PASSWORD = 'nss';
const PASS = 'alice own passphrase 1';
/** How many leading bytes of each secret are looked for: 24 random bytes do not occur by chance. */
const NEEDLE_BYTES = 24;

/** The readable regions of a process's memory, from /proc/PID/maps. */
function readableRegions(pid: number): { start: number; end: number; name: string }[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [range, perms, , , , ...name] = line.split(/\s+/);
      const [start, end] = range!.split('-').map((h) => parseInt(h, 16));
      return { start: start!, end: end!, perms: perms!, name: name.join(' ') };
    })
    .filter((r) => r.perms.startsWith('r') && r.name !== '[vvar]' && r.name !== '[vsyscall]');
}

/** Which of `needles` occur anywhere in the readable memory of `pid`, read in 16 MiB slices that overlap. */
function findInMemory(pid: number, needles: Map<string, Buffer>): Set<string> {
  const found = new Set<string>();
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const SLICE = 16 * 1024 * 1024;
  const overlap = Math.max(...[...needles.values()].map((n) => n.length));
  const buf = Buffer.alloc(SLICE + overlap);
  try {
    for (const region of readableRegions(pid)) {
      for (let at = region.start; at < region.end; at += SLICE) {
        const length = Math.min(SLICE + overlap, region.end - at);
        let n = 0;
        try {
          n = readSync(fd, buf, 0, length, at);
        } catch {
          break; // a region the kernel will not hand out (device mappings, guard pages): nothing of ours is there
        }
        const view = buf.subarray(0, n);
        for (const [name, needle] of needles) if (!found.has(name) && view.includes(needle)) found.add(name);
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('the recovery private key is never on the server', { timeout: START_TIMEOUT_MS + 240_000 }, () => {
  let recovery: RecoveryKey;
  let shares: Share[];
  let run: ServerRun | undefined;
  const work = mkdtempSync(join(tmpdir(), 'recovery-never-on-server-'));
  const data = join(work, 'data');
  const certFile = join(work, 'recovery-certificate.pem');
  const secrets = new Map<string, Buffer>();
  let modulus: Buffer;

  before(async () => {
    recovery = await createRecoveryKey({ bits: 3072 });
    const jwk = createPrivateKey({ key: Buffer.from(recovery.pkcs8), format: 'der', type: 'pkcs8' }).export({
      format: 'jwk',
    });
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const)
      secrets.set(`private ${part}`, Buffer.from(jwk[part]!, 'base64url').subarray(0, NEEDLE_BYTES));
    modulus = Buffer.from(jwk.n!, 'base64url').subarray(8, 8 + NEEDLE_BYTES);
    shares = split(recovery.pkcs8, 5, 3);
    for (const s of shares) secrets.set(`share ${s.x}`, Buffer.from(s.y.subarray(100, 100 + NEEDLE_BYTES)));
    writeFileSync(certFile, certificateToPem(recovery.certificate));
  });
  after(() =>
    cleanUp(
      () => run?.stop(),
      () => rmSync(work, { recursive: true, force: true }),
      () => recovery?.pkcs8.fill(0),
    ),
  );

  test('a real server process covers a key, and holds no byte of the private key or a share', async () => {
    const env = {
      SMIME_DATA_DIR: data,
      SMIME_DEMO: 'off',
      SMIME_JWT_SECRET: TEST_JWT_SECRET,
      SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      SMIME_COOKIE_SECURE: 'false',
      SMIME_RECOVERY_CERTIFICATE: certFile,
      LOG_LEVEL: 'debug',
    };
    run = await runMain(env, 'ready');
    const admin = new Client(run.url!, TEST_ADMIN_TOKEN);
    const placed = await admin.request('POST', `/api/v1/admin/users/${encodeURIComponent(ALICE)}/keys`, {
      json: { p12: b64(corpusP12('Alice.p12')), password: IT_PASSWORD },
    });
    assert.equal(placed.status, 201, placed.text);
    const token = await issueUserToken(loadConfig({ SMIME_JWT_SECRET: TEST_JWT_SECRET }), ALICE, 300);
    const alice = new Client(run.url!, token);
    const ch = await alice.request('POST', '/api/v1/session/passphrase', {
      json: { currentPassphrase: IT_PASSWORD, newPassphrase: PASS },
    });
    assert.equal(ch.status, 200, ch.text);
    const u = await alice.request('POST', '/api/v1/session/unlock', { json: { passphrase: PASS } });
    assert.equal(u.status, 200, u.text);
    const out = await send(alice, 'sign=true&encrypt=true', mail(ALICE, ALICE, 'to myself, under recovery'));
    assert.equal(out.status, 200, out.text);
    const back = await read(alice, out.text);
    assert.equal(back.status, 200, back.text);
    assert.equal(back.body.layers[0].status, 'decrypted', back.text);
    const status = await admin.request('GET', '/api/v1/admin/recovery/status');
    assert.equal(status.status, 200, status.text);
    assert.equal(status.body.setId, recovery.setId);
    assert.equal(status.body.covered, 1);

    const needles = new Map([...secrets, ['public modulus (sanity)', modulus]]);
    const inMemory = findInMemory(run.pid!, needles);
    assert.ok(inMemory.has('public modulus (sanity)'), 'the scan finds the certificate the server holds');
    inMemory.delete('public modulus (sanity)');
    assert.deepEqual([...inMemory], [], 'no private part of the recovery key and no share in the server’s memory');

    const output = run.output();
    await run.stop();
    run = undefined;
    for (const [name, needle] of secrets) {
      for (const rendering of [needle.toString('hex'), needle.toString('base64').slice(0, 28)])
        assert.ok(!output.includes(rendering), `${name} in the server's output`);
      for (const file of filesUnder(data)) assert.ok(!readFileSync(file).includes(needle), `${name} in ${file}`);
    }
  });

  test('a certificate file that also holds the private key stops the server at start', async () => {
    const both = join(work, 'with-key.pem');
    const keyPem = createPrivateKey({ key: Buffer.from(recovery.pkcs8), format: 'der', type: 'pkcs8' }).export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(both, certificateToPem(recovery.certificate) + String(keyPem), { mode: 0o600 });
    const refused = await runMain(
      {
        SMIME_DATA_DIR: join(work, 'data-2'),
        SMIME_DEMO: 'off',
        SMIME_JWT_SECRET: TEST_JWT_SECRET,
        SMIME_RECOVERY_CERTIFICATE: both,
      },
      'exit',
    );
    try {
      assert.notEqual(refused.exitCode, 0);
      assert.match(refused.output(), /SMIME_RECOVERY_CERTIFICATE: .* holds a private key/);
      assert.ok(!refused.output().includes(String(keyPem).split('\n')[1]!), 'no key line in the output');
    } finally {
      await refused.stop();
    }
  });
});
