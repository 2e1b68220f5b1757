/**
 * The server's sign+encrypt rate on small mail (issue 6): protectMessage signing and encrypting a 10 KB message in
 * this process, one after the other (one core), with an RSA-2048 signer, one RSA-2048 recipient and the sender's own
 * copy (as the mail service encrypts), warmed up first; beside it, what `openssl speed rsa2048` says one core can
 * sign, measured in the same run. The target is half of OpenSSL's rate: the ratio column is ours / (OpenSSL / 2).
 */
import { createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pemToDer, protectMessage } from '../backend/src/smime/index.ts';
import { benchMessage } from './smime-message.ts';
import { printTable, type Row } from './table.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Seconds of measurement, for us and for `openssl speed` alike. */
const SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 3);
const WARM_UP_OPS = 50;
const MESSAGE_BYTES = 10 * 1024;

/**
 * sign/s of `openssl speed -seconds N [-elapsed] -multi 1 rsa2048` (one process: one core). With `elapsed`, per
 * second of wall time; without, per second of CPU time (OpenSSL's default), which a loaded machine disturbs less.
 */
export function opensslRsaSignRate(seconds: number, elapsed = true): number {
  const args = ['speed', '-seconds', String(seconds), ...(elapsed ? ['-elapsed'] : []), '-multi', '1', 'rsa2048'];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => /^rsa\s+2048 bits/.test(l));
  const fields = line?.trim().split(/\s+/);
  const signs = Number(fields?.[5]);
  if (r.status !== 0 || !Number.isFinite(signs))
    throw new Error(`openssl speed: unexpected output\n${r.stdout}${r.stderr}`);
  return signs;
}

export async function benchSmimeRate(): Promise<Row[]> {
  const fx = `${REPO}test/fixtures/`;
  const signer = {
    certificate: pemToDer(readFileSync(`${fx}p12/rsa.crt`, 'utf8'))[0]!,
    chain: [],
    privateKey: createPrivateKey(readFileSync(`${fx}p12/rsa.key`)),
  };
  const recipient = pemToDer(readFileSync(`${fx}pki/certs/other.pem`, 'utf8'))[0]!;
  const message = benchMessage(MESSAGE_BYTES);
  const options = {
    sign: { signer },
    encrypt: {
      recipients: [{ certificate: recipient }, { certificate: signer.certificate }],
      options: { cipher: 'aes-256-cbc' as const },
    },
  };
  for (let i = 0; i < WARM_UP_OPS; i++) await protectMessage(message, options);
  let ops = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(SECONDS * 1e9);
  let now = start;
  while (now < end) {
    await protectMessage(message, options);
    ops++;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpuStart);
  const ours = ops / (Number(now - start) / 1e9);
  const oursCpu = ops / ((cpu.user + cpu.system) / 1e6);
  const openssl = opensslRsaSignRate(SECONDS);
  const opensslCpu = opensslRsaSignRate(SECONDS, false);
  return [
    {
      what: 'sign+encrypt 10 KB, one core',
      ours,
      ref: openssl / 2,
      unit: 'ops/s',
      note: `reference: half of openssl speed -elapsed rsa2048, ${openssl.toFixed(0)} sign/s; ratio >= 1 meets the target`,
    },
    {
      what: 'sign+encrypt 10 KB, per CPU second',
      ours: oursCpu,
      ref: opensslCpu / 2,
      unit: 'ops/s',
      note: `the same per second of CPU time (openssl speed without -elapsed: ${opensslCpu.toFixed(0)} sign/s)`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`)
  printTable('S/MIME sign+encrypt rate beside openssl speed', await benchSmimeRate());
