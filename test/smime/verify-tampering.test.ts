/**
 * Attacks on signature verification (issue 3): changed content, a signature part taken from another message,
 * crafted SignedData structures (wrapping and mismatched eContent: test/security/). None may come out
 * 'valid'; each gets the status named in its row.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { children, encoding, explicit, readOne, sequence, setOf } from '../../backend/src/smime/asn1/reader.ts';
import type { SignatureStatus } from '../../backend/src/smime/types.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, INTERMEDIATE, PKI_NOW, ROOT, cert, key, message } from '../fixtures/pki/pki.ts';
import {
  assembleSignedData,
  attribute,
  buildSignedData,
  derOid,
  OID,
  type SignedDataSpec,
  type SignerSpec,
} from '../fixtures/pki/signed-data-builder.ts';
import { CORPUS_NOW, corpusMessage, NO_CORPUS, NSS_TEST_CA } from '../fixtures/pki/corpus.ts';

const TEST_CA = NSS_TEST_CA;
const OTHER = new Uint8Array(
  Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nPay 1000 EUR to the attacker.\r\n', 'latin1'),
);

const options = { trustAnchors: [ROOT], now: PKI_NOW, fromAddresses: ['signer@pki.test'] };

async function statuses(cms: Uint8Array, content: Uint8Array | undefined, opts = options): Promise<SignatureStatus[]> {
  return (await verifySignedData(cms, content, opts)).signatures.map((s) => s.status);
}

/** The encoded certificates and SignerInfos of a SignedData, for splicing. */
function partsOf(cms: Uint8Array): { certificates: Uint8Array[]; signerInfos: Uint8Array[]; eContentType: string } {
  const info = sequence(readOne(cms, 'ContentInfo'), 'ContentInfo');
  const sd = sequence(explicit(info[1], 0, 'content'), 'SignedData');
  const certsNode = sd.find((n) => n.cls === 2 && n.tag === 0);
  return {
    certificates: certsNode ? children(certsNode).map(encoding) : [],
    signerInfos: setOf(sd[sd.length - 1], 'signerInfos').map(encoding),
    eContentType: '1.2.840.113549.1.7.1',
  };
}

const signer: SignerSpec = { cert: cert('signer'), key: key('signer'), signingTime: new Date('2027-01-01T00:00:00Z') };
const base: SignedDataSpec = {
  content: CONTENT,
  detached: true,
  signers: [signer],
  certificates: [cert('signer'), INTERMEDIATE],
};

describe('changed content', () => {
  const detached = [
    'signer-sha256.p7s',
    'signer-sha1.p7s',
    'signer-pss.p7s',
    'signer-noattr.p7s',
    'ec.p7s',
    'two-signers.p7s',
  ];
  for (const name of detached) {
    test(`${name}: one byte of the signed part changed -> invalid-signature`, async () => {
      for (const at of [0, 20, CONTENT.length - 3]) {
        const changed = new Uint8Array(CONTENT);
        changed[at] ^= 0x01;
        const got = await statuses(message(name), changed);
        assert.ok(got.length > 0 && got.every((s) => s === 'invalid-signature'), `byte ${at}: ${got}`);
      }
    });
  }

  test('corpus: one byte of the signed part changed -> invalid-signature', { skip: NO_CORPUS }, async () => {
    const { cms, signed } = corpusMessage('mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml');
    const changed = new Uint8Array(signed!);
    changed[changed.length - 10] ^= 0x20;
    assert.deepEqual(await statuses(cms, changed, { trustAnchors: TEST_CA, now: CORPUS_NOW, fromAddresses: [] }), [
      'invalid-signature',
    ]);
  });

  test('opaque: one byte of the eContent changed -> invalid-signature', async () => {
    const original = message('signer-opaque.p7m');
    const at = Buffer.from(original).indexOf(Buffer.from('Hello from the test PKI'));
    assert.ok(at > 0);
    const changed = new Uint8Array(original);
    changed[at] ^= 0x01;
    assert.deepEqual(await statuses(changed, undefined), ['invalid-signature']);
  });
});

describe('signature taken from another message', () => {
  test('corpus: signature parts exchanged between two messages -> invalid-signature', { skip: NO_CORPUS }, async () => {
    const alice = corpusMessage('mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml');
    const other = corpusMessage('mail-test-browser-smime-data/nested-sigs.eml');
    const opts = { trustAnchors: TEST_CA, now: CORPUS_NOW, fromAddresses: ['alice@example.com'] };
    assert.deepEqual(await statuses(alice.cms, other.signed, opts), ['invalid-signature']);
    assert.deepEqual(await statuses(other.cms, alice.signed, opts), ['invalid-signature']);
  });

  test('PKI: a valid p7s next to another text -> invalid-signature', async () => {
    assert.deepEqual(await statuses(message('signer-sha256.p7s'), OTHER), ['invalid-signature']);
    assert.deepEqual(await statuses(message('signer-noattr.p7s'), OTHER), ['invalid-signature']);
  });
});

// Signature wrapping and mismatched eContent are test/security/signature-wrapping.test.ts and
// test/security/mismatched-econtent.test.ts.

