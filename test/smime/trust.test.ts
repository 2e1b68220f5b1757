/**
 * Trust anchors and path building (trust.ts, RFC 5280 section 6): a table of leaves, pools and anchors from the test
 * PKI (test/fixtures/pki, "chain cases" in make.sh) with the path and the problems each must give.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { certificateToPem } from '../../backend/src/smime/x509/pem.ts';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { buildChain, type ChainProblemCode, type ChainResult } from '../../backend/src/smime/x509/chain.ts';
import { ChainCache } from '../../backend/src/smime/x509/chain-cache.ts';
import { loadTrustAnchors } from '../../backend/src/smime/x509/pem.ts';
import { parsedCertificate } from '../../backend/src/smime/x509/certificate.ts';
import { INTERMEDIATE, PKI_DIR, PKI_NOW, PkiServer, ROOT, cert } from '../fixtures/pki/pki.ts';

function describeCN(der: Uint8Array): string {
  // The chain is reported as DER; compare by identity with the fixture certificates instead of parsing names here.
  for (const name of [
    'root',
    'intermediate',
    'intermediate-cross',
    'other-root',
    'sub-ca',
    'ku-ca',
    'nc-ca',
    'signer',
    'lookalike-intermediate',
  ]) {
    if (Buffer.from(cert(name)).equals(Buffer.from(der))) return name;
  }
  return '?';
}

describe('loadTrustAnchors', () => {
  test('reads a PEM bundle, ignores text around the blocks, drops duplicates', () => {
    const bundle = `# trust store\n${certificateToPem(ROOT)}subject=whatever\n${certificateToPem(INTERMEDIATE)}${certificateToPem(ROOT)}`;
    const anchors = loadTrustAnchors(bundle);
    assert.deepEqual(anchors, [ROOT, INTERMEDIATE]);
  });

  test('a damaged block is a configuration error (CERT_MALFORMED)', () => {
    const pem = readFileSync(new URL('certs/root.pem', PKI_DIR), 'utf8').replace(/[A-Za-z]{8}\n/, 'AAAAAAAA\n');
    assert.throws(
      () => loadTrustAnchors(pem.replace('MII', 'MIX')),
      (e) => isSmimeError(e, 'CERT_MALFORMED'),
    );
  });
});

interface Row {
  label: string;
  leaf: string;
  pool: string[];
  anchors: string[];
  now?: Date;
  chain: string[];
  anchored: boolean;
  problems: [code: ChainProblemCode, index: number][];
}

const rows: Row[] = [
  {
    label: 'leaf, intermediate, root',
    leaf: 'signer',
    pool: ['intermediate'],
    anchors: ['root'],
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [],
  },
  {
    label: 'the intermediate as anchor',
    leaf: 'signer',
    pool: [],
    anchors: ['intermediate'],
    chain: ['intermediate'],
    anchored: true,
    problems: [],
  },
  {
    label: 'the leaf itself as anchor',
    leaf: 'signer',
    pool: [],
    anchors: ['signer'],
    chain: [],
    anchored: true,
    problems: [],
  },
  {
    label: 'missing intermediate',
    leaf: 'signer',
    pool: [],
    anchors: ['root'],
    chain: [],
    anchored: false,
    problems: [['issuer-not-found', 0]],
  },
  {
    label: 'root in the pool but not trusted',
    leaf: 'signer',
    pool: ['intermediate', 'root'],
    anchors: [],
    chain: ['intermediate', 'root'],
    anchored: false,
    problems: [['issuer-not-found', 2]],
  },
  {
    label: 'look-alike issuer first in the pool (same name, other key)',
    leaf: 'signer',
    pool: ['lookalike-intermediate', 'intermediate'],
    anchors: ['root'],
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [],
  },
  {
    label: 'only the look-alike issuer',
    leaf: 'signer',
    pool: ['lookalike-intermediate'],
    anchors: ['root'],
    chain: [],
    anchored: false,
    problems: [['bad-signature', 0]],
  },
  {
    label: 'cross-certificate to an untrusted root first: backtracks',
    leaf: 'signer',
    pool: ['intermediate-cross', 'other-root', 'intermediate'],
    anchors: ['root'],
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [],
  },
  {
    label: 'only the cross-certificate path',
    leaf: 'signer',
    pool: ['intermediate-cross'],
    anchors: ['other-root'],
    chain: ['intermediate-cross', 'other-root'],
    anchored: true,
    problems: [],
  },
  {
    label: 'issued by an end-entity certificate',
    leaf: 'issued-by-leaf',
    pool: ['signer', 'intermediate'],
    anchors: ['root'],
    chain: ['signer', 'intermediate', 'root'],
    anchored: true,
    problems: [
      ['not-a-ca', 1],
      ['key-usage', 1],
      ['path-length', 2],
    ],
  },
  {
    label: 'pathLenConstraint 0 exceeded',
    leaf: 'too-deep',
    pool: ['sub-ca', 'intermediate'],
    anchors: ['root'],
    chain: ['sub-ca', 'intermediate', 'root'],
    anchored: true,
    problems: [['path-length', 2]],
  },
  {
    label: 'CA without keyCertSign',
    leaf: 'ku-leaf',
    pool: ['ku-ca'],
    anchors: ['root'],
    chain: ['ku-ca', 'root'],
    anchored: true,
    problems: [['key-usage', 1]],
  },
  // nc-ca permits rfc822Name ".pki.test" (hosts inside pki.test); ncleaf@pki.test is at pki.test itself, outside it
  // (OpenSSL agrees: "permitted subtree violation"). Issue 12: name constraints are enforced, no longer just refused.
  {
    label: 'nameConstraints of an intermediate: the leaf address is outside',
    leaf: 'nc-leaf',
    pool: ['nc-ca'],
    anchors: ['root'],
    chain: ['nc-ca', 'root'],
    anchored: true,
    problems: [['name-constraints', 0]],
  },
  {
    label: 'unknown critical extension in the leaf',
    leaf: 'critical-leaf',
    pool: ['intermediate'],
    anchors: ['root'],
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [['critical-extension', 0]],
  },
  {
    label: 'expired leaf',
    leaf: 'expired',
    pool: ['intermediate'],
    anchors: ['root'],
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [['expired', 0]],
  },
  {
    label: 'in 2041 the intermediate has expired too',
    leaf: 'signer',
    pool: ['intermediate'],
    anchors: ['root'],
    now: new Date('2041-01-01T00:00:00Z'),
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [
      ['expired', 0],
      ['expired', 1],
    ],
  },
  {
    label: 'before the root existed',
    leaf: 'expired',
    pool: ['intermediate'],
    anchors: ['root'],
    now: new Date('2019-06-01T00:00:00Z'),
    chain: ['intermediate', 'root'],
    anchored: true,
    problems: [
      ['not-yet-valid', 0],
      ['not-yet-valid', 1],
      ['not-yet-valid', 2],
    ],
  },
];

describe('buildChain', () => {
  for (const row of rows) {
    test(row.label, async () => {
      const r = await buildChain(cert(row.leaf), row.pool.map(cert), row.anchors.map(cert), {
        now: row.now ?? PKI_NOW,
      });
      assert.deepEqual(r.chain.map(describeCN), row.chain);
      assert.equal(r.anchor !== undefined, row.anchored);
      if (r.anchor)
        assert.deepEqual(r.anchor, row.chain.length ? cert(row.chain[row.chain.length - 1]!) : cert(row.leaf));
      assert.deepEqual(
        r.problems.map((p) => [p.code, p.index]),
        row.problems,
        JSON.stringify(r.problems),
      );
      for (const p of r.problems) assert.ok(p.subject && p.detail);
    });
  }

  test('input that is not a certificate gives a problem, not an exception', async () => {
    const r = await buildChain(new Uint8Array([0x30, 0x03, 1, 2, 3]), [new Uint8Array([1])], [ROOT]);
    assert.equal(r.anchor, undefined);
    assert.equal(r.problems.length, 1);
  });

  test('a pool of look-alikes cannot make the search run away', async () => {
    const pool: Uint8Array[] = Array.from({ length: 200 }, () => cert('lookalike-intermediate').slice());
    pool.push(INTERMEDIATE);
    const started = performance.now();
    const r = await buildChain(cert('signer'), pool, [ROOT], { now: PKI_NOW });
    assert.ok(performance.now() - started < 2000);
    // Identical look-alikes are one candidate; the real intermediate is still found.
    assert.equal(r.problems.length, 0);
  });
});

/** What two results say, in the table's terms. */
const said = (r: ChainResult) => ({
  chain: r.chain.map(describeCN),
  anchored: r.anchor !== undefined,
  problems: r.problems.map((p) => [p.code, p.index]),
});

