/**
 * What HTTP adds to the engine (issue 16), on the real server (a child process, bench/load.ts startLoadServer) and
 * the real PostgreSQL:
 *
 *   a) server CPU per 10 KB sign+encrypt request (POST /messages/outgoing?sign=true&encrypt=true) at a fixed
 *      concurrency: the server process's user + system CPU time over the run divided by the requests (every thread
 *      of the process: the event loop, GC, libuv's pool). Reference: the engine's CPU time for the same operation
 *      (protectMessagePieces: sign, then encrypt to the recipient and the sender, RSA-2048, the server's default
 *      cipher and key transport) in this process, in the same run. Goal: ratio <= 2.
 *   b) the server's event-loop delay p99 and the HTTP p50/p99 latency of 10 KB sign+encrypt requests at 16 and 64
 *      connections, while 25 MB messages are verified (signed), decrypted (enveloped) and sent (signed and
 *      encrypted) one after the other beside them; reference: the same without the 25 MB messages.
 *
 * The server's figures come from inside it (bench/server-probe.ts over IPC). Settings (environment):
 * HTTP_BENCH_USERS (16), HTTP_BENCH_REQUESTS (600, for a), HTTP_BENCH_CONNECTIONS (8, for a), HTTP_BENCH_ROUNDS (5:
 * a's rounds, the server and the engine measured alternately, medians reported), HTTP_BENCH_DURATION_S (5, each
 * phase of b), HTTP_BENCH_LARGE (2: 25 MB verifies, decrypts and sign+encrypts of each per phase of b), and
 * LOAD_DATABASE_URL. HTTP_BENCH_PART=a or b runs only that part. HTTP_BENCH_CPU_PROF=<file.cpuprofile>: a V8 CPU
 * profile of the server during the measured requests of a)'s last round (the warmest), and b) is skipped (summarise
 * it with `node scripts/cpuprofile-summary.mjs`).
 */
import { createPrivateKey } from 'node:crypto';
import { loadConfig } from '../backend/src/config.ts';
import { generateCa, generateRsa, issueUser } from '../backend/src/demo/pki.ts';
import { DEFAULT_CAPABILITIES, protectMessagePieces } from '../backend/src/smime/index.ts';
import { failOnProblems, message, runPhase, startLoadServer, type LoadServer, type User } from './load.ts';
import { printTable, type Row } from './table.ts';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
};

const SMALL_BYTES = 10 * 1024;
const LARGE_BYTES = 25 * 1024 * 1024;
/** Requests before any measurement: JIT, the pool's connections, the certificate caches. */
const WARM_UP_REQUESTS = 200;
/** The issue-16 goal for a): the server may spend at most twice the engine's CPU on a request. */
const CPU_RATIO_GOAL = 2;
const LATENCY_CONNECTIONS = [16, 64];
/** A 25 MB request may take seconds on a busy 2-core machine. */
const LARGE_TIMEOUT_MS = 120_000;

interface ProbeSample {
  cpuUs: number;
  delay: { p50: number; p99: number; max: number };
}

/**
 * The engine's CPU time (ms) per 10 KB sign+encrypt, what the server would spend if HTTP cost nothing: returns a
 * measurement to run once per round (keys, certificates and the message made once, warmed up).
 */
