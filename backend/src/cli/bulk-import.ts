/**
 * Bulk placement (issue 15): `import-p12 --dir FOLDER` and `import-p12 --csv FILE`. Each file is placed as the
 * single import places one (Vault.placeKey); one failure does not stop the others. Re-running is safe: a key already
 * in the user's profile (same certificate fingerprint) is "already present", not an error. The outcome of every file
 * goes to a CSV report with the reason and the fix of each failure; passwords never appear on the command line, in
 * the output or in the report.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { AppError } from '../errors.ts';
import { describeCertificate, parsePkcs12 } from '../smime/index.ts';
import { errorLine, explain, type ExplainContext, type Explained } from './explain.ts';
import { readSecret } from './prompt.ts';

/** Extensions of PKCS#12 files a folder import takes (compared without case: Windows exports .PFX). */
export const P12_EXTENSIONS = ['.p12', '.pfx'];

/**
 * A file name that is an address: `alice@example.com.p12`. Deliberately loose (the vault checks the certificate
 * against the address anyway); anything else takes the address from the certificate.
 */
const ADDRESS = /^[^@\s/\\]+@[^@\s/\\]+\.[^@\s/\\]+$/;

/** One file to place, from the folder or a CSV row. */
export interface ImportItem {
  /** The user's address; absent when it is to be taken from the certificate. */
  email: string | undefined;
  /** Path as the operator wrote it (the CSV's cell, or the folder's entry), for messages and the report. */
  file: string;
  /** Resolved path. */
  path: string;
  /** 'SMIME_P12_PASSWORD', 'prompt', 'env:VAR' or 'file:PATH'. */
  passwordFrom: string;
  /** CSV line, for messages. */
  line?: number;
  /** A row that cannot be used as it stands. */
  invalid?: Explained;
}

export type Outcome = 'placed' | 'already present' | 'failed';

export interface ItemResult {
  item: ImportItem;
  email: string | undefined;
  outcome: Outcome;
  keyId?: string;
  error?: Explained;
}

/** The .p12/.pfx files of a folder, in name order; one password for all (SMIME_P12_PASSWORD or one prompt). */
export function planFolder(folder: string, passwordFrom: string): ImportItem[] {
  const names = readdirSync(folder)
    .filter((n) => P12_EXTENSIONS.includes(extname(n).toLowerCase()))
    .sort();
  return names.map((name) => {
    const stem = basename(name, extname(name));
    return {
      email: ADDRESS.test(stem) ? stem.toLowerCase() : undefined,
      file: join(folder, name),
      path: resolve(folder, name),
      passwordFrom,
    };
  });
}

/** RFC 4180 fields of one line: commas separate, double quotes enclose, "" is a quote inside quotes. */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field.trim());
      field = '';
    } else field += ch;
  }
  fields.push(field.trim());
  return fields;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const CSV_COLUMNS = 'email,file,password-source';

function csvProblem(message: string, fix: string): Explained {
  return { code: 'CSV_INVALID', reason: message, fix };
}

/**
 * The rows of a CSV file: `email,file,password-source`, an optional header line of those names, `#` comments and
 * empty lines ignored. Paths are relative to the CSV's folder. A row that cannot be used is kept, marked invalid,
 * so the report lists it with the rest.
 */
export function planCsv(csvPath: string): ImportItem[] {
  const base = dirname(resolve(csvPath));
  const lines = readFileSync(csvPath, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const items: ImportItem[] = [];
  lines.forEach((text, index) => {
    const line = index + 1;
    if (!text.trim() || text.trimStart().startsWith('#')) return;
    const cells = csvFields(text);
    if (line === 1 && cells[0]?.toLowerCase() === 'email') return;
    const [email = '', file = '', source = ''] = cells;
    const item: ImportItem = {
      email: email.toLowerCase() || undefined,
      file,
      path: isAbsolute(file) ? file : resolve(base, file),
      passwordFrom: source,
      line,
    };
    if (cells.length !== 3)
      item.invalid = csvProblem(
        `${csvPath} line ${line} has ${cells.length} columns`,
        `write three: ${CSV_COLUMNS} (quote a value that holds a comma)`,
      );
    else if (!file) item.invalid = csvProblem(`${csvPath} line ${line} names no file`, 'put the .p12 path in column 2');
    else if (email && !ADDRESS.test(email))
      item.invalid = csvProblem(
        `${csvPath} line ${line}: "${email}" is not an email address`,
        "write the user's address in column 1, or leave it empty to take it from the certificate",
      );
    else if (!/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|prompt)$/.test(source))
      item.invalid = csvProblem(
        `${csvPath} line ${line}: the password source "${source}" is not env:VARIABLE, file:PATH or prompt`,
        'write env:VARIABLE (a variable holding the password), file:PATH (a file whose first line is the password, relative to the CSV) or prompt',
      );
    items.push(item);
  });
  return items;
}

