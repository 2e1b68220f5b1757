// Interop of what we sign (issue 3): every signer (RSA-2048 PKCS#1 v1.5 and PSS, EC P-256 and P-384; OpenSSL-made and
// NSS-made certificates) x every digest x both S/MIME forms, verified by `openssl cms -verify` reading the whole
// message as S/MIME (not DER), which must hand back exactly the canonical content we signed, and by our own reader
// (incoming.ts / verify.ts), which must call it valid; gpgsm verifying our multipart/signed messages against a CA
// it was told to trust; and NSS, the S/MIME engine of Thunderbird (`cmsutil` from libnss3-tools, when installed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodeBody,
  parseEntity,
  splitMessageHeaders,
  toSignable,
  type MimeEntity,
} from '../../backend/src/smime/mime/index.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { analyzeMessage } from '../../backend/src/smime/message/incoming.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import type { DigestName } from '../../backend/src/smime/cms/signed/sign.ts';
import { matrixSigners, outgoingMessage, type TestSigner } from '../fixtures/outgoing/signers.ts';
import { unavailable as reportUnavailable } from '../helpers/unavailable.ts';

const DIGESTS: DigestName[] = ['sha256', 'sha384', 'sha512'];
const FORMATS = ['multipart-signed', 'opaque'] as const;
const MESSAGE = outgoingMessage('alternative-related.eml');
const CANONICAL = Buffer.from(toSignable(splitMessageHeaders(MESSAGE).entity));

let work: string;
let signers: TestSigner[];
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'smime-sign-interop-'));
  signers = await matrixSigners();
});
after(() => rmSync(work, { recursive: true, force: true }));

function caFile(signer: TestSigner): string {
  const path = join(work, `${signer.label.replace(/[^A-Za-z0-9]+/g, '-')}.pem`);
  writeFileSync(path, signer.caPem);
  return path;
}

/** `openssl cms -verify` on the message as written (S/MIME input); the content it outputs, or its error. */
function opensslVerify(message: Uint8Array, ca: string): { ok: boolean; content: Buffer; stderr: string } {
  const r = spawnSync('openssl', ['cms', '-verify', '-CAfile', ca], { input: message, maxBuffer: 1 << 28 });
  return { ok: r.status === 0, content: r.stdout, stderr: r.stderr.toString() };
}

describe('openssl cms -verify: signers x digests x forms', () => {
  // The matrix is built after `before` loaded the signers; node:test allows adding tests from a test.
  test('matrix', async (t) => {
    assert.equal(signers.length, 6);
    for (const s of signers) {
      const ca = caFile(s);
      for (const digest of DIGESTS) {
        for (const format of FORMATS) {
          await t.test(`${s.label}, ${digest}, ${format}`, async () => {
            // From the signer's own address, so that our reader's email check has nothing to object to.
            const from = describeCertificate(s.signer.certificate).emails[0]!;
            const message = Buffer.from(MESSAGE.toString('latin1').replace(/^From: .*$/m, `From: ${from}`), 'latin1');
            const out = await protectMessage(message, {
              sign: {
                signer: s.signer,
                format,
                options: { digest, ...(s.rsaPadding ? { rsaPadding: s.rsaPadding } : {}) },
              },
            });
            const top = parseEntity(out);
            if (format === 'multipart-signed') {
              assert.equal(top.contentType.mediaType, 'multipart/signed');
              assert.equal(top.contentType.params.micalg, `sha-${digest.slice(3)}`);
            } else {
              assert.equal(top.contentType.mediaType, 'application/pkcs7-mime');
            }
            const verified = opensslVerify(out, ca);
            assert.ok(verified.ok, verified.stderr);
            assert.ok(verified.content.equals(CANONICAL), 'OpenSSL hands back exactly the canonical content');
            const ours = await analyzeMessage(out, {
              verify: { trustAnchors: pemToDer(s.caPem) },
              keys: async () => [],
            });
            const layer = ours.layers[0];
            assert.ok(layer?.kind === 'signed', 'one signed layer');
            assert.equal(layer.format, format);
            assert.equal(layer.status, 'valid', JSON.stringify(layer.signatures[0]?.checks));
            assert.ok(Buffer.from(ours.content).equals(CANONICAL));
            // Negative control: one byte of the signed content changed, and OpenSSL refuses.
            const tampered = Buffer.from(out);
            const at = tampered.indexOf('Sch=C3=B6ne');
            if (format === 'multipart-signed') {
              assert.ok(at > 0);
              tampered[at] = 's'.charCodeAt(0);
              assert.ok(!opensslVerify(tampered, ca).ok, 'a changed byte must not verify');
            }
          });
        }
      }
    }
  });
});

// ---- gpgsm ---------------------------------------------------------------------------------------------------------

function haveGpgsm(): boolean {
  return spawnSync('gpgsm', ['--version']).status === 0;
}