describe('ChainCache (a directory sync: many leaves, few issuers)', () => {
  for (const row of rows) {
    test(`${row.label}: cold, as buildChain; warm, as buildChain with the intermediate it checked`, async () => {
      const now = row.now ?? PKI_NOW;
      const anchors = row.anchors.map(cert);
      const cold = await new ChainCache(anchors, { now }).build(cert(row.leaf), row.pool.map(cert));
      assert.deepEqual(said(cold), said(await buildChain(cert(row.leaf), row.pool.map(cert), anchors, { now })));
      // Warmed by another leaf of the intermediate (a fresh copy of the bytes, as LDAP hands over), the cache knows the
      // intermediate's path: the answer is buildChain's with that intermediate in the pool, never a weaker check.
      const warm = new ChainCache(anchors, { now });
      await warm.build(cert('signer').slice(), [INTERMEDIATE]);
      assert.deepEqual(
        said(await warm.build(cert(row.leaf), row.pool.map(cert))),
        said(await buildChain(cert(row.leaf), [...row.pool.map(cert), INTERMEDIATE], anchors, { now })),
      );
    });
  }

  test('knownPath: only for an issuer whose path was checked without a problem at the cache instant', async () => {
    const intermediate = parsedCertificate(INTERMEDIATE)!.fingerprint;
    const cache = new ChainCache([ROOT], { now: PKI_NOW });
    assert.equal(cache.knownPath(intermediate), undefined, 'nothing checked yet');
    await cache.build(cert('signer'), [INTERMEDIATE]);
    const known = cache.knownPath(intermediate)!;
    assert.deepEqual(said(known), { chain: ['intermediate', 'root'], anchored: true, problems: [] });
    assert.equal(cache.knownPath(parsedCertificate(ROOT)!.fingerprint), undefined);
    // In 2041 the intermediate has expired: its path is never reused.
    const later = new ChainCache([ROOT], { now: new Date('2041-01-01T00:00:00Z') });
    await later.build(cert('signer'), [INTERMEDIATE]);
    assert.equal(later.knownPath(intermediate), undefined);
    // Another anchor set: no path, nothing to reuse.
    const elsewhere = new ChainCache([cert('other-root')], { now: PKI_NOW });
    await elsewhere.build(cert('signer'), [INTERMEDIATE]);
    assert.equal(elsewhere.knownPath(intermediate), undefined);
  });

  test('a leaf naming the cached issuer whose signature that issuer does not verify is built in full, and refused', async () => {
    const cache = new ChainCache([ROOT], { now: PKI_NOW });
    await cache.build(cert('signer'), [INTERMEDIATE]);
    // The signer's certificate with one byte of its signature changed: same issuer name and key identifier.
    const forged = cert('signer').slice();
    forged[forged.length - 3] ^= 0x01;
    const r = await cache.build(forged, [INTERMEDIATE]);
    assert.equal(r.anchor, undefined);
    assert.deepEqual(said(r), said(await buildChain(forged, [INTERMEDIATE], [ROOT], { now: PKI_NOW })));
    assert.deepEqual(
      r.problems.map((p) => p.code),
      ['bad-signature'],
    );
  });

  test('builds started at once on a cold cache (a sync judges a page at once, issue 16) answer each as buildChain', async () => {
    const forged = cert('signer').slice();
    forged[forged.length - 3] ^= 0x01;
    // Genuine and forged leaves of one issuer, interleaved: the first build checks the path while the others wait, then
    // each is one signature verification on the verification thread, and the forged ones still fail.
    const leaves = Array.from({ length: 40 }, (_, i) => (i % 3 === 2 ? forged : cert('signer').slice()));
    const cache = new ChainCache([ROOT], { now: PKI_NOW });
    const answers = await Promise.all(leaves.map((leaf) => cache.build(leaf, [INTERMEDIATE])));
    for (const [i, r] of answers.entries())
      assert.deepEqual(
        said(r),
        said(await buildChain(leaves[i]!, [INTERMEDIATE], [ROOT], { now: PKI_NOW })),
        `leaf ${i}`,
      );
    assert.equal(answers.filter((r) => r.anchor !== undefined).length, 27);
  });
});

