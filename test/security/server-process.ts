/**
 * The server as an operator starts it (`npm start` runs backend/src/main.ts), in a child process with exactly the
 * environment given (plus PATH), for the attacks on production settings and the demo (issue 12). Not a test file.
 * Every run has a deadline and is killed in `stop`; the data folder is the caller's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.ts';

/** A first start: PGlite initialisation, migrations, in demo mode a demo CA and four users (Argon2 at the default cost). */
export const START_TIMEOUT_MS = 150_000;

export interface ServerRun {
  /** Base URL once the server listened. */
  url?: string;
  /** Set when the process ended. */
  exitCode: number | null;
  /** The server's own process (node running main.ts), for what a test reads of it under /proc. */
  pid: number | undefined;
  /** stdout and stderr together. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts main.ts and waits until /healthz answers 200 (`until: 'ready'`) or the process exits (`until: 'exit'`, or a
 * start that fails). Rejects at the deadline, after killing the process.
 */
export async function runMain(
  env: Record<string, string>,
  until: 'ready' | 'exit',
  timeoutMs = START_TIMEOUT_MS,
): Promise<ServerRun> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'backend/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const run: ServerRun = {
    get exitCode() {
      return child.exitCode;
    },
    pid: child.pid,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killed);
      }
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await exited;
      return run;
    }
    run.url ??= /"address":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(out)?.[1];
    if (until === 'ready' && run.url) {
      const ok = await fetch(`${run.url}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return run;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await run.stop();
  throw new Error(`main.ts did not ${until === 'ready' ? 'become ready' : 'exit'} within ${timeoutMs} ms:\n${out}`);
}

/**
 * A private key for audit checkpoints, as production requires one outside the data folder (issue 12): written to
 * `dir` with mode 0600; the environment entry that names it.
 */
export function checkpointKeyEnv(dir: string): Record<string, string> {
  const file = join(dir, 'audit-checkpoint-key.pem');
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  return { SMIME_AUDIT_CHECKPOINT_KEY_FILE: file };
}
