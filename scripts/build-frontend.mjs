#!/usr/bin/env node
// Builds the browser bundles with esbuild (issue 5):
//   frontend/dist/smime-plugin.js   the plugin: components + API client + host contract, one ES module a host loads
//                                   with one script tag (entry plugin/src/index.ts)
//   frontend/dist/demo-app.js       the demo webmail host (entry backend/src/demo/web/demo-app.ts); it loads the
//                                   plugin from /plugin/smime-plugin.js at run time, as any host would
// `npm start` and `npm test` run this first. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Chromium/Firefox/Safari releases with native decorators lowered by esbuild, class fields and top-level await.
  target: ['es2022'],
  sourcemap: true,
  absWorkingDir: root,
  logLevel: 'warning',
  legalComments: 'linked',
};

const builds = [
  { ...common, entryPoints: ['plugin/src/index.ts'], outfile: 'frontend/dist/smime-plugin.js' },
  {
    ...common,
    entryPoints: ['backend/src/demo/web/demo-app.ts'],
    outfile: 'frontend/dist/demo-app.js',
    external: ['/plugin/*'],
  },
];

if (process.argv.includes('--watch')) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('watching frontend sources');
} else {
  const start = Date.now();
  await Promise.all(builds.map((b) => esbuild.build(b)));
  console.log(`frontend bundles built in ${Date.now() - start} ms (frontend/dist/)`);
}
