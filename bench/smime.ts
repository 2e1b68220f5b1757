/**
 * S/MIME speed and memory beside `openssl cms` on the same inputs in the same run (issues 3 and 6): sign, encrypt,
 * sign+encrypt, verify, decrypt at 10 KB, 1 MB and 25 MB. Each operation runs in a fresh process for both tools, so
 * peak resident memory (`/usr/bin/time -f %M`) is comparable; our wall time is the operation inside the process, from
 * the input bytes in memory to the output bytes in memory (module loading and reading the input file excluded: the
 * server has the message in memory when it arrives; the file read is in the note), OpenSSL's is its whole process
 * (its start-up is a few ms). Extra memory is the peak minus the same harness's peak when it has loaded every module
 * and stops before reading the input ('idle'), and for OpenSSL minus `openssl version`. Then the
 * 10 KB sign+encrypt rate beside `openssl speed rsa2048` (smime-rate.ts).
 *
 * BENCH_RUNS (default 3): runs per figure, the median is shown. BENCH_SMIME_SIZES: a comma-separated subset of the
 * sizes ("10 KB,25 MB").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchMessage } from './smime-message.ts';
import { benchSmimeRate } from './smime-rate.ts';
import { median, printTable, type Row } from './table.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SIZES: [string, number][] = [
  ['10 KB', 10 * 1024],
  ['1 MB', 1024 * 1024],
  ['25 MB', 25 * 1024 * 1024],
];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ONLY = process.env.BENCH_SMIME_SIZES?.split(',').map((x) => x.trim());
/** Issue 6 targets at 25 MB: time at most 1.2 times OpenSSL's, extra memory under 3 times the message. */
const TIME_TARGET = 1.2;
const MEMORY_TARGET = 3;

function timed(cmd: string, args: string[]): { ms: number; kb: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms, kb, stdout: r.stdout };
}

export async function benchSmime(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smime-'));
  const rows: Row[] = [];
  try {
    const fx = `${REPO}test/fixtures/p12/`;
    writeFileSync(`${dir}/key.pem`, readFileSync(`${fx}rsa.key`));
    writeFileSync(`${dir}/cert.pem`, readFileSync(`${fx}rsa.crt`));
    writeFileSync(`${dir}/ca.pem`, readFileSync(`${fx}ca.crt`));
    const ours = (op: string) => {
      const r = timed(process.execPath, ['--import', 'tsx', `${REPO}bench/smime-op.ts`, op, dir]);
      const [ms, readMs] = r.stdout.trim().split(/\s+/).map(Number) as [number, number];
      return { ms, kb: r.kb, readMs };
    };
    // The harness with every module loaded and nothing done: what the message itself costs is the rest.
    const baseline = median(Array.from({ length: RUNS }, () => ours('idle').kb));
    const osslBaseline = timed('openssl', ['version']).kb;
    for (const [label, size] of SIZES.filter(([l]) => !ONLY || ONLY.includes(l))) {
      const msg = benchMessage(size);
      writeFileSync(`${dir}/message.eml`, msg);
      // Inputs for verify/decrypt, made by OpenSSL so both sides read the same bytes.
      execFileSync('openssl', [
        'cms',
        '-sign',
        '-in',
        `${dir}/message.eml`,
        '-signer',
        `${dir}/cert.pem`,
        '-inkey',
        `${dir}/key.pem`,
        '-out',
        `${dir}/signed.eml`,
        '-md',
        'sha256',
      ]);
      execFileSync('openssl', [
        'cms',
        '-encrypt',
        '-binary',
        '-aes-256-cbc',
        '-in',
        `${dir}/message.eml`,
        '-outform',
        'DER',
        '-out',
        `${dir}/enveloped.der`,
        `${dir}/cert.pem`,
      ]);
      const ossl: Record<string, string[]> = {
        sign: [
          'cms',
          '-sign',
          '-in',
          `${dir}/message.eml`,
          '-signer',
          `${dir}/cert.pem`,
          '-inkey',
          `${dir}/key.pem`,
          '-md',
          'sha256',
          '-out',
          `${dir}/o-sign`,
        ],
        encrypt: [
          'cms',
          '-encrypt',
          '-aes-256-cbc',
          '-in',
          `${dir}/message.eml`,
          '-out',
          `${dir}/o-enc`,
          `${dir}/cert.pem`,
        ],
        'sign-encrypt': [
          'cms',
          '-sign',
          '-in',
          `${dir}/message.eml`,
          '-signer',
          `${dir}/cert.pem`,
          '-inkey',
          `${dir}/key.pem`,
          '-md',
          'sha256',
          '-out',
          `${dir}/o-se1`,
        ],
        verify: ['cms', '-verify', '-in', `${dir}/signed.eml`, '-CAfile', `${dir}/ca.pem`, '-out', `${dir}/o-ver`],
        decrypt: [
          'cms',
          '-decrypt',
          '-binary',
          '-inform',
          'DER',
          '-in',
          `${dir}/enveloped.der`,
          '-inkey',
          `${dir}/key.pem`,
          '-out',
          `${dir}/o-dec`,
        ],
      };
      for (const op of ['sign', 'encrypt', 'sign-encrypt', 'verify', 'decrypt']) {
        const o: { ms: number; kb: number; readMs: number }[] = [];
        const r: { ms: number; kb: number }[] = [];
        for (let i = 0; i < RUNS; i++) {
          o.push(ours(op));
          const t = timed('openssl', ossl[op]!);
          if (op === 'sign-encrypt') {
            const t2 = timed('openssl', [
              'cms',
              '-encrypt',
              '-aes-256-cbc',
              '-in',
              `${dir}/o-se1`,
              '-out',
              `${dir}/o-se2`,
              `${dir}/cert.pem`,
            ]);
            r.push({ ms: t.ms + t2.ms, kb: Math.max(t.kb, t2.kb) });
          } else r.push(t);
        }
        const ms = median(o.map((x) => x.ms));
        const refMs = median(r.map((x) => x.ms));
        const big = size === SIZES[SIZES.length - 1]![1];
        const timeNote = big ? ` (target <= ${TIME_TARGET}: ${ms / refMs <= TIME_TARGET ? 'met' : 'missed'})` : '';
        rows.push({
          what: `${op} ${label}`,
          ours: ms,
          ref: refMs,
          unit: 'ms',
          note: `+${median(o.map((x) => x.readMs)).toFixed(0)} ms our file read${timeNote}`,
        });
        const extra = (median(o.map((x) => x.kb)) - baseline) / 1024;
        const mib = msg.length / 1048576;
        const memoryNote = big
          ? ` (target < ${(MEMORY_TARGET * mib).toFixed(0)}: ${extra < MEMORY_TARGET * mib ? 'met' : 'missed'})`
          : '';
        rows.push({
          what: `${op} ${label} extra memory`,
          ours: extra,
          ref: (median(r.map((x) => x.kb)) - osslBaseline) / 1024,
          unit: 'MiB',
          note: `message ${mib.toFixed(1)} MiB${memoryNote}`,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printTable('S/MIME beside openssl cms', await benchSmime());
  printTable('S/MIME sign+encrypt rate beside openssl speed', await benchSmimeRate());
}
