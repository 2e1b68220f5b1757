/** The database of a command, opened and migrated; a database that cannot be reached is said so, without its URL. */
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { openDatabase } from '../services.ts';
import type { Database } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';

/** pg and network error codes that mean "no database there", not a bug. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNRESET']);
/** PostgreSQL SQLSTATEs of a refused login or a missing database. */
const LOGIN_REFUSED = new Set(['28P01', '28000', '3D000']);

/** Where the database is, without the password a DATABASE_URL may hold. */
function databaseName(config: Config): string {
  if (!config.DATABASE_URL) return `the embedded database in ${config.dataDir}`;
  try {
    const u = new URL(config.DATABASE_URL);
    return `PostgreSQL at ${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the PostgreSQL of DATABASE_URL';
  }
}

function asDatabaseError(e: unknown, config: Config): unknown {
  const errors = e instanceof AggregateError ? [e, ...e.errors] : [e];
  const code = errors.map((x) => (x as { code?: unknown } | undefined)?.code).find((c) => typeof c === 'string');
  if (typeof code !== 'string' || (!UNREACHABLE.has(code) && !LOGIN_REFUSED.has(code))) return e;
  const why = LOGIN_REFUSED.has(code)
    ? code === '3D000'
      ? 'the database does not exist'
      : 'the login was refused'
    : code;
  return new AppError('DATABASE_UNREACHABLE', `${databaseName(config)} cannot be used (${why})`, undefined, {
    cause: e,
  });
}

export async function withDb<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  // As the server does (main.ts): files the embedded database creates are this user's only (issue 12).
  process.umask(0o077);
  let db: Database;
  try {
    db = await openDatabase(config);
    await migrate(db);
  } catch (e) {
    throw asDatabaseError(e, config);
  }
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
