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
import { MAX_SHARE_FILE_CHARS, openShares } from '../recovery/share-file.ts';
import { writePkcs12 } from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import { getRecoveryCertificate, userRecoveryWraps } from '../store/recovery.ts';
import { findUserByEmail } from '../store/users.ts';
import { type CommandContext, ExplainedError, listOption, need, UsageError } from './command.ts';
import { withDb } from './database.ts';
import { errorLine, explain } from './explain.ts';
import { readSecret } from './prompt.ts';

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
  const first = await readSecret('New password for the recovered .p12 file(s): ');
  if ((await readSecret('Repeat it: ')) !== first)
    throw new UsageError('the passwords differ: type the same new password twice', 'recover');
  return first;
}

function explained(e: unknown, user: string): ExplainedError {
  return new ExplainedError(errorLine(explain(e, { user })));
}

export async function cmdRecover({ config, values }: CommandContext): Promise<number> {
  const email = need(values, 'user', 'recover');
  const out = need(values, 'out', 'recover');
  const shareFiles = listOption(values, 'share') ?? [];
  const passwordFiles = listOption(values, 'share-password-file') ?? [];
  if (shareFiles.length === 0) throw new UsageError('missing --share (one per custodian)', 'recover');
  if (passwordFiles.length > 0 && passwordFiles.length !== shareFiles.length)
    throw new UsageError(
      `${shareFiles.length} --share but ${passwordFiles.length} --share-password-file: give one password file per share file, in the same order`,
      'recover',
    );

  const files: { json: string; password: string }[] = [];
  for (const [i, path] of shareFiles.entries()) {
    const json = readBounded(path, 'share file');
    const password =
      passwordFiles.length > 0
        ? passwordFromFile(passwordFiles[i]!)
        : await readSecret(`Password for share file ${path}: `);
    files.push({ json, password });
  }
  const custodians = files.map((f) => custodianOf(f.json));

  let secret: Uint8Array | undefined;
  const pkcs8s: Uint8Array[] = [];
  try {
    const rebuilt = await openShares(files).catch((e: unknown) => {
      if (e instanceof AppError && e.code === 'RECOVERY_TOO_FEW_SHARES') {
        const { have, need: needed, missing } = e.details as { have: number; need: number; missing: number };
        throw new ExplainedError(
          `error [RECOVERY_TOO_FEW_SHARES]: ${have} of ${needed} shares given: ${missing} more custodian${missing === 1 ? ' is' : 's are'} needed.`,
        );
      }
      throw e;
    });
    secret = rebuilt.secret;
    for (const f of files) f.password = '';

    return await withDb(config, async (db) => {
      const cert = await getRecoveryCertificate(db, rebuilt.setId);
      if (!cert)
        throw new AppError(
          'RECOVERY_NOT_COVERED',
          'This database has never seen the recovery certificate of these shares.',
          {
            setId: rebuilt.setId,
          },
        );
      // A custodian who knows their password can write a wrong share; only this check catches it.
      checkRecoveryKey(secret!, cert.certificate);
      const user = await findUserByEmail(db, email);
      if (!user) throw new AppError('USER_NOT_FOUND');
      const wraps = await userRecoveryWraps(db, user.id, rebuilt.setId);
      if (wraps.length === 0)
        throw new AppError(
          'RECOVERY_NOT_COVERED',
          `No key of ${user.email} is wrapped to this recovery certificate: their keys were stored before it was configured and they have not unlocked since`,
        );
      const targets = targetNames(out, wraps.length);
      const existing = targets.filter((t) => existsSync(t));
      if (existing.length > 0)
        throw new UsageError(
          `${existing.join(', ')} already exist(s): choose another --out (nothing is overwritten)`,
          'recover',
        );

      const privateKey = createPrivateKey({ key: Buffer.from(secret!), format: 'der', type: 'pkcs8' });
      for (const w of wraps)
        pkcs8s.push(await openRecoveryWrap(w.envelope, { certificate: cert.certificate, privateKey }, w.certificate));
      const password = await newP12Password();

      // The trace first: if it cannot be written, nothing is.
      await db.transaction((tx) =>
        appendAudit(tx, {
          actor: 'admin:cli',
          userEmail: user.email,
          action: 'key.recovered',
          details: {
            keyIds: wraps.map((w) => w.key_id),
            fingerprints: wraps.map((w) => w.fingerprint_sha256),
            custodians,
            shareIndexes: rebuilt.indexes,
            setId: rebuilt.setId,
            files: targets.map((t) => basename(t)),
          },
        }),
      );

      for (const [i, w] of wraps.entries()) {
        const p12 = await writePkcs12({
          certificate: w.certificate,
          chain: w.chain,
          pkcs8: pkcs8s[i]!,
          password,
          friendlyName: w.subject,
        });
        const fd = openSync(targets[i]!, 'wx', P12_FILE_MODE);
        try {
          writeSync(fd, p12);
        } finally {
          closeSync(fd);
        }
        console.log(`wrote ${targets[i]}`);
        console.log(`  subject     ${w.subject}`);
        console.log(`  expires     ${w.not_after.toISOString()}`);
        console.log(`  fingerprint ${w.fingerprint_sha256}`);
      }
      console.log(
        `Next: place each file back with smime-admin import-p12 --user ${user.email} --file FILE --initial-passphrase; ` +
          'the user then chooses their own passphrase. Delete the files once placed.',
      );
      return 0;
    });
  } catch (e) {
    if (e instanceof UsageError || e instanceof ExplainedError) throw e;
    throw explained(e, email);
  } finally {
    secret?.fill(0);
    for (const p of pkcs8s) p.fill(0);
    for (const f of files) f.password = '';
  }
}
