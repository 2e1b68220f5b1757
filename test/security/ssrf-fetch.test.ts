/**
 * Attack: server-side request forgery through certificate URLs. Whoever sends a signed message chooses the AIA
 * caIssuers, OCSP and CRL URLs of the certificates in it, so they can make the server fetch from loopback, the private
 * network, cloud metadata (169.254.169.254, fd00:ec2::254), IPv6 unique-local or link-local space, or the same
 * addresses in disguise (IPv4-mapped IPv6, NAT64, 6to4, decimal and hex IPv4), directly, through a DNS name, or
 * through a redirect from a public server; and they can answer with huge or endless bodies to exhaust memory or time.
 *
 * Defence (backend/src/net/fetcher.ts): http(s) only, no credentials; the host is resolved and EVERY address
 * checked against the RFC 6890 special-purpose ranges before any connection; the socket is handed the checked
 * address (no second DNS answer, no rebinding); one redirect at most, to a target checked the same way; a size limit
 * per purpose enforced while reading; one timeout over resolution, connection and body.
 *
 * What the test proves: a socket guard installed for the whole file records every address a socket is handed and
 * refuses anything but loopback and one stand-in public address (routed to a loopback server, since this machine has
 * no network), so the test itself can never send a packet elsewhere. Every refused fetch is refused with
 * FETCH_REFUSED_ADDRESS and NO connection attempt; redirects from the "public" server to private targets are refused
 * after exactly one connection; oversize and endless answers end with FETCH_TOO_LARGE / FETCH_TIMEOUT. End to end,
 * verifying the test PKI's messages (whose URLs name 127.0.0.1) in the engine and through POST /messages/incoming
 * with the production fetcher makes no connection and reports revocation-unknown / untrusted, never valid.
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { rejectsWith } from '../helpers/assert.ts';
import type { SmimeErrorCode } from '../../backend/src/smime/errors.ts';
import { isNonPublicAddress, MAX_AIA_BYTES, MAX_CRL_BYTES, SafeFetcher } from '../../backend/src/net/fetcher.ts';
import { RevocationChecker } from '../../backend/src/smime/x509/revocation.ts';
import type { SignatureEvidence } from '../../backend/src/smime/types.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { CONTENT, PKI_DIR, PKI_NOW, ROOT, message } from '../fixtures/pki/pki.ts';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { read } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

// ---- the socket guard ----------------------------------------------------------------------------------------------

/** Stands in for a public server: sockets handed this address are routed to 127.0.0.1 (same port) by the guard. */
const PUBLIC = '93.184.216.34';
/** Every address (and port) a socket of this process was handed while the guard is on. */
const connections: { address: string; port: number }[] = [];
/** Addresses the guard stopped (anything but loopback and PUBLIC): must stay empty. */
const escaped: string[] = [];
const originalConnect = net.Socket.prototype.connect;

function route(address: string, port: number): { address: string; family: number } | Error {
  connections.push({ address, port });
  if (address === PUBLIC) return { address: '127.0.0.1', family: 4 };
  if (address === '127.0.0.1' || address === '::1') return { address, family: address === '::1' ? 6 : 4 };
  escaped.push(address);
  return new Error(`the test guard refuses a connection to ${address}`);
}

type LookupCb = (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
type LookupFn = (host: string, options: { all?: boolean }, cb: LookupCb) => void;

before(() => {
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]) {
    // net.connect() hands over its normalised arguments as an array [options, callback].
    const options = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (options && typeof options === 'object') {
      const o = options as { host?: string; port?: number | string; lookup?: LookupFn };
      const port = Number(o.port);
      if (typeof o.host === 'string' && net.isIP(o.host)) {
        const r = route(o.host, port);
        if (r instanceof Error) throw r;
        o.host = r.address;
      } else if (typeof o.host === 'string') {
        const lookup = o.lookup ?? (dns.lookup as unknown as LookupFn);
        Object.assign(o, {
          lookup: ((host: string, lo: { all?: boolean }, cb: LookupCb) =>
            lookup(host, lo, (err, address, family) => {
              if (err) return cb(err, address, family);
              if (Array.isArray(address)) {
                const routed = address.map((a) => route(a.address, port));
                const bad = routed.find((r) => r instanceof Error);
                if (bad) return cb(bad as Error, []);
                return cb(null, routed as { address: string; family: number }[]);
              }
              const r = route(address, port);
              if (r instanceof Error) return cb(r, '', 4);
              cb(null, r.address, r.family);
            })) satisfies LookupFn,
        });
      }
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});
after(() => {
  net.Socket.prototype.connect = originalConnect;
  assert.deepEqual(escaped, [], 'no socket was ever handed a non-loopback address');
});

/** Runs `fn` and returns the addresses sockets were handed meanwhile. */
async function connectionsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  return (await socketsDuring(fn)).map((c) => c.address);
}
async function socketsDuring(fn: () => Promise<unknown>): Promise<{ address: string; port: number }[]> {
  const start = connections.length;
  await fn();
  return connections.slice(start);
}