describe('buildChain with AIA (caIssuers over the loopback PKI server)', () => {
  const server = new PkiServer();
  before(() => server.start());
  after(() => server.stop());

  test('the missing intermediate is downloaded from the leaf caIssuers URL and reported as fetched', async () => {
    const fetcher = server.fetcher();
    const r = await buildChain(cert('signer'), [], [ROOT], { now: PKI_NOW, fetcher });
    assert.deepEqual(r.chain.map(describeCN), ['intermediate', 'root']);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.fetched, [INTERMEDIATE]);
    assert.deepEqual(fetcher.requests, ['http://127.0.0.1:38471/ca/intermediate.der']);
  });

  test('two levels missing: the root is fetched from the intermediate AIA but only anchors are trusted', async () => {
    const fetcher = server.fetcher();
    const r = await buildChain(cert('signer'), [], [], { now: PKI_NOW, fetcher });
    assert.equal(r.anchor, undefined);
    assert.deepEqual(fetcher.requests, [
      'http://127.0.0.1:38471/ca/intermediate.der',
      'http://127.0.0.1:38471/ca/root.der',
    ]);
    assert.deepEqual(
      r.problems.map((p) => p.code),
      ['issuer-not-found'],
    );
  });

  test('certs-only PKCS#7 and PEM answers are read too', async () => {
    for (const [type, body] of [
      ['pem', Buffer.from(certificateToPem(INTERMEDIATE))],
      ['p7c', readFileSync(new URL('messages/signer-sha256.p7s', PKI_DIR))],
    ] as const) {
      server.routes.set('/ca/intermediate.der', (_req, res) => res.writeHead(200).end(body));
      try {
        const r = await buildChain(cert('signer'), [], [ROOT], { now: PKI_NOW, fetcher: server.fetcher() });
        assert.deepEqual(r.problems, [], type);
      } finally {
        server.routes.clear();
      }
    }
  });

  test('an unreachable or useless AIA URL leaves the chain incomplete (no exception); maxFetches 0 fetches nothing', async () => {
    server.routes.set('/ca/intermediate.der', (_req, res) => res.writeHead(404).end());
    try {
      const fetcher = server.fetcher();
      const r = await buildChain(cert('signer'), [], [ROOT], { now: PKI_NOW, fetcher });
      assert.deepEqual(
        r.problems.map((p) => p.code),
        ['issuer-not-found'],
      );
      assert.equal(fetcher.requests.length, 1);
    } finally {
      server.routes.clear();
    }
    const quiet = server.fetcher();
    await buildChain(cert('signer'), [], [ROOT], { now: PKI_NOW, fetcher: quiet, maxFetches: 0 });
    assert.deepEqual(quiet.requests, []);
  });
});
