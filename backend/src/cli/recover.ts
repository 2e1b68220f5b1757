/**
 * `smime-admin recover` (issue 17): M custodians rebuild the recovery private key from their share files on an
 * administrator's machine, and every key of one user wrapped to it is written out as PKCS#12, one key per file, for
 * IT to place back with import-p12. The server never runs this: the recovery private key exists only in this
 * process's memory, and every secret is wiped in `finally`.
 *
 * Order matters: the targets are checked before anything is decrypted, the audit entry is committed before any file is
 * written (no recovery without its trace), and each file is created with 'wx' so nothing is ever overwritten.
 */
import { createPrivateKey } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { AppError } from '../errors.ts';
import { checkRecoveryKey } from '../recovery/recovery-key.ts';
import { openRecoveryWrap } from '../recovery/escrow.ts';
import { MAX_SHARE_FILE_CHARS, openShares, type RecoveredSecret } from '../recovery/share-file.ts';
import { writePkcs12 } from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import { getRecoveryCertificate, type UserWrapRow, userRecoveryWraps } from '../store/recovery.ts';
import { findUserByEmail } from '../store/users.ts';
import { type CommandContext, ExplainedError, listOption, need, UsageError } from './command.ts';
import { withDb } from './database.ts';
import { errorLine, explain } from './explain.ts';
import { readNewSecret, readSecret } from './prompt.ts';

/** Owner read/write only: the file holds a private key, protected only by the new PKCS#12 password. */
const P12_FILE_MODE = 0o600;

/** The file's text, refused unreadable or beyond MAX_SHARE_FILE_CHARS (a share is a few KiB) before it is read. */
function readBounded(path: string, what: string): string {
  const size = statSync(path).size;
  // UTF-8 is at least one byte a character: more bytes than the limit in characters x 4 cannot fit.
  if (size > MAX_SHARE_FILE_CHARS * 4)
    throw new UsageError(`${what} ${path} is ${size} bytes: not a share file`, 'recover');
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_SHARE_FILE_CHARS)
    throw new UsageError(`${what} ${path} is larger than a share file can be`, 'recover');
  return text;
}

