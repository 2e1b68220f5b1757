/** smime-admin as an operator runs it (bin/smime-admin.js), in a child process with exactly the environment given. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';

export const CLI = join(REPO_ROOT, 'bin/smime-admin.js');

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** Run smime-admin with `args`, PATH and HOME plus `env`, `input` on standard input; killed after `timeoutMs`. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string, timeoutMs = 120_000): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    input,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * runCli without blocking the event loop: for a test whose own server (in this process) must keep answering while
 * the command runs, and whose keep-alive connections must not time out behind a blocked loop.
 */
export function runCliAsync(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