/** The first part's exact bytes and the decoded signature of a multipart/signed message. */
function detachedParts(message: Uint8Array): { content: Uint8Array; signature: Uint8Array } {
  const top = parseEntity(message);
  assert.equal(top.children.length, 2);
  const [content, sig] = top.children as [MimeEntity, MimeEntity];
  assert.equal(sig.contentType.mediaType, 'application/pkcs7-signature');
  return { content: content.raw, signature: decodeBody(sig) };
}

describe(
  'gpgsm --verify (GnuPG 2, libksba): our multipart/signed, detached content',
  {
    skip: haveGpgsm()
      ? false
      : reportUnavailable('gpgsm is not installed (apt-get install gpgsm)', 'the gpgsm signature interop tests'),
  },
  () => {
    let home: string;
    const env = () => ({ ...process.env, GNUPGHOME: home });
    const gpgsm = (args: string[], input?: Uint8Array) =>
      spawnSync('gpgsm', ['--batch', '--status-fd', '1', ...args], { env: env(), ...(input ? { input } : {}) });

    before(() => {
      home = mkdtempSync(join(tmpdir(), 'gh-'));
    });
    after(() => {
      // The agent gpgsm started for the trust list lives in this home: stop it before removing the folder.
      spawnSync('gpgconf', ['--kill', 'all'], { env: env() });
      rmSync(home, { recursive: true, force: true });
    });

    /**
     * Imports each CA and marks it trusted the way an administrator does: its SHA-1 fingerprint with the S flag in
     * trustlist.txt (gpg-agent reads it). CRLs are not checked: the test CAs publish none. Returns the CAs that gpgsm
     * refused with libgcrypt's P-521 error (see CASES), after asserting that this error, and no other, is the reason.
     */
    function trust(caPems: string[], p521Pems: ReadonlySet<string>): Set<string> {
      writeFileSync(join(home, 'gpgsm.conf'), 'disable-crl-checks\n');
      const lines: string[] = [];
      const refused = new Set<string>();
      for (const [i, pem] of caPems.entries()) {
        const path = join(home, `ca${i}.pem`);
        writeFileSync(path, pem);
        const imported = gpgsm(['--import', path]);
        if (imported.status !== 0 && p521Pems.has(pem)) {
          assert.match(imported.stderr.toString(), LIBGCRYPT_P521_ERROR, imported.stderr.toString());
          refused.add(pem);
          continue;
        }
        assert.equal(imported.status, 0, imported.stderr.toString());
        const fpr = spawnSync('openssl', ['x509', '-in', path, '-noout', '-fingerprint', '-sha1'])
          .stdout.toString()
          .trim()
          .split('=')[1];
        assert.ok(fpr);
        lines.push(`${fpr} S`);
      }
      writeFileSync(join(home, 'trustlist.txt'), `${lines.join('\n')}\n`);
      return refused;
    }

    /**
     * gpgsm 2.2.40 on libgcrypt 1.10.1 (Debian 12) cannot verify any ECDSA signature made with a P-521 key: libgcrypt
     * stops with this error (a P-521 order is 521 bits, not a whole number of bytes). So it refuses to import the NSS
     * ECC CA, whose key is P-521 and self-signed, and cannot check that CA's signature on Alice-ec's certificate.
     */
    const LIBGCRYPT_P521_ERROR = /DSA requires the hash length to be a multiple of 8 bits/;
    // p521Ca: the case's CA is that P-521 CA. gpgsm still checks what is ours, the P-384 signature over the content
    // (GOODSIG, VALIDSIG, BADSIG when the content changes), and reports the chain as not trusted, for that reason and
    // no other; OpenSSL and NSS verify the whole chain of the same signer (the matrices above and below). Should a later
    // libgcrypt import the CA, the case checks the full chain like the others.
    const CASES: { label: string; digest: DigestName; p521Ca?: true }[] = [
      { label: 'corpus Alice RSA-2048 PKCS#1 v1.5', digest: 'sha256' },
      { label: 'fixture RSA-2048 PKCS#1 v1.5', digest: 'sha256' },
      { label: 'fixture RSA-2048 PSS', digest: 'sha512' },
      { label: 'fixture EC P-256', digest: 'sha384' },
      {
        label: 'corpus Alice-ec EC P-384',
        digest: 'sha256',
        p521Ca: true,
      },
    ];

    test('GOODSIG for each signer; BADSIG when the content changes', async (t) => {
      const caOf = (c: (typeof CASES)[number]) => signers.find((x) => x.label === c.label)!.caPem;
      const refused = trust([...new Set(CASES.map(caOf))], new Set(CASES.filter((c) => c.p521Ca).map(caOf)));
      for (const c of CASES) {
        await t.test(`${c.label}, ${c.digest}`, async () => {
          const s = signers.find((x) => x.label === c.label)!;
          const chainUnverifiable = refused.has(s.caPem);
          if (chainUnverifiable) {
            // Without its CA gpgsm needs the signer's certificate in its keybox (it imports an end-entity certificate
            // whose issuer it lacks; the chain is checked at use).
            const certPath = join(home, 'signer.der');
            writeFileSync(certPath, s.signer.certificate);
            const imported = gpgsm(['--import', certPath]);
            assert.equal(imported.status, 0, imported.stderr.toString());
          }
          const out = await protectMessage(MESSAGE, {
            sign: {
              signer: s.signer,
              options: { digest: c.digest, ...(s.rsaPadding ? { rsaPadding: s.rsaPadding } : {}) },
            },
          });
          const { content, signature } = detachedParts(out);
          const sigPath = join(home, 'smime.p7s');
          const contentPath = join(home, 'content');
          writeFileSync(sigPath, signature);
          writeFileSync(contentPath, content);
          const r = gpgsm(['--verify', sigPath, contentPath]);
          const status = r.stdout.toString();
          assert.match(status, /^\[GNUPG:\] GOODSIG /m, r.stderr.toString());
          assert.match(status, /^\[GNUPG:\] VALIDSIG /m);
          if (chainUnverifiable) {
            assert.match(status, /^\[GNUPG:\] TRUST_NEVER /m);
            assert.match(r.stderr.toString(), LIBGCRYPT_P521_ERROR, 'the chain fails on P-521 and nothing else');
          } else {
            assert.equal(r.status, 0, `${status}\n${r.stderr.toString()}`);
            assert.match(status, /^\[GNUPG:\] TRUST_FULLY /m, 'the chain to the trusted CA was built');
          }

          const changed = Buffer.from(content);
          changed[changed.length - 3]! ^= 1;
          writeFileSync(contentPath, changed);
          const bad = gpgsm(['--verify', sigPath, contentPath]);
          assert.notEqual(bad.status, 0);
          assert.match(bad.stdout.toString(), /^\[GNUPG:\] BADSIG /m);
        });
      }
    });
  },
);

