/**
 * Users and their aliases. Addresses are stored and looked up in their one canonical spelling (issue 12:
 * mime/address.ts canonicalAddress: lowercase, IDNA domain, compatibility spellings refused), the same the token
 * verifier, certificates, senders and recipients use.
 */
import { canonicalAddress } from '../smime/index.ts';
import type { Queryable } from './db.ts';

export interface UserRow {
  id: number;
  email: string;
  created_at: Date;
  /**
   * The user's aliases when read in the same statement as the row (findUserWithAliases, once per request by the
   * authentication), so userAddresses needs no second query (issue 16). Absent: userAddresses reads them.
   */
  aliases?: readonly string[];
}

export function normalizeEmail(email: string): string {
  return canonicalAddress(email);
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  const [row] = await db.query<UserRow>('SELECT id, email, created_at FROM users WHERE email = $1', [
    normalizeEmail(email),
  ]);
  return row;
}

/** findUserByEmail and the user's aliases (ordered as listAliases orders them), in one statement. */
export async function findUserWithAliases(db: Queryable, email: string): Promise<UserRow | undefined> {
  const [row] = await db.query<UserRow & { aliases: string[] }>(
    `SELECT u.id, u.email, u.created_at,
            ARRAY(SELECT a.email FROM user_aliases a WHERE a.user_id = u.id ORDER BY a.email) AS aliases
       FROM users u WHERE u.email = $1`,
    [normalizeEmail(email)],
  );
  return row;
}

/** The user that owns `email` as primary address or alias. */
export async function findUserByAnyAddress(db: Queryable, email: string): Promise<UserRow | undefined> {
  const e = normalizeEmail(email);
  const [row] = await db.query<UserRow>(
    `SELECT u.id, u.email, u.created_at FROM users u
      WHERE u.email = $1 OR u.id = (SELECT user_id FROM user_aliases WHERE email = $1)`,
    [e],
  );
  return row;
}

/** Find or create the user with this primary address (users appear on first contact, or when IT places a key). */
export async function ensureUser(db: Queryable, email: string): Promise<UserRow> {
  const e = normalizeEmail(email);
  const [row] = await db.query<UserRow>(
    `INSERT INTO users (email) VALUES ($1)
     ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
     RETURNING id, email, created_at`,
    [e],
  );
  return row!;
}

export async function listAliases(db: Queryable, userId: number): Promise<string[]> {
  const rows = await db.query<{ email: string }>('SELECT email FROM user_aliases WHERE user_id = $1 ORDER BY email', [
    userId,
  ]);
  return rows.map((r) => r.email);
}

/** Adds an alias; returns false if the address already belongs to someone (as primary or alias). */
export async function addAlias(db: Queryable, userId: number, alias: string): Promise<boolean> {
  const e = normalizeEmail(alias);
  const [taken] = await db.query('SELECT 1 FROM users WHERE email = $1 AND id <> $2', [e, userId]);
  if (taken) return false;
  const rows = await db.query(
    `INSERT INTO user_aliases (email, user_id) VALUES ($1, $2)
     ON CONFLICT (email) DO UPDATE SET user_id = EXCLUDED.user_id WHERE user_aliases.user_id = EXCLUDED.user_id
     RETURNING email`,
    [e, userId],
  );
  return rows.length === 1;
}

export async function userAddresses(db: Queryable, user: UserRow): Promise<string[]> {
  return [user.email, ...(user.aliases ?? (await listAliases(db, user.id)))];
}
