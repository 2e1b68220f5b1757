/**
 * Static files (issue 5): the plugin bundle a host loads with one script tag (/plugin/smime-plugin.js), and, in demo
 * mode, the demo webmail (/demo). The bundles are built by scripts/build-frontend.mjs (`npm start` and `npm test` run
 * it) into frontend/dist/. Only the files named here are served: no directory listing, no path from the request.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { AppError } from '../errors.ts';
import type { AppState } from './context.ts';

const DIST = fileURLToPath(new URL('../../../frontend/dist/', import.meta.url));
const DEMO_WEB = fileURLToPath(new URL('../demo/web/', import.meta.url));

const PLUGIN_FILES: Record<string, { file: string; type: string }> = {
  '/plugin/smime-plugin.js': { file: `${DIST}smime-plugin.js`, type: 'text/javascript; charset=utf-8' },
  '/plugin/smime-plugin.js.map': { file: `${DIST}smime-plugin.js.map`, type: 'application/json' },
  '/plugin/smime-plugin.js.LEGAL.txt': { file: `${DIST}smime-plugin.js.LEGAL.txt`, type: 'text/plain; charset=utf-8' },
};

const DEMO_FILES: Record<string, { file: string; type: string }> = {
  '/demo': { file: `${DEMO_WEB}index.html`, type: 'text/html; charset=utf-8' },
  '/demo/': { file: `${DEMO_WEB}index.html`, type: 'text/html; charset=utf-8' },
  '/demo/demo.css': { file: `${DEMO_WEB}demo.css`, type: 'text/css; charset=utf-8' },
  '/demo/demo-app.js': { file: `${DIST}demo-app.js`, type: 'text/javascript; charset=utf-8' },
  '/demo/demo-app.js.map': { file: `${DIST}demo-app.js.map`, type: 'application/json' },
};

export function staticRoutes(options: { demo: boolean }): Router<AppState> {
  const r = new Router<AppState>();
  const files = { ...PLUGIN_FILES, ...(options.demo ? DEMO_FILES : {}) };
  for (const [path, f] of Object.entries(files)) {
    r.get(path, async (ctx) => {
      let body: Buffer;
      try {
        body = await readFile(f.file);
      } catch {
        throw new AppError('FRONTEND_NOT_BUILT');
      }
      ctx.type = f.type;
      ctx.body = body;
      // The demo page may load only its own scripts and styles, and talk only to this server.
      if (f.type.startsWith('text/html'))
        ctx.set('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'");
    });
  }
  return r;
}
