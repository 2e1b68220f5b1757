/**
 * Wrong-passphrase throttle, per user, in the database (survives restarts, holds across instances). An attempt is
 * registered as a failure BEFORE the passphrase is checked and cleared on success, so parallel guesses cannot slip
 * through between the check and the update.
 */
import type { Queryable } from './db.ts';

export interface ThrottlePolicy {
  freeAttempts: number;
  baseDelayS: number;
  maxDelayS: number;
}

export interface AttemptDecision {
  allowed: boolean;
  /** Seconds until the next attempt is allowed (when not allowed). */
  retryAfterS: number;
  failures: number;
}

/** Delay imposed after `failures` consecutive failures: none for the free ones, then doubling up to the cap. */
export function delayAfter(failures: number, p: ThrottlePolicy): number {
  if (failures < p.freeAttempts) return 0;
  const exp = Math.min(failures - p.freeAttempts, 30);
  return Math.min(p.baseDelayS * 2 ** exp, p.maxDelayS);
}

/**
 * Reserve an attempt: refused if the user is blocked; otherwise counted as a failure in advance (and the next block
 * computed) until `recordSuccess` clears it. Runs in its own short transaction, committed before the slow Argon2 work.
 */
export async function beginAttempt(db: Queryable, userId: number, p: ThrottlePolicy): Promise<AttemptDecision> {
  await db.query('INSERT INTO passphrase_throttle (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING', [userId]);
  const [row] = await db.query<{ failures: number; wait_s: number }>(
    `SELECT failures, GREATEST(0, EXTRACT(EPOCH FROM (blocked_until - now())))::float8 AS wait_s
       FROM passphrase_throttle WHERE user_id = $1 FOR UPDATE`,
    [userId],
  );
  const waitS = row?.wait_s ?? 0;
  if (waitS > 0) return { allowed: false, retryAfterS: Math.ceil(waitS), failures: row!.failures };
  const failures = (row?.failures ?? 0) + 1;
  const delay = delayAfter(failures, p);
  await db.query(
    `UPDATE passphrase_throttle SET failures = $2, last_failure_at = now(),
        blocked_until = CASE WHEN $3::int > 0 THEN now() + make_interval(secs => $3::int) ELSE NULL END
      WHERE user_id = $1`,
    [userId, failures, delay],
  );
  return { allowed: true, retryAfterS: 0, failures };
}

export async function recordSuccess(db: Queryable, userId: number): Promise<void> {
  await db.query(
    'UPDATE passphrase_throttle SET failures = 0, blocked_until = NULL, last_failure_at = NULL WHERE user_id = $1',
    [userId],
  );
}

export async function throttleState(db: Queryable, userId: number): Promise<{ failures: number; retryAfterS: number }> {
  const [row] = await db.query<{ failures: number; wait_s: number }>(
    `SELECT failures, GREATEST(0, EXTRACT(EPOCH FROM (blocked_until - now())))::float8 AS wait_s
       FROM passphrase_throttle WHERE user_id = $1`,
    [userId],
  );
  return { failures: row?.failures ?? 0, retryAfterS: Math.ceil(row?.wait_s ?? 0) };
}
