/**
 * Static files (issue 5): the plugin bundle a host loads with one script tag (/plugin/smime-plugin.js). The bundles are
 * built by scripts/build-frontend.mjs (`npm start` and `npm test` run it) into frontend/dist/. Only the files named
 * here are served: no directory listing, no path from the request. The demo webmail's page is the demo's own
 * (demo/routes.ts, mounted by demo/entry.ts: issue 12), served with the same fileRoutes.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { AppError } from '../errors.ts';
import type { AppState } from './context.ts';

/** Where scripts/build-frontend.mjs writes the bundles. */
export const DIST = fileURLToPath(new URL('../../../frontend/dist/', import.meta.url));

export interface StaticFile {
  file: string;
  type: string;
}

export const PLUGIN_FILES: Record<string, StaticFile> = {
  '/plugin/smime-plugin.js': { file: `${DIST}smime-plugin.js`, type: 'text/javascript; charset=utf-8' },
  '/plugin/smime-plugin.js.map': { file: `${DIST}smime-plugin.js.map`, type: 'application/json' },
  '/plugin/smime-plugin.js.LEGAL.txt': { file: `${DIST}smime-plugin.js.LEGAL.txt`, type: 'text/plain; charset=utf-8' },
};

/** GET routes for exactly these files. */
export function fileRoutes(files: Record<string, StaticFile>): Router<AppState> {
  const r = new Router<AppState>();
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
      // A page may load only its own scripts and styles, and talk only to this server.
      if (f.type.startsWith('text/html'))
        ctx.set(
          'Content-Security-Policy',
          "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        );
    });
  }
  return r;
}

export function staticRoutes(): Router<AppState> {
  return fileRoutes(PLUGIN_FILES);
}