describe('isNonPublicAddress', () => {
  const table: [address: string, nonPublic: boolean][] = [
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true], // cloud metadata
    ['100.64.0.1', true], // CGNAT
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['192.0.2.1', true],
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['::', true],
    ['::1', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['fc00::1', true],
    ['fd12:3456:789a::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:10.1.2.3', true],
    ['::ffff:8.8.8.8', false],
    ['::127.0.0.1', true],
    ['64:ff9b::7f00:1', true], // NAT64 of 127.0.0.1
    ['64:ff9b::808:808', false], // NAT64 of 8.8.8.8
    ['2002:c0a8:0101::1', true], // 6to4 of 192.168.1.1
    ['2001:db8::1', true],
    ['2001:4860:4860::8888', false],
    ['2606:4700:4700::1111', false],
    ['100.100.100.200', true], // Alibaba Cloud metadata (CGNAT space)
    ['fd00:ec2::254', true], // AWS metadata over IPv6 (unique local)
    ['::ffff:169.254.169.254', true],
    ['::ffff:a9fe:a9fe', true], // the same, in hex
    ['64:ff9b::a9fe:a9fe', true], // NAT64 of 169.254.169.254
    ['64:ff9b:1::1', true], // local-use NAT64
    ['2002:7f00:0001::', true], // 6to4 of 127.0.0.1
    ['fec0::1', true], // site-local
    ['fe80::1%25eth0', true],
    [PUBLIC, false],
    ['not an address', true],
  ];
  for (const [address, expected] of table) {
    test(`${address} -> ${expected ? 'refused' : 'allowed'}`, () =>
      assert.equal(isNonPublicAddress(address), expected));
  }
});

