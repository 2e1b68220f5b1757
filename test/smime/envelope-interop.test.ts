// Interoperability of CMS enveloping (backend/src/smime/cms/enveloped/) with other implementations, in both directions,
// run as child processes in a temporary directory:
//
// - OpenSSL 3 (`openssl cms`): {RSA-2048 PKCS#1 v1.5, RSA-OAEP SHA-256, ECDH P-256, ECDH P-384} x {aes-128-cbc,
//   aes-256-cbc, des-ede3-cbc, aes-128-gcm, aes-256-gcm}: what we encrypt, `openssl cms -decrypt` decrypts to the same
//   bytes; what `openssl cms -encrypt -binary -outform DER` produces, we decrypt. OpenSSL 3.0 writes and reads
//   AuthEnvelopedData for the GCM ciphers. Plus RC2 (through `-provider legacy`, skipped when that provider is absent),
//   streamed BER (`-stream`) and several recipients at once.
// - GnuPG's gpgsm 2.2: RSA PKCS#1 v1.5 with AES-128/256-CBC and 3DES, both directions. gpgsm 2.2 has no RSA-OAEP and no
//   AuthEnvelopedData (both came in 2.3/2.4), and crashes importing an EC PKCS#12, so those cases are not run; the
//   suite skips (loudly) if gpgsm is not installed or cannot import the key.
//
// Keys and certificates: test/fixtures/cms (see its README).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, randomFillSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decryptEnvelope,
  encryptEnvelope,
  inspectEnvelope,
  type ContentCipher,
  type DecryptionKey,
  type EnvelopeRecipient,
} from '../../backend/src/smime/cms/enveloped/index.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { unavailable as reportUnavailable } from '../helpers/unavailable.ts';

const CMS = `${FIXTURES}cms/`;
/** A child process that has not finished by then is stuck (a pinentry prompt, an agent that did not start). */
const CHILD_TIMEOUT_MS = 60_000;

const work = mkdtempSync(join(tmpdir(), 'envelope-interop-'));
after(() => rmSync(work, { recursive: true, force: true }));

function key(name: string): DecryptionKey {
  return {
    keyId: name,
    certificate: new Uint8Array(new X509Certificate(readFileSync(`${CMS}${name}.crt`)).raw),
    privateKey: createPrivateKey(readFileSync(`${CMS}${name}.key`)),
  };
}

let counter = 0;
function file(bytes: Uint8Array, suffix = '.bin'): string {
  const path = join(work, `f${++counter}${suffix}`);
  writeFileSync(path, bytes);
  return path;
}

function openssl(args: string[]): { ok: boolean; stdout: Buffer; stderr: string } {
  const result = spawnSync('openssl', args, { timeout: CHILD_TIMEOUT_MS });
  return {
    ok: result.status === 0,
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: result.stderr?.toString() ?? String(result.error),
  };
}

function opensslDecrypt(der: Uint8Array, name: string): Buffer {
  const out = join(work, `out${++counter}.bin`);
  const r = openssl([
    'cms',
    '-decrypt',
    '-binary',
    '-inform',
    'DER',
    '-in',
    file(der, '.der'),
    '-inkey',
    `${CMS}${name}.key`,
    '-recip',
    `${CMS}${name}.crt`,
    '-out',
    out,
  ]);
  assert.ok(r.ok, `openssl cms -decrypt failed: ${r.stderr}`);
  return readFileSync(out);
}

function opensslEncrypt(
  content: Uint8Array,
  cipher: string,
  recipients: { name: string; oaep?: boolean }[],
  extra: string[] = [],
): Uint8Array {
  const out = join(work, `enc${++counter}.der`);
  const args = [
    'cms',
    '-encrypt',
    '-binary',
    `-${cipher}`,
    '-in',
    file(content),
    '-outform',
    'DER',
    '-out',
    out,
    ...extra,
  ];
  for (const r of recipients) {
    args.push('-recip', `${CMS}${r.name}.crt`);
    if (r.oaep) args.push('-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256');
  }
  const r = openssl(args);
  assert.ok(r.ok, `openssl cms -encrypt failed: ${r.stderr}`);
  return new Uint8Array(readFileSync(out));
}

