/**
 * Revocation checking (revocation.ts): OCSP then CRL against the test PKI's loopback server, with fixed OCSP answers
 * and CRLs made by make.sh, and a live `openssl ocsp -port` responder. Every way an answer can be unusable must end
 * 'unknown' with a detail, never 'good'.
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { parseOcspResponse } from '../../backend/src/smime/x509/ocsp-crl.ts';
import { RevocationChecker, type RevocationResult } from '../../backend/src/smime/x509/revocation.ts';
import {
  INTERMEDIATE,
  PKI_DIR,
  PKI_NOW,
  PkiServer,
  ROOT,
  cert,
  file,
  serveFile,
  type Handler,
} from '../fixtures/pki/pki.ts';

const server = new PkiServer();
before(() => server.start());
after(() => server.stop());
afterEach(() => server.routes.clear());

const never: Handler = () => {
  /* keeps the connection open, answers nothing */
};
const status =
  (code: number): Handler =>
  (_req, res) =>
    res.writeHead(code).end();
const body =
  (bytes: Uint8Array | Buffer): Handler =>
  (_req, res) =>
    res.writeHead(200, { 'content-length': bytes.length }).end(bytes);

function checker(options: ConstructorParameters<typeof RevocationChecker>[1] = {}, fetchTimeoutMs = 1000) {
  const fetcher = server.fetcher({ timeoutMs: fetchTimeoutMs });
  return { fetcher, checker: new RevocationChecker(fetcher, { timeoutMs: 5000, ...options }) };
}

async function checkLeaf(
  leaf: string,
  routes: Record<string, Handler> = {},
  at = PKI_NOW,
): Promise<RevocationResult & { requests: string[] }> {
  for (const [path, handler] of Object.entries(routes)) server.routes.set(path, handler);
  const { fetcher, checker: c } = checker();
  const r = await c.check(cert(leaf), INTERMEDIATE, at);
  return { ...r, requests: fetcher.requests.map((u) => new URL(u).pathname) };
}

interface Row {
  label: string;
  leaf: string;
  routes?: Record<string, Handler>;
  at?: Date;
  status: RevocationResult['status'];
  source: RevocationResult['source'];
  detail: RegExp;
  requests?: string[];
}

const OCSP_SIGNER = '/ocsp/signer';
const CRL = '/crl/intermediate.crl';

const rows: Row[] = [
  {
    label: 'OCSP good (delegated responder)',
    leaf: 'signer',
    status: 'good',
    source: 'ocsp',
    detail: /OCSP: good/,
    requests: [OCSP_SIGNER],
  },
  {
    label: 'OCSP revoked (signed by the issuer itself)',
    leaf: 'revoked',
    status: 'revoked',
    source: 'ocsp',
    detail: /revoked on .*keyCompromise/,
    requests: ['/ocsp/revoked'],
  },
  {
    label: 'OCSP "unknown certificate" falls back to the CRL',
    leaf: 'ec',
    routes: { '/ocsp/ec': serveFile('ocsp/ec-unknown.der') },
    status: 'good',
    source: 'crl',
    detail: /CRL: not listed/,
    requests: ['/ocsp/ec', CRL],
  },
  {
    label: 'OCSP unreachable, CRL says revoked',
    leaf: 'revoked',
    routes: { '/ocsp/revoked': status(503) },
    status: 'revoked',
    source: 'crl',
    detail: /CRL: revoked on .*keyCompromise/,
  },
  {
    label: 'OCSP times out, CRL answers',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: never },
    status: 'good',
    source: 'crl',
    detail: /not listed/,
  },
  {
    label: 'OCSP and CRL both time out',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: never, [CRL]: never },
    status: 'unknown',
    source: 'ocsp',
    detail: /OCSP .*FETCH_TIMEOUT.*CRL .*FETCH_TIMEOUT/,
  },
  {
    label: 'oversize OCSP answer (over 1 MiB), CRL 404',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: body(Buffer.alloc(1024 * 1024 + 1)), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /FETCH_TOO_LARGE.*CRL .*FETCH_HTTP_ERROR/,
  },
  {
    label: 'OCSP signed by a responder the issuer did not authorise',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: serveFile('ocsp/signer-unauthorised.der'), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /did not authorise/,
  },
  {
    label: 'OCSP responder certificate without id-kp-OCSPSigning',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: serveFile('ocsp/signer-responder-noeku.der'), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /lacks id-kp-OCSPSigning/,
  },
  {
    label: 'OCSP answer about another certificate',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: serveFile('ocsp/signer-for-other.der'), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /not about this certificate/,
  },
  {
    label: 'OCSP answer replayed with another nonce',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: serveFile('ocsp/signer-with-nonce.der'), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /another nonce/,
  },
  {
    label: 'OCSP answer with a flipped signature byte',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: body(flipOcspSignature(file('ocsp/signer.der'))), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /response signature does not verify/,
  },
  {
    label: 'OCSP garbage',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: body(Buffer.from('<html>hello</html>')), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /malformed answer/,
  },
  {
    label: 'OCSP tryLater',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: body(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03])), [CRL]: status(404) },
    status: 'unknown',
    source: 'ocsp',
    detail: /tryLater/,
  },
  {
    label: 'after nextUpdate of every answer (2037): stale',
    leaf: 'signer',
    at: new Date('2037-01-01T00:00:00Z'),
    status: 'unknown',
    source: 'ocsp',
    detail: /OCSP.*(stale|responder certificate is not valid).*CRL.*stale/,
  },
  {
    label: 'before thisUpdate: an answer from the future',
    leaf: 'signer',
    at: new Date('2026-01-01T00:00:00Z'),
    status: 'unknown',
    source: 'ocsp',
    detail: /in the future/,
  },
  {
    label: 'CRL of another CA at the distribution point',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: status(404), [CRL]: serveFile('crl/root.crl') },
    status: 'unknown',
    source: 'ocsp',
    detail: /CRL is issued by someone else/,
  },
  {
    label: 'CRL with a flipped signature byte',
    leaf: 'signer',
    routes: { [OCSP_SIGNER]: status(404), [CRL]: body(flipLast(file('crl/intermediate.crl'))) },
    status: 'unknown',
    source: 'ocsp',
    detail: /CRL signature does not verify/,
  },
  {
    label: 'no OCSP URL and no CRL distribution point',
    leaf: 'norev',
    status: 'unknown',
    source: 'none',
    detail: /^no revocation information$/,
    requests: [],
  },
];