describe('refusals before any connection (allowPrivate false)', () => {
  const fetcher = new SafeFetcher({ timeoutMs: 1000 });
  for (const url of [
    'http://127.0.0.1/ca.crt',
    'http://10.0.0.1/ca.crt',
    'http://192.168.0.1:8080/crl',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/ca.crt',
    'http://[fe80::1]/ca.crt',
    'http://[fc00::1]/ca.crt',
    'http://[::ffff:127.0.0.1]/ca.crt',
    'https://127.0.0.1/ocsp',
    'http://0.0.0.0/',
    'http://2130706433/', // 127.0.0.1 as one decimal number: WHATWG URL normalises it
    'http://0x7f.1/', // and in hex
    'http://0177.0.0.1/', // and in octal
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
    'http://[64:ff9b::a00:1]/',
    'http://[2002:a00:1::1]/',
    'http://100.100.100.200/latest/meta-data/',
  ]) {
    test(`${url} -> FETCH_REFUSED_ADDRESS, no connection attempted`, async () => {
      for (const purpose of ['aia', 'crl', 'ocsp'] as const) {
        const method = purpose === 'ocsp' ? 'POST' : 'GET';
        const seen = await connectionsDuring(() =>
          rejectsWith(fetcher.fetch({ url, method, purpose, body: new Uint8Array(1) }), 'FETCH_REFUSED_ADDRESS'),
        );
        assert.deepEqual(seen, [], purpose);
      }
    });
  }

  test('a name resolving to a private address is refused; so is one with any private address among public ones', async () => {
    for (const addresses of [
      [{ address: '127.0.0.1', family: 4 }],
      [
        { address: PUBLIC, family: 4 },
        { address: '10.0.0.5', family: 4 },
      ],
      [
        { address: '10.0.0.5', family: 4 },
        { address: PUBLIC, family: 4 },
      ],
      [{ address: '::ffff:192.168.0.1', family: 6 }],
      [{ address: 'fd12::1', family: 6 }],
      [
        { address: PUBLIC, family: 4 },
        { address: 'fe80::1', family: 6 },
      ],
    ]) {
      const f = new SafeFetcher({ resolve: async () => addresses });
      const seen = await connectionsDuring(() =>
        rejectsWith(
          f.fetch({ url: 'http://ca.example/ca.crt', method: 'GET', purpose: 'aia' }),
          'FETCH_REFUSED_ADDRESS',
        ),
      );
      assert.deepEqual(seen, [], JSON.stringify(addresses));
    }
  });

  for (const url of [
    'ftp://ca.example/ca.crt',
    'ldap://ca.example/cn=CA',
    'file:///etc/passwd',
    'http://user:pass@ca.example/',
    'not a url',
    'http://exa mple.com/',
  ]) {
    test(`${url} -> FETCH_BAD_URL`, async () => {
      await rejectsWith(fetcher.fetch({ url, method: 'GET', purpose: 'aia' }), 'FETCH_BAD_URL');
    });
  }

  test('DNS failure -> FETCH_FAILED', async () => {
    const f = new SafeFetcher({ resolve: async () => Promise.reject(new Error('ENOTFOUND')) });
    await rejectsWith(f.fetch({ url: 'http://nowhere.example/', method: 'GET', purpose: 'aia' }), 'FETCH_FAILED');
  });

  test('slow DNS counts against the timeout', async () => {
    const f = new SafeFetcher({ timeoutMs: 100, resolve: () => new Promise(() => undefined) });
    await rejectsWith(f.fetch({ url: 'http://slow.example/', method: 'GET', purpose: 'aia' }), 'FETCH_TIMEOUT');
  });

  test('options are checked', () => {
    assert.throws(() => new SafeFetcher({ timeout: 5 } as never), TypeError);
    assert.throws(() => new SafeFetcher({ maxRedirects: 5 }), TypeError);
    assert.throws(() => new SafeFetcher({ timeoutMs: 0 }), TypeError);
  });
});

