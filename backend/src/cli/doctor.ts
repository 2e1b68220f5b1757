/**
 * `smime-admin doctor` (issue 15): every check an operator would otherwise run by hand, in one report. Each check
 * says ok, warn, fail or skipped, what it found, and for a problem how to fix it (which variable, which command).
 * Nothing is repaired and nothing is created: the embedded database is opened only when it exists, migrations are
 * compared and never applied, generated secrets are read and never written.
 *
 * The checks reuse the product's own: loadConfig (config.ts), the production rules (production.ts), the migration
 * list (store/migrate.ts), the application role (store/app-role.ts), the trust-anchor bundles (trust-anchors.ts), the
 * directory connection (directory/ldap.ts), the audit verification of `audit-verify` (audit/checkpoints.ts) and the
 * coverage of the recovery certificate (store/recovery.ts).
 *
 * Takes the environment rather than a loaded Config: a configuration that does not load is the first thing to
 * report, and the production rules read the environment themselves. No secret value is ever part of a detail: only
 * names of settings, paths, modes, counts and the error messages of the modules above, which never carry values.
 */
import { createLogger, type Logger } from '../log.ts';
import type { Database } from '../store/db.ts';
import { weakSettings } from '../production.ts';
import { MIGRATIONS_DIR } from '../store/migrate.ts';
import { message, within, type Add, type CheckStatus, type DoctorCheck } from './doctor-check.ts';
import { appRoleChecks, auditCheck, databaseCheck, migrationsCheck } from './doctor-database.ts';
import { directoryChecks } from './doctor-directory.ts';
import { recoveryCheck } from './doctor-recovery.ts';
import { configurationCheck, productionChecks, secretFileChecks, trustAnchorChecks } from './doctor-local.ts';

export type { CheckStatus, DoctorCheck };

/**
 * Longest wait of one check on the network (the PostgreSQL connection, each directory step), in ms. A doctor that
 * hangs on an unreachable host tells nothing; the directory's own LDAP_TIMEOUT_MS applies when it is shorter.
 */
export const DOCTOR_CHECK_TIMEOUT_MS = 10_000;

export interface DoctorReport {
  checks: DoctorCheck[];
  /** No check failed: the exit code is 0. */
  ok: boolean;
  counts: Record<CheckStatus, number>;
}

export interface DoctorOptions {
  /** Longest wait of one network check (default DOCTOR_CHECK_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The time certificates are checked at (default now). */
  now?: Date;
  /** Where the audit verification logs (default: silent). */
  log?: Logger;
  /** The migrations this release ships (default the product's migrations/; tests). */
  migrationsDir?: string;
}

/** Run every check; never throws for what it finds (an unexpected error becomes a failed check). */
export async function runDoctor(env: NodeJS.ProcessEnv = process.env, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const timeoutMs = opts.timeoutMs ?? DOCTOR_CHECK_TIMEOUT_MS;
  const now = opts.now ?? new Date();
  const log = opts.log ?? createLogger('silent');
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => checks.push(c);

  const config = await guard('configuration', add, () => configurationCheck(env, add), undefined);
  // production.ts's rules, once: the same findings feed the production and the secret-files checks.
  const weak = await guard('production settings', add, () => weakSettings(env), []);
  await guard('production settings', add, () => productionChecks(env, weak, add), undefined);
  await guard('secret files', add, () => secretFileChecks(env, weak, config, add), undefined);

  // The database after the file checks: opening the embedded database tightens its folder's modes (store/db.ts).
  let db: Database | undefined;
  try {
    db = await guard('database', add, () => databaseCheck(config, timeoutMs, add), undefined);
    const migrations = opts.migrationsDir ?? MIGRATIONS_DIR;
    const schemaReady = await guard('migrations', add, () => migrationsCheck(db, migrations, add), false);
    await guard('application role', add, () => appRoleChecks(db, schemaReady, config, add), undefined);
    await guard('trust anchors', add, () => trustAnchorChecks(config, now, add), undefined);
    await guard('directory', add, () => directoryChecks(config, timeoutMs, add), undefined);
    await guard('audit chain', add, () => auditCheck(db, schemaReady, config, log, add), undefined);
    await guard('key recovery', add, () => recoveryCheck(db, schemaReady, config, add), undefined);
  } finally {
    // A pool stuck connecting to an address that never answers would hold close() as long: do not wait for it.
    if (db) await within(db.close(), timeoutMs, 'closing the database').catch(() => {});
  }

  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skipped: 0 };
  for (const c of checks) counts[c.status]++;
  return { checks, ok: counts.fail === 0, counts };
}

/** A check that throws what it did not expect is a failed check, and the others still run. */
async function guard<T>(name: string, add: Add, fn: () => T | Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    add({
      name,
      status: 'fail',
      detail: `the check could not run: ${message(e)}`,
      fix: 'correct what the message names, then run smime-admin doctor again',
    });
    return fallback;
  }
}

/**
 * The command: run the checks on `env`, print the report (coloured on a terminal) and return the exit code. Called
 * before the CLI loads the configuration, since a configuration that does not load is one of its findings.
 */
export async function doctorCommand(
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Promise<number> {
  const report = await runDoctor(env);
  out.write(formatDoctorReport(report, { color: out.isTTY === true }));
  return doctorExitCode(report);
}

/** 0 when no check failed, 1 otherwise. */
export function doctorExitCode(report: DoctorReport): number {
  return report.ok ? 0 : 1;
}

// ---- The printed report.

const LABELS: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skipped: 'skip' };
/** ANSI SGR colours (ECMA-48): green, yellow, red, dim. */
const COLOURS: Record<CheckStatus, string> = { ok: '32', warn: '33', fail: '31', skipped: '2' };

/** The report as an operator reads it: one line per check, the fix under a problem, a summary last. */
export function formatDoctorReport(report: DoctorReport, { color = false }: { color?: boolean } = {}): string {
  const paint = (s: CheckStatus, text: string) => (color ? `\x1b[${COLOURS[s]}m${text}\x1b[0m` : text);
  const width = Math.max(...report.checks.map((c) => c.name.length), 0);
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${paint(c.status, LABELS[c.status].padEnd(4))}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix && (c.status === 'warn' || c.status === 'fail')) lines.push(`${' '.repeat(6 + width)}  fix: ${c.fix}`);
  }
  const n = report.counts;
  const summary = `${n.ok} ok, ${n.warn} warning${n.warn === 1 ? '' : 's'}, ${n.fail} failed, ${n.skipped} skipped`;
  lines.push(
    '',
    report.ok
      ? `${summary}: no problem that stops the server`
      : paint('fail', `${summary}: fix the failed checks (exit 1)`),
  );
  return lines.join('\n') + '\n';
}
