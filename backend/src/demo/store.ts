/** The demo mailbox tables (migrations/004_demo_mailbox.sql). */
import type { Queryable } from '../store/db.ts';

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
  raw: Uint8Array;
  tampered: boolean;
  created_at: Date | string;
}

export async function listDemoUsers(db: Queryable): Promise<DemoUserRow[]> {
  return db.query<DemoUserRow>('SELECT email, display_name, position FROM demo_users ORDER BY position');
}

export async function findDemoUser(db: Queryable, email: string): Promise<DemoUserRow | undefined> {
  return (await db.query<DemoUserRow>('SELECT email, display_name, position FROM demo_users WHERE email = $1', [email]))[0];
}

export async function insertDemoUser(db: Queryable, u: DemoUserRow): Promise<void> {
  await db.query('INSERT INTO demo_users (email, display_name, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [u.email, u.display_name, u.position]);
}

export async function insertDemoMessage(db: Queryable, m: Omit<DemoMessageRow, 'tampered' | 'created_at'>): Promise<void> {
  await db.query(
    'INSERT INTO demo_messages (id, owner, folder, sender, recipients, subject, raw) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [m.id, m.owner, m.folder, m.sender, m.recipients, m.subject, m.raw],
  );
}

export async function listDemoMessages(db: Queryable, owner: string, folder: 'inbox' | 'sent'): Promise<Omit<DemoMessageRow, 'raw'>[]> {
  return db.query(
    `SELECT id, owner, folder, sender, recipients, subject, tampered, created_at FROM demo_messages
      WHERE owner = $1 AND folder = $2 ORDER BY created_at DESC, id`,
    [owner, folder],
  );
}

export async function getDemoMessage(db: Queryable, owner: string, id: string): Promise<DemoMessageRow | undefined> {
  return (await db.query<DemoMessageRow>('SELECT * FROM demo_messages WHERE owner = $1 AND id = $2', [owner, id]))[0];
}

export async function replaceDemoMessageRaw(db: Queryable, owner: string, id: string, raw: Uint8Array): Promise<void> {
  await db.query('UPDATE demo_messages SET raw = $3, tampered = true WHERE owner = $1 AND id = $2', [owner, id, raw]);
}