describe('against a loopback server (allowPrivate true)', () => {
  let server: Server;
  let base = '';
  const requests: { method?: string; url?: string; type?: string; body: Buffer }[] = [];
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/ok': (_q, r) => r.writeHead(200, { 'content-length': 5 }).end('hello'),
    '/big': (_q, r) => r.writeHead(200, { 'content-length': MAX_AIA_BYTES + 1 }).end(Buffer.alloc(MAX_AIA_BYTES + 1)),
    '/big-chunked': (_q, r) => {
      r.writeHead(200);
      const piece = Buffer.alloc(64 * 1024);
      let sent = 0;
      const push = (): void => {
        if (sent > 4 * MAX_AIA_BYTES || r.destroyed) {
          r.end();
          return;
        }
        sent += piece.length;
        r.write(piece, () => push());
      };
      push();
    },
    '/slow': () => undefined,
    '/trickle': (_q, r) => {
      r.writeHead(200);
      const t = setInterval(() => (r.destroyed ? clearInterval(t) : r.write('x')), 50);
    },
    '/404': (_q, r) => r.writeHead(404).end(),
    '/500': (_q, r) => r.writeHead(500).end('internal'),
    '/redirect': (_q, r) => r.writeHead(302, { location: '/ok' }).end(),
    '/redirect-twice': (_q, r) => r.writeHead(302, { location: '/redirect' }).end(),
    '/redirect-ftp': (_q, r) => r.writeHead(301, { location: 'ftp://ca.example/ca.crt' }).end(),
    '/echo': (q, r) => {
      const last = requests[requests.length - 1]!;
      r.writeHead(200).end(Buffer.concat([Buffer.from(`${q.method} ${last.type} `), last.body]));
    },
  };

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          method: req.method,
          url: req.url,
          type: req.headers['content-type'],
          body: Buffer.concat(chunks),
        });
        (routes[req.url ?? ''] ?? routes['/404']!)(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() =>
    cleanUp(
      () => server.closeAllConnections(),
      () => new Promise((resolve) => server.close(resolve)),
    ),
  );

  const fetcher = new SafeFetcher({ allowPrivate: true, timeoutMs: 500 });

  test('200 -> the body', async () => {
    assert.equal(
      Buffer.from(await fetcher.fetch({ url: `${base}/ok`, method: 'GET', purpose: 'aia' })).toString(),
      'hello',
    );
  });

  test('POST sends the body and content type (OCSP)', async () => {
    const out = await fetcher.fetch({
      url: `${base}/echo`,
      method: 'POST',
      body: new Uint8Array([1, 2, 3]),
      contentType: 'application/ocsp-request',
      purpose: 'ocsp',
    });
    assert.deepEqual(
      Buffer.from(out),
      Buffer.concat([Buffer.from('POST application/ocsp-request '), Buffer.from([1, 2, 3])]),
    );
  });

  test('the connection goes to the checked address, not to a second DNS answer', async () => {
    // The name does not exist in any DNS; only the injected (checked) answer can make this work.
    const f = new SafeFetcher({ allowPrivate: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const port = new URL(base).port;
    assert.equal(
      Buffer.from(await f.fetch({ url: `http://pinned.invalid:${port}/ok`, method: 'GET', purpose: 'aia' })).toString(),
      'hello',
    );
  });

  const failures: [path: string, purpose: 'aia' | 'crl' | 'ocsp', code: SmimeErrorCode][] = [
    ['/big', 'aia', 'FETCH_TOO_LARGE'],
    ['/big-chunked', 'aia', 'FETCH_TOO_LARGE'],
    ['/slow', 'aia', 'FETCH_TIMEOUT'],
    ['/trickle', 'crl', 'FETCH_TIMEOUT'],
    ['/404', 'aia', 'FETCH_HTTP_ERROR'],
    ['/500', 'ocsp', 'FETCH_HTTP_ERROR'],
    ['/redirect-twice', 'aia', 'FETCH_HTTP_ERROR'],
    ['/redirect-ftp', 'aia', 'FETCH_BAD_URL'],
  ];
  for (const [path, purpose, code] of failures) {
    test(`${path} (${purpose}) -> ${code}`, async () => {
      await rejectsWith(fetcher.fetch({ url: `${base}${path}`, method: 'GET', purpose }), code);
    });
  }

  test('the CRL limit is larger than the AIA one', async () => {
    const out = await fetcher.fetch({ url: `${base}/big`, method: 'GET', purpose: 'crl' });
    assert.equal(out.length, MAX_AIA_BYTES + 1);
  });

  test('one redirect is followed (GET), none for POST, none with maxRedirects 0', async () => {
    assert.equal(
      Buffer.from(await fetcher.fetch({ url: `${base}/redirect`, method: 'GET', purpose: 'aia' })).toString(),
      'hello',
    );
    await rejectsWith(
      fetcher.fetch({ url: `${base}/redirect`, method: 'POST', body: new Uint8Array(1), purpose: 'ocsp' }),
      'FETCH_HTTP_ERROR',
    );
    await rejectsWith(
      new SafeFetcher({ allowPrivate: true, maxRedirects: 0 }).fetch({
        url: `${base}/redirect`,
        method: 'GET',
        purpose: 'aia',
      }),
      'FETCH_HTTP_ERROR',
    );
  });

  test('a redirect target is resolved and checked again (the same check as the first hop)', async () => {
    const port = new URL(base).port;
    routes['/redirect-elsewhere'] = (_q, r) => r.writeHead(302, { location: `http://second.example:${port}/ok` }).end();
    const resolved: string[] = [];
    const f = new SafeFetcher({
      allowPrivate: true,
      resolve: async (host) => {
        resolved.push(host);
        if (host === 'first.example') return [{ address: '127.0.0.1', family: 4 }];
        throw new Error('ENOTFOUND');
      },
    });
    await rejectsWith(
      f.fetch({ url: `http://first.example:${port}/redirect-elsewhere`, method: 'GET', purpose: 'aia' }),
      'FETCH_FAILED',
    );
    assert.deepEqual(resolved, ['first.example', 'second.example']);
  });
});