const CIPHERS: ContentCipher[] = ['aes-128-cbc', 'aes-256-cbc', 'des-ede3-cbc', 'aes-128-gcm', 'aes-256-gcm'];
const RECIPIENTS: {
  label: string;
  name: string;
  keyTransport?: EnvelopeRecipient['keyTransport'];
  oaep?: boolean;
  keyEncryption: RegExp;
}[] = [
  { label: 'RSA-2048 PKCS#1 v1.5', name: 'rsa', keyEncryption: /^rsa-pkcs1-v1_5$/ },
  {
    label: 'RSA-2048 OAEP SHA-256',
    name: 'rsa',
    keyTransport: 'rsa-oaep',
    oaep: true,
    keyEncryption: /^rsa-oaep-sha256$/,
  },
  { label: 'EC P-256', name: 'p256', keyEncryption: /^ecdh-/ },
  { label: 'EC P-384', name: 'p384', keyEncryption: /^ecdh-/ },
];

before(() => {
  const version = openssl(['version']);
  assert.ok(version.ok, 'openssl is needed for the interop suite');
  console.log(`# interop with ${version.stdout.toString().trim()}`);
});

void describe('OpenSSL decrypts what we encrypt', () => {
  for (const r of RECIPIENTS) {
    for (const cipher of CIPHERS) {
      void test(`${r.label}, ${cipher}`, async () => {
        const content = randomFillSync(new Uint8Array(4099));
        const der = await encryptEnvelope(
          content,
          [{ certificate: key(r.name).certificate, ...(r.keyTransport ? { keyTransport: r.keyTransport } : {}) }],
          { cipher },
        );
        assert.ok(opensslDecrypt(der, r.name).equals(content));
      });
    }
  }

  void test('several recipients (RSA OAEP, P-256, P-384): OpenSSL decrypts with each key', async () => {
    const content = randomFillSync(new Uint8Array(1000));
    const der = await encryptEnvelope(
      content,
      [
        { certificate: key('rsa').certificate, keyTransport: 'rsa-oaep' },
        { certificate: key('p256').certificate },
        { certificate: key('p384').certificate },
      ],
      { cipher: 'aes-256-gcm' },
    );
    for (const name of ['rsa', 'p256', 'p384']) assert.ok(opensslDecrypt(der, name).equals(content), name);
  });

  void test('OpenSSL reads our DER as DER: `openssl cms -cmsout -print` shows the structure', async () => {
    const der = await encryptEnvelope(new Uint8Array(10), [{ certificate: key('p256').certificate }], {
      cipher: 'aes-256-gcm',
    });
    const r = openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file(der, '.der')]);
    assert.ok(r.ok, r.stderr);
    assert.match(r.stdout.toString(), /authEnvelopedData/i);
    assert.match(r.stdout.toString(), /dhSinglePass-stdDH-sha256kdf-scheme/);
  });
});

