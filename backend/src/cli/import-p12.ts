/**
 * `smime-admin import-p12`: one file (--user, --file) or many (--dir, --csv: bulk-import.ts). Errors are explained
 * here, where the file and the source of its password are known (issue 15).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { progressBar } from '../directory/progress-bar.ts';
import { AppError } from '../errors.ts';
import { createServices } from '../services.ts';
import {
  defaultReportName,
  failureLines,
  importAll,
  planCsv,
  planFolder,
  summarize,
  writeReport,
} from './bulk-import.ts';
import { type CommandContext, ExplainedError, flag, need, stringOption, UsageError } from './command.ts';
import { withDb } from './database.ts';
import type { Queryable } from '../store/db.ts';
import { listKeys, type KeyRow } from '../store/keys.ts';
import { isPending } from '../vault/passphrase-policy.ts';
import { errorLine, explain } from './explain.ts';
import { readNewSecret, readSecret } from './prompt.ts';

/** The initial passphrase, when asked for: SMIME_INITIAL_PASSPHRASE or typed twice. */
async function initialPassphrase(values: CommandContext['values']): Promise<string | undefined> {
  if (!flag(values, 'initial-passphrase')) return undefined;
  const fromEnv = process.env.SMIME_INITIAL_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnv;
  return readNewSecret(
    'Initial passphrase for the user: ',
    () => new UsageError('the passphrases differ: type the same initial passphrase twice', 'import-p12'),
  );
}

/** Keys of the user that are the user's own (not waiting to be taken over): under the passphrase they forgot. */
async function keysUnderOldPassphrase(db: Queryable, userId: number): Promise<KeyRow[]> {
  return (await listKeys(db, userId)).filter((k) => !isPending(k));
}

async function importOne({ config, log, values }: CommandContext): Promise<number> {
  const user = need(values, 'user', 'import-p12');
  const file = need(values, 'file', 'import-p12');
  const passwordFrom = process.env.SMIME_P12_PASSWORD !== undefined ? 'SMIME_P12_PASSWORD' : 'prompt';
  const context = {
    file,
    user,
    passwordFrom,
    maxP12Bytes: config.SMIME_MAX_P12_BYTES,
    passphraseMinLength: config.SMIME_PASSPHRASE_MIN_LENGTH,
  };
  try {
    const size = statSync(file).size;
    Object.assign(context, { fileBytes: size });
    if (size > config.SMIME_MAX_P12_BYTES) throw new AppError('P12_TOO_LARGE');
    const p12 = readFileSync(file);
    const password = process.env.SMIME_P12_PASSWORD ?? (await readSecret(`Password of ${file}: `));
    const initial = await initialPassphrase(values);
    const { row, stillLocked } = await withDb(config, async (db) => {
      const placed = await createServices(config, db, log).vault.placeKey({
        actor: 'admin:cli',
        userEmail: user,
        p12,
        p12Password: password,
        initialPassphrase: initial,
        force: flag(values, 'force'),
        replace: flag(values, 'replace'),
      });
      // After a replacement: the user's keys still under the forgotten passphrase (each wants its file put back).
      const rest = placed.replaced ? await keysUnderOldPassphrase(db, placed.user_id) : [];
      return { row: placed, stillLocked: rest };
    });
    console.log(`${row.replaced ? 'replaced' : 'placed'} key ${row.id} for ${user}`);
    console.log(`  subject     ${row.subject}`);
    console.log(`  emails      ${row.emails.join(', ')}`);
    console.log(`  valid       ${row.not_before.toISOString()} .. ${row.not_after.toISOString()}`);
    console.log(`  fingerprint ${row.fingerprint_sha256}`);
    console.log(
      `The user unlocks it with ${initial ? 'the initial passphrase you set' : 'the .p12 password'} and must then choose their own passphrase.`,
    );
    if (row.replaced) console.log('Their unlock sessions were ended: every device must unlock again.');
    for (const k of stillLocked)
      console.log(
        `still under the old passphrase: key ${k.id} (${k.subject}, fingerprint ${k.fingerprint_sha256}): ` +
          'put its recovered file back the same way, or remove it ' +
          `(smime-admin remove-key --user ${user} --key ${k.id} --confirm ${k.fingerprint_sha256}); ` +
          'until then the user cannot take their keys over',
      );
    return 0;
  } catch (e) {
    // Placing the same key again changes nothing and is no failure (issue 15: re-running is safe).
    if (e instanceof AppError && e.code === 'KEY_ALREADY_PRESENT') {
      console.log(
        `already present: key ${String(e.details?.keyId ?? '')} of ${user.toLowerCase()} is this certificate`,
      );
      return 0;
    }
    if (e instanceof UsageError) throw e;
    throw new ExplainedError(errorLine(explain(e, context)));
  }
}

async function importMany({ config, log, values }: CommandContext): Promise<number> {
  // A replacement is one recovered file put back for one user, checked by eye: never a folder at once.
  if (flag(values, 'replace')) throw new UsageError('--replace takes one --user and --file', 'import-p12');
  const dir = stringOption(values, 'dir');
  const csv = stringOption(values, 'csv');
  const passwordFrom = 'SMIME_P12_PASSWORD';
  let items;
  try {
    items = dir ? planFolder(dir, passwordFrom) : planCsv(csv!);
  } catch (e) {
    throw new ExplainedError(errorLine(explain(e, { file: dir ?? csv })));
  }
  if (items.length === 0) {
    console.log(dir ? `no .p12 or .pfx file in ${dir}` : `no rows in ${csv}`);
    return 0;
  }
  const initial = await initialPassphrase(values);
  const reportPath = resolve(stringOption(values, 'report') ?? defaultReportName());
  const bar = process.stderr.isTTY
    ? progressBar(process.stderr, (p) => (p.phase === 'done' ? 'done' : 'files'))
    : undefined;
  const results = await withDb(config, (db) => {
    const vault = createServices(config, db, log).vault;
    return importAll(items, {
      ...(csv ? { csvBase: dirname(resolve(csv)) } : {}),
      maxP12Bytes: config.SMIME_MAX_P12_BYTES,
      passphraseMinLength: config.SMIME_PASSPHRASE_MIN_LENGTH,
      place: async ({ email, p12, password }) =>
        (
          await vault.placeKey({
            actor: 'admin:cli',
            userEmail: email,
            p12,
            p12Password: password,
            initialPassphrase: initial,
            force: flag(values, 'force'),
          })
        ).id,
      onProgress: (done, total) =>
        bar?.update({ phase: done === total ? 'done' : 'reading', entriesSeen: done, expected: total }),
    });
  }).finally(() => bar?.clear());
  writeReport(reportPath, results);
  const counts = summarize(results);
  for (const r of results)
    if (r.outcome !== 'failed')
      console.log(`${r.outcome}: ${r.item.file} -> ${r.email ?? '?'} (key ${r.keyId ?? '?'})`);
  for (const line of failureLines(results)) console.error(line);
  console.log(
    `${results.length} files: ${counts.placed} placed, ${counts['already present']} already present, ${counts.failed} failed`,
  );
  console.log(`report: ${reportPath}`);
  return counts.failed > 0 ? 1 : 0;
}

export async function cmdImportP12(ctx: CommandContext): Promise<number> {
  return stringOption(ctx.values, 'file') ? importOne(ctx) : importMany(ctx);
}
