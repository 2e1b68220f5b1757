/**
 * The demo as a newcomer gets it: `node backend/src/main.ts` (what `npm start` runs after building the bundle) with
 * nothing configured but a fresh data folder and a free port. Start-up creates the secrets, the demo CA, migrates the
 * embedded database and seeds the demo users; /healthz answers 200 after that.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.ts';

/** First start: PGlite initialisation, migrations, a demo CA and four demo users (Argon2 at the default cost). */
const START_TIMEOUT_MS = 120_000;

export interface DemoServer {
  url: string;
  dataDir: string;
  log: string[];
  stop(): Promise<void>;
}

export async function startDemoServer(env: Record<string, string> = {}): Promise<DemoServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smime-demo-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'backend/src/main.ts'], {
    cwd: REPO_ROOT,
    // Not NODE_ENV=production: there the demo is never served (issue 12); a newcomer's `npm start` has no NODE_ENV.
    env: { ...process.env, NODE_ENV: 'development', PORT: '0', SMIME_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  let url: string | undefined;
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      log.push(line);
      const m = /"address":"(http:\/\/[^"]+)"/.exec(line);
      if (m && /"msg":"listening"/.test(line)) url = m[1];
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (url) {
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return { url, dataDir, log, stop };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`demo server did not become ready:\n${log.join('\n')}`);
}