function flipOcspSignature(b: Uint8Array): Uint8Array {
  const signature = parseOcspResponse(b).signature;
  const out = new Uint8Array(b);
  out[signature.byteOffset - b.byteOffset + 10] ^= 0x01;
  return out;
}

function flipLast(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b);
  out[out.length - 5] ^= 0x01;
  return out;
}

describe('RevocationChecker outcomes', () => {
  for (const row of rows) {
    test(`${row.label} -> ${row.status} (${row.source})`, async () => {
      const r = await checkLeaf(row.leaf, row.routes, row.at);
      assert.equal(r.status, row.status, r.detail);
      assert.equal(r.source, row.source, r.detail);
      assert.match(r.detail, row.detail);
      if (row.requests) assert.deepEqual(r.requests, row.requests);
      if (r.status === 'revoked') assert.ok(r.revokedAt && r.reason === 'keyCompromise');
    });
  }

  test('an intermediate is checked on the root CRL', async () => {
    const { checker: c } = checker();
    const r = await c.check(INTERMEDIATE, ROOT, PKI_NOW);
    assert.equal(r.status, 'good');
    assert.equal(r.source, 'crl');
  });

  test('an issuer that did not issue the certificate is refused before any fetch', async () => {
    const { fetcher, checker: c } = checker();
    const r = await c.check(cert('signer'), ROOT, PKI_NOW);
    assert.equal(r.status, 'unknown');
    assert.deepEqual(fetcher.requests, []);
  });

  test('the overall timeout bounds a check even when the fetcher would wait longer', async () => {
    server.routes.set(OCSP_SIGNER, never);
    server.routes.set(CRL, never);
    const { checker: c } = checker({ timeoutMs: 300 }, 10_000);
    const started = performance.now();
    const r = await c.check(cert('signer'), INTERMEDIATE, PKI_NOW);
    assert.equal(r.status, 'unknown');
    assert.match(r.detail, /no answer within 300 ms/);
    assert.ok(performance.now() - started < 2000);
  });
});

