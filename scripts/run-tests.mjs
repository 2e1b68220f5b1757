#!/usr/bin/env node
// Runs every *.test.ts under test/ and backend/ with node's own test runner (through tsx for TypeScript).
// Node 20's `--test` does not expand globs, so this script finds the files. Arguments narrow the run:
//   node scripts/run-tests.mjs test/vault        only the files under that path
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test', 'backend'];

function walk(path, out) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return out;
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    walk(join(path, name), out);
  }
  return out;
}

const files = roots.flatMap((r) => walk(join(root, r), [])).map((f) => relative(root, f)).sort();
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
// One PGlite template per run (a fresh embedded database takes seconds, a clone of the template well under one).
const template = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/make-template.ts'], {
  stdio: 'inherit',
  cwd: root,
});
if (template.status !== 0) {
  console.error('could not create the PGlite template');
  process.exit(1);
}

// Test files share one PGlite template and the local PostgreSQL; two at a time keeps a 2-core machine busy
// without starving Argon2 (64 MiB per derivation).
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