describe('a public server (the stand-in address) that redirects inward or answers without end', () => {
  let server: Server;
  let port = 0;
  const targets: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      const redirect = /^\/redirect\/(\d+)$/.exec(path);
      if (redirect) return void res.writeHead(302, { location: targets[Number(redirect[1])]! }).end();
      if (path === '/ok') return void res.writeHead(200, { 'content-length': 5 }).end('hello');
      if (path === '/big')
        return void res.writeHead(200, { 'content-length': MAX_AIA_BYTES + 1 }).end(Buffer.alloc(MAX_AIA_BYTES + 1));
      if (path === '/endless') {
        // No Content-Length: the limit must hold while reading.
        res.writeHead(200);
        const piece = Buffer.alloc(256 * 1024, 0x30);
        const push = (): void => void (res.destroyed || res.write(piece, push));
        return push();
      }
      if (path === '/silent') return; // never answers
      if (path === '/drip') {
        res.writeHead(200);
        const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), 20);
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() =>
    cleanUp(
      () => server.closeAllConnections(),
      () => new Promise((r) => server.close(r)),
    ),
  );

  const resolve = async (host: string) => {
    if (host === 'public.example') return [{ address: PUBLIC, family: 4 }];
    if (host === 'intranet.example') return [{ address: '10.1.2.3', family: 4 }];
    if (host === 'metadata.example') return [{ address: 'fd00:ec2::254', family: 6 }];
    throw new Error('ENOTFOUND');
  };
  const fetcher = new SafeFetcher({ resolve, timeoutMs: 500 });
  const at = (path: string) => `http://public.example:${port}${path}`;

  test('sanity: the public server is reached, through the stand-in address only', async () => {
    const seen = await connectionsDuring(async () => {
      assert.equal(
        Buffer.from(await fetcher.fetch({ url: at('/ok'), method: 'GET', purpose: 'aia' })).toString(),
        'hello',
      );
    });
    assert.deepEqual(seen, [PUBLIC]);
  });

  test('a redirect to a private target is refused after the first connection, never followed', async () => {
    const inward = [
      `http://127.0.0.1:${port}/ok`,
      `http://localhost:${port}/ok`,
      `http://[::1]:${port}/ok`,
      `http://[::ffff:127.0.0.1]:${port}/ok`,
      `http://2130706433:${port}/ok`,
      'http://10.0.0.1/ca.crt',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[fe80::1]/',
      `http://intranet.example:${port}/ok`,
      `http://metadata.example:${port}/ok`,
    ];
    targets.push(...inward);
    const localhost = new SafeFetcher({
      resolve: async (h) => (h === 'localhost' ? [{ address: '127.0.0.1', family: 4 }] : resolve(h)),
      timeoutMs: 500,
    });
    for (let i = 0; i < inward.length; i++) {
      const f = inward[i]!.includes('localhost') ? localhost : fetcher;
      const seen = await connectionsDuring(() =>
        rejectsWith(f.fetch({ url: at(`/redirect/${i}`), method: 'GET', purpose: 'aia' }), 'FETCH_REFUSED_ADDRESS'),
      );
      assert.deepEqual(seen, [PUBLIC], `${inward[i]}: only the public server was contacted`);
    }
  });

  test('oversize answers are cut: declared, and streamed without a length (AIA, OCSP, CRL limits)', async () => {
    await rejectsWith(fetcher.fetch({ url: at('/big'), method: 'GET', purpose: 'aia' }), 'FETCH_TOO_LARGE');
    await rejectsWith(
      fetcher.fetch({ url: at('/big'), method: 'POST', body: new Uint8Array(8), purpose: 'ocsp' }),
      'FETCH_TOO_LARGE',
    );
    await rejectsWith(fetcher.fetch({ url: at('/endless'), method: 'GET', purpose: 'aia' }), 'FETCH_TOO_LARGE');
    const crl = new SafeFetcher({ resolve, timeoutMs: 20_000 });
    await rejectsWith(crl.fetch({ url: at('/endless'), method: 'GET', purpose: 'crl' }), 'FETCH_TOO_LARGE');
    assert.ok(MAX_CRL_BYTES > MAX_AIA_BYTES);
  });

  test('a silent or dripping server is cut by the timeout', async () => {
    await rejectsWith(fetcher.fetch({ url: at('/silent'), method: 'GET', purpose: 'aia' }), 'FETCH_TIMEOUT');
    await rejectsWith(fetcher.fetch({ url: at('/drip'), method: 'GET', purpose: 'crl' }), 'FETCH_TIMEOUT');
    await rejectsWith(
      fetcher.fetch({ url: at('/silent'), method: 'POST', body: new Uint8Array(8), purpose: 'ocsp' }),
      'FETCH_TIMEOUT',
    );
  });
});

