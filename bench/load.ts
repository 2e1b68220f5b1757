/**
 * Load test (issue 6): the real server (backend/src/main.ts, a child process) on the real PostgreSQL, driven over
 * loopback by autocannon with many users at once, each request authenticated as a different user (round robin).
 *
 *   a) POST /messages/outgoing: sign + encrypt a ~10 KB message to the next user
 *   b) POST /messages/incoming: the recipients read what a) produced (decrypt + verify + harvest)
 *   c) POST /messages/outgoing?sign=true alone, then again while a burst of unlocks (Argon2id at the default cost)
 *      runs: signing with an unlocked key must not wait for the key derivations of others.
 *
 * Every phase is bounded in time AND in requests. Prints one table: throughput, p50/p99 latency, errors (non-2xx
 * and socket errors), the server's RSS at the start, middle and end of each phase. Any error fails the run (exit 1)
 * after the table. The throw-away database is dropped and the server stopped whatever happens.
 *
 * Settings (environment): LOAD_DATABASE_URL (default TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test,
 * the server-side database where a throw-away one is created), LOAD_USERS (60), LOAD_CONNECTIONS (50),
 * LOAD_DURATION_S (15, per phase), LOAD_MAX_REQUESTS (4000, per phase), LOAD_UNLOCK_BURST (40).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { issueUserToken } from '../backend/src/auth/tokens.ts';
import { loadConfig } from '../backend/src/config.ts';
import { buildPkcs12, generateCa, generateRsa, issueUser, toPem } from '../backend/src/demo/pki.ts';
import { printTable, type Row } from './table.ts';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const JWT_SECRET = randomBytes(32).toString('hex');
const ADMIN_TOKEN = randomBytes(32).toString('hex');
const PASSPHRASE = 'load test passphrase of a user';
/** Longest a single request may take before autocannon counts it as a timeout (an error). */
const REQUEST_TIMEOUT_S = 60;
/** The unlock burst queues behind the KDF semaphore: allow it the time of the whole burst. */
const UNLOCK_TIMEOUT_S = 300;
/** Server settings the bench passes through from its own environment, to compare tunings. */
const TUNING = /^(SMIME_ARGON2_[A-Z_]+|DATABASE_POOL_SIZE)$/;
/** Distinct RSA key pairs among the users' certificates. */
const KEY_PAIRS = 8;
/** Upper bounds of the signing run that accompanies the unlock burst: it should last as long as the burst. */
const BURST_PHASE_MAX_S = 120;
const BURST_PHASE_REQUEST_FACTOR = 4;

export interface User {
  email: string;
  bearer: string;
  unlock: string;
}

export interface PhaseResult {
  name: string;
  result: autocannon.Result;
  rss: number[];
  workerPeak: number;
  statuses: Map<number, number>;
  firstError?: string;
}

/**
 * Resident memory (MiB) of the server process and, apart, of its children (the Argon2 worker, started on demand and
 * stopped when idle), from /proc (Linux). The server is a child of the bench, so the load generator is not counted.
 */