describe('crafted SignedData (built by hand)', () => {
  const cases: [label: string, spec: () => SignedDataSpec, status: SignatureStatus, content?: Uint8Array][] = [
    ['reference: the builder makes a valid signature', () => base, 'valid'],
    ['subjectKeyIdentifier sid (version 3)', () => ({ ...base, signers: [{ ...signer, sid: 'key-id' }] }), 'valid'],
    [
      'SET OF attributes sent unsorted and signed that way (BER sender)',
      () => ({ ...base, signers: [{ ...signer, unsorted: true }] }),
      'valid',
    ],
    ['RSA-PSS with SHA-384', () => ({ ...base, signers: [{ ...signer, scheme: 'pss', digest: 'sha384' }] }), 'valid'],
    [
      'ECDSA P-256 with SHA-512',
      () => ({
        ...base,
        signers: [{ cert: cert('ec'), key: key('ec'), scheme: 'ecdsa', digest: 'sha512' }],
        certificates: [cert('ec'), INTERMEDIATE],
      }),
      'email-mismatch',
    ],
    [
      'SignerInfo version 3 with issuerAndSerialNumber',
      () => ({ ...base, signers: [{ ...signer, version: 3 }] }),
      'malformed',
    ],
    [
      'SignerInfo version 1 with subjectKeyIdentifier',
      () => ({ ...base, signers: [{ ...signer, sid: 'key-id', version: 1 }] }),
      'malformed',
    ],
    [
      'messageDigest attribute missing',
      () => ({ ...base, signers: [{ ...signer, omit: ['messageDigest'] }] }),
      'malformed',
    ],
    [
      'contentType attribute missing',
      () => ({ ...base, signers: [{ ...signer, omit: ['contentType'] }] }),
      'malformed',
    ],
    [
      'messageDigest attribute twice',
      () => ({
        ...base,
        signers: [{ ...signer, extraAttributes: [attribute(OID.messageDigest, new Uint8Array([0x04, 0x01, 0x00]))] }],
      }),
      'malformed',
    ],
    [
      'contentType attribute says signed-data, eContentType is data',
      () => ({ ...base, signers: [{ ...signer, contentTypeAttr: OID.signedData }] }),
      'invalid-signature',
    ],
    ['messageDigest of other content', () => ({ ...base, digestOver: OTHER }), 'invalid-signature'],
    ['MD5 digest algorithm', () => ({ ...base, signers: [{ ...signer, digestOid: OID.md5 }] }), 'unsupported'],
    [
      'no signed attributes with a non-data eContentType (RFC 5652 section 5.3)',
      () => ({
        ...base,
        detached: false,
        eContentType: '1.2.840.113549.1.9.16.1.4',
        signers: [{ ...signer, attributes: 'none' }],
      }),
      'malformed',
      undefined,
    ],
    [
      'sid names another certificate (rsa1024) than the key that signed',
      () => ({
        ...base,
        signers: [{ ...signer, cert: cert('rsa1024') }],
        certificates: [cert('rsa1024'), cert('signer'), INTERMEDIATE],
      }),
      'invalid-signature',
    ],
    ['signer certificate absent', () => ({ ...base, certificates: [INTERMEDIATE] }), 'untrusted'],
    [
      'signingTime after the certificate expired',
      () => ({ ...base, signers: [{ ...signer, signingTime: new Date('2036-01-01T00:00:00Z') }] }),
      'expired',
    ],
  ];
  for (const [label, spec, expected, content] of cases) {
    test(`${label} -> ${expected}`, async () => {
      const s = spec();
      const got = await statuses(buildSignedData(s), s.detached ? (content ?? CONTENT) : undefined);
      assert.deepEqual(got, [expected]);
    });
  }

  test('unknown signature algorithm -> unsupported, not invalid', async () => {
    const cms = buildSignedData(base);
    const sha256WithRsa = Buffer.from(derOid(OID.rsaEncryption));
    const at = Buffer.from(cms).lastIndexOf(sha256WithRsa);
    const patched = new Uint8Array(cms);
    patched[at + sha256WithRsa.length - 1] = 0x7f; // 1.2.840.113549.1.1.127
    assert.deepEqual(await statuses(patched, CONTENT), ['unsupported']);
  });
});

describe('not CMS, or damaged', () => {
  for (const [label, bytes] of [
    ['empty', new Uint8Array(0)],
    ['text', new Uint8Array(Buffer.from('hello, not CMS'))],
    ['enveloped-data', new Uint8Array(Buffer.from('3010' + '0609' + '2a864886f70d010703' + 'a0033001' + '00', 'hex'))],
    ['truncated', message('signer-sha256.p7s').subarray(0, 100)],
    ['trailing bytes', new Uint8Array(Buffer.concat([message('signer-sha256.p7s'), Buffer.from([0])]))],
  ] as const) {
    test(`${label} -> SmimeError CMS_MALFORMED`, async () => {
      await assert.rejects(verifySignedData(bytes, CONTENT, options), (e) => isSmimeError(e, 'CMS_MALFORMED'));
    });
  }

  test('a signed-data whose inside is damaged -> one malformed signature', async () => {
    const p = partsOf(message('signer-sha256.p7s'));
    const junk = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
    assert.deepEqual(
      await statuses(assembleSignedData({ certificates: p.certificates, signerInfos: [junk] }), CONTENT),
      ['malformed'],
    );
    assert.deepEqual(
      await statuses(assembleSignedData({ certificates: p.certificates, signerInfos: [] }), CONTENT),
      ['malformed'],
      'certs-only',
    );
    assert.deepEqual(
      await statuses(message('signer-sha256.p7s'), undefined),
      ['malformed'],
      'detached without the content',
    );
  });

  test('unknown options are refused (TypeError, a programming error)', async () => {
    await assert.rejects(
      verifySignedData(message('signer-sha256.p7s'), CONTENT, { ...options, trustanchors: [] } as never),
      TypeError,
    );
    await assert.rejects(
      verifySignedData(message('signer-sha256.p7s'), CONTENT, { ...options, policy: { rejectSHA1: false } } as never),
      TypeError,
    );
  });
});
