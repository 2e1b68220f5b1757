/**
 * Verification of signatures made by other implementations (issue 3): OpenSSL (every fixture of test/fixtures/pki
 * is `openssl cms -sign`), GnuPG's gpgsm 2.2 (signed here at test time), and our own signContent (sign.ts), so the
 * two halves of the engine agree. The gpgsm suite skips loudly when gpgsm is missing or cannot import the key.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signContent, type DigestName } from '../../backend/src/smime/cms/signed/sign.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, INTERMEDIATE, PKI_DIR, PKI_NOW, ROOT, cert, key } from '../fixtures/pki/pki.ts';
import { unavailable as reportUnavailable } from '../helpers/unavailable.ts';

const CHILD_TIMEOUT_MS = 30_000;
const options = { trustAnchors: [ROOT], now: PKI_NOW };

describe('our signContent -> verifySignedData', () => {
  const signers = [
    ['RSA PKCS#1 v1.5', 'signer', 'pkcs1', 'rsa-pkcs1-v1_5'],
    ['RSA-PSS', 'signer', 'pss', 'rsa-pss'],
    ['ECDSA P-256', 'ec', 'pkcs1', 'ecdsa'],
  ] as const;
  for (const [label, who, rsaPadding, algorithm] of signers) {
    for (const digest of ['sha256', 'sha384', 'sha512'] as DigestName[]) {
      for (const detached of [true, false]) {
        test(`${label}, ${digest}, ${detached ? 'detached' : 'opaque'} -> valid`, async () => {
          const cms = await signContent(
            CONTENT,
            { certificate: cert(who), chain: [INTERMEDIATE], privateKey: key(who) },
            { digest, rsaPadding, detached },
          );
          const r = await verifySignedData(cms, detached ? CONTENT : undefined, {
            ...options,
            fromAddresses: [`${who === 'ec' ? 'ec' : 'signer'}@pki.test`],
          });
          const sig = r.signatures[0]!;
          assert.equal(sig.status, 'valid', JSON.stringify(sig.checks));
          assert.equal(sig.signatureAlgorithm, algorithm);
          assert.equal(sig.digestAlgorithm, digest);
          assert.ok(sig.capabilities?.includes('aes-256-gcm'), String(sig.capabilities));
          if (!detached) assert.deepEqual(r.content, CONTENT);
        });
      }
    }
  }
});

describe('gpgsm (GnuPG 2.2) signatures', () => {
  const work = mkdtempSync(join(tmpdir(), 'verify-gpgsm-'));
  const home = join(work, 'gnupg');
  const PASSPHRASE = 'interop-pass';
  let unavailable: string | undefined;

  function gpgsm(args: string[]): { ok: boolean; stderr: string } {
    const r = spawnSync('gpgsm', ['--batch', '--pinentry-mode', 'loopback', '--passphrase-fd', '0', ...args], {
      env: { ...process.env, GNUPGHOME: home },
      input: `${PASSPHRASE}\n`,
      timeout: CHILD_TIMEOUT_MS,
    });
    return { ok: r.status === 0, stderr: r.stderr?.toString() ?? String(r.error) };
  }

  before(() => {
    if (spawnSync('gpgsm', ['--version'], { timeout: CHILD_TIMEOUT_MS }).status !== 0) {
      unavailable = reportUnavailable(
        'gpgsm is not installed (apt-get install gpgsm)',
        'the gpgsm verify interop tests',
      );
      return;
    }
    mkdirSync(home, { mode: 0o700 });
    const pki = PKI_DIR.pathname;
    // gpgsm 2.2 reads only the old 3DES PKCS#12 schemes.
    const p12 = join(work, 'signer.p12');
    const exported = spawnSync('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      `${pki}keys/signer.key`,
      '-in',
      `${pki}certs/signer.pem`,
      '-certfile',
      `${pki}certs/intermediate.pem`,
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
    if (exported.status !== 0) unavailable = `openssl pkcs12 failed: ${exported.stderr}`;
    // Signing needs a trusted chain: the test root, "relax" (no CRL checks), and the root itself imported.
    const fingerprint = createHash('sha1').update(ROOT).digest('hex').toUpperCase().match(/../g)!.join(':');
    writeFileSync(join(home, 'trustlist.txt'), `${fingerprint} S relax\n`);
    writeFileSync(join(home, 'gpgsm.conf'), 'disable-crl-checks\ndisable-policy-checks\n');
    writeFileSync(join(work, 'root.der'), ROOT);
    const importedRoot = gpgsm(['--import', join(work, 'root.der')]);
    const imported = gpgsm(['--import', p12]);
    if (!unavailable && (!importedRoot.ok || !imported.ok || !/secret keys imported: 1/.test(imported.stderr))) {
      unavailable = `gpgsm could not import the key: ${imported.stderr.trim().split('\n').slice(-2).join(' / ')}`;
    }
    writeFileSync(join(work, 'content.txt'), CONTENT);
    if (unavailable) reportUnavailable(unavailable, 'the gpgsm verify interop tests');
  });

  after(() => {
    // Stop the gpg-agent this suite started (addressed by its GNUPGHOME only).
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: home },
      timeout: CHILD_TIMEOUT_MS,
    });
    rmSync(work, { recursive: true, force: true });
  });

  for (const [form, flag] of [
    ['detached', '--detach-sign'],
    ['opaque', '--sign'],
  ] as const) {
    test(`gpgsm ${flag} -> valid here`, async (t) => {
      if (unavailable) return t.skip(unavailable);
      const out = join(work, `${form}.p7`);
      const signed = gpgsm([
        '--local-user',
        'signer@pki.test',
        '--include-certs',
        '-1',
        flag,
        '--output',
        out,
        join(work, 'content.txt'),
      ]);
      assert.ok(signed.ok, signed.stderr);
      const cms = new Uint8Array(readFileSync(out));
      // gpgsm signs now (the real clock); verify at a fixed later instant inside every validity period.
      const r = await verifySignedData(cms, form === 'detached' ? CONTENT : undefined, {
        ...options,
        fromAddresses: ['signer@pki.test'],
      });
      assert.deepEqual(
        r.signatures.map((s) => s.status),
        ['valid'],
        JSON.stringify(r.signatures.map((s) => s.checks)),
      );
      if (form === 'opaque') assert.deepEqual(r.content, CONTENT);
      const tampered = new Uint8Array(CONTENT);
      tampered[tampered.length - 5] ^= 1;
      if (form === 'detached')
        assert.deepEqual(
          (await verifySignedData(cms, tampered, options)).signatures.map((s) => s.status),
          ['invalid-signature'],
        );
    });
  }
});
