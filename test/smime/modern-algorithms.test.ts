// Modern algorithms (issue 14): Ed25519 signatures (RFC 8419) and X25519 key agreement (RFC 8418).
//
// - Ed25519: we sign with the fixture key (test/fixtures/cms/ed25519.key), multipart/signed and opaque, and our own
//   reader calls it valid. OpenSSL 3.0 and 3.1 cannot check an Ed25519 SignerInfo with signed attributes (cms_sd.c
//   hands the SHA-512 digest to EdDSA, which refuses it: "eddsa_digest_signverify_init:invalid digest"; they cannot
//   make one either), so `openssl cms -verify` runs only with OpenSSL 3.2 or later; in every case an independent
//   check (asn1js to read the DER, node:crypto to verify) does what an RFC 8419 verifier does.
// - X25519: what we encrypt to an X25519 certificate we decrypt, and a wrong X25519 key fails with DECRYPT_FAILED.
//   OpenSSL 3.0 has no X25519 in CMS (`openssl cms -encrypt` fails with "operation not supported for this keytype",
//   openssl/openssl#22388), so there is no OpenSSL-made X25519 envelope to read and no `openssl cms -decrypt` of ours;
//   the fixtures x25519-hkdf-ukm.der and x25519-x963.der are made by an independent writer instead
//   (test/fixtures/cms/make-x25519.py, Python `cryptography`), see test/fixtures/cms/README.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, verify as verifySignature } from 'node:crypto';
import { after, describe, test } from 'node:test';
import * as asn1js from 'asn1js';
import { parseEntity, splitMessageHeaders, toSignable } from '../../backend/src/smime/mime/index.ts';
import { analyzeMessage } from '../../backend/src/smime/message/incoming.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import { signContent, type Signer } from '../../backend/src/smime/cms/signed/sign.ts';
import { SmimeError } from '../../backend/src/smime/errors.ts';
import {
  decryptEnvelope,
  encryptEnvelope,
  FAILED_DETAIL,
  inspectEnvelope,
  type DecryptionKey,
} from '../../backend/src/smime/cms/enveloped/index.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { encryptionUnusableReason, ownKeyUnsupportedReason } from '../../backend/src/smime/usable.ts';
import { FIXTURES } from '../helpers/paths.ts';

const CMS = `${FIXTURES}cms/`;
/** A child process that has not finished by then is stuck. */
const CHILD_TIMEOUT_MS = 60_000;

const work = mkdtempSync(join(tmpdir(), 'modern-algorithms-'));
after(() => rmSync(work, { recursive: true, force: true }));

function der(name: string): Uint8Array {
  return new Uint8Array(new X509Certificate(readFileSync(`${CMS}${name}.crt`)).raw);
}

function key(name: string, keyFrom = name): DecryptionKey {
  return { keyId: name, certificate: der(name), privateKey: createPrivateKey(readFileSync(`${CMS}${keyFrom}.key`)) };
}

const ED25519: Signer = {
  certificate: der('ed25519'),
  chain: [],
  privateKey: createPrivateKey(readFileSync(`${CMS}ed25519.key`)),
};
const CA_FILE = `${CMS}ca.crt`;

const MESSAGE = Buffer.from(
  'From: ed25519@example.com\r\nTo: bob@example.com\r\nSubject: Ed25519\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n\r\nSigned with Ed25519 (RFC 8419).\r\n',
);
const CANONICAL = Buffer.from(toSignable(splitMessageHeaders(MESSAGE).entity));

/** OpenSSL 3.2 was the first to verify Ed25519 SignerInfos with signed attributes (see the head of this file). */
function opensslVerifiesEd25519(): boolean {
  const r = spawnSync('openssl', ['version'], { timeout: CHILD_TIMEOUT_MS });
  const m = /OpenSSL (\d+)\.(\d+)/.exec(r.stdout?.toString() ?? '');
  return m !== null && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 2));
}
const OPENSSL_ED25519 = opensslVerifiesEd25519();

function children(node: asn1js.AsnType): asn1js.AsnType[] {
  return (node as asn1js.Sequence).valueBlock.value;
}

/**
 * An RFC 8419 verifier written apart from ours: asn1js reads the ContentInfo, the messageDigest attribute must be the
 * SHA-512 of `content`, and node:crypto checks the Ed25519 signature over the DER of the signed attributes as a SET
 * (RFC 5652 section 5.4). Returns the SignerInfo's algorithm OIDs for the caller to check.
 */
