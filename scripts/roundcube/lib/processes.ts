/**
 * Processes of the stack: each daemon runs in a process group of its own (spawned detached, i.e. setsid), so that
 * stopping it reaches every process it forked (php -S workers outlive their parent; Dovecot's and the backend's
 * children too). Waits are bounded: nothing here can hang a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createServer } from 'node:net';

/** How often a wait polls (a port, a URL, a process group). */
const POLL_MS = 100;
/** After SIGKILL, how long a group may take to disappear before we give up waiting (never forever). */
const AFTER_KILL_MS = 3000;

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). Another program may take it meanwhile: rare. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether any process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is not ours to signal (cannot happen as root; counts as alive).
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* gone already */
  }
}

/** SIGTERM the group (unless `alreadySignalled`), wait up to `graceMs`, then SIGKILL whatever is left. */
export async function stopGroup(pgid: number, graceMs: number, alreadySignalled = false): Promise<void> {
  if (!alreadySignalled) signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(POLL_MS);
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  const last = Date.now() + AFTER_KILL_MS;
  while (groupAlive(pgid) && Date.now() < last) await sleep(POLL_MS);
}

export interface Daemon {
  name: string;
  child: ChildProcess;
  /** Process group id (= the pid: spawned detached). */
  pgid: number;
  /** Resolves when the group leader exited. */
  exited: Promise<number | null>;
}

/**
 * Start `command` detached (a new session and process group) with stdout and stderr appended to `logFile`, stdin
 * closed. The environment is exactly `env`: nothing of the caller's leaks into a daemon.
 */
export function spawnDaemon(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Daemon {
  const fd = openSync(options.logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  return { name, child, pgid: child.pid, exited };
}

/** Run a short command to completion (postfix start/stop), bounded by `timeoutMs`; output appended to `logFile`. */
export async function runCommand(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; logFile: string; timeoutMs: number },
): Promise<number | null> {
  const d = spawnDaemon(command, command, args, { cwd: '/', env: options.env, logFile: options.logFile });
  const timer = setTimeout(() => signalGroup(d.pgid, 'SIGKILL'), options.timeoutMs);
  try {
    return await d.exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Poll `check` until it answers true, `deadline` (epoch ms) passes, or `gone()` says the process died. Throws with
 * `logs()` attached: a component that does not come up must say why.
 */
export async function waitUntil(
  what: string,
  deadline: number,
  check: () => Promise<boolean>,
  options: { gone?: () => boolean; logs: () => string },
): Promise<void> {
  for (;;) {
    if (await check().catch(() => false)) return;
    if (options.gone?.()) throw new Error(`${what}: the process exited during start-up\n${options.logs()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready in time\n${options.logs()}`);
    await sleep(POLL_MS);
  }
}

/** How much of the end of a log `tail` reads: enough for its lines, bounded however big the log grew. */
const TAIL_BYTES = 64 * 1024;

/** The last `lines` lines of a file ('' when it does not exist), for failure messages. */
export function tail(path: string, lines = 40): string {
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (!size) return '';
  const fd = openSync(path, 'r');
  try {
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } finally {
    closeSync(fd);
  }
}