async function engineCpuMeter(): Promise<(requests: number) => Promise<number>> {
  const config = loadConfig({ SMIME_JWT_SECRET: 'x'.repeat(32), SMIME_ADMIN_TOKEN: 'y'.repeat(32) });
  const ca = await generateCa('HTTP bench CA');
  const [a, b] = await Promise.all([
    issueUser(ca, { name: 'Sender', email: 'sender@load.example', keyPair: await generateRsa() }),
    issueUser(ca, { name: 'Recipient', email: 'recipient@load.example', keyPair: await generateRsa() }),
  ]);
  const privateKey = createPrivateKey({ key: Buffer.from(a.pkcs8), format: 'der', type: 'pkcs8' });
  const raw = message('sender@load.example', 'recipient@load.example', SMALL_BYTES);
  const options = {
    sign: {
      signer: { certificate: a.certificate, chain: [ca.certificate], privateKey },
      format: 'multipart-signed' as const,
      options: { capabilities: DEFAULT_CAPABILITIES },
    },
    encrypt: {
      recipients: [b.certificate, a.certificate].map((certificate) => ({
        certificate,
        keyTransport: config.SMIME_KEY_TRANSPORT,
      })),
      options: { cipher: config.SMIME_DEFAULT_CIPHER },
    },
  };
  for (let i = 0; i < WARM_UP_REQUESTS; i++) await protectMessagePieces(raw, options);
  return async (requests) => {
    const start = process.cpuUsage();
    for (let i = 0; i < requests; i++) await protectMessagePieces(raw, options);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / requests;
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function post(srv: LoadServer, path: string, user: User, body: Buffer | string): Promise<Buffer> {
  const res = await fetch(srv.base + path, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${user.bearer}`,
      'x-smime-unlock': user.unlock,
      'content-type': 'message/rfc822',
    },
    body: typeof body === 'string' ? body : new Uint8Array(body),
    signal: AbortSignal.timeout(LARGE_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return Buffer.from(await res.arrayBuffer());
}

export async function benchHttp(): Promise<Row[]> {
  const users = env('HTTP_BENCH_USERS', 16);
  const requests = env('HTTP_BENCH_REQUESTS', 600);
  const connections = env('HTTP_BENCH_CONNECTIONS', 8);
  const rounds = env('HTTP_BENCH_ROUNDS', 5);
  const durationS = env('HTTP_BENCH_DURATION_S', 5);
  const large = env('HTTP_BENCH_LARGE', 2);
  const profile = process.env.HTTP_BENCH_CPU_PROF;
  const part = profile ? 'a' : process.env.HTTP_BENCH_PART;
  if (part !== undefined && part !== 'a' && part !== 'b') throw new Error('HTTP_BENCH_PART must be a or b');
  const rows: Row[] = [];
  const srv = await startLoadServer({
    users,
    probe: true,
  });
  try {
    const { people, next } = srv;
    const small = people.map((u, i) => message(u.email, people[next(i)]!.email, SMALL_BYTES));
    const signEncrypt = (i: number) => ({
      path: '/api/v1/messages/outgoing?sign=true&encrypt=true',
      user: people[i]!,
      body: small[i]!,
      contentType: 'message/rfc822',
    });

    await runPhase(srv, 'warm-up', signEncrypt, { connections, amount: WARM_UP_REQUESTS });
    // ---- a) CPU per request --------------------------------------------------------------------------------------
    if (part !== 'b') {
      // Rounds alternate the server and the engine, so that a change in the machine's load during the run moves
      // both sides; the medians are reported and every round's figures are in the note.
      const engineCpuMs = await engineCpuMeter();
      const ours: number[] = [];
      const ref: number[] = [];
      let rate = 0;
      for (let round = 0; round < rounds; round++) {
        const profiling = profile !== undefined && round === rounds - 1;
        const before = await srv.ask<ProbeSample>({ cmd: profiling ? 'profile-start' : 'sample' });
        const a = await runPhase(srv, `a) CPU, round ${round + 1}`, signEncrypt, { connections, amount: requests });
        const after = await srv.ask<ProbeSample>(
          profiling ? { cmd: 'profile-stop', file: profile } : { cmd: 'sample' },
        );
        ours.push((after.cpuUs - before.cpuUs) / 1000 / requests);
        ref.push(await engineCpuMs(requests));
        rate += requests / a.result.duration / rounds;
      }
      const each = ours.map((o, i) => `${o.toFixed(2)}/${ref[i]!.toFixed(2)}`).join(', ');
      rows.push({
        what: 'HTTP sign+encrypt 10 KB, server CPU per request',
        ours: median(ours),
        ref: median(ref),
        unit: 'ms',
        note: `medians of ${rounds} rounds (ours/ref: ${each}) of ${requests} requests at ${connections} connections (${rate.toFixed(0)} req/s); ref: the engine alone (protectMessagePieces) in the bench process, between the rounds; goal ratio <= ${CPU_RATIO_GOAL}`,
      });
    }
    if (part === 'a') return rows;

    // ---- b) event loop and latency beside 25 MB verifies and decrypts ---------------------------------------------
    // User 0 writes to user 1: a signed 25 MB message (verify) and an encrypted one (decrypt), made by the server.
    const writer = people[0]!;
    const reader = people[next(0)]!;
    const big = message(writer.email, reader.email, LARGE_BYTES);
    const signed = await post(srv, '/api/v1/messages/outgoing?sign=true', writer, big);
    const enveloped = await post(srv, '/api/v1/messages/outgoing?encrypt=true', writer, big);
    const largeOnes = async () => {
      for (let i = 0; i < large; i++) {
        await post(srv, '/api/v1/messages/incoming', reader, signed);
        await post(srv, '/api/v1/messages/incoming', reader, enveloped);
        // And one sent: signed and encrypted in the message pool since the outgoing side moved there too.
        await post(srv, '/api/v1/messages/outgoing?sign=true&encrypt=true', writer, big);
      }
    };
    for (const c of LATENCY_CONNECTIONS) {
      const phase = async (withLarge: boolean) => {
        await srv.ask<ProbeSample>({ cmd: 'reset' });
        const p = await runPhase(
          srv,
          `b) ${c} connections${withLarge ? ' beside 25 MB' : ''}`,
          signEncrypt,
          // Beside the large messages the phase lasts until they are done (runPhase stops it then).
          { connections: c, duration: withLarge ? LARGE_TIMEOUT_MS / 1000 : durationS, maxRequests: 1_000_000 },
          withLarge ? largeOnes : undefined,
        );
        return { p, probe: await srv.ask<ProbeSample>({ cmd: 'sample' }) };
      };
      const quiet = await phase(false);
      const busy = await phase(true);
      rows.push({
        what: `event-loop delay p99, ${c} conn. + 25 MB verify/decrypt/sign+encrypt`,
        ours: busy.probe.delay.p99,
        ref: quiet.probe.delay.p99,
        unit: 'ms',
        note: `max ${busy.probe.delay.max.toFixed(0)} ms over ${busy.p.result.duration.toFixed(1)} s, ${large} verifies + ${large} decrypts + ${large} sign+encrypts of 25 MB; ref: 10 KB requests alone`,
      });
      for (const q of ['p50', 'p99'] as const)
        rows.push({
          what: `HTTP 10 KB sign+encrypt latency ${q}, ${c} conn. + 25 MB`,
          ours: busy.p.result.latency[q],
          ref: quiet.p.result.latency[q],
          unit: 'ms',
          note:
            q === 'p50'
              ? `${(busy.p.result.requests.total / busy.p.result.duration).toFixed(0)} req/s beside, ${(quiet.p.result.requests.total / quiet.p.result.duration).toFixed(0)} alone; ref: alone`
              : `max ${busy.p.result.latency.max.toFixed(0)} ms; ref: alone`,
        });
    }
  } finally {
    await srv.close();
  }
  failOnProblems('HTTP bench', srv, rows);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const os = await import('node:os');
  console.log(
    `# HTTP (${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)})`,
  );
  printTable('HTTP: what the server adds to the engine (issue 16)', await benchHttp());
}