// ---- end to end: certificates whose URLs name loopback -------------------------------------------------------------

/** The test PKI's certificates name http://127.0.0.1:38471 for caIssuers, OCSP and CRL. */
function revocationOf(s: SignatureEvidence) {
  return s.checks.find((c) => c.name === 'revocation');
}

describe('the engine with the production fetcher: AIA, OCSP and CRL URLs of a message are not fetched', () => {
  const fetcher = new SafeFetcher({ timeoutMs: 1000 });
  const options = {
    trustAnchors: [ROOT],
    now: PKI_NOW,
    fromAddresses: ['signer@pki.test'],
    fetcher,
    revocation: new RevocationChecker(fetcher, { timeoutMs: 2000 }),
  };

  test('OCSP and CRL at 127.0.0.1: revocation-unknown, no connection', async () => {
    let result: Awaited<ReturnType<typeof verifySignedData>> | undefined;
    const seen = await connectionsDuring(
      async () => (result = await verifySignedData(message('signer-sha256.p7s'), CONTENT, options)),
    );
    assert.deepEqual(seen, []);
    const sig = result!.signatures[0]!;
    assert.equal(sig.status, 'revocation-unknown');
    assert.equal(revocationOf(sig)?.outcome, 'unknown');
    assert.match(revocationOf(sig)!.detail ?? '', /non-public address/);
  });

  test('an incomplete chain whose caIssuers is at 127.0.0.1: untrusted, no connection', async () => {
    let result: Awaited<ReturnType<typeof verifySignedData>> | undefined;
    const seen = await connectionsDuring(
      async () => (result = await verifySignedData(message('signer-nochain.p7s'), CONTENT, options)),
    );
    assert.deepEqual(seen, []);
    assert.equal(result!.signatures[0]!.status, 'untrusted');
  });
});

for (const target of await databaseTargets()) {
  describe(`POST /messages/incoming on ${target.name}: a hostile signer's URLs are not fetched`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let srv: TestServer;
    before(async () => {
      ({ db, drop } = await target.open());
      srv = await startServer(db, {
        SMIME_TRUST_ANCHORS: new URL('certs/root.pem', PKI_DIR).pathname,
        SMIME_FETCH_TIMEOUT_MS: 1000,
      });
      assert.equal(srv.config.SMIME_FETCH_ALLOW_PRIVATE, false);
    });
    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
      ),
    );

    test('multipart/signed by the PKI signer (OCSP, CRL and caIssuers at 127.0.0.1): no connection, never valid', async () => {
      const c = new Client(srv.url, await srv.token('reader@example.com'));
      for (const [name, expected] of [
        ['signer-sha256.p7s', 'revocation-unknown'],
        ['signer-nochain.p7s', 'untrusted'],
      ] as const) {
        const boundary = 'ssrf-boundary';
        const raw = Buffer.concat([
          Buffer.from(
            'From: signer@pki.test\r\nTo: reader@example.com\r\nSubject: ssrf\r\nMIME-Version: 1.0\r\n' +
              `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="${boundary}"\r\n\r\n--${boundary}\r\n`,
          ),
          Buffer.from(CONTENT),
          Buffer.from(
            `\r\n--${boundary}\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
              `${Buffer.from(message(name)).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n--${boundary}--\r\n`,
          ),
        ]);
        let r: Awaited<ReturnType<typeof read>> | undefined;
        const seen = await socketsDuring(async () => (r = await read(c, raw)));
        assert.equal(r!.status, 200, r!.text);
        // The test's own HTTP client and the database pool connect to loopback too; the baked PKI port must not appear.
        const port = Number(new URL(srv.url).port);
        assert.deepEqual(
          seen.filter((x) => x.port !== port && x.port !== 5432),
          [],
          `${name}: ${JSON.stringify(seen)}`,
        );
        assert.equal(
          r!.body.layers[0].status,
          expected,
          `${name}: ${JSON.stringify(r!.body.layers[0].signatures?.[0]?.checks)}`,
        );
      }
    });
  });
}
