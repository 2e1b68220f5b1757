/** smime-admin as an operator runs it (bin/smime-admin.js), in a child process with exactly the environment given. */
import { spawnSync } from 'node:child_process';
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