/** The password of an item, from where its row says; never echoed, never logged. */
async function passwordOf(item: ImportItem, csvBase: string | undefined, asked: Map<string, string>): Promise<string> {
  const from = item.passwordFrom;
  if (from === 'SMIME_P12_PASSWORD') {
    const v = process.env.SMIME_P12_PASSWORD;
    if (v !== undefined) return v;
    // The folder form: one prompt for every file.
    if (!asked.has('')) asked.set('', await readSecret('Password of the .p12 files: '));
    return asked.get('')!;
  }
  if (from === 'prompt') return readSecret(`Password of ${item.file}: `);
  if (from.startsWith('env:')) {
    const name = from.slice(4);
    const v = process.env[name];
    if (v === undefined)
      throw new AppError('PASSWORD_SOURCE_INVALID', `The variable ${name} (password of ${item.file}) is not set`, {
        fix: `export ${name} before running the command, or use file:PATH or prompt in the CSV`,
      });
    return v;
  }
  const path = from.slice(5);
  const full = isAbsolute(path) ? path : resolve(csvBase ?? '.', path);
  try {
    return readFileSync(full, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch (e) {
    throw new AppError(
      'PASSWORD_SOURCE_INVALID',
      `The password file ${path} of ${item.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        fix: 'check the path after file: (relative to the CSV file) and that this user may read it',
      },
    );
  }
}

/** The certificate's first email address, for a file whose name is not an address. */
async function emailFromCertificate(p12: Uint8Array, password: string): Promise<string | undefined> {
  const contents = await parsePkcs12(p12, password);
  try {
    return describeCertificate(contents.certificate).emails[0]?.toLowerCase();
  } finally {
    contents.privateKey.fill(0);
  }
}

export interface BulkOptions {
  /** The folder of the CSV, which file: passwords are relative to. */
  csvBase?: string;
  maxP12Bytes: number;
  passphraseMinLength: number;
  /** Places one file; resolves to the new key's id. Throws KEY_ALREADY_PRESENT (with details.keyId) for a re-run. */
  place(input: { email: string; p12: Uint8Array; password: string }): Promise<string>;
  onProgress?(done: number, total: number): void;
}

export async function importAll(items: readonly ImportItem[], options: BulkOptions): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  const asked = new Map<string, string>();
  for (const item of items) {
    options.onProgress?.(results.length, items.length);
    if (item.invalid) {
      results.push({ item, email: item.email, outcome: 'failed', error: item.invalid });
      continue;
    }
    const context: ExplainContext = {
      file: item.file,
      user: item.email,
      passwordFrom: item.passwordFrom,
      maxP12Bytes: options.maxP12Bytes,
      passphraseMinLength: options.passphraseMinLength,
      bulk: true,
    };
    let email = item.email;
    try {
      const stat = statSync(item.path, { throwIfNoEntry: false });
      if (!stat)
        throw new AppError('FILE_NOT_FOUND', undefined, {
          path: item.file,
          ...(options.csvBase ? { base: `the CSV's folder, ${options.csvBase}` } : {}),
        });
      context.fileBytes = stat.size;
      if (stat.size > options.maxP12Bytes) throw new AppError('P12_TOO_LARGE');
      const p12 = readFileSync(item.path);
      const password = await passwordOf(item, options.csvBase, asked);
      email ??= await emailFromCertificate(p12, password);
      if (!email)
        throw new AppError('CSV_INVALID', `The certificate in ${item.file} names no email address`, {
          fix: 'name the file after the user (alice@example.com.p12), or list it in a CSV with the address',
        });
      context.user = email;
      const keyId = await options.place({ email, p12, password });
      results.push({ item, email, outcome: 'placed', keyId });
    } catch (e) {
      if (e instanceof AppError && e.code === 'KEY_ALREADY_PRESENT') {
        const keyId = typeof e.details?.keyId === 'string' ? e.details.keyId : undefined;
        results.push({ item, email, outcome: 'already present', ...(keyId ? { keyId } : {}) });
      } else results.push({ item, email, outcome: 'failed', error: explain(e, context) });
    }
  }
  options.onProgress?.(results.length, items.length);
  return results;
}

export function summarize(results: readonly ItemResult[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { placed: 0, 'already present': 0, failed: 0 };
  for (const r of results) counts[r.outcome]++;
  return counts;
}

/** `import-report-2025-01-31T12-00-00Z.csv`: sortable, and valid on every file system (no colons). */
export function defaultReportName(now = new Date()): string {
  return `import-report-${now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-')}.csv`;
}

export const REPORT_COLUMNS = ['email', 'file', 'outcome', 'code', 'reason', 'fix', 'key'] as const;

/** Every file's outcome; a failure with its code, reason and fix. Written only by its owner (umask 077). */
export function writeReport(path: string, results: readonly ItemResult[]): void {
  const rows = results.map((r) =>
    [
      r.email ?? '',
      r.item.file,
      r.outcome,
      r.error?.code ?? '',
      r.error?.reason ?? '',
      r.error?.fix ?? '',
      r.keyId ?? '',
    ]
      .map(csvCell)
      .join(','),
  );
  writeFileSync(path, `${REPORT_COLUMNS.join(',')}\n${rows.map((r) => `${r}\n`).join('')}`);
}

/** One line per failure for the terminal, as the single import prints its error. */
export function failureLines(results: readonly ItemResult[]): string[] {
  return results
    .filter((r) => r.error)
    .map((r) => `${r.item.line ? `line ${r.item.line}: ` : ''}${errorLine(r.error!)}`);
}
