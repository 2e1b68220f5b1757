/**
 * `smime-admin recovery-init` (issue 17): the key ceremony of M-of-N organisational key recovery. Creates the recovery
 * key pair (recovery-key.ts), splits its PKCS#8 into N Shamir shares (shamir.ts) and writes each share encrypted under
 * its custodian's own password (share-file.ts). The certificate is the only thing the server ever gets.
 *
 * Runs through `runRaw`, like doctor: it is meant for an offline administrator's machine, and loading the server's
 * configuration would create things the server uses (a generated JWT secret in SMIME_DATA_DIR) on a machine that must
 * hold nothing but this ceremony's output. It needs no database.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { certificateToPem } from '../smime/index.ts';
import { createRecoveryKey } from '../recovery/recovery-key.ts';
import { MAX_SHARES, MIN_THRESHOLD, split, type Share } from '../recovery/shamir.ts';
import { MAX_CUSTODIAN_CHARS, writeShareFile } from '../recovery/share-file.ts';
import { ExplainedError, listOption, need, stringOption, UsageError, type OptionValues } from './command.ts';
import { readSecret } from './prompt.ts';

const NAME = 'recovery-init';
/** The vault's default SMIME_PASSPHRASE_MIN_LENGTH (config.ts): a share password guards as much as a key passphrase. */
export const DEFAULT_SHARE_PASSWORD_MIN_LENGTH = 10;
/** config.ts's bounds on SMIME_PASSPHRASE_MIN_LENGTH. */
const MIN_LENGTH_RANGE = [8, 1024] as const;

function integerOption(values: OptionValues, name: string): number {
  const text = need(values, name, NAME);
  if (!/^\d{1,3}$/.test(text)) throw new UsageError(`--${name} must be a whole number, got "${text}"`, NAME);
  return Number(text);
}

/** SMIME_PASSPHRASE_MIN_LENGTH read as config.ts reads it, without loading the rest of the configuration. */
function minLength(env: NodeJS.ProcessEnv): number {
  const text = env.SMIME_PASSPHRASE_MIN_LENGTH;
  if (text === undefined || text === '') return DEFAULT_SHARE_PASSWORD_MIN_LENGTH;
  const n = Number(text);
  if (!Number.isInteger(n) || n < MIN_LENGTH_RANGE[0] || n > MIN_LENGTH_RANGE[1])
    throw new UsageError(
      `SMIME_PASSPHRASE_MIN_LENGTH must be a whole number from ${MIN_LENGTH_RANGE[0]} to ${MIN_LENGTH_RANGE[1]}`,
      NAME,
    );
  return n;
}

/** A file-name-safe form of a custodian label: lower case letters, digits and dashes. */
export function slug(label: string): string {
  const s = label
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s || 'custodian';
}

function checkPassword(password: string, share: number, min: number): void {
  if (password.length === 0) throw new UsageError(`the password for share ${share} is empty`, NAME);
  if ([...password].length < min)
    throw new UsageError(
      `the password for share ${share} is shorter than SMIME_PASSPHRASE_MIN_LENGTH (${min} characters)`,
      NAME,
    );
}

async function askPasswords(custodians: readonly string[], files: string[] | undefined, min: number) {
  const n = custodians.length;
  const passwords: string[] = [];
  for (let i = 0; i < n; i++) {
    let password: string;
    if (files) {
      let text: string;
      try {
        text = readFileSync(files[i]!, 'utf8');
      } catch (e) {
        throw new UsageError(
          `cannot read --share-password-file ${files[i]}: ${(e as NodeJS.ErrnoException).code}`,
          NAME,
        );
      }
      password = text.split(/\r?\n/, 1)[0]!;
    } else {
      password = await readSecret(`Password for share ${i + 1} of ${n} (custodian "${custodians[i]}"): `);
      // A second line is asked only on a terminal: piped input gives one line per custodian.
      if (process.stdin.isTTY && (await readSecret('Repeat it: ')) !== password)
        throw new UsageError(`the two passwords for share ${i + 1} do not match`, NAME);
    }
    checkPassword(password, i + 1, min);
    const same = passwords.indexOf(password);
    // Custodians must hold independent secrets: one password opening two shares makes M-of-N weaker than it says.
    if (same >= 0)
      throw new UsageError(
        `shares ${same + 1} and ${i + 1} have the same password; each custodian needs their own`,
        NAME,
      );
    passwords.push(password);
  }
  return passwords;
}

interface Plan {
  n: number;
  m: number;
  dir: string;
  custodians: string[];
  fileNames: string[];
  passwordFiles?: string[];
  name?: string;
  organisation?: string;
}

