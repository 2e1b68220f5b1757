/**
 * A run without ../shared/smime-corpus must end promptly (issue 13): before, a suite's setup threw on the missing
 * corpus after its server had started, the cleanup did not run, the server kept listening and the run hung forever.
 * Runs two corpus-dependent files the way scripts/run-tests.mjs does, with SMIME_CORPUS_DIR on an empty folder: with
 * CI=true they fail at once and say why; without CI they skip, loudly, and pass.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

/** Both files fail or skip before any setup; loading them through tsx takes a few seconds on a busy machine. */
const MUST_END_WITHIN_MS = 60_000;
/** An engine suite, and an API suite that starts a server and opens a database (the hang of issue 13). */
const FILES = ['test/smime/verify.test.ts', 'test/security/cross-user-access.test.ts'];

function runWithoutCorpus(ci: boolean, corpus: string): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, SMIME_CORPUS_DIR: corpus, NODE_ENV: 'test' };
  delete env.CI;
  delete env.NODE_TEST_CONTEXT; // the child is a test run of its own, not a file of this one
  if (ci) env.CI = 'true';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      `--test-timeout=${MUST_END_WITHIN_MS}`,
      '--test-force-exit',
      '--test-reporter=spec',
      ...FILES,
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), MUST_END_WITHIN_MS + 10_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe('a run without the shared corpus', { timeout: 3 * MUST_END_WITHIN_MS }, () => {
  const empty = mkdtempSync(join(tmpdir(), 'smime-no-corpus-'));
  after(() => rmSync(empty, { recursive: true, force: true }));

  test('CI=true: fails within the limit and says the corpus is missing', async () => {
    const r = await runWithoutCorpus(true, empty);
    assert.ok(r.ms < MUST_END_WITHIN_MS, `took ${r.ms} ms`);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /the shared S\/MIME corpus is missing at .*smime-no-corpus-.*CI=true requires it/);
    for (const file of FILES)
      assert.match(r.output, new RegExp(`✖ .*${file.replace(/[./]/g, '\\$&')}`), `${file} failed\n${r.output}`);
  });

  test('a developer machine: skips loudly, passes, ends within the limit', async () => {
    const r = await runWithoutCorpus(false, empty);
    assert.ok(r.ms < MUST_END_WITHIN_MS, `took ${r.ms} ms`);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /!!!!! SKIPPING .*the shared S\/MIME corpus is missing/);
    assert.match(r.output, /﹣ .* # the shared S\/MIME corpus is missing/, 'the skipped suites say why');
    assert.match(r.output, /ℹ fail 0/);
  });
});