describe('caching', () => {
  test('a good answer is reused; with cacheTtlS 0 nothing is kept', async () => {
    const cached = checker();
    await cached.checker.check(cert('signer'), INTERMEDIATE, PKI_NOW);
    await cached.checker.check(cert('signer'), INTERMEDIATE, PKI_NOW);
    assert.equal(cached.fetcher.requests.length, 1);
    const uncached = checker({ cacheTtlS: 0 });
    await uncached.checker.check(cert('signer'), INTERMEDIATE, PKI_NOW);
    await uncached.checker.check(cert('signer'), INTERMEDIATE, PKI_NOW);
    assert.equal(uncached.fetcher.requests.length, 2);
  });

  test('a cached answer is not used for an instant outside its validity window', async () => {
    const { fetcher, checker: c } = checker();
    assert.equal((await c.check(cert('signer'), INTERMEDIATE, PKI_NOW)).status, 'good');
    assert.equal((await c.check(cert('signer'), INTERMEDIATE, new Date('2037-01-01T00:00:00Z'))).status, 'unknown');
    assert.ok(fetcher.requests.length >= 2);
  });

  test('concurrent checks of one certificate share one fetch', async () => {
    const { fetcher, checker: c } = checker();
    const results = await Promise.all(Array.from({ length: 5 }, () => c.check(cert('signer'), INTERMEDIATE, PKI_NOW)));
    assert.ok(results.every((r) => r.status === 'good'));
    assert.equal(fetcher.requests.length, 1);
  });

  test('a failure is cached briefly (so a dead responder is not asked for every message), never as good', async () => {
    server.routes.set(OCSP_SIGNER, status(500));
    server.routes.set(CRL, status(500));
    const { fetcher, checker: c } = checker();
    assert.equal((await c.check(cert('signer'), INTERMEDIATE, PKI_NOW)).status, 'unknown');
    server.routes.clear();
    assert.equal((await c.check(cert('signer'), INTERMEDIATE, PKI_NOW)).status, 'unknown');
    assert.equal(fetcher.requests.length, 2, 'OCSP and CRL once each');
  });

  test('unknown options are refused', () => {
    assert.throws(() => new RevocationChecker(server.fetcher(), { cacheTTL: 1 } as never), TypeError);
  });
});

describe('the OCSP request on the wire', () => {
  test('POST application/ocsp-request: SHA-1 CertID of the certificate, a nonce; OpenSSL reads it', async () => {
    let captured: { type: string | undefined; body: Buffer } | undefined;
    server.routes.set(OCSP_SIGNER, (req, res, b) => {
      captured = { type: req.headers['content-type'], body: b };
      serveFile('ocsp/signer.der')(req, res, b);
    });
    const { checker: c } = checker();
    await c.check(cert('signer'), INTERMEDIATE, PKI_NOW);
    assert.equal(captured?.type, 'application/ocsp-request');
    const dir = mkdtempSync(join(tmpdir(), 'ocsp-req-'));
    try {
      writeFileSync(join(dir, 'req.der'), captured!.body);
      const text = execFileSync('openssl', ['ocsp', '-reqin', join(dir, 'req.der'), '-req_text'], { encoding: 'utf8' });
      assert.match(text, /Hash Algorithm: sha1/);
      assert.match(text, /Serial Number: 1000/);
      assert.match(text, /OCSP Nonce/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('live responder: openssl ocsp -port', () => {
  let responder: ChildProcess | undefined;
  let port = 0;
  before(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const pki = PKI_DIR.pathname;
    responder = spawn(
      'openssl',
      [
        'ocsp',
        '-port',
        String(port),
        '-index',
        `${pki}ocsp/intermediate-index.txt`,
        '-rsigner',
        `${pki}certs/responder.pem`,
        '-rkey',
        `${pki}keys/responder.key`,
        '-CA',
        `${pki}certs/intermediate.pem`,
        '-ndays',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Ready when it says so. (Probing with a connection would not do: OpenSSL's single-threaded responder mishandles
    // an empty connection and then resets the next one.)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('openssl ocsp did not start')), 5000);
      responder!.stderr!.on('data', (d: Buffer) => {
        if (String(d).includes('waiting for OCSP client connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      responder!.stdout!.resume();
    });
  });
  after(() => {
    if (responder && responder.exitCode === null) responder.kill();
  });

  test('a fresh answer that echoes our nonce: good and revoked, at the real current time', async () => {
    for (const [leaf, expected] of [
      ['signer', 'good'],
      ['revoked', 'revoked'],
    ] as const) {
      server.routes.set(`/ocsp/${leaf}`, (_req, res, b) => {
        const forward = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/',
            agent: false,
            headers: { 'content-type': 'application/ocsp-request', 'content-length': b.length },
          },
          (up) => {
            const chunks: Buffer[] = [];
            up.on('data', (c: Buffer) => chunks.push(c));
            up.on('end', () => res.writeHead(200).end(Buffer.concat(chunks)));
          },
        );
        forward.on('error', () => res.writeHead(502).end());
        forward.end(b);
      });
      const { checker: c } = checker({}, 3000);
      const r = await c.check(cert(leaf), INTERMEDIATE, new Date());
      assert.equal(r.status, expected, r.detail);
      assert.equal(r.source, 'ocsp', r.detail);
    }
  });
});