/** Every check of the command line, before anything is asked or written. */
function plan(values: OptionValues): Plan {
  const n = integerOption(values, 'shares');
  const m = integerOption(values, 'threshold');
  if (n < MIN_THRESHOLD || n > MAX_SHARES)
    throw new UsageError(`--shares must be from ${MIN_THRESHOLD} to ${MAX_SHARES}, got ${n}`, NAME);
  if (m < MIN_THRESHOLD) throw new UsageError(`--threshold must be at least ${MIN_THRESHOLD}, got ${m}`, NAME);
  if (m > n) throw new UsageError(`--threshold (${m}) must not be more than --shares (${n})`, NAME);
  const dir = resolve(need(values, 'out', NAME));
  const given = listOption(values, 'custodian');
  if (given && given.length !== n)
    throw new UsageError(
      `--custodian must be given ${n} times (once per share) or not at all, got ${given.length}`,
      NAME,
    );
  const custodians = given ?? Array.from({ length: n }, (_, i) => `custodian ${i + 1}`);
  for (const c of custodians)
    if (c.length < 1 || c.length > MAX_CUSTODIAN_CHARS)
      throw new UsageError(`a --custodian label must have 1 to ${MAX_CUSTODIAN_CHARS} characters`, NAME);
  const fileNames = custodians.map((c, i) => `share-${i + 1}-of-${n}-${slug(c)}.json`);
  if (new Set(custodians).size !== n) throw new UsageError('the --custodian labels must be distinct', NAME);
  const passwordFiles = listOption(values, 'share-password-file');
  if (passwordFiles && passwordFiles.length !== n)
    throw new UsageError(
      `--share-password-file must be given ${n} times (once per share, in order) or not at all, got ${passwordFiles.length}`,
      NAME,
    );
  const name = stringOption(values, 'name');
  const organisation = stringOption(values, 'organisation');
  return { n, m, dir, custodians, fileNames, passwordFiles, name, organisation };
}

function refuseNonEmpty(dir: string): void {
  const existing = listDir(dir);
  if (existing && existing.length > 0)
    throw new ExplainedError(
      `error [RECOVERY_OUT_NOT_EMPTY]: ${dir} is not empty: give --out a new or empty directory (an earlier ceremony's files are never overwritten).`,
    );
}

/** The key pair and the encrypted share files' texts; the PKCS#8 and every share's y are wiped before returning. */
async function ceremony(p: Plan, passwords: readonly string[]) {
  const key = await createRecoveryKey({ name: p.name, organisation: p.organisation });
  let shares: Share[];
  try {
    shares = split(key.pkcs8, p.n, p.m);
  } finally {
    key.pkcs8.fill(0);
  }
  const texts: string[] = [];
  try {
    for (let i = 0; i < p.n; i++)
      texts.push(
        await writeShareFile({
          setId: key.setId,
          share: shares[i]!,
          threshold: p.m,
          shares: p.n,
          custodian: p.custodians[i]!,
          password: passwords[i]!,
        }),
      );
  } finally {
    for (const s of shares) s.y.fill(0);
  }
  return { certificate: key.certificate, setId: key.setId, texts };
}

function setDescription(p: Plan, certificate: Uint8Array, setId: string): string {
  const x509 = new X509Certificate(certificate);
  return [
    'S/MIME organisational key recovery set',
    '',
    `Set id:       ${setId}`,
    `Threshold:    any ${p.m} of the ${p.n} shares rebuild the recovery key`,
    `Certificate:  recovery-certificate.pem`,
    `  subject:    ${x509.subject.replace(/\n/g, ', ')}`,
    `  SHA-256:    ${x509.fingerprint256}`,
    `Created:      ${new Date().toISOString()}`,
    '',
    "Shares (each encrypted under its custodian's own password):",
    ...p.fileNames.map((f, i) => `  ${f}  ->  ${p.custodians[i]}`),
    '',
    'Next steps:',
    '  1. Give each custodian their own share file, on separate media; each keeps it offline.',
    '  2. Put recovery-certificate.pem on the server and set SMIME_RECOVERY_CERTIFICATE to its path.',
    '  3. Delete nothing: keep this file and the certificate with the ceremony records.',
    `  4. Test a recovery with ${p.m} custodians before relying on it.`,
    '',
  ].join('\n');
}

export async function recoveryInitCommand(env: NodeJS.ProcessEnv, values: OptionValues): Promise<number> {
  const p = plan(values);
  const min = minLength(env);
  // Checked before passwords are asked, and again after mkdir: never overwrite an earlier ceremony's files.
  refuseNonEmpty(p.dir);
  const passwords = await askPasswords(p.custodians, p.passwordFiles, min);
  const { certificate, setId, texts } = await ceremony(p, passwords);

  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  refuseNonEmpty(p.dir);
  const certPath = join(p.dir, 'recovery-certificate.pem');
  writeFileSync(certPath, certificateToPem(certificate), { mode: 0o644, flag: 'wx' });
  for (let i = 0; i < p.n; i++) writeFileSync(join(p.dir, p.fileNames[i]!), texts[i]!, { mode: 0o600, flag: 'wx' });
  writeFileSync(join(p.dir, 'RECOVERY-SET.txt'), setDescription(p, certificate, setId), { mode: 0o644, flag: 'wx' });

  console.log(`recovery set ${setId}: ${p.m} of ${p.n} shares`);
  console.log(`wrote ${p.dir}/: recovery-certificate.pem, RECOVERY-SET.txt, ${p.fileNames.join(', ')}`);
  console.log('configure the server with:');
  console.log(`SMIME_RECOVERY_CERTIFICATE=${certPath}`);
  return 0;
}

function listDir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UsageError(`--out ${dir} is not a directory`, NAME);
    throw e;
  }
}
