// The engine's PKCS#12 writer (issue 17): what it writes our reader and OpenSSL 3 both open, with the key under PBES2
// (PBKDF2-HMAC-SHA256 at the stated iteration count, AES-256-CBC) and a SHA-256 MAC.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  EXPORT_MAC_ITERATIONS,
  EXPORT_PBKDF2_ITERATIONS,
  parsePkcs12,
  pemToDer,
  writePkcs12,
} from '../../backend/src/smime/index.ts';

const P12 = new URL('../fixtures/p12/', import.meta.url);
const text = (name: string): string => readFileSync(new URL(name, P12), 'utf8');
const pkcs8 = (name: string): Uint8Array =>
  new Uint8Array(createPrivateKey(text(name)).export({ type: 'pkcs8', format: 'der' }));
const ca = pemToDer(text('ca.crt'))[0]!;
const tmp = mkdtempSync(join(tmpdir(), 'p12-write-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function openssl(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CASES = [
  { kind: 'RSA', key: 'rsa.key', cert: 'rsa.crt', password: 'export-pass-1', iterations: EXPORT_PBKDF2_ITERATIONS },
  // A non-ASCII password: PBES2 takes its UTF-8 bytes, the MAC its BMPString (RFC 8018 6.2, RFC 7292 B.1).
  { kind: 'EC', key: 'ec.key', cert: 'ec.crt', password: 'p\u00e4ssw\u00f6rd\u20ac', iterations: 20_000 },
] as const;

describe('writePkcs12', () => {
  for (const c of CASES) {
    describe(`${c.kind} key, ${c.iterations} iterations`, async () => {
      const certificate = pemToDer(text(c.cert))[0]!;
      const key = pkcs8(c.key);
      const file = await writePkcs12({
        certificate,
        chain: [ca],
        pkcs8: key,
        password: c.password,
        friendlyName: 'backup',
        ...(c.iterations === EXPORT_PBKDF2_ITERATIONS ? {} : { iterations: c.iterations }),
      });
      const path = join(tmp, `${c.kind}.p12`);
      writeFileSync(path, file);

      it('round-trips through parsePkcs12', async () => {
        const back = await parsePkcs12(file, c.password);
        assert.deepEqual(Buffer.from(back.certificate), Buffer.from(certificate));
        assert.deepEqual(Buffer.from(back.privateKey), Buffer.from(key));
        assert.deepEqual(
          back.chain.map((d) => Buffer.from(d)),
          [Buffer.from(ca)],
        );
        assert.equal(back.protection.integrity, 'mac');
        assert.equal(back.protection.mac, 'sha256');
        assert.equal(back.protection.macIterations, EXPORT_MAC_ITERATIONS);
        assert.equal(back.protection.keyCipher, 'aes-256-cbc');
        assert.equal(back.protection.keyKdf, 'pbkdf2-hmac-sha256');
        assert.equal(back.protection.legacy, false);
      });

      it('is refused with the wrong password', async () => {
        await assert.rejects(parsePkcs12(file, `${c.password}x`), { code: 'P12_BAD_PASSWORD' });
      });

      it('OpenSSL 3 opens it and finds the same key and certificate', () => {
        const r = openssl(['pkcs12', '-in', path, '-passin', `pass:${c.password}`, '-nodes']);
        assert.equal(r.status, 0, r.stderr);
        const opened = createPrivateKey(r.stdout);
        const cert = new X509Certificate(r.stdout);
        assert.equal(cert.fingerprint256, new X509Certificate(certificate).fingerprint256);
        assert.ok(cert.checkPrivateKey(opened));
        assert.deepEqual(
          createPublicKey(opened).export({ type: 'spki', format: 'der' }),
          cert.publicKey.export({ type: 'spki', format: 'der' }),
        );
        assert.equal(openssl(['pkcs12', '-in', path, '-passin', 'pass:wrong', '-nodes']).status === 0, false);
      });

      it('OpenSSL 3 reports PBES2, PBKDF2 hmacWithSHA256, AES-256-CBC and the iteration count', () => {
        const r = openssl(['pkcs12', '-info', '-in', path, '-passin', `pass:${c.password}`, '-noout']);
        assert.equal(r.status, 0, r.stderr);
        const info = r.stdout + r.stderr;
        assert.match(info, /MAC: sha256, Iteration 2048/);
        assert.match(
          info,
          new RegExp(`Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration ${c.iterations}, PRF hmacWithSHA256`),
        );
        assert.doesNotMatch(info, /Error|legacy/i);
      });
    });
  }

  it('rejects iteration counts the reader would refuse', async () => {
    const certificate = pemToDer(text('rsa.crt'))[0]!;
    for (const iterations of [0, 1.5, 2_000_000]) {
      await assert.rejects(
        writePkcs12({ certificate, pkcs8: pkcs8('rsa.key'), password: 'x', iterations }),
        RangeError,
      );
    }
  });
});
