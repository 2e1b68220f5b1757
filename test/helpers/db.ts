/**
 * The databases every storage-touching suite runs against: the embedded PGlite (always) and the real PostgreSQL
 * when reachable (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). Without PostgreSQL a
 * developer's run skips those cases with a loud warning; with CI=true it fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgres, wrapPGlite, type Database } from '../../backend/src/store/db.ts';
import { migrate } from '../../backend/src/store/migrate.ts';
import { TEMPLATE_PATH } from './paths.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface DbTarget {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty database; `drop` removes it. */
  open(): Promise<{ db: Database; drop: () => Promise<void>; url?: string }>;
}

let templateBytes: Buffer | undefined;

async function openPgliteClone(): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (!templateBytes && existsSync(TEMPLATE_PATH)) templateBytes = readFileSync(TEMPLATE_PATH);
  if (templateBytes) {
    const pgl = new PGlite({ loadDataDir: new Blob([new Uint8Array(templateBytes)]) });
    await pgl.waitReady;
    const db = wrapPGlite(pgl as never);
    await migrate(db); // no-op unless migrations were added since the template was made
    return db;
  }
  const pgl = new PGlite();
  await pgl.waitReady;
  const db = wrapPGlite(pgl as never);
  await migrate(db);
  return db;
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

let targetsPromise: Promise<DbTarget[]> | undefined;

export function databaseTargets(): Promise<DbTarget[]> {
  targetsPromise ??= (async () => {
    const targets: DbTarget[] = [
      {
        name: 'pglite',
        async open() {
          const db = await openPgliteClone();
          return { db, drop: () => db.close() };
        },
      },
    ];
    const problem = await postgresReachable();
    if (problem) {
      const msg = `PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${problem})`;
      if (process.env.CI === 'true') {
        targets.push({
          name: 'postgres',
          open: () => Promise.reject(new Error(`${msg}; CI=true requires it`)),
        });
      } else {
        console.warn(`\n!!!!! SKIPPING the PostgreSQL half of the storage tests: ${msg} !!!!!\n`);
      }
      return targets;
    }
    targets.push({
      name: 'postgres',
      async open() {
        const name = `smime_test_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        await admin.end();
        const url = new URL(TEST_DATABASE_URL);
        url.pathname = `/${name}`;
        const db = openPostgres(url.toString(), 5);
        await migrate(db);
        return {
          db,
          url: url.toString(),
          async drop() {
            await db.close();
            const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
            await c.connect();
            await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await c.end();
          },
        };
      },
    });
    return targets;
  })();
  return targetsPromise;
}
