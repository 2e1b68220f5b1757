/**
 * The one way the S/MIME engine reaches the network (issue 3): AIA caIssuers certificates, CRLs and OCSP answers, at
 * URLs that come from certificates. The engine only knows the Fetcher interface (smime/types.ts); the product hands it
 * this implementation, so the engine itself never opens a socket (issue 13). The URLs come from certificates, that is from whoever sent the message. So every fetch is treated as hostile:
 *
 * - http and https only, no credentials in the URL;
 * - the host is resolved first (all addresses), and the fetch is refused if any address is private, loopback,
 *   link-local, unique-local, multicast, unspecified, reserved or documentation space, IPv4 or IPv6, IPv4-mapped and
 *   NAT64/6to4-embedded IPv4 included; the connection then goes to an address that was checked (a custom `lookup`
 *   hands the socket the checked address, so a second DNS answer cannot swap in 127.0.0.1: DNS rebinding);
 * - one redirect at most, and its target goes through the same checks;
 * - a timeout covering resolution, connection and the whole body;
 * - a size limit per purpose, enforced while reading (Content-Length is not trusted).
 *
 * Every failure is a SmimeError with a FETCH_* code. `allowPrivate` exists for tests against a loopback server only.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type Fetcher, SmimeError } from '../smime/index.ts';

/** An AIA certificate (or a certs-only bundle) is a few KiB; an OCSP answer with a responder chain under 10 KiB. */
export const MAX_AIA_BYTES = 1024 * 1024;
export const MAX_OCSP_BYTES = 1024 * 1024;
/** CRLs of large public CAs reach several MiB; 10 MiB bounds memory per fetch while covering them. */
export const MAX_CRL_BYTES = 10 * 1024 * 1024;
/** Default timeout of one fetch (README: SMIME_FETCH_TIMEOUT_MS). */
export const DEFAULT_FETCH_TIMEOUT_MS = 5000;
/** Redirects followed at most: CAs occasionally move an http URL to https; a chain of them is not needed. */
export const MAX_REDIRECTS = 1;

export type FetchPurpose = Parameters<Fetcher['fetch']>[0]['purpose'];
export type FetchRequest = Parameters<Fetcher['fetch']>[0];

export interface SafeFetcherOptions {
  timeoutMs: number;
  /** Tests only: allow loopback and private addresses. */
  allowPrivate: boolean;
  maxRedirects: number;
  /** Size limits per purpose. */
  maxBytes: Record<FetchPurpose, number>;
  /** DNS resolution; injectable for tests (default: node:dns lookup with all: true). */
  resolve: (host: string) => Promise<LookupAddress[]>;
}

const DEFAULTS: SafeFetcherOptions = {
  timeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  allowPrivate: false,
  maxRedirects: MAX_REDIRECTS,
  maxBytes: { aia: MAX_AIA_BYTES, ocsp: MAX_OCSP_BYTES, crl: MAX_CRL_BYTES },
  resolve: (host) =>
    new Promise((resolve, reject) =>
      dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    ),
};

// ---- address classification -------------------------------------------------------------------------------------

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return out.every((n) => n >= 0 && n <= 255) ? out : undefined;
}