// ---- NSS (Thunderbird's engine) ---------------------------------------------------------------------------------

function haveCmsutil(): boolean {
  return spawnSync('cmsutil', []).error === undefined && spawnSync('certutil', ['-H']).error === undefined;
}

describe(
  'NSS cmsutil -D: GoodSignature for every signer, digest and form',
  {
    skip: haveCmsutil()
      ? false
      : reportUnavailable(
          'cmsutil is not installed (apt-get install libnss3-tools)',
          'the NSS signature interop tests',
        ),
  },
  () => {
    /** An NSS database trusting `caPem` for email (certUsageEmailSigner is usage 4 of cmsutil -u). */
    function nssDb(name: string, caPem: string | undefined): string {
      const dir = join(work, `nss-${name}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      assert.equal(spawnSync('certutil', ['-N', '--empty-password', '-d', `sql:${dir}`]).status, 0);
      if (caPem) {
        const path = join(dir, 'ca.pem');
        writeFileSync(path, caPem);
        const added = spawnSync('certutil', ['-A', '-n', 'ca', '-t', 'C,C,C', '-i', path, '-d', `sql:${dir}`]);
        assert.equal(added.status, 0, added.stderr.toString());
      }
      return dir;
    }

    /** The signer status cmsutil reports (`GoodSignature`, `DigestMismatch`, `SigningCertNotTrusted`, ...). */
    function nssStatus(db: string, der: Uint8Array, content?: Uint8Array): string {
      const sigPath = join(db, 'in.p7m');
      writeFileSync(sigPath, der);
      const args = ['-D', '-h', '2', '-n', '-u', '4', '-d', `sql:${db}`, '-i', sigPath];
      if (content) {
        writeFileSync(join(db, 'content'), content);
        args.push('-c', join(db, 'content'));
      }
      const r = spawnSync('cmsutil', args);
      return /signer0\.status=(\w+)/.exec(r.stdout.toString())?.[1] ?? `no status: ${r.stderr.toString()}`;
    }

    test('matrix', async (t) => {
      for (const s of signers) {
        const db = nssDb(s.label.replace(/[^A-Za-z0-9]+/g, '-'), s.caPem);
        for (const digest of DIGESTS) {
          for (const format of FORMATS) {
            await t.test(`${s.label}, ${digest}, ${format}`, async () => {
              const options = { digest, ...(s.rsaPadding ? { rsaPadding: s.rsaPadding } : {}) };
              const out = await protectMessage(MESSAGE, { sign: { signer: s.signer, format, options } });
              if (format === 'multipart-signed') {
                const { content, signature } = detachedParts(out);
                assert.equal(nssStatus(db, signature, content), 'GoodSignature');
                const changed = Buffer.from(content);
                changed[10]! ^= 1;
                assert.equal(nssStatus(db, signature, changed), 'DigestMismatch');
              } else {
                assert.equal(nssStatus(db, decodeBody(parseEntity(out))), 'GoodSignature');
              }
            });
          }
        }
      }
    });

    test('control: without the CA in the database NSS does not call it good', async () => {
      const s = signers[0]!;
      const out = await protectMessage(MESSAGE, { sign: { signer: { ...s.signer, chain: [] } } });
      const { content, signature } = detachedParts(out);
      assert.equal(nssStatus(nssDb('empty', undefined), signature, content), 'SigningCertNotTrusted');
    });
  },
);
