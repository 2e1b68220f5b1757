/**
 * Applies migrations/NNN_name.sql in order, each in its own transaction together with its row in
 * schema_migrations, under a transaction-scoped advisory lock so several instances starting at once apply each
 * migration exactly once. A migration that landed is never edited: its checksum is recorded and a changed file stops
 * the start-up.
 *
 * Migrations run as the owner of the tables. The server may run as the restricted role smime_app (migration 007),
 * which can apply nothing: on an up-to-date database it only reads schema_migrations and goes on; with a migration
 * pending it stops with MIGRATION_NEEDS_OWNER, because serving a schema older than the code is worse than not
 * starting (issue 12).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './db.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));
/** Arbitrary constant naming the advisory lock of the migration runner. */
const MIGRATION_LOCK_KEY = 727_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_-]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(dir + f, 'utf8');
      return {
        version: Number(f.slice(0, 3)),
        name: f,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    readonly code: 'MIGRATION_EDITED' | 'MIGRATION_NEEDS_OWNER',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** SQLSTATE 42501 insufficient_privilege: "permission denied for ..." and "must be owner of ...". */
const INSUFFICIENT_PRIVILEGE = '42501';

function needsOwner(e: unknown, role: string, what: string): unknown {
  if ((e as { code?: unknown } | null)?.code !== INSUFFICIENT_PRIVILEGE) return e;
  return new MigrationError(
    'MIGRATION_NEEDS_OWNER',
    `${what} needs the owner of the database's tables, and role ${role} may not (${(e as Error).message}): ` +
      `run \`smime-admin migrate\` with the owner's DATABASE_URL, then start the server again`,
    { cause: e },
  );
}

/**
 * Where a set of migrations records itself. The product's is the default; the demo keeps its own schema in its own
 * table (issue 12: the product's migrations never create the demo's tables), so the two numberings never meet.
 */
export interface MigrationLedger {
  table: 'schema_migrations' | 'demo_schema_migrations';
  lockKey: number;
}
const PRODUCT_LEDGER: MigrationLedger = { table: 'schema_migrations', lockKey: MIGRATION_LOCK_KEY };

/** Apply what is pending; returns the names applied now. */
export async function migrate(
  db: Database,
  dir = MIGRATIONS_DIR,
  ledger: MigrationLedger = PRODUCT_LEDGER,
): Promise<string[]> {
  const table = ledger.table;
  const [who] = await db.query<{ role: string; ready: boolean }>(
    `SELECT current_user AS role, to_regclass('${table}') IS NOT NULL AS ready`,
  );
  // Not CREATE TABLE IF NOT EXISTS unconditionally: it needs CREATE on the schema even when the table exists.
  if (!who!.ready)
    await db
      .query(
        `CREATE TABLE IF NOT EXISTS ${table} (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      )
      .catch((e: unknown) => {
        throw needsOwner(e, who!.role, `creating ${table}`);
      });
  const applied: string[] = [];
  for (const m of listMigrations(dir)) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ledger.lockKey]);
      const [row] = await tx.query<{ checksum: string }>(`SELECT checksum FROM ${table} WHERE version = $1`, [
        m.version,
      ]);
      if (row) {
        if (row.checksum !== m.checksum)
          throw new MigrationError(
            'MIGRATION_EDITED',
            `migration ${m.name} was edited after it was applied; add a new migration instead`,
          );
        return;
      }
      await tx.execScript(m.sql).catch((e: unknown) => {
        throw needsOwner(e, who!.role, `migration ${m.name}`);
      });
      await tx.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        m.checksum,
      ]);
      applied.push(m.name);
    });
  }
  return applied;
}