/** 16 bytes of an IPv6 address in any textual form node accepts (::, embedded IPv4, zone id stripped). */
function ipv6Bytes(text: string): number[] | undefined {
  let head = text.split('%')[0]!;
  if (isIP(head) !== 6) return undefined;
  const lastColon = head.lastIndexOf(':');
  const tail = head.slice(lastColon + 1);
  if (tail.includes('.')) {
    // a:b:...:1.2.3.4 -> a:b:...:102:304
    const v4 = ipv4Bytes(tail);
    if (!v4) return undefined;
    head = `${head.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let words: number[];
  const gap = head.indexOf('::');
  if (gap === -1) words = groups(head);
  else {
    const l = groups(head.slice(0, gap));
    const r = groups(head.slice(gap + 2));
    words = [...l, ...new Array<number>(Math.max(0, 8 - l.length - r.length)).fill(0), ...r];
  }
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) return undefined;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function inV4(b: number[], prefix: [number, number, number, number], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const bit = 7 - (i % 8);
    if (((b[i >> 3]! >> bit) & 1) !== ((prefix[i >> 3]! >> bit) & 1)) return false;
  }
  return true;
}

/** RFC 6890 special-purpose IPv4 ranges that must never be fetched from a certificate's URL. */
const V4_BLOCKED: [[number, number, number, number], number][] = [
  [[0, 0, 0, 0], 8], // "this network", unspecified
  [[10, 0, 0, 0], 8], // private (RFC 1918)
  [[100, 64, 0, 0], 10], // carrier-grade NAT (RFC 6598)
  [[127, 0, 0, 0], 8], // loopback
  [[169, 254, 0, 0], 16], // link-local (cloud metadata services live here)
  [[172, 16, 0, 0], 12], // private
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2, 0], 24], // documentation
  [[192, 88, 99, 0], 24], // 6to4 relay anycast
  [[192, 168, 0, 0], 16], // private
  [[198, 18, 0, 0], 15], // benchmarking
  [[198, 51, 100, 0], 24], // documentation
  [[203, 0, 113, 0], 24], // documentation
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, broadcast
];

function v4Blocked(b: number[]): boolean {
  return V4_BLOCKED.some(([prefix, bits]) => inV4(b, prefix, bits));
}

function v6Blocked(b: number[]): boolean {
  const zeroUpTo = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(15) && (b[15] === 0 || b[15] === 1)) return true; // :: unspecified, ::1 loopback
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return v4Blocked(b.slice(12)); // ::ffff:a.b.c.d mapped
  if (zeroUpTo(12)) return true; // ::a.b.c.d IPv4-compatible (deprecated, RFC 4291 section 2.5.5.1)
  // 64:ff9b::/96 NAT64 (RFC 6052): the embedded IPv4 address is where the packets go.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.slice(4, 12).every((x) => x === 0))
    return v4Blocked(b.slice(12));
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0x00 && b[5] === 0x01) return true; // local-use NAT64 (RFC 8215)
  if (b[0] === 0x20 && b[1] === 0x02) return v4Blocked(b.slice(2, 6)); // 2002::/16 6to4 embeds IPv4
  if (b[0] === 0x01 && b[1] === 0x00 && b.slice(2, 8).every((x) => x === 0)) return true; // 100::/64 discard
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return true; // 2001:db8::/32 documentation
  if (b[0] === 0x20 && b[1] === 0x01 && b[2]! < 0x02) return true; // 2001::/23 IETF protocol assignments (Teredo, ORCHID...)
  if ((b[0]! & 0xfe) === 0xfc) return true; // fc00::/7 unique local
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return true; // fec0::/10 site-local (deprecated)
  if (b[0] === 0xff) return true; // ff00::/8 multicast
  return false;
}

/** Whether `address` (an IP literal) is not a public unicast address. Unparseable counts as not public. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address.split('%')[0]!);
  if (family === 4) return v4Blocked(ipv4Bytes(address)!);
  if (family === 6) {
    const b = ipv6Bytes(address);
    return b === undefined || v6Blocked(b);
  }
  return true;
}

// ---- fetching ---------------------------------------------------------------------------------------------------

function fail(
  code:
    | 'FETCH_BAD_URL'
    | 'FETCH_REFUSED_ADDRESS'
    | 'FETCH_TIMEOUT'
    | 'FETCH_TOO_LARGE'
    | 'FETCH_HTTP_ERROR'
    | 'FETCH_FAILED',
  detail: string,
  cause?: unknown,
): never {
  throw new SmimeError(code, detail, cause === undefined ? undefined : { cause });
}

/** Hands the socket the address that was checked, whatever a second resolution would say (DNS rebinding). */
function pinnedLookup(target: LookupAddress): LookupFunction {
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: LookupAddress[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
}

function requestHeaders(request: FetchRequest): Record<string, string> {
  const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'smime-webmail' };
  if (request.body) {
    headers['content-type'] = request.contentType ?? 'application/octet-stream';
    headers['content-length'] = String(request.body.length);
  }
  return headers;
}

export class SafeFetcher implements Fetcher {
  readonly options: Readonly<SafeFetcherOptions>;

  constructor(options: Partial<SafeFetcherOptions> = {}) {
    for (const key of Object.keys(options)) {
      if (!(key in DEFAULTS)) throw new TypeError(`SafeFetcher: unknown option ${key}`);
    }
    const merged = { ...DEFAULTS, ...options, maxBytes: { ...DEFAULTS.maxBytes, ...options.maxBytes } };
    if (!Number.isSafeInteger(merged.timeoutMs) || merged.timeoutMs <= 0)
      throw new TypeError('SafeFetcher: timeoutMs must be a positive integer');
    if (merged.maxRedirects !== 0 && merged.maxRedirects !== 1)
      throw new TypeError('SafeFetcher: maxRedirects must be 0 or 1');
    this.options = merged;
  }

  async fetch(request: FetchRequest): Promise<Uint8Array> {
    const limit = this.options.maxBytes[request.purpose];
    if (limit === undefined) fail('FETCH_BAD_URL', `unknown fetch purpose ${String(request.purpose)}`);
    let url = this.parseUrl(request.url);
    // A referenced timer (AbortSignal.timeout's is unreferenced: it would not keep a lone pending fetch alive).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    try {
      for (let redirects = 0; ; redirects++) {
        const response = await this.once(url, request, limit, controller.signal);
        if (response.kind === 'body') return response.body;
        if (redirects >= this.options.maxRedirects)
          fail('FETCH_HTTP_ERROR', `too many redirects (limit ${this.options.maxRedirects})`);
        // RFC 9110 section 15.4: the target is resolved against the current URL; POST (OCSP) is not redirected.
        if (request.method !== 'GET') fail('FETCH_HTTP_ERROR', 'redirect of a POST request');
        url = this.parseUrl(new URL(response.location, url).toString());
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private parseUrl(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      fail('FETCH_BAD_URL', 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      fail('FETCH_BAD_URL', `scheme ${url.protocol} is not fetched`);
    if (url.username || url.password) fail('FETCH_BAD_URL', 'URL with credentials');
    if (!url.hostname) fail('FETCH_BAD_URL', 'URL without a host');
    return url;
  }

  /** Resolves the host and checks every address; returns the one to connect to. */
  private async checkedAddress(url: URL, signal: AbortSignal): Promise<LookupAddress> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let addresses: LookupAddress[];
    const family = isIP(host);
    if (family) addresses = [{ address: host, family }];
    else {
      try {
        addresses = await Promise.race([
          this.options.resolve(host),
          new Promise<never>((_, reject) => {
            if (signal.aborted) reject(signal.reason);
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          }),
        ]);
      } catch (e) {
        if (signal.aborted) fail('FETCH_TIMEOUT', 'timed out resolving the host');
        fail('FETCH_FAILED', `cannot resolve ${host}`, e);
      }
    }
    if (addresses.length === 0) fail('FETCH_FAILED', `no address for ${host}`);
    if (!this.options.allowPrivate) {
      const bad = addresses.find((a) => isNonPublicAddress(a.address));
      if (bad) fail('FETCH_REFUSED_ADDRESS', `${host} resolves to a non-public address (${bad.address})`);
    }
    return addresses[0]!;
  }

  // One request: every path (redirect, status, size, error, timeout) settles the same promise once, through the one
  // `settle` closure; split up, each piece would need all of it passed in.
  // eslint-disable-next-line max-lines-per-function -- one promise and its one settle closure, see above
  private async once(
    url: URL,
    request: FetchRequest,
    limit: number,
    signal: AbortSignal,
  ): Promise<{ kind: 'body'; body: Uint8Array } | { kind: 'redirect'; location: string }> {
    const target = await this.checkedAddress(url, signal);
    const pinned = pinnedLookup(target);
    const client = url.protocol === 'https:' ? https : http;
    const headers = requestHeaders(request);
    // eslint-disable-next-line max-lines-per-function -- the one promise of the request and its one settle closure
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => {
        req.destroy();
        settle(() =>
          reject(new SmimeError('FETCH_TIMEOUT', `no answer from ${url.host} within ${this.options.timeoutMs} ms`)),
        );
      };
      const req = client.request(
        url,
        { method: request.method, headers, lookup: pinned, agent: false },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
            res.resume();
            settle(() => resolve({ kind: 'redirect', location: res.headers.location! }));
            req.destroy();
            return;
          }
          if (status !== 200) {
            res.resume();
            req.destroy();
            settle(() => reject(new SmimeError('FETCH_HTTP_ERROR', `HTTP ${status} from ${url.host}`)));
            return;
          }
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > limit) {
            req.destroy();
            settle(() => reject(new SmimeError('FETCH_TOO_LARGE', `answer of ${declared} bytes exceeds ${limit}`)));
            return;
          }
          const chunks: Buffer[] = [];
          let total = 0;
          res.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > limit) {
              req.destroy();
              settle(() => reject(new SmimeError('FETCH_TOO_LARGE', `answer exceeds ${limit} bytes`)));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => settle(() => resolve({ kind: 'body', body: new Uint8Array(Buffer.concat(chunks)) })));
          res.on('error', (e) =>
            settle(() => reject(new SmimeError('FETCH_FAILED', `connection to ${url.host} failed`, { cause: e }))),
          );
          res.on('aborted', () =>
            settle(() => reject(new SmimeError('FETCH_FAILED', `connection to ${url.host} closed early`))),
          );
        },
      );
      req.on('error', (e) =>
        settle(() => reject(new SmimeError('FETCH_FAILED', `connection to ${url.host} failed`, { cause: e }))),
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      req.end(request.body ? Buffer.from(request.body) : undefined);
    });
  }
}
