/**
 * The checks of `smime-admin doctor` that need the database: it answers, its migrations match this release, the
 * application role, and the audit chain as `smime-admin audit-verify` checks it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditCheckpoints, type AuditCheckpointSettings } from '../audit/checkpoints.ts';
import { parseSigningKey } from '../audit/keys.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { openDatabase } from '../services.ts';
import { appRoleStatus, auditRightsOfCurrentRole, describeAppRole } from '../store/app-role.ts';
import type { Database } from '../store/db.ts';
import { listMigrations } from '../store/migrate.ts';
import { message, within, type Add } from './doctor-check.ts';

/** Audit problems named in the detail; `smime-admin audit-verify` lists every one. */
const MAX_AUDIT_PROBLEMS_NAMED = 5;

/** Where DATABASE_URL points, without its user's password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

/** The password of DATABASE_URL, to scrub it from a driver message that would echo it. */
function urlPassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

export async function databaseCheck(
  config: Config | undefined,
  timeoutMs: number,
  add: Add,
): Promise<Database | undefined> {
  if (!config) {
    add({ name: 'database', status: 'skipped', detail: 'the configuration did not load' });
    return undefined;
  }
  const url = config.DATABASE_URL;
  if (!url) {
    const dir = join(config.dataDir, 'db');
    // openPGlite would create an empty database: the doctor creates nothing.
    if (!existsSync(dir)) {
      add({
        name: 'database',
        status: 'fail',
        detail: `no embedded database in ${dir} yet`,
        fix: 'run smime-admin migrate (or start the server once), or set DATABASE_URL to your PostgreSQL',
      });
      return undefined;
    }
    try {
      const db = await openDatabase(config);
      add({ name: 'database', status: 'ok', detail: `embedded PostgreSQL (PGlite) in ${dir} opens` });
      return db;
    } catch (e) {
      add({
        name: 'database',
        status: 'fail',
        detail: `the embedded database in ${dir} does not open: ${message(e)}`,
        fix: 'stop a server that uses it (PGlite allows one process at a time) and run smime-admin doctor again',
      });
      return undefined;
    }
  }
  const where = describeUrl(url);
  const db = await openDatabase(config);
  try {
    const [v] = await within(
      db.query<{ version: string }>('SELECT current_setting($1) AS version', ['server_version']),
      timeoutMs,
      where,
    );
    add({ name: 'database', status: 'ok', detail: `${where} answers (server ${v?.version ?? '?'})` });
    return db;
  } catch (e) {
    void db.close().catch(() => {});
    let detail = message(e);
    const password = urlPassword(url);
    if (password) detail = detail.split(password).join('[redacted]');
    add({
      name: 'database',
      status: 'fail',
      detail: `${where} cannot be reached: ${detail}`,
      fix: 'check DATABASE_URL (host, port, database, user, password) and that PostgreSQL runs and accepts this host (pg_hba.conf)',
    });
    return undefined;
  }
}