function independentEd25519Check(
  signedDer: Uint8Array,
  content: Uint8Array,
): { digestOid: string; signatureOid: string; signatureParams: number } {
  const { result, offset } = asn1js.fromBER(Uint8Array.from(signedDer));
  assert.notEqual(offset, -1, 'BER');
  const signedData = children(children(children(result)[1]!)[0]!);
  const signerInfos = children(signedData[signedData.length - 1]!);
  assert.equal(signerInfos.length, 1);
  const [, , digestAlgorithm, signedAttrs, signatureAlgorithm, signature] = children(signerInfos[0]!);
  assert.equal(signedAttrs!.idBlock.tagClass, 3, 'signedAttrs [0] present');
  const digestOid = (children(digestAlgorithm!)[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  const signatureOid = (children(signatureAlgorithm!)[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  let messageDigest: Uint8Array | undefined;
  for (const attribute of children(signedAttrs!)) {
    const [type, values] = children(attribute);
    if ((type as asn1js.ObjectIdentifier).valueBlock.toString() === '1.2.840.113549.1.9.4')
      messageDigest = (children(values!)[0] as asn1js.OctetString).valueBlock.valueHexView;
  }
  assert.ok(messageDigest, 'messageDigest attribute');
  assert.deepEqual(Buffer.from(messageDigest), createHash('sha512').update(content).digest());
  const toVerify = Buffer.from(signedAttrs!.valueBeforeDecodeView);
  toVerify[0] = 0x31; // [0] IMPLICIT -> SET OF, as signed
  const certificate = new X509Certificate(Buffer.from(ED25519.certificate));
  const ok = verifySignature(
    null,
    toVerify,
    certificate.publicKey,
    (signature as asn1js.OctetString).valueBlock.valueHexView,
  );
  assert.ok(ok, 'the Ed25519 signature verifies over the signed attributes');
  return { digestOid, signatureOid, signatureParams: children(signatureAlgorithm!).length - 1 };
}

function opensslVerify(message: Uint8Array): { ok: boolean; content: Buffer; stderr: string } {
  const r = spawnSync('openssl', ['cms', '-verify', '-CAfile', CA_FILE], {
    input: message,
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 1 << 24,
  });
  return { ok: r.status === 0, content: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? String(r.error) };
}

/** The DER of a SignedData as `openssl cms -cmsout -print` shows it. */
function opensslPrint(signedDer: Uint8Array): string {
  const path = join(work, 'print.der');
  writeFileSync(path, signedDer);
  const r = spawnSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', path], {
    timeout: CHILD_TIMEOUT_MS,
  });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout.toString();
}

describe('Ed25519 signing (RFC 8419)', () => {
  for (const format of ['multipart-signed', 'opaque'] as const) {
    const name = `${format}: ${OPENSSL_ED25519 ? 'openssl cms -verify accepts it and ' : ''}our reader calls it valid`;
    test(name, async () => {
      const out = await protectMessage(MESSAGE, { sign: { signer: ED25519, format } });
      const top = parseEntity(out);
      if (format === 'multipart-signed') {
        assert.equal(top.contentType.mediaType, 'multipart/signed');
        assert.equal(top.contentType.params.micalg, 'sha-512');
      } else {
        assert.equal(top.contentType.mediaType, 'application/pkcs7-mime');
      }
      if (OPENSSL_ED25519) {
        const verified = opensslVerify(out);
        assert.ok(verified.ok, verified.stderr);
        assert.ok(verified.content.equals(CANONICAL), 'OpenSSL hands back exactly the canonical content');
      }
      const ours = await analyzeMessage(out, {
        verify: { trustAnchors: pemToDer(readFileSync(CA_FILE, 'utf8')) },
        keys: async () => [],
      });
      const layer = ours.layers[0];
      assert.ok(layer?.kind === 'signed', 'one signed layer');
      assert.equal(layer.status, 'valid', JSON.stringify(layer.signatures[0]?.checks));
      // Negative control: a changed byte of the content fails both verifiers.
      if (format === 'multipart-signed') {
        const tampered = Buffer.from(out);
        const at = tampered.indexOf('RFC 8419');
        assert.ok(at > 0);
        tampered[at] = 'X'.charCodeAt(0);
        if (OPENSSL_ED25519) assert.ok(!opensslVerify(tampered).ok, 'a changed byte must not verify');
        const again = await analyzeMessage(tampered, {
          verify: { trustAnchors: pemToDer(readFileSync(CA_FILE, 'utf8')) },
          keys: async () => [],
        });
        const l = again.layers[0];
        assert.ok(l?.kind === 'signed');
        assert.notEqual(l.status, 'valid');
      }
    });
  }

  test('an independent RFC 8419 check: id-Ed25519 with absent parameters, SHA-512, signed attributes', async () => {
    const signed = await signContent(new Uint8Array(CANONICAL), ED25519, { detached: false });
    assert.deepEqual(independentEd25519Check(signed, CANONICAL), {
      digestOid: '2.16.840.1.101.3.4.2.3',
      signatureOid: '1.3.101.112',
      signatureParams: 0,
    });
    // Negative control: the same check on other content fails.
    assert.throws(() => independentEd25519Check(signed, Buffer.from('other content')));
    const printed = opensslPrint(signed);
    assert.match(printed, /digestAlgorithm:\s*\n\s*algorithm: sha512/);
    assert.match(
      printed,
      /signatureAlgorithm:\s*\n\s*algorithm: ED25519 \(1\.3\.101\.112\)\s*\n\s*parameter: <ABSENT>/,
    );
    assert.match(printed, /signedAttrs:/);
    assert.match(printed, /messageDigest|1\.2\.840\.113549\.1\.9\.4/);
  });

  test('a digest other than SHA-512 is refused for Ed25519 (SIGN_INVALID_OPTION)', async () => {
    await assert.rejects(
      signContent(new Uint8Array(CANONICAL), ED25519, { digest: 'sha256' }),
      (e: unknown) => e instanceof SmimeError && e.code === 'SIGN_INVALID_OPTION',
    );
    // SHA-512 asked for explicitly is what it uses anyway.
    const signed = await signContent(new Uint8Array(CANONICAL), ED25519, { digest: 'sha512' });
    assert.match(opensslPrint(signed), /algorithm: sha512/);
  });
});

const PLAIN = Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nEncrypted to X25519 (RFC 8418).\r\n');

describe('X25519 key agreement (RFC 8418)', () => {
  for (const cipher of ['aes-128-cbc', 'aes-256-cbc', 'aes-128-gcm', 'aes-256-gcm'] as const) {
    for (const ecdhKdf of ['sha256', 'sha512'] as const) {
      test(`what we encrypt to an X25519 certificate we decrypt (${cipher}, HKDF-${ecdhKdf})`, async () => {
        const envelope = await encryptEnvelope(PLAIN, [{ certificate: der('x25519') }], { cipher, ecdhKdf });
        const info = inspectEnvelope(envelope);
        const wrap = cipher.startsWith('aes-128') ? 'aes128-wrap' : 'aes256-wrap';
        assert.deepEqual(
          info.recipients.map((r) => r.keyEncryption),
          [`ecdh-hkdf-${ecdhKdf}-${wrap}`],
        );
        const out = await decryptEnvelope(envelope, [key('x25519')]);
        assert.equal(out.status, 'decrypted', out.status === 'decrypted' ? '' : out.detail);
        assert.ok(Buffer.from(out.content).equals(PLAIN));
      });
    }
  }

  test('the KeyAgreeRecipientInfo: originatorKey id-X25519 (absent parameters, 32 raw bytes), HKDF-SHA256 scheme', async () => {
    const envelope = await encryptEnvelope(PLAIN, [{ certificate: der('x25519') }], { cipher: 'aes-256-cbc' });
    const path = join(work, 'x25519.der');
    writeFileSync(path, envelope);
    const r = spawnSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', path], {
      timeout: CHILD_TIMEOUT_MS,
    });
    assert.equal(r.status, 0, r.stderr?.toString());
    const printed = r.stdout.toString();
    assert.match(
      printed,
      /originatorKey:\s*\n\s*algorithm:\s*\n\s*algorithm: X25519 \(1\.3\.101\.110\)\s*\n\s*parameter: <ABSENT>/,
    );
    // 32 bytes: two full lines of 14 and a third of 4 (offset 0x1c).
    assert.match(
      printed,
      /publicKey: +\(0 unused bits\)\n(?: +[0-9a-f]{4} - .*\n){2} +001c - (?:[0-9a-f]{2} ){3}[0-9a-f]{2} {3,}/,
    );
    assert.match(printed, /1\.2\.840\.113549\.1\.9\.16\.3\.19/);
    assert.match(printed, /id-aes256-wrap/);
  });

  // Made apart from our engine by make-x25519.py (Python `cryptography`): OpenSSL 3.0 cannot make these.
  for (const [file, keyEncryption] of [
    ['x25519-hkdf-ukm.der', 'ecdh-hkdf-sha256-aes128-wrap'],
    ['x25519-x963.der', 'ecdh-sha256kdf-aes256-wrap'],
  ] as const) {
    test(`an X25519 envelope made by another writer decrypts (${file}: ${keyEncryption})`, async () => {
      const envelope = new Uint8Array(readFileSync(`${CMS}${file}`));
      assert.deepEqual(
        inspectEnvelope(envelope).recipients.map((r) => r.keyEncryption),
        [keyEncryption],
      );
      const out = await decryptEnvelope(envelope, [key('x25519')]);
      assert.equal(out.status, 'decrypted', out.status === 'decrypted' ? '' : out.detail);
      assert.ok(Buffer.from(out.content).equals(readFileSync(`${CMS}message.txt`)));
      const wrong = await decryptEnvelope(envelope, [key('x25519', 'x25519-other')]);
      assert.equal(wrong.status, 'failed');
      assert.equal(wrong.detail, FAILED_DETAIL);
    });
  }

  test('a wrong X25519 key fails with the one decryption-failed detail, not a crash', async () => {
    for (const cipher of ['aes-256-cbc', 'aes-256-gcm'] as const) {
      const envelope = await encryptEnvelope(PLAIN, [{ certificate: der('x25519') }], { cipher });
      // The certificate named in the message with another X25519 key: the AES key-wrap check fails.
      const out = await decryptEnvelope(envelope, [key('x25519', 'x25519-other')]);
      assert.equal(out.status, 'failed');
      assert.equal(out.detail, FAILED_DETAIL);
      // Another X25519 key under its own certificate: tried, and the message is not for it.
      const other = await decryptEnvelope(envelope, [key('x25519-other')]);
      assert.notEqual(other.status, 'decrypted');
    }
  });

  test('an X25519 recipient beside RSA and EC ones: each opens it', async () => {
    const envelope = await encryptEnvelope(
      PLAIN,
      [{ certificate: der('rsa') }, { certificate: der('x25519') }, { certificate: der('p256') }],
      { cipher: 'aes-128-gcm' },
    );
    for (const name of ['rsa', 'x25519', 'p256']) {
      const out = await decryptEnvelope(envelope, [key(name)]);
      assert.equal(out.status, 'decrypted', name);
    }
  });

  test('an EC key does not open an X25519 slot and an X25519 key no EC slot', async () => {
    const toX = await encryptEnvelope(PLAIN, [{ certificate: der('x25519') }], { cipher: 'aes-256-gcm' });
    assert.notEqual((await decryptEnvelope(toX, [key('p256')])).status, 'decrypted');
    const toP = await encryptEnvelope(PLAIN, [{ certificate: der('p256') }], { cipher: 'aes-256-gcm' });
    assert.notEqual((await decryptEnvelope(toP, [key('x25519')])).status, 'decrypted');
  });
});

