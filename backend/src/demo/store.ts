/**
 * The demo mailbox tables (backend/src/demo/schema/, the demo's own schema since issue 12; the message bytes are files,
 * demo/mail-files.ts). applyDemoSchema is the only way they come to exist: the demo's entry module calls it, the
 * product never does.
 */
import { fileURLToPath } from 'node:url';
import type { Database, Queryable } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';

const DEMO_SCHEMA_DIR = fileURLToPath(new URL('./schema/', import.meta.url));
/** The advisory lock of the demo's migrations (the product's is 727_001). */
const DEMO_MIGRATION_LOCK_KEY = 727_005;

/** Create or update the demo's tables; returns the names applied now. */
export function applyDemoSchema(db: Database): Promise<string[]> {
  return migrate(db, DEMO_SCHEMA_DIR, { table: 'demo_schema_migrations', lockKey: DEMO_MIGRATION_LOCK_KEY });
}

export interface DemoUserRow {
  email: string;
  display_name: string;
  position: number;
}

export interface DemoMessageRow {
  id: string;
  owner: string;
  folder: 'inbox' | 'sent';
  sender: string;
  recipients: string[];
  subject: string;
  size: number;
  tampered: boolean;
  created_at: Date | string;
}

export async function listDemoUsers(db: Queryable): Promise<DemoUserRow[]> {
  return db.query<DemoUserRow>('SELECT email, display_name, position FROM demo_users ORDER BY position');
}

export async function findDemoUser(db: Queryable, email: string): Promise<DemoUserRow | undefined> {
  return (
    await db.query<DemoUserRow>('SELECT email, display_name, position FROM demo_users WHERE email = $1', [email])
  )[0];
}

export async function insertDemoUser(db: Queryable, u: DemoUserRow): Promise<void> {
  await db.query('INSERT INTO demo_users (email, display_name, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    u.email,
    u.display_name,
    u.position,
  ]);
}

export async function insertDemoMessage(
  db: Queryable,
  m: Omit<DemoMessageRow, 'tampered' | 'created_at'>,
): Promise<void> {
  await db.query(
    'INSERT INTO demo_messages (id, owner, folder, sender, recipients, subject, size) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [m.id, m.owner, m.folder, m.sender, m.recipients, m.subject, m.size],
  );
}

export async function listDemoMessages(
  db: Queryable,
  owner: string,
  folder: 'inbox' | 'sent',
): Promise<DemoMessageRow[]> {
  return db.query(
    `SELECT id, owner, folder, sender, recipients, subject, size, tampered, created_at FROM demo_messages
      WHERE owner = $1 AND folder = $2 ORDER BY seq DESC`,
    [owner, folder],
  );
}

export async function getDemoMessage(db: Queryable, owner: string, id: string): Promise<DemoMessageRow | undefined> {
  return (
    await db.query<DemoMessageRow>(
      'SELECT id, owner, folder, sender, recipients, subject, size, tampered, created_at FROM demo_messages WHERE owner = $1 AND id = $2',
      [owner, id],
    )
  )[0];
}

export async function markDemoMessageTampered(db: Queryable, owner: string, id: string): Promise<void> {
  await db.query('UPDATE demo_messages SET tampered = true WHERE owner = $1 AND id = $2', [owner, id]);
}

/**
 * Keep `owner`'s newest messages within `maxBytes` (inbox and sent together): deletes the older ones and returns
 * their ids, whose files the caller removes once the transaction committed.
 */
export async function trimDemoMailbox(db: Queryable, owner: string, maxBytes: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `DELETE FROM demo_messages WHERE id IN (
       SELECT id FROM (SELECT id, sum(size) OVER (ORDER BY seq DESC) AS newer FROM demo_messages WHERE owner = $1) t
        WHERE newer > $2)
     RETURNING id`,
    [owner, maxBytes],
  );
  return rows.map((r) => r.id);
}

/** Bytes stored for `owner`. */
export async function demoMailboxBytes(db: Queryable, owner: string): Promise<number> {
  const [row] = await db.query<{ total: number | string | null }>(
    'SELECT sum(size)::int8 AS total FROM demo_messages WHERE owner = $1',
    [owner],
  );
  return Number(row?.total ?? 0);
}

/** Every message id, for DemoMailFiles.sweep. */
export async function allDemoMessageIds(db: Queryable): Promise<Set<string>> {
  return new Set((await db.query<{ id: string }>('SELECT id FROM demo_messages')).map((r) => r.id));
}
