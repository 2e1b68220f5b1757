/**
 * The front door of the stack: one origin for Roundcube and the S/MIME backend, as the production nginx setup gives
 * (the unlock cookie and the plugin bundle are same-origin for the browser). Bodies stream through in both
 * directions; nothing is buffered.
 */
import { createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { posix } from 'node:path';
import { pipeline } from 'node:stream';

export type FrontTarget = 'backend' | 'roundcube';

export interface FrontRoute {
  /** 'prefix': the path starts with `path` (nginx `location /api/v1/`); 'exact': it is `path` (`location = /healthz`). */
  match: 'prefix' | 'exact';
  path: string;
  to: FrontTarget;
}

/**
 * Which paths go to the backend; everything else goes to Roundcube. The README's nginx configuration must have one
 * location per entry (and Roundcube as the default `location /`); a test compares the two.
 */
export const FRONT_ROUTES: readonly FrontRoute[] = [
  { match: 'prefix', path: '/api/v1/', to: 'backend' },
  { match: 'prefix', path: '/plugin/', to: 'backend' },
  { match: 'exact', path: '/healthz', to: 'backend' },
];
export const FRONT_DEFAULT_TARGET: FrontTarget = 'roundcube';

/**
 * The path as nginx matches locations: percent-decoded, dot segments resolved, slashes merged. The request itself is
 * forwarded unchanged (nginx's proxy_pass without a URI does the same).
 */
export function normalizedPath(url: string): string {
  const raw = url.split('?', 1)[0]!;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    /* malformed escapes: match on the raw path */
  }
  return posix.normalize(decoded.startsWith('/') ? decoded : `/${decoded}`);
}

export function routeFor(url: string): FrontTarget {
  const path = normalizedPath(url);
  for (const r of FRONT_ROUTES) if (r.match === 'exact' ? path === r.path : path.startsWith(r.path)) return r.to;
  return FRONT_DEFAULT_TARGET;
}

/** Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, not the message. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

/** What the browser gets when the backend is down: the API's error shape, a stable code. */
export const BACKEND_UNAVAILABLE_BODY = JSON.stringify({
  error: { code: 'BACKEND_UNAVAILABLE', message: 'The S/MIME service is not reachable.' },
});

export interface FrontProxy {
  port: number;
  close(): Promise<void>;
}

export async function startFrontProxy(options: {
  port: number;
  upstreams: Record<FrontTarget, number>;
}): Promise<FrontProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const target = routeFor(req.url ?? '/');
    const headers = endToEnd(req.headers);
    const client = req.socket.remoteAddress ?? '';
    const forwarded = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwarded ? `${String(forwarded)}, ${client}` : client;
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
    const upstream = request(
      { host: '127.0.0.1', port: options.upstreams[target], method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        // An upstream that fails mid-answer leaves the client a truncated answer, never a silently short one.
        pipeline(answer, res, () => {});
      },
    );
    upstream.on('error', () => {
      // Once the answer has begun, its own pipeline ends it (truncated if the upstream failed mid-answer).
      if (res.headersSent) return;
      const body = target === 'backend' ? BACKEND_UNAVAILABLE_BODY : 'Roundcube is not reachable.\n';
      res.writeHead(502, {
        'content-type': target === 'backend' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      });
      res.end(body);
    });
    // Not pipeline(): on an upstream error it would destroy `req`, and with it the socket the 502 goes out on.
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
    // A client that goes away aborts the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