describe('own keys and recipients: Ed25519 and X25519 are taken in, Ed448, X448 and DSA are not (issue 14)', () => {
  test('describeCertificate names X25519 and Ed25519 keys', () => {
    assert.deepEqual(
      ['x25519', 'ed25519'].map((n) => {
        const { keyAlgorithm, keySize } = describeCertificate(der(n));
        return { keyAlgorithm, keySize };
      }),
      [
        { keyAlgorithm: 'X25519', keySize: 256 },
        { keyAlgorithm: 'Ed25519', keySize: 256 },
      ],
    );
  });

  const TYPES: { keyAlgorithm: string; accepted: boolean }[] = [
    { keyAlgorithm: 'RSA', accepted: true },
    { keyAlgorithm: 'Ed25519', accepted: true },
    { keyAlgorithm: 'X25519', accepted: true },
    { keyAlgorithm: 'Ed448', accepted: false },
    { keyAlgorithm: 'X448', accepted: false },
    { keyAlgorithm: 'DSA', accepted: false },
    { keyAlgorithm: 'other', accepted: false },
  ];
  for (const { keyAlgorithm, accepted } of TYPES) {
    test(`ownKeyUnsupportedReason: ${keyAlgorithm} ${accepted ? 'accepted' : 'refused, naming it'}`, () => {
      const reason = ownKeyUnsupportedReason({ keyAlgorithm });
      if (accepted) assert.equal(reason, undefined);
      else assert.match(reason ?? '', keyAlgorithm === 'other' ? /This key type/ : new RegExp(keyAlgorithm));
    });
  }

  test('encryptionUnusableReason: an X25519 certificate may be encrypted to, an Ed25519 one may not', () => {
    const now = new Date();
    assert.equal(encryptionUnusableReason(describeCertificate(der('x25519')), now), undefined);
    assert.match(encryptionUnusableReason(describeCertificate(der('ed25519')), now) ?? '', /Ed25519 keys cannot be/);
    // Key usage that rules key agreement out.
    const x = describeCertificate(der('x25519'));
    assert.match(encryptionUnusableReason({ ...x, keyUsage: ['digitalSignature'] }, now) ?? '', /key agreement/);
  });

  test('an Ed25519 signing certificate is not offered as the encryption key (SMIMEEncryptionKeyPreference)', async () => {
    const signed = await signContent(new Uint8Array(CANONICAL), ED25519, { detached: false });
    assert.doesNotMatch(opensslPrint(signed), /1\.2\.840\.113549\.1\.9\.16\.2\.11|id-aa-encrypKeyPref/);
  });
});
