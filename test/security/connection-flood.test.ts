/**
 * Attack: a flood of idle connections. Connections that are opened and then say nothing cost the server a file
 * descriptor each; 21,000 of them against a limit of 20,000 exhausted the process's descriptors (EMFILE) and it
 * stopped serving anyone until restarted.
 *
 * Defence: a cap on open connections below the descriptor limit (SMIME_MAX_CONNECTIONS; by default the soft limit
 * less a reserve for the database and files), silent connections closed after SMIME_SOCKET_IDLE_TIMEOUT_MS, request
 * headers due within SMIME_HEADERS_TIMEOUT_MS. Beyond the cap a connection is refused at accept.
 *
 * What the test proves: the real server (backend/src/main.ts) under a descriptor limit of 1,024 takes a flood of
 * 1,500 idle connections without an EMFILE or any error line and without dying; it closes the idle ones itself; and
 * once the flood is over it answers again without a restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

const FD_LIMIT = 1024;
const FLOOD = 1500;
const IDLE_MS = 3000;
/** First start of the server: PGlite initialisation and migrations. */
const START_TIMEOUT_MS = 90_000;

describe('connection flood', { timeout: 240_000 }, () => {
  let child: ChildProcess;
  let dataDir: string;
  const log: string[] = [];
  let port = 0;
  const flood: Socket[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'smime-flood-'));
    child = spawn(
      'bash',
      ['-c', `ulimit -n ${FD_LIMIT} && exec "${process.execPath}" --import tsx backend/src/main.ts`],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          NODE_ENV: 'development',
          PORT: '0',
          HOST: '127.0.0.1',
          SMIME_DATA_DIR: dataDir,
          SMIME_DEMO: 'off',
          SMIME_SOCKET_IDLE_TIMEOUT_MS: String(IDLE_MS),
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const collect = (b: Buffer) => {
      for (const line of b.toString().split('\n').filter(Boolean)) {
        log.push(line);
        const m = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(line);
        if (m) port = Number(m[1]);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && child.exitCode === null) {
      if (port && (await health())) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the server did not start:\n${log.join('\n')}`);
  });
  after(async () => {
    for (const s of flood) s.destroy();
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function health(): Promise<boolean> {
    return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  }

  test('1,500 idle connections under a limit of 1,024 descriptors: no EMFILE, idle ones closed, service back after', async () => {
    let closedByServer = 0;
    await Promise.all(
      Array.from(
        { length: FLOOD },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(port, '127.0.0.1');
            flood.push(s);
            s.on('connect', () => resolve());
            s.on('error', () => resolve());
            s.on('close', () => {
              closedByServer++;
              resolve();
            });
          }),
      ),
    );
    // Hold the flood past the idle timeout: the server closes what it accepted, refuses what it did not. Waited for
    // up to ten idle timeouts, not a fixed two: on a loaded CI machine the last of 1,500 closes came after 6 s once,
    // and with other suites and benchmarks on the cores 43 were still open after five. The wait ends as soon as they
    // are closed.
    const until = Date.now() + IDLE_MS * 10;
    await new Promise((r) => setTimeout(r, IDLE_MS * 2));
    while (closedByServer < FLOOD - 10 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    assert.equal(child.exitCode, null, 'the server is still running');
    assert.ok(
      closedByServer >= FLOOD - 10,
      `the server closed the idle connections itself (${closedByServer} of ${FLOOD})`,
    );
    for (const s of flood) s.destroy();
    flood.length = 0;
    let back = false;
    for (let i = 0; i < 40 && !back; i++) {
      back = await health();
      if (!back) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(back, 'the server answers again once the flood is over');
    assert.deepEqual(
      log.filter((l) => /EMFILE|"level":5\d|uncaught|Error:/.test(l)),
      [],
    );
  });
});