/** Applied, pending, edited migrations; true when the schema is the one this release expects. */
export async function migrationsCheck(db: Database | undefined, dir: string, add: Add): Promise<boolean> {
  const name = 'migrations';
  if (!db) {
    add({ name, status: 'skipped', detail: 'no database' });
    return false;
  }
  try {
    const shipped = listMigrations(dir);
    const [r] = await db.query<{ ready: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS ready`);
    const applied = r?.ready
      ? await db.query<{ version: number; name: string; checksum: string }>(
          'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
        )
      : [];
    const byVersion = new Map(applied.map((a) => [Number(a.version), a]));
    const pending = shipped.filter((m) => !byVersion.has(m.version));
    const edited = shipped.filter((m) => {
      const a = byVersion.get(m.version);
      return a !== undefined && a.checksum !== m.checksum;
    });
    const known = new Set(shipped.map((m) => m.version));
    const newer = applied.filter((a) => !known.has(Number(a.version)));
    let ok = true;
    if (edited.length) {
      ok = false;
      add({
        name,
        status: 'fail',
        detail: `${edited.map((m) => m.name).join(', ')} changed after being applied`,
        fix: 'restore those files from the release you run (a landed migration is never edited; changes go in a new one)',
      });
    }
    if (pending.length) {
      ok = false;
      add({
        name,
        status: 'fail',
        detail: `${pending.length} of ${shipped.length} pending: ${pending.map((m) => m.name).join(', ')}`,
        fix: 'run smime-admin migrate (as the owner of the tables)',
      });
    }
    if (newer.length)
      add({
        name,
        status: 'warn',
        detail: `the database holds migrations this release does not ship: ${newer.map((a) => a.name).join(', ')}`,
        fix: 'run the release that migrated this database (an older one may not understand its schema)',
      });
    if (ok && !newer.length) add({ name, status: 'ok', detail: `${applied.length} applied, none pending` });
    return ok;
  } catch (e) {
    add({ name, status: 'fail', detail: `cannot read the applied migrations: ${message(e)}` });
    return false;
  }
}

export async function appRoleChecks(
  db: Database | undefined,
  schemaReady: boolean,
  config: Config | undefined,
  add: Add,
): Promise<void> {
  const name = 'application role';
  if (!db || !schemaReady) {
    add({ name, status: 'skipped', detail: db ? 'migrations are not applied' : 'no database' });
    return;
  }
  try {
    const status = await appRoleStatus(db);
    const text = describeAppRole(status);
    switch (status.state) {
      case 'embedded':
        add({
          name,
          status: config?.production ? 'warn' : 'skipped',
          detail: text,
          fix: 'set DATABASE_URL to a PostgreSQL database, migrated with smime-admin migrate (README: Security)',
        });
        return;
      case 'missing':
        add({ name, status: 'warn', detail: `${text.split(':')[0]}`, fix: text.slice(text.indexOf(':') + 2) });
        break;
      case 'present':
        // NOLOGIN is how migration 007 creates it: the server logs in as a member role.
        if (status.appendOnly) add({ name, status: 'ok', detail: text });
        else
          add({
            name,
            status: 'fail',
            detail: text.split(':')[0]!,
            fix: 'as the owner of the tables: SELECT smime_grant_app_role();',
          });
    }
    const rights = await auditRightsOfCurrentRole(db);
    add(
      rights.owner || rights.modify
        ? {
            name: 'database role',
            status: 'warn',
            detail: `role ${rights.role} of DATABASE_URL can rewrite the audit log (${rights.owner ? 'it owns audit_log' : 'UPDATE/DELETE/TRUNCATE on audit_log'}); fine for smime-admin migrate, not for the server`,
            fix: 'run the server with a DATABASE_URL that logs in as smime_app or a member of it (README: Security)',
          }
        : { name: 'database role', status: 'ok', detail: `role ${rights.role} may only read and append the audit log` },
    );
  } catch (e) {
    add({ name, status: 'fail', detail: `cannot read the roles: ${message(e)}` });
  }
}

/**
 * The checkpoint settings the verification needs. In development the signing key is generated into
 * SMIME_DATA_DIR/secrets (secrets.ts) and is not in the configuration: read it if it exists, never create it.
 */
function checkpointSettings(config: Config): AuditCheckpointSettings {
  const settings = config.auditCheckpoint;
  if (settings.signingKey) return settings;
  const generated = join(config.dataDir, 'secrets', 'audit-checkpoint-key');
  try {
    return { ...settings, signingKey: parseSigningKey(readFileSync(generated, 'utf8').trim()) };
  } catch {
    return settings;
  }
}

export async function auditCheck(
  db: Database | undefined,
  schemaReady: boolean,
  config: Config | undefined,
  log: Logger,
  add: Add,
): Promise<void> {
  const name = 'audit chain';
  if (!db || !config || !schemaReady) {
    add({ name, status: 'skipped', detail: db ? 'migrations are not applied' : 'no database' });
    return;
  }
  try {
    // What `smime-admin audit-verify` does without arguments: the chain, and the checkpoints of our own file.
    const v = await new AuditCheckpoints(checkpointSettings(config), log).verify(db, {});
    const c = v.checkpoints;
    const head = `${v.entries} ${v.entries === 1 ? 'entry' : 'entries'}, head ${v.headHash.slice(0, 16)}`;
    if (!v.ok) {
      const named = v.problems
        .slice(0, MAX_AUDIT_PROBLEMS_NAMED)
        .map((p) => `${p.problem} at entry ${p.seq}`)
        .join(', ');
      const more =
        v.problems.length > MAX_AUDIT_PROBLEMS_NAMED ? ` and ${v.problems.length - MAX_AUDIT_PROBLEMS_NAMED} more` : '';
      add({
        name,
        status: 'fail',
        detail: `${head}: BROKEN: ${named}${more}`,
        fix: 'run smime-admin audit-verify for every problem: entries were edited or removed (README: Security, the audit log)',
      });
      return;
    }
    if (c.last)
      add({
        name,
        status: 'ok',
        detail: `${head}; ${c.valid} valid checkpoints in ${c.sources.join(', ')}, the last at entry ${c.last.seq} (${c.last.at}), ${c.grownSince} entries since`,
      });
    else if (v.entries === 0) add({ name, status: 'ok', detail: `${head}: empty, nothing to anchor yet` });
    else
      add({
        name,
        status: 'warn',
        detail: `${head}; verifies, but no signed checkpoint in ${config.auditCheckpoint.file} anchors it: entries could be removed unnoticed`,
        fix: 'run smime-admin audit-checkpoint (the server writes one every SMIME_AUDIT_CHECKPOINT_INTERVAL_S)',
      });
  } catch (e) {
    add({
      name,
      status: 'fail',
      detail: `cannot verify: ${message(e)}`,
      fix: 'check that SMIME_AUDIT_CHECKPOINT_FILE is readable by this user',
    });
  }
}
