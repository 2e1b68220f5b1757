/**
 * Recovery copies of private keys (issue 17, migration 009): the recovery certificates the server has wrapped to, and
 * one CMS envelope per key and certificate. Nothing here can open an envelope; the recovery private key is never on
 * the server. The application role may only add and read rows here.
 */
import type { Queryable } from './db.ts';

export interface RecoveryCertificateRow {
  set_id: string;
  certificate: Uint8Array;
  subject: string;
  first_seen_at: Date;
}

export interface RecoveryWrapRow {
  key_id: string;
  set_id: string;
  envelope: Uint8Array;
  created_at: Date;
}

/** Record the recovery certificate (once; a certificate seen before keeps its first date). */
export async function recordRecoveryCertificate(
  db: Queryable,
  input: { setId: string; certificate: Uint8Array; subject: string },
): Promise<void> {
  await db.query(
    `INSERT INTO recovery_certificates (set_id, certificate, subject) VALUES ($1, $2, $3)
     ON CONFLICT (set_id) DO NOTHING`,
    [input.setId, input.certificate, input.subject],
  );
}

export async function getRecoveryCertificate(
  db: Queryable,
  setId: string,
): Promise<RecoveryCertificateRow | undefined> {
  const [row] = await db.query<RecoveryCertificateRow>(
    'SELECT set_id, certificate, subject, first_seen_at FROM recovery_certificates WHERE set_id = $1',
    [setId],
  );
  return row;
}

/** Add a key's copy for a recovery certificate; a copy already there stays (false). */
export async function insertRecoveryWrap(
  db: Queryable,
  input: { keyId: string; setId: string; envelope: Uint8Array },
): Promise<boolean> {
  const rows = await db.query<{ key_id: string }>(
    `INSERT INTO key_recovery_wraps (key_id, set_id, envelope) VALUES ($1, $2, $3)
     ON CONFLICT (key_id, set_id) DO NOTHING RETURNING key_id`,
    [input.keyId, input.setId, input.envelope],
  );
  return rows.length > 0;
}

/** Which of these keys have no copy for the recovery certificate `setId`. */
export async function keysWithoutWrap(db: Queryable, keyIds: readonly string[], setId: string): Promise<string[]> {
  if (keyIds.length === 0) return [];
  const rows = await db.query<{ id: string }>(
    `SELECT k.id FROM unnest($1::uuid[]) AS k(id)
      WHERE NOT EXISTS (SELECT 1 FROM key_recovery_wraps w WHERE w.key_id = k.id AND w.set_id = $2)`,
    [keyIds, setId],
  );
  return rows.map((r) => r.id);
}

/** A user's copies for `setId`, oldest key first, with what recover needs of each key beside them. */
export interface UserWrapRow {
  key_id: string;
  envelope: Uint8Array;
  certificate: Uint8Array;
  chain: Uint8Array[];
  fingerprint_sha256: string;
  subject: string;
  not_after: Date;
  created_at: Date;
}

export async function userRecoveryWraps(db: Queryable, userId: number, setId: string): Promise<UserWrapRow[]> {
  return db.query<UserWrapRow>(
    `SELECT w.key_id, w.envelope, k.certificate, k.chain, k.fingerprint_sha256, k.subject, k.not_after, k.created_at
       FROM key_recovery_wraps w JOIN private_keys k ON k.id = w.key_id
      WHERE k.user_id = $1 AND w.set_id = $2
      ORDER BY k.created_at, k.id`,
    [userId, setId],
  );
}

export interface RecoveryCoverage {
  /** Every stored private key. */
  keys: number;
  /** Keys with a copy for the recovery certificate. */
  covered: number;
  /** Users with at least one key, and of them those whose every key is covered. */
  users: number;
  usersCovered: number;
}

/** How many keys (and users) the recovery certificate `setId` covers. */
export async function recoveryCoverage(db: Queryable, setId: string): Promise<RecoveryCoverage> {
  const [row] = await db.query<{
    keys: string | number;
    covered: string | number;
    users: string | number;
    users_covered: string | number;
  }>(
    `WITH per_key AS (
       SELECT k.user_id, EXISTS (SELECT 1 FROM key_recovery_wraps w WHERE w.key_id = k.id AND w.set_id = $1) AS covered
         FROM private_keys k),
     per_user AS (SELECT user_id, bool_and(covered) AS all_covered FROM per_key GROUP BY user_id)
     SELECT (SELECT count(*) FROM per_key) AS keys,
            (SELECT count(*) FROM per_key WHERE covered) AS covered,
            (SELECT count(*) FROM per_user) AS users,
            (SELECT count(*) FROM per_user WHERE all_covered) AS users_covered`,
    [setId],
  );
  return {
    keys: Number(row?.keys ?? 0),
    covered: Number(row?.covered ?? 0),
    users: Number(row?.users ?? 0),
    usersCovered: Number(row?.users_covered ?? 0),
  };
}

/** Users with a key that has no copy for `setId` (at most `limit`, by address): whom to ask to unlock once. */
export async function uncoveredUsers(db: Queryable, setId: string, limit: number): Promise<string[]> {
  const rows = await db.query<{ email: string }>(
    `SELECT DISTINCT u.email FROM private_keys k JOIN users u ON u.id = k.user_id
      WHERE NOT EXISTS (SELECT 1 FROM key_recovery_wraps w WHERE w.key_id = k.id AND w.set_id = $1)
      ORDER BY u.email LIMIT $2`,
    [setId, limit],
  );
  return rows.map((r) => r.email);
}
