/**
 * One small interface over PostgreSQL (node-postgres pool) and the embedded PostgreSQL (PGlite), so every store
 * module and every migration runs unchanged on both. Differences smoothed here: node-postgres returns int8 as string
 * and bytea as Buffer, PGlite returns number and Uint8Array; we return numbers for int8 (our int8 values are row ids
 * and counters far below 2^53) and Uint8Array-compatible bytes for bytea (Buffer is a Uint8Array).
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  execScript(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction: all of it commits or none of it does. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Connections of the PostgreSQL pool (absent on PGlite, which has one): total, idle, and callers waiting. */
  poolStats?(): { total: number; idle: number; waiting: number };
}

const INT8_OID = 20;
const BYTEA_ARRAY_OID = 1001;
/**
 * A bytea[] as PostgreSQL writes it with bytea_output = hex (the default since 9.0): `{"\\x3082..",NULL}`, every
 * element quoted (a backslash forces the quotes) and nothing in one that could be a comma or a quote.
 */
const HEX_BYTEA_ARRAY = /^\{(?:(?:"\\\\x[0-9a-f]*"|NULL)(?:,(?:"\\\\x[0-9a-f]*"|NULL))*)?\}$/;
const genericByteaArray = (pg.types.getTypeParser as (oid: number, format: 'text') => (v: string) => (Buffer | null)[])(
  BYTEA_ARRAY_OID,
  'text',
);

/**
 * bytea[] (certificate chains, on every request that signs, encrypts or verifies), read directly: node-postgres's
 * generic array parser walks the text a character at a time, 120 µs for a chain of two certificates against 7 µs
 * here (issue 16). Any other shape (escape format, several dimensions, bounds) goes to node-postgres's parser.
 */
export function parseByteaArray(value: string): (Buffer | null)[] {
  if (!HEX_BYTEA_ARRAY.test(value)) return genericByteaArray(value);
  if (value === '{}') return [];
  return value
    .slice(1, -1)
    .split(',')
    .map((e) => (e === 'NULL' ? null : Buffer.from(e.slice(4, -1), 'hex')));
}

export function openPostgres(connectionString: string, poolSize = 10): Database {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : oid === BYTEA_ARRAY_OID && format !== 'binary'
            ? parseByteaArray
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection emits 'error' on the pool; unhandled, that would crash the process.
  pool.on('error', () => {});
  const run = async <T>(q: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<T[]> => {
    const r = await q.query(sql, params as unknown[] | undefined);
    return r.rows as T[];
  };
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    execScript: async (sql) => {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (sql, params) => run(client, sql, params),
          execScript: async (sql) => {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

type PGliteTx = {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  exec(sql: string): Promise<unknown>;
};
type PGliteLike = PGliteTx & {
  transaction<T>(fn: (tx: PGliteTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  waitReady: Promise<void>;
};

/** Wrap an open PGlite instance (tests pass one cloned from a template). */
export function wrapPGlite(db: PGliteLike): Database {
  return {
    kind: 'pglite',
    query: async (sql, params) => (await db.query(sql, params as unknown[] | undefined)).rows as never,
    execScript: async (sql) => {
      await db.exec(sql);
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async (sql, params) => (await tx.query(sql, params as unknown[] | undefined)).rows as never,
          execScript: async (sql) => {
            await tx.exec(sql);
          },
        }),
      ),
    close: () => db.close(),
  };
}

/**
 * Take group and others' permissions off everything under `dir` (issue 12). PGlite's initdb writes its files 0666
 * and its folders 0755 whatever the process umask, and the embedded database is the whole key vault.
 */
export function restrictTree(dir: string): void {
  const pending = [dir];
  while (pending.length) {
    const path = pending.pop()!;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.mode & 0o077) chmodSync(path, st.mode & 0o700);
    if (st.isDirectory()) for (const name of readdirSync(path)) pending.push(join(path, name));
  }
}

/** Open the embedded PostgreSQL stored in `dir` (created on first use), private to this process's user. */
export async function openPGlite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dir);
  await db.waitReady;
  restrictTree(dir);
  return wrapPGlite(db as unknown as PGliteLike);
}
