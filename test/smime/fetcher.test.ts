/**
 * SafeFetcher (fetcher.ts): URLs from certificates are attacker-chosen. Non-public addresses are refused after
 * resolution (no network needed: the refusal comes before any connection), the connection goes to the checked
 * address, and size, time and redirect limits hold. Loopback servers are reached with allowPrivate, as in tests only.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isSmimeError, type SmimeErrorCode } from '../../backend/src/smime/errors.ts';
import { isNonPublicAddress, MAX_AIA_BYTES, SafeFetcher } from '../../backend/src/smime/fetcher.ts';

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
    ['not an address', true],
  ];
  for (const [address, expected] of table) {
    test(`${address} -> ${expected ? 'refused' : 'allowed'}`, () => assert.equal(isNonPublicAddress(address), expected));
  }
});

async function rejectsWith(p: Promise<unknown>, code: SmimeErrorCode): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isSmimeError(e), String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

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
  ]) {
    test(`${url} -> FETCH_REFUSED_ADDRESS`, () => rejectsWith(fetcher.fetch({ url, method: 'GET', purpose: 'aia' }), 'FETCH_REFUSED_ADDRESS'));
  }

  test('a name resolving to a private address is refused; so is one with any private address among public ones', async () => {
    for (const addresses of [[{ address: '127.0.0.1', family: 4 }], [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.5', family: 4 }], [{ address: '::ffff:192.168.0.1', family: 6 }]]) {
      const f = new SafeFetcher({ resolve: async () => addresses });
      await rejectsWith(f.fetch({ url: 'http://ca.example/ca.crt', method: 'GET', purpose: 'aia' }), 'FETCH_REFUSED_ADDRESS');
    }
  });

  for (const url of ['ftp://ca.example/ca.crt', 'ldap://ca.example/cn=CA', 'file:///etc/passwd', 'http://user:pass@ca.example/', 'not a url', 'http://exa mple.com/']) {
    test(`${url} -> FETCH_BAD_URL`, () => rejectsWith(fetcher.fetch({ url, method: 'GET', purpose: 'aia' }), 'FETCH_BAD_URL'));
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
        requests.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
        (routes[req.url ?? ''] ?? routes['/404']!)(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const fetcher = new SafeFetcher({ allowPrivate: true, timeoutMs: 500 });

  test('200 -> the body', async () => {
    assert.equal(Buffer.from(await fetcher.fetch({ url: `${base}/ok`, method: 'GET', purpose: 'aia' })).toString(), 'hello');
  });

  test('POST sends the body and content type (OCSP)', async () => {
    const out = await fetcher.fetch({ url: `${base}/echo`, method: 'POST', body: new Uint8Array([1, 2, 3]), contentType: 'application/ocsp-request', purpose: 'ocsp' });
    assert.deepEqual(Buffer.from(out), Buffer.concat([Buffer.from('POST application/ocsp-request '), Buffer.from([1, 2, 3])]));
  });

  test('the connection goes to the checked address, not to a second DNS answer', async () => {
    // The name does not exist in any DNS; only the injected (checked) answer can make this work.
    const f = new SafeFetcher({ allowPrivate: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const port = new URL(base).port;
    assert.equal(Buffer.from(await f.fetch({ url: `http://pinned.invalid:${port}/ok`, method: 'GET', purpose: 'aia' })).toString(), 'hello');
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
      const started = performance.now();
      await rejectsWith(fetcher.fetch({ url: `${base}${path}`, method: 'GET', purpose }), code);
      assert.ok(performance.now() - started < 3000);
    });
  }

  test('the CRL limit is larger than the AIA one', async () => {
    const out = await fetcher.fetch({ url: `${base}/big`, method: 'GET', purpose: 'crl' });
    assert.equal(out.length, MAX_AIA_BYTES + 1);
  });

  test('one redirect is followed (GET), none for POST, none with maxRedirects 0', async () => {
    assert.equal(Buffer.from(await fetcher.fetch({ url: `${base}/redirect`, method: 'GET', purpose: 'aia' })).toString(), 'hello');
    await rejectsWith(fetcher.fetch({ url: `${base}/redirect`, method: 'POST', body: new Uint8Array(1), purpose: 'ocsp' }), 'FETCH_HTTP_ERROR');
    await rejectsWith(new SafeFetcher({ allowPrivate: true, maxRedirects: 0 }).fetch({ url: `${base}/redirect`, method: 'GET', purpose: 'aia' }), 'FETCH_HTTP_ERROR');
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
    await rejectsWith(f.fetch({ url: `http://first.example:${port}/redirect-elsewhere`, method: 'GET', purpose: 'aia' }), 'FETCH_FAILED');
    assert.deepEqual(resolved, ['first.example', 'second.example']);
  });
});