void describe('we decrypt what OpenSSL encrypts', () => {
  for (const r of RECIPIENTS) {
    for (const cipher of CIPHERS) {
      void test(`${r.label}, ${cipher}`, async () => {
        const content = randomFillSync(new Uint8Array(4099));
        const der = opensslEncrypt(content, cipher, [r]);
        const info = inspectEnvelope(der);
        assert.equal(info.contentCipher, cipher);
        assert.equal(info.format, cipher.endsWith('-gcm') ? 'auth-enveloped' : 'enveloped');
        assert.match(info.recipients[0]?.keyEncryption ?? '', r.keyEncryption);
        const out = await decryptEnvelope(der, [key('rsa-other'), key(r.name)]);
        assert.equal(out.status, 'decrypted', 'detail' in out ? out.detail : '');
        assert.ok(out.status === 'decrypted' && Buffer.from(out.content).equals(content));
      });
    }
  }

  for (const bits of [40, 64, 128]) {
    void test(`RC2-${bits} (OpenSSL's legacy provider)`, async (t) => {
      const content = randomFillSync(new Uint8Array(777));
      const out = join(work, `rc2-${bits}.der`);
      const r = openssl([
        'cms',
        '-encrypt',
        '-binary',
        '-provider',
        'legacy',
        '-provider',
        'default',
        `-rc2-${bits}`,
        '-in',
        file(content),
        '-outform',
        'DER',
        '-out',
        out,
        `${CMS}rsa.crt`,
      ]);
      if (!r.ok) {
        // Debian's libssl3 ships the provider (ossl-modules/legacy.so); .ci/run checks that openssl loads it.
        t.skip(
          reportUnavailable(
            `OpenSSL's legacy provider is not available here (${r.stderr.split('\n')[0]})`,
            `RC2-${bits} from OpenSSL (test/fixtures/cms/rc2-*.der still cover RC2)`,
          ),
        );
        return;
      }
      const der = new Uint8Array(readFileSync(out));
      assert.equal(inspectEnvelope(der).contentCipher, `rc2-${bits}-cbc`);
      const result = await decryptEnvelope(der, [key('rsa')]);
      assert.ok(result.status === 'decrypted' && Buffer.from(result.content).equals(content));
    });
  }

  void test('streamed (-stream: indefinite lengths, chunked content), 1 MiB, to RSA and EC', async () => {
    const content = randomFillSync(new Uint8Array(1024 * 1024));
    const der = opensslEncrypt(content, 'aes-256-gcm', [{ name: 'rsa' }, { name: 'p256' }], ['-stream']);
    assert.equal(der[1], 0x80, 'indefinite length');
    for (const name of ['rsa', 'p256']) {
      const out = await decryptEnvelope(der, [key(name)]);
      assert.ok(out.status === 'decrypted' && Buffer.from(out.content).equals(content), name);
    }
  });

  void test('recipients named by subjectKeyIdentifier (-keyid)', async () => {
    const content = randomFillSync(new Uint8Array(100));
    const der = opensslEncrypt(content, 'aes-128-gcm', [{ name: 'rsa', oaep: true }, { name: 'p384' }], ['-keyid']);
    assert.ok(inspectEnvelope(der).recipients.every((r) => r.subjectKeyIdentifier && !r.issuer));
    for (const name of ['rsa', 'p384']) {
      const out = await decryptEnvelope(der, [key(name)]);
      assert.ok(out.status === 'decrypted' && out.keyId === name && Buffer.from(out.content).equals(content), name);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// gpgsm (GnuPG 2.2)
// ---------------------------------------------------------------------------------------------------------------

void describe('gpgsm (GnuPG) interop, RSA PKCS#1 v1.5', () => {
  const home = join(work, 'gnupg');
  const PASSPHRASE = 'interop-pass';
  let unavailable: string | undefined;

  function gpgsm(args: string[], input?: string): { ok: boolean; stdout: Buffer; stderr: string } {
    const result = spawnSync('gpgsm', ['--batch', '--pinentry-mode', 'loopback', '--passphrase-fd', '0', ...args], {
      env: { ...process.env, GNUPGHOME: home },
      input: input ?? `${PASSPHRASE}\n`,
      timeout: CHILD_TIMEOUT_MS,
    });
    return {
      ok: result.status === 0,
      stdout: result.stdout ?? Buffer.alloc(0),
      stderr: result.stderr?.toString() ?? String(result.error),
    };
  }

  before(() => {
    if (spawnSync('gpgsm', ['--version'], { timeout: CHILD_TIMEOUT_MS }).status !== 0) {
      unavailable = reportUnavailable('gpgsm is not installed (apt-get install gpgsm)', 'the gpgsm interop tests');
      return;
    }
    mkdirSync(home, { mode: 0o700 });
    // gpgsm 2.2 reads neither PBES2/AES PKCS#12 nor the OpenSSL 3 default MAC: export with the old 3DES schemes.
    const p12 = join(work, 'rsa-gpgsm.p12');
    const exported = openssl([
      'pkcs12',
      '-export',
      '-inkey',
      `${CMS}rsa.key`,
      '-in',
      `${CMS}rsa.crt`,
      '-certfile',
      `${CMS}ca.crt`,
      '-keypbe',
      'PBE-SHA1-3DES',
      '-certpbe',
      'PBE-SHA1-3DES',
      '-macalg',
      'sha1',
      '-passout',
      `pass:${PASSPHRASE}`,
      '-out',
      p12,
    ]);
    if (!exported.ok) {
      unavailable = `could not export a PKCS#12 for gpgsm: ${exported.stderr}`;
      return;
    }
    // Encrypting to a certificate needs its chain trusted: the test CA, "relax" (no CRL distribution point checks).
    const caFingerprint = createHash('sha1')
      .update(new X509Certificate(readFileSync(`${CMS}ca.crt`)).raw)
      .digest('hex')
      .toUpperCase()
      .match(/../g)!
      .join(':');
    writeFileSync(join(home, 'trustlist.txt'), `${caFingerprint} S relax\n`);
    writeFileSync(join(home, 'gpgsm.conf'), 'disable-crl-checks\ndisable-policy-checks\n');
    const imported = gpgsm(['--import', p12]);
    if (!imported.ok || !/secret keys imported: 1/.test(imported.stderr))
      unavailable = `gpgsm could not import the key: ${imported.stderr.trim().split('\n').slice(-2).join(' / ')}`;
    if (unavailable) reportUnavailable(unavailable, 'the gpgsm interop tests');
  });

  after(() => {
    // Stop the gpg-agent this suite started (addressed by its GNUPGHOME, nothing else).
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: home },
      timeout: CHILD_TIMEOUT_MS,
    });
  });

  for (const cipher of ['aes-128-cbc', 'aes-256-cbc', 'des-ede3-cbc'] as const) {
    void test(`gpgsm decrypts what we encrypt: ${cipher}`, async (t) => {
      if (unavailable) {
        t.skip(unavailable);
        return;
      }
      const content = new TextEncoder().encode(`Content-Type: text/plain\r\n\r\nto gpgsm with ${cipher}\r\n`);
      const der = await encryptEnvelope(content, [{ certificate: key('rsa').certificate }], { cipher });
      const r = gpgsm(['--decrypt', file(der, '.der')]);
      assert.ok(r.ok, r.stderr);
      assert.ok(r.stdout.equals(content));
    });
  }

  for (const [algo, cipher] of [
    ['AES128', 'aes-128-cbc'],
    ['AES256', 'aes-256-cbc'],
    ['3DES', 'des-ede3-cbc'],
  ] as const) {
    void test(`we decrypt what gpgsm encrypts: ${algo}`, async (t) => {
      if (unavailable) {
        t.skip(unavailable);
        return;
      }
      const content = randomFillSync(new Uint8Array(3000));
      const out = join(work, `gpgsm-${algo}.der`);
      const r = gpgsm([
        '--cipher-algo',
        algo,
        '--recipient',
        certificateId(),
        '--output',
        out,
        '--encrypt',
        file(content),
      ]);
      assert.ok(r.ok, r.stderr);
      const der = new Uint8Array(readFileSync(out));
      assert.equal(inspectEnvelope(der).contentCipher, cipher);
      const result = await decryptEnvelope(der, [key('rsa')]);
      assert.ok(result.status === 'decrypted' && Buffer.from(result.content).equals(content));
    });
  }

  /** gpgsm names certificates by the low 32 bits of their SHA-1 fingerprint, "0x" + 8 hex digits. */
  function certificateId(): string {
    const fingerprint = createHash('sha1').update(key('rsa').certificate).digest('hex').toUpperCase();
    return `0x${fingerprint.slice(-8)}`;
  }
});
