/**
 * The README's quickstart works as written (issue 15): the "Try it" commands run in bash from the repository, on a
 * fresh data folder and a free port (the only two things changed: SMIME_DATA_DIR, and 8080 in the URLs), and answer
 * what the README says they answer. A README edit that breaks a step fails here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

/** The shell block that follows "Try it:" in the Quickstart. */
function tryItBlock(): string {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const quickstart = readme.slice(readme.indexOf('## Quickstart'));
  const after = quickstart.slice(quickstart.indexOf('Try it:'));
  const start = after.indexOf('```sh\n') + '```sh\n'.length;
  return after.slice(start, after.indexOf('\n```', start));
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('the README quickstart runs as written and answers what it says', { timeout: 240_000 }, async () => {
  const block = tryItBlock();
  assert.match(block, /import-p12/, 'found the Try it block');
  const data = mkdtempSync(join(tmpdir(), 'smime-quickstart-'));
  const port = await freePort();
  // A stuck step must not hold the test: every curl gets a time limit, the wait for /healthz one too.
  const script = [
    'set -euo pipefail',
    `curl() { command curl --max-time 30 "$@"; }`,
    block.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replace('do sleep 1; done', 'do sleep 1; n=$((n+1)); [ $n -lt 120 ]; done'),
  ]
    .join('\n')
    .replace('until curl', 'n=0; until curl');
  const child = spawn('bash', ['-c', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, SMIME_DATA_DIR: data, PORT: String(port), LOG_LEVEL: 'warn', NODE_ENV: 'development' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, `the quickstart failed:\n${out}\n${err}`);
    const answers = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      // The server's own log lines share stdout with curl's answers.
      .filter((j) => !('level' in j));
    assert.equal(answers.length, 3, out);
    assert.equal(answers[0]!.unlocked, false, 'a key IT placed unlocks nothing');
    assert.equal(answers[0]!.mustChangePassphrase, true);
    assert.ok(Array.isArray(answers[1]!.rewrappedKeyIds), 'the passphrase change re-wrapped the key');
    assert.equal(answers[2]!.unlocked, true, 'her own passphrase unlocks');
    assert.equal(typeof answers[2]!.unlockToken, 'string');
  } finally {
    // The server started in the background: stop the whole process group, whatever happened.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    rmSync(data, { recursive: true, force: true });
  }
});
