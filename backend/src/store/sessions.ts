/** Unlock sessions: the user's keys re-wrapped under a session key held only by the client. */
import type { Queryable } from './db.ts';
import { qualifiedColumns, type KeyRow } from './keys.ts';

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

const SESSION_JOIN_FIELDS = [
  's_id',
  's_created_at',
  's_last_used_at',
  's_idle_timeout_s',
  's_expires_at',
  'sk_key_id',
  'sk_iv',
  'sk_wrapped',
] as const;

/** A live session with its session-wrapped blobs, each beside the key row it wraps. */
export interface OpenedSession {
  session: SessionRow;
  keys: { blob: SessionKeyRow; row: KeyRow }[];
}

/**
 * The live session `id` of this user, touching last_used_at, with its blobs and the key rows they wrap, in ONE
 * statement (issue 6: every signing and decryption pays this lookup; it was three round trips). Undefined when the
 * session is missing, of another user, idle past its timeout or past its absolute expiry. The database clock
 * decides, so instances with skewed clocks agree.
 */
export async function openSessionKeys(db: Queryable, userId: number, id: string): Promise<OpenedSession | undefined> {
  const rows = await db.query<
    KeyRow & {
      s_id: string;
      s_created_at: Date;
      s_last_used_at: Date;
      s_idle_timeout_s: number;
      s_expires_at: Date;
      sk_key_id: string | null;
      sk_iv: Uint8Array;
      sk_wrapped: Uint8Array;
    }
  >(
    `WITH s AS (
       UPDATE unlock_sessions SET last_used_at = now()
        WHERE id = $1 AND user_id = $2 AND expires_at > now()
          AND last_used_at + make_interval(secs => idle_timeout_s) > now()
        RETURNING id, user_id, created_at, last_used_at, idle_timeout_s, expires_at)
     SELECT s.id AS s_id, s.created_at AS s_created_at, s.last_used_at AS s_last_used_at,
            s.idle_timeout_s AS s_idle_timeout_s, s.expires_at AS s_expires_at,
            k.key_id AS sk_key_id, k.iv AS sk_iv, k.wrapped AS sk_wrapped, ${qualifiedColumns('p')}
       FROM s
       LEFT JOIN unlock_session_keys k ON k.session_id = s.id
       LEFT JOIN private_keys p ON p.id = k.key_id AND p.user_id = s.user_id
      ORDER BY p.is_default DESC, p.not_after DESC, p.created_at DESC`,
    [id, userId],
  );
  const first = rows[0];
  if (!first) return undefined;
  const session: SessionRow = {
    id: first.s_id,
    user_id: userId,
    created_at: first.s_created_at,
    last_used_at: first.s_last_used_at,
    idle_timeout_s: first.s_idle_timeout_s,
    expires_at: first.s_expires_at,
  };
  const keys: OpenedSession['keys'] = [];
  for (const r of rows) {
    if (r.sk_key_id === null || r.id === null) continue; // a session without keys, or a key deleted since
    const blob: SessionKeyRow = { key_id: r.sk_key_id, iv: r.sk_iv, wrapped: r.sk_wrapped };
    const row: Partial<typeof r> = { ...r };
    for (const k of SESSION_JOIN_FIELDS) delete row[k];
    keys.push({ blob, row: row as KeyRow });
  }
  return { session, keys };
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
