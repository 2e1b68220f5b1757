#!/usr/bin/env node
// Runs every *.test.ts under test/ and backend/ with node's own test runner (through tsx for TypeScript).
// Node 20's `--test` does not expand globs, so this script finds the files. Arguments narrow the run:
//   node scripts/run-tests.mjs test/vault        only the files under that path
// A run cannot hang (issue 13): every test file has a time limit, the runner force-exits when the tests are done
// even if a handle (a server, a database pool) is still open, and a watchdog ends the whole run.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

/**
 * Time limit of one test FILE, in ms (TEST_FILE_TIMEOUT_MS). Node 20's --test-timeout bounds each file as a whole,
 * not each test: the runner gives it to the file, and the file's own process does not apply it to the tests inside
 * (measured on Node 20.20; nodejs/node-core-test#53 describes the same). The slowest file, test/cli/cli.test.ts,
 * takes about 80 s in a full run at concurrency 2 on a 2-core machine, and 255 s in a run measured while other jobs
 * held the load average at 13 to 16 (the engine fuzz 98 s, the Roundcube stack 69 s there); 10 minutes is more than
 * twice that worst case, and a hung file costs at most that. A test or hook that waits on something outside the process (a
 * browser, slapd, a PHP server) sets its own, shorter `{ timeout }` so that a hang names the step that hung; a suite
 * `{ timeout }` longer than this one never fires.
 */
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 10 * 60_000);
/**
 * Time limit of the whole run, in ms (TEST_WATCHDOG_MS): a full CI run takes about 20 minutes, the CI job may take
 * 90. When it fires, every process of the run (its process group: test files, servers, browsers they started) is
 * stopped and the run fails, so a hang that escapes the per-file limit still cannot hold a CI job to its end.
 */
const WATCHDOG_MS = Number(process.env.TEST_WATCHDOG_MS ?? 60 * 60_000);
/** How long a stopped run gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 10_000;
/** Building the PGlite template takes a few seconds. */
const TEMPLATE_TIMEOUT_MS = 3 * 60_000;

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

const files = roots
  .flatMap((r) => walk(join(root, r), []))
  .map((f) => relative(root, f))
  .sort();
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
// One PGlite template per run (a fresh embedded database takes seconds, a clone of the template well under one).
const template = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/make-template.ts'], {
  stdio: 'inherit',
  cwd: root,
  timeout: TEMPLATE_TIMEOUT_MS,
});
if (template.status !== 0) {
  console.error('could not create the PGlite template', template.error ? `(${template.error.message})` : '');
  process.exit(1);
}

// Test files share one PGlite template and the local PostgreSQL; two at a time keeps a 2-core machine busy
// without starving Argon2 (64 MiB per derivation).
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// detached: the run gets its own process group, which the watchdog (or ^C) stops as a whole.
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${FILE_TIMEOUT_MS}`,
    '--test-force-exit',
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'test' }, detached: true },
);

function stopRun(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

let timedOut = false;
const watchdog = setTimeout(() => {
  timedOut = true;
  console.error(
    `\n!!!!! the test run took longer than ${Math.round(WATCHDOG_MS / 1000)} s (TEST_WATCHDOG_MS): stopping it !!!!!\n`,
  );
  stopRun('SIGTERM');
  setTimeout(() => stopRun('SIGKILL'), KILL_GRACE_MS).unref();
}, WATCHDOG_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopRun(signal);
    setTimeout(() => stopRun('SIGKILL'), KILL_GRACE_MS).unref();
  });
}

child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  // Whatever the test files started and left behind (a server that outlived its file) goes with the run.
  stopRun('SIGKILL');
  if (timedOut) process.exit(124);
  process.exit(code ?? (signal ? 128 : 1));
});
