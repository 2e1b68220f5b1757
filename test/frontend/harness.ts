/**
 * Component tests: a tiny loopback server serves the plugin bundle and a blank page, and answers /api/v1/* from a
 * route table the test scripts (so each component is tested alone, against every answer the backend can give).
 * Requests are recorded for assertions.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.ts';

export interface Recorded {
  method: string;
  path: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type Handler = (req: Recorded) => { status?: number; json?: unknown; body?: string | Buffer; type?: string };

export interface MockServer {
  url: string;
  requests: Recorded[];
  routes: Map<string, Handler>;
  /** Set the answer for "METHOD /api/v1/path" (path without the query string). */
  on(route: string, h: Handler | { status?: number; json?: unknown }): void;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>component test</title></head>
<body><main id="root"></main>
<!-- tsx compiles the tests with esbuild's keepNames: functions passed to page.evaluate call its __name helper. -->
<script>window.__name = (f) => f;</script>
<script type="module">
  import * as P from '/plugin/smime-plugin.js';
  window.P = P;
  window.client = new P.SmimeApiClient({ getToken: async () => 'test-token' });
  document.body.dataset.ready = 'true';
</script></body></html>`;

export async function startMockServer(): Promise<MockServer> {
  const bundle = join(REPO_ROOT, 'frontend', 'dist', 'smime-plugin.js');
  const routes = new Map<string, Handler>();
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
        return;
      }
      if (url.pathname === '/plugin/smime-plugin.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(bundle));
        return;
      }
      const rec: Recorded = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(rec);
      const h = routes.get(`${rec.method} ${rec.path}`);
      if (!h) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Not found.' } }));
        return;
      }
      const out = h(rec);
      if (out.json !== undefined) {
        res.writeHead(out.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(out.json));
      } else {
        res.writeHead(out.status ?? 200, { 'content-type': out.type ?? 'text/plain' }).end(out.body ?? '');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes,
    on(route, h) {
      routes.set(route, typeof h === 'function' ? h : () => h);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