/** The first line of a password file, its newline stripped. */
function passwordFromFile(path: string): string {
  const text = readBounded(path, 'password file');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

/** The custodian label a file claims (unauthenticated until openShares succeeds; only used after it did). */
function custodianOf(json: string): string {
  try {
    const c = (JSON.parse(json) as { custodian?: unknown }).custodian;
    return typeof c === 'string' ? c : '?';
  } catch {
    return '?';
  }
}

/** FILE.p12 for one key, FILE-1.p12 .. FILE-k.p12 for several (oldest key first). */
export function targetNames(out: string, count: number): string[] {
  const stem = out.replace(/\.p12$/i, '');
  if (count === 1) return [`${stem}.p12`];
  return Array.from({ length: count }, (_, i) => `${stem}-${i + 1}.p12`);
}

async function newP12Password(): Promise<string> {
  const fromEnv = process.env.SMIME_P12_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  return readNewSecret(
    'New password for the recovered .p12 file(s): ',
    () => new UsageError('the passwords differ: type the same new password twice', 'recover'),
  );
}

function explained(e: unknown, user: string): ExplainedError {
  return new ExplainedError(errorLine(explain(e, { user })));
}

interface ShareInput {
  json: string;
  password: string;
}

/** The share files and their passwords, in the order given (the same order as --share-password-file). */
async function readShareInputs(values: CommandContext['values']): Promise<ShareInput[]> {
  const shareFiles = listOption(values, 'share') ?? [];
  const passwordFiles = listOption(values, 'share-password-file') ?? [];
  if (shareFiles.length === 0) throw new UsageError('missing --share (one per custodian)', 'recover');
  if (passwordFiles.length > 0 && passwordFiles.length !== shareFiles.length)
    throw new UsageError(
      `${shareFiles.length} --share but ${passwordFiles.length} --share-password-file: give one password file per share file, in the same order`,
      'recover',
    );
  const files: ShareInput[] = [];
  for (const [i, path] of shareFiles.entries()) {
    const json = readBounded(path, 'share file');
    const password =
      passwordFiles.length > 0
        ? passwordFromFile(passwordFiles[i]!)
        : await readSecret(`Password for share file ${path}: `);
    files.push({ json, password });
  }
  return files;
}

/** The set id a file claims, unauthenticated: only used to plan (count the targets) before anything is decrypted. */
function claimedSetId(json: string): string {
  try {
    const id = (JSON.parse(json) as { setId?: unknown }).setId;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

type Db = Parameters<Parameters<typeof withDb>[1]>[0];

interface Plan {
  user: { id: number; email: string };
  wraps: UserWrapRow[];
  targets: string[];
}

/** Shares of a set this database never wrapped anything to: another deployment's, or a set not configured here. */
const unknownSet = (setId: string): AppError =>
  new AppError(
    'RECOVERY_SET_UNKNOWN',
    `This database has never recorded the recovery certificate of these shares (set ${setId.slice(0, 16)}…): they belong to another deployment, or SMIME_RECOVERY_CERTIFICATE names another certificate`,
    { setId },
  );

/** Who, which copies and which files, refused before any share is opened, anything decrypted or audited. */
async function plan(db: Db, email: string, out: string, setId: string): Promise<Plan> {
  const user = await findUserByEmail(db, email);
  if (!user) throw new AppError('USER_NOT_FOUND');
  if (!(await getRecoveryCertificate(db, setId))) throw unknownSet(setId);
  const wraps = await userRecoveryWraps(db, user.id, setId);
  if (wraps.length === 0)
    throw new AppError(
      'RECOVERY_NOT_COVERED',
      `No key of ${user.email} is wrapped to this recovery certificate: their keys were stored before it was configured and they have not unlocked since`,
    );
  const targets = targetNames(out, wraps.length);
  const existing = targets.filter((t) => existsSync(t));
  if (existing.length > 0)
    throw new UsageError(
      `${existing.join(', ')} already exists: choose another --out (nothing is overwritten)`,
      'recover',
    );
  return { user, wraps, targets };
}

/** openShares, with too few shares said as the custodians need to hear it. */
async function rebuild(files: readonly ShareInput[]): Promise<RecoveredSecret> {
  try {
    return await openShares(files);
  } catch (e) {
    if (e instanceof AppError && e.code === 'RECOVERY_TOO_FEW_SHARES') {
      const { have, need: needed, missing } = e.details as { have: number; need: number; missing: number };
      throw new ExplainedError(
        `error [RECOVERY_TOO_FEW_SHARES]: ${have} of ${needed} shares given: ${missing} more custodian${missing === 1 ? ' is' : 's are'} needed.`,
      );
    }
    throw e;
  }
}

/** The rebuilt secret must be the private key of the certificate this database wrapped to. */
async function checkAgainstDatabase(db: Db, rebuilt: RecoveredSecret): Promise<Uint8Array> {
  const cert = await getRecoveryCertificate(db, rebuilt.setId);
  if (!cert) throw unknownSet(rebuilt.setId);
  // A custodian who knows their password can write a wrong share (or shares of two sets can be mixed with one set
  // id); the combination is then a wrong secret that only this check catches.
  checkRecoveryKey(rebuilt.secret, cert.certificate);
  return cert.certificate;
}

async function writeFiles(p: Plan, pkcs8s: readonly Uint8Array[], password: string): Promise<void> {
  for (const [i, w] of p.wraps.entries()) {
    const p12 = await writePkcs12({
      certificate: w.certificate,
      chain: w.chain,
      pkcs8: pkcs8s[i]!,
      password,
      friendlyName: w.subject,
    });
    const fd = openSync(p.targets[i]!, 'wx', P12_FILE_MODE);
    try {
      writeSync(fd, p12);
    } finally {
      closeSync(fd);
    }
    console.log(`wrote ${p.targets[i]}`);
    console.log(`  subject     ${w.subject}`);
    console.log(`  expires     ${w.not_after.toISOString()}`);
    console.log(`  fingerprint ${w.fingerprint_sha256}`);
  }
  console.log(
    `Next: put each file back with smime-admin import-p12 --user ${p.user.email} --file FILE --initial-passphrase --replace; ` +
      'the user then chooses their own passphrase. Delete the files once placed.',
  );
}

async function recoverWithDb(
  db: Db,
  email: string,
  out: string,
  files: ShareInput[],
  pkcs8s: Uint8Array[],
): Promise<void> {
  const p = await plan(db, email, out, claimedSetId(files[0]!.json));
  const rebuilt = await rebuild(files);
  try {
    for (const f of files) f.password = '';
    const certificate = await checkAgainstDatabase(db, rebuilt);
    const privateKey = createPrivateKey({ key: Buffer.from(rebuilt.secret), format: 'der', type: 'pkcs8' });
    for (const w of p.wraps)
      pkcs8s.push(await openRecoveryWrap(w.envelope, { certificate, privateKey }, w.certificate));
  } finally {
    rebuilt.secret.fill(0);
  }
  const password = await newP12Password();
  // The trace first: if it cannot be written, nothing is.
  await db.transaction((tx) =>
    appendAudit(tx, {
      actor: 'admin:cli',
      userEmail: p.user.email,
      action: 'key.recovered',
      details: {
        keyIds: p.wraps.map((w) => w.key_id),
        fingerprints: p.wraps.map((w) => w.fingerprint_sha256),
        custodians: files.map((f) => custodianOf(f.json)),
        shareIndexes: rebuilt.indexes,
        setId: rebuilt.setId,
        files: p.targets.map((t) => basename(t)),
      },
    }),
  );
  await writeFiles(p, pkcs8s, password);
}

export async function cmdRecover({ config, values }: CommandContext): Promise<number> {
  const email = need(values, 'user', 'recover');
  const out = need(values, 'out', 'recover');
  const files = await readShareInputs(values);
  const pkcs8s: Uint8Array[] = [];
  try {
    await withDb(config, (db) => recoverWithDb(db, email, out, files, pkcs8s));
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ExplainedError) throw e;
    throw explained(e, email);
  } finally {
    for (const p of pkcs8s) p.fill(0);
    for (const f of files) f.password = '';
  }
}
