/** Unlock sessions: the user's keys re-wrapped under a session key held only by the client. */
import type { Queryable } from './db.ts';

export interface SessionRow {
  id: string;
  user_id: number;
  created_at: Date;
  last_used_at: Date;
  idle_timeout_s: number;
  expires_at: Date;
}

export interface SessionKeyRow {
  key_id: string;
  iv: Uint8Array;
  wrapped: Uint8Array;
}

export async function createSession(
  db: Queryable,
  s: { id: string; userId: number; idleTimeoutS: number; expiresAt: Date },
  keys: { keyId: string; iv: Uint8Array; wrapped: Uint8Array }[],
): Promise<void> {
  await db.query(
    `INSERT INTO unlock_sessions (id, user_id, idle_timeout_s, expires_at, created_at, last_used_at)
     VALUES ($1, $2, $3, $4, now(), now())`,
    [s.id, s.userId, s.idleTimeoutS, s.expiresAt],
  );
  for (const k of keys) {
    await db.query('INSERT INTO unlock_session_keys (session_id, key_id, iv, wrapped) VALUES ($1, $2, $3, $4)', [
      s.id,
      k.keyId,
      k.iv,
      k.wrapped,
    ]);
  }
}

/**
 * The live session `id` of this user, touching last_used_at; undefined when missing, of another user, idle past its
 * timeout or past its absolute expiry. The database clock decides, so instances with skewed clocks agree.
 */
export async function touchSession(db: Queryable, userId: number, id: string): Promise<SessionRow | undefined> {
  const [row] = await db.query<SessionRow>(
    `UPDATE unlock_sessions SET last_used_at = now()
      WHERE id = $1 AND user_id = $2 AND expires_at > now()
        AND last_used_at + make_interval(secs => idle_timeout_s) > now()
      RETURNING id, user_id, created_at, last_used_at, idle_timeout_s, expires_at`,
    [id, userId],
  );
  return row;
}

export async function sessionKeys(db: Queryable, sessionId: string): Promise<SessionKeyRow[]> {
  return db.query<SessionKeyRow>('SELECT key_id, iv, wrapped FROM unlock_session_keys WHERE session_id = $1', [
    sessionId,
  ]);
}

export async function deleteSession(db: Queryable, userId: number, id: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM unlock_sessions WHERE id = $1 AND user_id = $2 RETURNING id', [id, userId]);
  return rows.length > 0;
}

export async function deleteUserSessions(db: Queryable, userId: number): Promise<number> {
  const rows = await db.query('DELETE FROM unlock_sessions WHERE user_id = $1 RETURNING id', [userId]);
  return rows.length;
}

/** Ends every session of the user but `keepId` (all of them without it). */
export async function deleteOtherSessions(db: Queryable, userId: number, keepId: string | undefined): Promise<number> {
  const rows = await db.query(
    'DELETE FROM unlock_sessions WHERE user_id = $1 AND ($2::uuid IS NULL OR id <> $2::uuid) RETURNING id',
    [userId, keepId ?? null],
  );
  return rows.length;
}

/** Remove sessions that are idle or expired (run periodically; expired ones are refused anyway). */
export async function purgeExpiredSessions(db: Queryable): Promise<number> {
  const rows = await db.query(
    `DELETE FROM unlock_sessions
      WHERE expires_at <= now() OR last_used_at + make_interval(secs => idle_timeout_s) <= now() RETURNING id`,
  );
  return rows.length;
}
