/**
 * Signature verification (issue 3): the Thunderbird/NSS corpus and the test PKI (test/fixtures/pki), each message
 * with its expected status in a table, plus the checks behind it. Tampering, wrapping and crafted structures are in
 * verify-tampering.test.ts; size limits and BER in verify-limits.test.ts; the mutation loop in verify-mutation.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RevocationChecker } from '../../backend/src/smime/x509/revocation.ts';
import type { CheckName, SignatureEvidence, SignatureStatus } from '../../backend/src/smime/types.ts';
import {
  verifySignedData,
  type SignedDataResult,
  type VerifyOptions,
} from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, INTERMEDIATE, PKI_NOW, PkiServer, ROOT, cert, key, message } from '../fixtures/pki/pki.ts';
import { buildSignedData } from '../fixtures/pki/signed-data-builder.ts';
import { CORPUS_NOW, corpusMessage, NO_CORPUS, NSS_TEST_CA } from '../fixtures/pki/corpus.ts';

const TEST_CA = NSS_TEST_CA;

function check(sig: SignatureEvidence, name: CheckName) {
  const c = sig.checks.find((x) => x.name === name);
  assert.ok(c, `no ${name} check in ${JSON.stringify(sig.checks)}`);
  return c;
}

function only(result: SignedDataResult): SignatureEvidence {
  assert.equal(result.signatures.length, 1);
  return result.signatures[0]!;
}

const explain = (sig: SignatureEvidence) =>
  JSON.stringify(sig.checks.filter((c) => c.outcome !== 'pass' && c.outcome !== 'skipped'));

describe(
  'Thunderbird corpus (MANIFEST.md outcomes, From alice@example.com, now 2026-11-22)',
  { skip: NO_CORPUS },
  () => {
    const rows: [file: string, status: SignatureStatus][] = [];
    for (const sha of ['SHA1', 'SHA256', 'SHA384', 'SHA512']) {
      const good: SignatureStatus = sha === 'SHA1' ? 'weak-algorithm' : 'valid';
      rows.push([`mailnews-test-data-smime/alice.dsig.${sha}.multipart.eml`, good]);
      rows.push([`mailnews-test-data-smime/alice.sig.${sha}.opaque.eml`, good]);
      rows.push([`mailnews-test-data-smime/alice.dsig.${sha}.multipart.bad.eml`, 'invalid-signature']);
      rows.push([`mailnews-test-data-smime/alice.dsig.${sha}.multipart.mismatch-econtent.eml`, 'invalid-signature']);
    }
    rows.push(['mail-test-browser-smime-data/nested-sigs.eml', 'invalid-signature']);
    rows.push(['mailnews-test-data-smime/alice.future.dsig.SHA256.multipart.eml', 'valid']);

    for (const [file, expected] of rows) {
      test(`${file} -> ${expected}`, async () => {
        const { cms, signed } = corpusMessage(file);
        const sig = only(
          await verifySignedData(cms, signed, {
            trustAnchors: TEST_CA,
            now: CORPUS_NOW,
            fromAddresses: ['alice@example.com'],
          }),
        );
        assert.equal(sig.status, expected, explain(sig));
        if (expected === 'valid' || expected === 'weak-algorithm') {
          // "sig OK/chain OK" in the manifest: the cryptography and the chain pass; SHA-1 is a policy verdict on top.
          for (const name of [
            'structure',
            'message-digest',
            'content-type',
            'signature',
            'chain',
            'validity-now',
            'email',
          ] as const)
            assert.equal(check(sig, name).outcome, 'pass', name);
          assert.equal(sig.signer?.emails[0], 'alice@example.com');
          assert.equal(sig.chain.length, 1);
          assert.match(sig.chain[0]!.subject, /NSS Test CA/);
          assert.equal(check(sig, 'revocation').outcome, 'skipped');
          assert.equal(check(sig, 'algorithm').outcome, expected === 'valid' ? 'pass' : 'fail');
        }
      });
    }

    test('opaque signed-data returns its eContent', async () => {
      const { cms } = corpusMessage('mailnews-test-data-smime/alice.sig.SHA256.opaque.eml');
      const r = await verifySignedData(cms, undefined, { trustAnchors: TEST_CA, now: CORPUS_NOW });
      assert.match(Buffer.from(r.content!).toString('latin1'), /This is a test message from Alice to Bob\./);
      assert.equal(r.certificates.length, 1);
    });

    const alice = 'mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml';
    const statusCases: [
      label: string,
      options: Partial<VerifyOptions>,
      status: SignatureStatus,
      failing: CheckName[],
    ][] = [
      ['From someone else', { fromAddresses: ['bob@example.com'] }, 'email-mismatch', ['email']],
      ['no trust anchors', { trustAnchors: [] }, 'untrusted', ['chain']],
      [
        'after the certificate expired (2031-01-26)',
        { now: new Date('2032-01-01T00:00:00Z') },
        'expired',
        ['validity-now'],
      ],
      // The NSS test CA is not valid yet either (2026-01-26): the chain check says so too.
      ['before it was valid', { now: new Date('2025-06-01T00:00:00Z') }, 'not-yet-valid', ['chain', 'validity-now']],
      ['SHA-1 allowed by policy', {}, 'valid', []],
    ];
    for (const [label, options, status, failing] of statusCases) {
      test(`alice SHA-256 multipart: ${label} -> ${status}`, async () => {
        const file = label.startsWith('SHA-1') ? 'mailnews-test-data-smime/alice.dsig.SHA1.multipart.eml' : alice;
        const { cms, signed } = corpusMessage(file);
        const sig = only(
          await verifySignedData(cms, signed, {
            trustAnchors: TEST_CA,
            now: CORPUS_NOW,
            fromAddresses: ['alice@example.com'],
            ...(label.startsWith('SHA-1') ? { policy: { rejectSha1: false } } : {}),
            ...options,
          }),
        );
        assert.equal(sig.status, status, explain(sig));
        assert.deepEqual(
          sig.checks.filter((c) => c.outcome === 'fail').map((c) => c.name),
          failing,
        );
        assert.equal(check(sig, 'signature').outcome, 'pass');
      });
    }

    test('expired now but valid when signed: expired, with validity-at-signing passing', async () => {
      const { cms, signed } = corpusMessage(alice);
      const sig = only(
        await verifySignedData(cms, signed, { trustAnchors: TEST_CA, now: new Date('2032-01-01T00:00:00Z') }),
      );
      assert.equal(sig.status, 'expired');
      assert.equal(check(sig, 'validity-at-signing').outcome, 'pass');
      assert.match(check(sig, 'validity-at-signing').detail!, /not a trusted timestamp/);
      assert.equal(sig.signingTime, '2026-01-26T14:40:10.000Z');
    });

    test('a signed part delivered with bare LF is verified over its canonical CRLF form', async () => {
      const { cms, signed } = corpusMessage(alice);
      const lf = new Uint8Array(Buffer.from(Buffer.from(signed!).toString('latin1').replace(/\r\n/g, '\n'), 'latin1'));
      assert.notEqual(lf.length, signed!.length);
      const sig = only(await verifySignedData(cms, lf, { trustAnchors: TEST_CA, now: CORPUS_NOW }));
      assert.equal(sig.status, 'valid', explain(sig));
      assert.match(check(sig, 'message-digest').detail!, /read as CRLF/);
    });

    // NSS's test suite computed these signatures over the LF form of the part (MANIFEST: "LF-digest artefact"): the
    // canonical CRLF form does not match, and the LF form is never tried, whichever line endings the part arrives in.
    for (const file of [
      'mailnews-test-data-smime/alice.env.dsig.SHA256.multipart.eml',
      'mailnews-test-data-smime/alice.env.dsig.SHA512.multipart.eml',
    ]) {
      test(`${file}: signature over the LF form, not the canonical form -> invalid-signature (CRLF and LF delivery)`, async () => {
        const { cms, signed } = corpusMessage(file);
        const lf = new Uint8Array(
          Buffer.from(Buffer.from(signed!).toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
        );
        for (const bytes of [signed!, lf]) {
          const sig = only(await verifySignedData(cms, bytes, { trustAnchors: TEST_CA, now: CORPUS_NOW }));
          assert.equal(sig.status, 'invalid-signature');
          assert.equal(check(sig, 'message-digest').outcome, 'fail');
        }
      });
    }
  },
);

describe('test PKI (test/fixtures/pki, now 2027-06-01)', () => {
  const server = new PkiServer();
  before(() => server.start());
  after(() => server.stop());

  interface Row {
    message: string;
    from?: string;
    options?: () => Partial<VerifyOptions>;
    status: SignatureStatus | SignatureStatus[];
    checks?: Partial<Record<CheckName, 'pass' | 'fail' | 'unknown' | 'skipped'>>;
    signatureAlgorithm?: string;
    digestAlgorithm?: string;
  }
  const withRevocation = () => ({ revocation: new RevocationChecker(server.fetcher(), { timeoutMs: 3000 }) });
  const rows: Row[] = [
    { message: 'signer-sha256.p7s', status: 'valid', signatureAlgorithm: 'rsa-pkcs1-v1_5', digestAlgorithm: 'sha256' },
    { message: 'signer-sha384.p7s', status: 'valid', digestAlgorithm: 'sha384' },
    { message: 'signer-sha512.p7s', status: 'valid', digestAlgorithm: 'sha512' },
    {
      message: 'signer-sha1.p7s',
      status: 'weak-algorithm',
      checks: { signature: 'pass', algorithm: 'fail' },
      digestAlgorithm: 'sha1',
    },
    { message: 'signer-pss.p7s', status: 'valid', signatureAlgorithm: 'rsa-pss' },
    {
      message: 'signer-noattr.p7s',
      status: 'valid',
      checks: { 'message-digest': 'skipped', 'content-type': 'skipped', 'validity-at-signing': 'skipped' },
    },
    { message: 'signer-keyid.p7s', status: 'valid' },
    { message: 'signer-nocerts.p7s', status: 'untrusted', checks: { signature: 'unknown', 'message-digest': 'pass' } },
    {
      message: 'signer-nocerts.p7s',
      options: () => ({ intermediates: [cert('signer'), INTERMEDIATE] }),
      status: 'valid',
    },
    { message: 'signer-nochain.p7s', status: 'untrusted', checks: { signature: 'pass', chain: 'fail' } },
    { message: 'signer-nochain.p7s', options: () => ({ intermediates: [INTERMEDIATE] }), status: 'valid' },
    {
      message: 'signer-nochain.p7s',
      options: () => ({ fetcher: server.fetcher() }),
      status: 'valid',
      checks: { chain: 'pass' },
    },
    {
      message: 'rsa1024.p7s',
      from: 'weak@pki.test',
      status: 'weak-algorithm',
      checks: { signature: 'pass', algorithm: 'fail' },
    },
    { message: 'ec.p7s', from: 'ec@pki.test', status: 'valid', signatureAlgorithm: 'ecdsa' },
    {
      message: 'expired.p7s',
      from: 'expired@pki.test',
      status: 'expired',
      checks: { 'validity-now': 'fail', 'validity-at-signing': 'fail', signature: 'pass' },
    },
    {
      message: 'future.p7s',
      from: 'future@pki.test',
      status: 'not-yet-valid',
      checks: { 'validity-now': 'fail', 'validity-at-signing': 'fail' },
    },
    { message: 'revoked.p7s', from: 'revoked@pki.test', status: 'valid', checks: { revocation: 'skipped' } },
    {
      message: 'revoked.p7s',
      from: 'revoked@pki.test',
      options: withRevocation,
      status: 'revoked',
      checks: { revocation: 'fail' },
    },
    { message: 'signer-sha256.p7s', options: withRevocation, status: 'valid', checks: { revocation: 'pass' } },
    // The signer names no OCSP responder or CRL (nothing to check); its intermediate is checked on the root's CRL.
    {
      message: 'norev.p7s',
      from: 'norev@pki.test',
      options: withRevocation,
      status: 'valid',
      checks: { revocation: 'pass' },
    },
    { message: 'signer-nochain.p7s', options: withRevocation, status: 'untrusted', checks: { revocation: 'skipped' } },
    {
      message: 'noeku.p7s',
      from: 'noeku@pki.test',
      status: 'untrusted',
      checks: { 'extended-key-usage': 'fail', chain: 'pass' },
    },
    {
      message: 'encrypt-only.p7s',
      from: 'encrypt@pki.test',
      status: 'untrusted',
      checks: { 'key-usage': 'fail', chain: 'pass' },
    },
    { message: 'other.p7s', status: 'email-mismatch', checks: { email: 'fail' } },
    { message: 'other.p7s', from: 'other@pki.test', status: 'valid' },
    { message: 'signer-sha256.p7s', options: () => ({ trustAnchors: [INTERMEDIATE] }), status: 'valid' },
    { message: 'signer-sha256.p7s', options: () => ({ trustAnchors: [cert('rogue-responder')] }), status: 'untrusted' },
    { message: 'two-signers.p7s', from: 'weak@pki.test', status: ['valid', 'weak-algorithm'] },
  ];

  for (const row of rows) {
    const statuses = Array.isArray(row.status) ? row.status : [row.status];
    test(`${row.message}${row.options ? ` ${row.options.toString().replace(/\s+/g, ' ').slice(6, 70)}` : ''} -> ${statuses.join(', ')}`, async () => {
      const r = await verifySignedData(message(row.message), CONTENT, {
        trustAnchors: [ROOT],
        now: PKI_NOW,
        fromAddresses: [...new Set(['signer@pki.test', row.from ?? 'signer@pki.test'])],
        ...row.options?.(),
      });
      // SignerInfos are a SET: their order carries no meaning.
      assert.deepEqual(
        r.signatures.map((s) => s.status).sort(),
        [...statuses].sort(),
        r.signatures.map(explain).join('\n'),
      );
      const sig = r.signatures[0]!;
      for (const [name, outcome] of Object.entries(row.checks ?? {}))
        assert.equal(
          check(sig, name as CheckName).outcome,
          outcome,
          `${name}: ${check(sig, name as CheckName).detail}`,
        );
      if (row.signatureAlgorithm) assert.equal(sig.signatureAlgorithm, row.signatureAlgorithm);
      if (row.digestAlgorithm) assert.equal(sig.digestAlgorithm, row.digestAlgorithm);
      // Whatever the status, nothing that failed or could not be checked leaves a 'valid' behind.
      if (sig.status === 'valid')
        assert.ok(
          sig.checks.every((c) => c.outcome === 'pass' || c.outcome === 'skipped'),
          explain(sig),
        );
    });
  }

  test('a valid signature reports the signer, the chain to the anchor and the certificates to harvest', async () => {
    const sig = only(
      await verifySignedData(message('signer-sha256.p7s'), CONTENT, { trustAnchors: [ROOT], now: PKI_NOW }),
    );
    assert.equal(sig.status, 'valid');
    assert.deepEqual(sig.signer?.emails, ['signer@pki.test']);
    assert.equal(sig.signer?.keyAlgorithm, 'RSA');
    assert.equal(sig.signer?.keySize, 2048);
    assert.deepEqual(sig.signerCertificate, cert('signer'));
    assert.deepEqual(
      sig.chain.map((c) => /CN=([^,]+)/.exec(c.subject)?.[1]),
      ['intermediate', 'PKI Test Root CA'],
    );
    assert.deepEqual(sig.chainCertificates, [INTERMEDIATE, ROOT]);
    assert.ok(sig.signingTime && !Number.isNaN(Date.parse(sig.signingTime)));
    assert.ok(sig.capabilities?.includes('aes-256-cbc'), `capabilities ${sig.capabilities}`);
    assert.equal(check(sig, 'email').outcome, 'skipped', 'no From given');
  });

  test('AIA: the missing intermediate is fetched from the caIssuers URL, only for a signature that verifies', async () => {
    const fetcher = server.fetcher();
    const ok = only(
      await verifySignedData(message('signer-nochain.p7s'), CONTENT, { trustAnchors: [ROOT], now: PKI_NOW, fetcher }),
    );
    assert.equal(ok.status, 'valid');
    assert.deepEqual(fetcher.requests, ['http://127.0.0.1:38471/ca/intermediate.der']);
    const tampered = new Uint8Array(CONTENT);
    tampered[tampered.length - 4] ^= 1;
    const bad = only(
      await verifySignedData(message('signer-nochain.p7s'), tampered, { trustAnchors: [ROOT], now: PKI_NOW, fetcher }),
    );
    assert.equal(bad.status, 'invalid-signature');
    assert.equal(fetcher.requests.length, 1, 'no fetch for a signature that does not verify');
  });

  test('opaque signed-data, DER and BER (openssl -stream: indefinite lengths, chunked eContent)', async () => {
    for (const name of ['signer-opaque.p7m', 'signer-stream-opaque.p7m']) {
      const r = await verifySignedData(message(name), undefined, { trustAnchors: [ROOT], now: PKI_NOW });
      assert.equal(only(r).status, 'valid', explain(only(r)));
      assert.deepEqual(r.content, CONTENT);
    }
  });

  test('expired now but valid at signing (signer certificate ends 2035): expired, validity-at-signing passes', async () => {
    const sig = only(
      await verifySignedData(message('signer-sha256.p7s'), CONTENT, {
        trustAnchors: [ROOT],
        now: new Date('2036-01-01T00:00:00Z'),
      }),
    );
    assert.equal(sig.status, 'expired');
    assert.equal(check(sig, 'validity-now').outcome, 'fail');
    assert.equal(check(sig, 'validity-at-signing').outcome, 'pass');
  });

  test('revocation: a responder that never answers gives revocation-unknown, never valid', async () => {
    server.routes.set('/ocsp/signer', () => {
      /* never answers */
    });
    server.routes.set('/crl/intermediate.crl', () => {
      /* never answers */
    });
    try {
      const revocation = new RevocationChecker(server.fetcher({ timeoutMs: 300 }), { timeoutMs: 1000 });
      const sig = only(
        await verifySignedData(message('signer-sha256.p7s'), CONTENT, {
          trustAnchors: [ROOT],
          now: PKI_NOW,
          revocation,
        }),
      );
      assert.equal(sig.status, 'revocation-unknown');
      assert.equal(check(sig, 'revocation').outcome, 'unknown');
      assert.match(check(sig, 'revocation').detail!, /signer: .*FETCH_TIMEOUT/);
    } finally {
      server.routes.clear();
    }
  });

  test('Ed25519 (RFC 8419), built by hand since OpenSSL 3.0 cannot sign CMS with it', async () => {
    const cms = buildSignedData({
      content: CONTENT,
      detached: true,
      signers: [
        {
          cert: cert('ed25519'),
          key: key('ed25519'),
          scheme: 'ed25519',
          digest: 'sha512',
          signingTime: new Date('2027-01-01T00:00:00Z'),
        },
      ],
      certificates: [cert('ed25519'), INTERMEDIATE],
    });
    const sig = only(
      await verifySignedData(cms, CONTENT, { trustAnchors: [ROOT], now: PKI_NOW, fromAddresses: ['ed@pki.test'] }),
    );
    assert.equal(sig.status, 'valid', explain(sig));
    assert.equal(sig.signatureAlgorithm, 'ed25519');
    assert.equal(sig.signer?.keyAlgorithm, 'Ed25519');
  });
});