function rssOf(pid: number): { server: number; worker: number } {
  const one = (p: number | string): number => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0; // a child that just exited
    }
  };
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    /* no children file: the server alone */
  }
  const server = one(pid);
  if (server === 0) throw new Error(`no RSS for the server (pid ${pid})`);
  return { server, worker: children.reduce((a, c) => a + one(c), 0) };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function message(from: string, to: string, bytes: number): Buffer {
  const line = 'The quarterly figures are attached below; please check the totals before Monday. ';
  let body = '';
  while (body.length < bytes) body += `${line}\r\n`;
  return Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\nSubject: load test\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n` +
      `Message-ID: <${randomBytes(8).toString('hex')}@load.example>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=us-ascii\r\n\r\n${body}`,
  );
}

/** Run `fn` over items with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

async function call(
  base: string,
  method: string,
  path: string,
  bearer: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const isRaw = Buffer.isBuffer(body);
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { 'content-type': isRaw ? 'message/rfc822' : 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : isRaw ? new Uint8Array(body) : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

/** A running server on a throw-away database, with its users set up (see startLoadServer). */
export interface LoadServer {
  base: string;
  pid: number;
  people: User[];
  /** User i writes to user next(i). */
  next: (i: number) => number;
  /** Problems seen so far (a phase with errors adds its own); close() adds the server's exit and its error lines. */
  failures: string[];
  serverLog: string[];
  setupS: number;
  /** Ask the server process through its IPC channel (only with `probe`: bench/server-probe.ts answers). */
  ask: <T>(message: { cmd: string; file?: string }) => Promise<T>;
  /** Stop the server (SIGTERM), drop the database, remove the data folder. */
  close: () => Promise<void>;
}

/**
 * The real server (backend/src/main.ts, a child process) on a throw-away PostgreSQL database, with `users` users who
 * each imported a key, unlocked it and harvested the next user's certificate from a signed message. `nodeArgs` go
 * before the entry point (e.g. --cpu-prof); `probe` preloads bench/server-probe.ts, which answers `ask`.
 */
export async function startLoadServer(opts: {
  users: number;
  nodeArgs?: string[];
  env?: Record<string, string>;
  probe?: boolean;
}): Promise<LoadServer> {
  const users = opts.users;
  const baseUrl =
    process.env.LOAD_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

  const work = mkdtempSync(join(tmpdir(), 'smime-load-'));
  const dbName = `smime_load_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  let server: ChildProcess | undefined;
  const serverLog: string[] = [];
  let serverErrors = 0;
  const failures: string[] = [];
  let exited: Promise<number | null> | undefined;
  const close = async () => {
    try {
      if (server && server.exitCode === null) {
        server.kill('SIGTERM');
        const code = await Promise.race([
          exited!,
          new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
        ]);
        if (code !== 0) failures.push(`server exit: ${String(code)}`);
        if (serverErrors > 0) failures.push(`${serverErrors} error lines in the server log`);
      }
    } finally {
      if (server && server.exitCode === null) server.kill('SIGKILL');
      await admin
        .query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
        .catch((e: unknown) => failures.push(`drop database: ${String(e)}`));
      await admin.end();
      rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const dbUrl = new URL(baseUrl);
    dbUrl.pathname = `/${dbName}`;

    // ---- PKI: a test CA and one RSA-2048 S/MIME certificate per user -------------------------------------------
    const t0 = Date.now();
    const ca = await generateCa('Load test CA');
    const caPem = join(work, 'ca.pem');
    writeFileSync(caPem, toPem(ca.certificate));
    const emails = Array.from({ length: users }, (_, i) => `user${String(i).padStart(4, '0')}@load.example`);
    const p12s: Uint8Array[] = [];
    // A few key pairs shared round robin (the server sees distinct certificates; RSA generation would dominate).
    const keyPairs = await Promise.all(Array.from({ length: Math.min(users, KEY_PAIRS) }, () => generateRsa()));
    await pool(emails, 4, async (email, i) => {
      const issued = await issueUser(ca, { name: `Load User ${i}`, email, keyPair: keyPairs[i % keyPairs.length]! });
      p12s[i] = await buildPkcs12({
        certificate: issued.certificate,
        chain: [ca.certificate],
        pkcs8: issued.pkcs8,
        password: 'p12 password',
        friendlyName: email,
      });
    });

    // ---- the real server ------------------------------------------------------------------------------------------
    const port = await freePort();
    const serverEnv: Record<string, string> = {};
    // The server's settings are the defaults, except what is set below and the tuning knobs under test
    // (SMIME_ARGON2_*, DATABASE_POOL_SIZE), which pass through from this environment.
    for (const [k, v] of Object.entries(process.env))
      if (
        v !== undefined &&
        ((!k.startsWith('SMIME_') && !k.startsWith('LDAP_') && k !== 'DATABASE_URL') || TUNING.test(k))
      )
        serverEnv[k] = v;
    Object.assign(serverEnv, {
      DATABASE_URL: dbUrl.toString(),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SMIME_DATA_DIR: join(work, 'data'),
      SMIME_JWT_SECRET: JWT_SECRET,
      SMIME_ADMIN_TOKEN: ADMIN_TOKEN,
      SMIME_TRUST_ANCHORS: caPem,
      SMIME_DEMO: 'off',
      // Every simulated user comes from 127.0.0.1: the per-address limit would measure itself.
      SMIME_RATE_LIMIT_PER_MINUTE: '1000000',
      ...opts.env,
    });
    const probe = opts.probe ? ['--import', join(ROOT, 'bench/server-probe.ts')] : [];
    server = spawn(
      process.execPath,
      [...(opts.nodeArgs ?? []), '--import', 'tsx', ...probe, join(ROOT, 'backend/src/main.ts')],
      {
        cwd: ROOT,
        env: serverEnv,
        stdio: ['ignore', 'pipe', 'pipe', ...(opts.probe ? (['ipc'] as const) : [])],
      },
    );
    const keep = (chunk: Buffer) => {
      const text = String(chunk);
      // pino levels 50 (error) and 60 (fatal): the server saw something go wrong even if the client got an answer.
      serverErrors += (text.match(/"level":[56]0/g) ?? []).length;
      serverLog.push(text);
      if (serverLog.length > 200) serverLog.shift();
    };
    server.stdout!.on('data', keep);
    server.stderr!.on('data', keep);
    exited = new Promise<number | null>((r) => server!.once('exit', r));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 600 || server.exitCode !== null) throw new Error(`server did not start:\n${serverLog.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // ---- users: own key imported through the vault, unlocked, each knowing the next user's certificate ----------
    const config = loadConfig({
      SMIME_JWT_SECRET: JWT_SECRET,
      SMIME_ADMIN_TOKEN: ADMIN_TOKEN,
      SMIME_DATA_DIR: join(work, 'data'),
    });
    const people: User[] = [];
    for (const email of emails)
      people.push({ email, bearer: await issueUserToken(config, email, config.SMIME_JWT_MAX_LIFETIME_S), unlock: '' });
    await pool(people, 8, async (u, i) => {
      await call(base, 'POST', '/api/v1/keys', u.bearer, {
        p12: Buffer.from(p12s[i]!).toString('base64'),
        password: 'p12 password',
        passphrase: PASSPHRASE,
      });
      const r = (await (
        await call(base, 'POST', '/api/v1/session/unlock', u.bearer, { passphrase: PASSPHRASE, delivery: 'header' })
      ).json()) as { unlockToken: string };
      u.unlock = r.unlockToken;
    });
    const next = (i: number) => (i + 1) % users;
    // User i+1 signs to user i; user i reads it and harvests i+1's certificate (what a real exchange does).
    await pool(people, 8, async (u, i) => {
      const signer = people[next(i)]!;
      const signed = Buffer.from(
        await (
          await call(
            base,
            'POST',
            '/api/v1/messages/outgoing?sign=true',
            signer.bearer,
            message(signer.email, u.email, 1000),
            { 'x-smime-unlock': signer.unlock },
          )
        ).arrayBuffer(),
      );
      const seen = (await (
        await call(base, 'POST', '/api/v1/messages/incoming', u.bearer, signed, { 'x-smime-unlock': u.unlock })
      ).json()) as {
        harvested: { outcome: string }[];
      };
      if (seen.harvested[0]?.outcome !== 'added')
        throw new Error(`${u.email} did not harvest ${signer.email}: ${JSON.stringify(seen)}`);
    });
    const child = server;
    const ask = <T>(msg: { cmd: string; file?: string }): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (!child.send) return reject(new Error('the server was started without probe'));
        child.once('message', (m) => resolve(m as T));
        child.send(msg);
      });
    return {
      base,
      pid: server.pid!,
      people,
      next,
      failures,
      serverLog,
      setupS: (Date.now() - t0) / 1000,
      ask,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface PhaseOptions {
  duration?: number;
  amount?: number;
  maxRequests?: number;
  connections?: number;
  timeout?: number;
  onOk?: (i: number, body: string) => void;
  /** Which user the i-th request is for (default: round robin over all). */
  users?: number;
}

/**
 * One autocannon run against the server: `build(i)` makes the request for user i. RSS of the server is sampled every
 * 500 ms; any non-2xx, socket error or timeout is added to `srv.failures`. `alongside` runs beside it and stops it.
 */
export async function runPhase(
  srv: LoadServer,
  name: string,
  build: (i: number) => { path: string; user: User; body: Buffer | string; contentType: string },
  opts: PhaseOptions & { connections: number } & ({ amount: number } | { duration: number; maxRequests: number }),
  alongside?: () => Promise<void>,
): Promise<PhaseResult> {
  let counter = 0;
  const users = opts.users ?? srv.people.length;
  const statuses = new Map<number, number>();
  let firstError: string | undefined;
  const rss: number[] = [];
  let workerPeak = 0;
  const sample = () => {
    const r = rssOf(srv.pid);
    rss.push(r.server);
    workerPeak = Math.max(workerPeak, r.worker);
  };
  sample();
  const sampler = setInterval(sample, 500);
  const instance = autocannon({
    url: srv.base,
    connections: opts.connections,
    timeout: opts.timeout ?? REQUEST_TIMEOUT_S,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration, maxOverallRequests: opts.maxRequests }),
    requests: [
      {
        method: 'POST',
        setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => {
          const i = counter++ % users;
          const r = build(i);
          context.i = i;
          return {
            ...req,
            path: r.path,
            body: r.body,
            headers: {
              authorization: `Bearer ${r.user.bearer}`,
              'x-smime-unlock': r.user.unlock,
              'content-type': r.contentType,
            },
          };
        },
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 200 && status < 300) opts.onOk?.(context.i as number, body);
          else firstError ??= `${status} ${body.slice(0, 300)}`;
        },
      },
    ],
  });
  let side: Promise<void> | undefined;
  if (alongside)
    side = alongside().finally(() => {
      instance.stop();
    });
  const result = await instance;
  await side;
  clearInterval(sampler);
  sample();
  const errs = result.errors + result.timeouts + result.non2xx;
  if (errs > 0)
    srv.failures.push(
      `${name}: ${result.non2xx} non-2xx, ${result.errors} socket errors, ${result.timeouts} timeouts; first: ${firstError ?? '-'}; statuses ${JSON.stringify([...statuses])}`,
    );
  return { name, result, rss, workerPeak, statuses, ...(firstError ? { firstError } : {}) };
}

/** Fails the bench with the server's last log lines when anything went wrong (after the table of what was measured). */
export function failOnProblems(title: string, srv: LoadServer, rows: Row[]): void {
  if (!srv.failures.length) return;
  printTable(`${title} (failed run)`, rows);
  throw new Error(
    `${title} failed:\n  ${srv.failures.join('\n  ')}\nserver log (last lines):\n${srv.serverLog.join('').slice(-4000)}`,
  );
}

export async function benchLoad(): Promise<Row[]> {
  const users = env('LOAD_USERS', 60);
  const connections = env('LOAD_CONNECTIONS', 50);
  const durationS = env('LOAD_DURATION_S', 15);
  const maxRequests = Math.max(env('LOAD_MAX_REQUESTS', 4000), connections);
  const burst = Math.min(env('LOAD_UNLOCK_BURST', 40), users);
  const rows: Row[] = [];
  const srv = await startLoadServer({ users });
  try {
    const { people, next } = srv;
    // ---- phases ---------------------------------------------------------------------------------------------------
    const outgoing = people.map((u, i) => message(u.email, people[next(i)]!.email, 10 * 1024));
    const produced: (string | undefined)[] = new Array(users);

    const phase = (
      name: string,
      build: (i: number) => { path: string; user: User; body: Buffer | string; contentType: string },
      opts: PhaseOptions = {},
      alongside?: () => Promise<void>,
    ): Promise<PhaseResult> =>
      runPhase(
        srv,
        name,
        build,
        {
          ...opts,
          connections: opts.connections ?? connections,
          ...(opts.amount
            ? { amount: opts.amount }
            : { duration: opts.duration ?? durationS, maxRequests: opts.maxRequests ?? maxRequests }),
        },
        alongside,
      );
    const report = (p: PhaseResult, baseline?: PhaseResult) => {
      const r = p.result;
      const completed = [...p.statuses.values()].reduce((a, b) => a + b, 0);
      const errors = r.errors + r.timeouts + r.non2xx;
      rows.push({
        what: `${p.name}: throughput`,
        ours: completed / r.duration,
        ref: baseline
          ? [...baseline.statuses.values()].reduce((a, b) => a + b, 0) / baseline.result.duration
          : undefined,
        unit: 'ops/s',
        note: `${completed} requests in ${r.duration.toFixed(1)} s, ${r.connections} connections, errors ${errors}${baseline ? '; ref: without the burst' : ''}`,
      });
      rows.push({
        what: `${p.name}: latency p50`,
        ours: r.latency.p50,
        ref: baseline?.result.latency.p50,
        unit: 'ms',
        note: baseline ? 'ref: without the burst' : '',
      });
      rows.push({
        what: `${p.name}: latency p99`,
        ours: r.latency.p99,
        ref: baseline?.result.latency.p99,
        unit: 'ms',
        note: `max ${r.latency.max.toFixed(0)} ms`,
      });
      const mid = p.rss[Math.floor(p.rss.length / 2)]!;
      rows.push({
        what: `${p.name}: server RSS end`,
        ours: p.rss.at(-1)!,
        ref: p.rss[0],
        unit: 'MiB',
        note: `start ${p.rss[0]!.toFixed(0)}, middle ${mid.toFixed(0)}, end ${p.rss.at(-1)!.toFixed(0)}, peak ${Math.max(...p.rss).toFixed(0)}; ref: start; Argon2 worker peak ${p.workerPeak.toFixed(0)}`,
      });
    };

    const a = await phase(
      'a) outgoing sign+encrypt 10 KB',
      (i) => ({
        path: '/api/v1/messages/outgoing?sign=true&encrypt=true',
        user: people[i]!,
        body: outgoing[i]!,
        contentType: 'message/rfc822',
      }),
      { onOk: (i, body) => void (produced[i] ??= body) },
    );
    report(a);
    const missing = produced.findIndex((m) => m === undefined);
    if (missing >= 0)
      throw new Error(
        `phase a produced no message from ${people[missing]!.email}; raise LOAD_DURATION_S or LOAD_MAX_REQUESTS`,
      );

    // The message user i wrote is read by user i+1 (its recipient).
    const b = await phase('b) incoming decrypt+verify', (i) => ({
      path: '/api/v1/messages/incoming',
      user: people[next(i)]!,
      body: produced[i]!,
      contentType: 'message/rfc822',
    }));
    report(b);

    const sign = (i: number) => ({
      path: '/api/v1/messages/outgoing?sign=true',
      user: people[i]!,
      body: outgoing[i]!,
      contentType: 'message/rfc822',
    });
    const c1 = await phase('c) outgoing sign 10 KB', sign);
    report(c1);

    let unlocks: PhaseResult | undefined;
    const unlockBody = JSON.stringify({ passphrase: PASSPHRASE, delivery: 'header' });
    // Signing lasts as long as the burst (bounded by BURST_PHASE_MAX_S and BURST_PHASE_REQUEST_FACTOR x the count).
    const c2 = await phase(
      `c) sign during ${burst} unlocks`,
      sign,
      { duration: BURST_PHASE_MAX_S, maxRequests: maxRequests * BURST_PHASE_REQUEST_FACTOR },
      async () => {
        // Let the signing run settle for a second, then fire every unlock at once.
        await new Promise((r) => setTimeout(r, 1000));
        unlocks = await phase(
          `c) the ${burst} unlocks`,
          (i) => ({
            path: '/api/v1/session/unlock',
            user: people[i]!,
            body: unlockBody,
            contentType: 'application/json',
          }),
          { amount: burst, connections: burst, timeout: UNLOCK_TIMEOUT_S },
        );
      },
    );
    report(c2, c1);
    rows.push({
      what: `c) the ${burst} unlocks: latency p50 / p99`,
      ours: unlocks!.result.latency.p50,
      ref: undefined,
      unit: 'ms',
      note: `p99 ${unlocks!.result.latency.p99.toFixed(0)} ms, burst over in ${unlocks!.result.duration.toFixed(1)} s, errors ${unlocks!.result.errors + unlocks!.result.timeouts + unlocks!.result.non2xx}`,
    });
    rows.push({
      what: 'setup (PKI, import, unlock, exchange)',
      ours: srv.setupS * 1000,
      unit: 'ms',
      note: `${users} users`,
    });
  } finally {
    await srv.close();
  }
  failOnProblems('load test', srv, rows);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const os = await import('node:os');
  console.log(
    `# Load (${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)})`,
  );
  printTable('Load: outgoing and incoming on PostgreSQL (issue 6)', await benchLoad());
}
