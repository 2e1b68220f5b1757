/**
 * Unlock sessions (design, see README "Unlock sessions"): unlocking derives each key's KEK, unwraps the keys, and
 * re-wraps them under a fresh random 256-bit session key. The database keeps only those session-wrapped blobs; the
 * session key goes to the client alone (HttpOnly cookie, or a header for server-to-server calls). Any backend
 * instance can then use the keys for a request that presents the session key; none can without it. Idle timeout and
 * absolute lifetime are enforced by the database clock; lock deletes the rows.
 */
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import { privateKeyFromPkcs8 } from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import * as keys from '../store/keys.ts';
import type { KeyRow } from '../store/keys.ts';
import * as sessions from '../store/sessions.ts';
import * as throttle from '../store/throttle.ts';
import type { UserRow } from '../store/users.ts';
import { beginAttempt, failAttempt, tryUnwrapAll, userActor, type VaultContext, wrapKey } from './context.ts';
import { weakerThan } from './kdf.ts';
import { isPending } from './passphrase-policy.ts';
import { coverOpenedKeys } from './recovery-copies.ts';
import { open, seal, sessionAad, UnwrapError } from './wrap.ts';

/** A key, unwrapped for the length of one operation. */
export interface UnlockedKey {
  row: KeyRow;
  privateKey: KeyObject;
  /** PKCS#8 DER; wiped when the operation ends. */
  pkcs8: Buffer;
}

/**
 * What an unlock did. A session holds only keys the user may use: a key IT placed (pending) opens with IT's
 * passphrase but is used for nothing until the user chose their own, so it is never put in a session. When the
 * passphrase opens only such keys there is no session at all (`session` undefined, `mustChangePassphrase`), and
 * status, reading and sending all say the same thing: locked until the passphrase is changed (issue 14).
 */
export interface UnlockResult {
  session:
    | {
        /** The session credential: `<session id>.<base64url session key>`. Goes to the client only. */
        token: string;
        id: string;
        expiresAt: Date;
        /** The keys in the session. */
        keyIds: string[];
      }
    | undefined;
  idleTimeoutS: number;
  /** Keys this passphrase did not open. */
  lockedKeyIds: string[];
  /** Keys this passphrase opened that IT placed: usable once the user chose their own passphrase. */
  pendingKeyIds: string[];
  mustChangePassphrase: boolean;
}

export interface SessionStatus {
  unlocked: boolean;
  sessionId?: string;
  expiresAt?: Date;
  idleExpiresAt?: Date;
  idleTimeoutS: number;
  unlockedKeyIds: string[];
}

const SESSION_KEY_BYTES = 32;
const TOKEN_RE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

export function parseSessionToken(token: string | undefined): { sessionId: string; key: Buffer } | undefined {
  const m = token ? TOKEN_RE.exec(token) : null;
  if (!m) return undefined;
  const key = Buffer.from(m[2]!, 'base64url');
  return key.length === SESSION_KEY_BYTES ? { sessionId: m[1]!, key } : undefined;
}

/** Seal the opened keys under the session key and store the session, in one transaction with its audit entry. */
async function createSession(
  ctx: VaultContext,
  user: UserRow,
  opened: Map<string, Buffer>,
  s: { sessionId: string; sessionKey: Buffer; expiresAt: Date },
): Promise<void> {
  const blobs = [...opened].map(([keyId, pkcs8]) => {
    const { iv, ciphertext } = seal(s.sessionKey, pkcs8, sessionAad(s.sessionId, user.id, keyId));
    return { keyId, iv, wrapped: ciphertext };
  });
  const row = { id: s.sessionId, userId: user.id, idleTimeoutS: ctx.options.idleTimeoutS, expiresAt: s.expiresAt };
  await ctx.db.transaction(async (tx) => {
    await throttle.recordSuccess(tx, user.id);
    await sessions.createSession(tx, row, blobs);
    await appendAudit(tx, {
      actor: userActor(user),
      userEmail: user.email,
      action: 'unlock.success',
      details: { sessionId: s.sessionId, keyIds: [...opened.keys()] },
    });
  });
}

export async function unlock(ctx: VaultContext, user: UserRow, passphrase: string): Promise<UnlockResult> {
  const rows = await keys.listKeys(ctx.db, user.id);
  if (rows.length === 0) throw new AppError('NO_KEYS');
  await beginAttempt(ctx, user);
  const opened = await tryUnwrapAll(ctx, rows, passphrase);
  if (opened.size === 0) return failAttempt(ctx, user, 'unlock.failure');
  const lockedKeyIds = rows.filter((r) => !opened.has(r.id)).map((r) => r.id);
  const pendingKeyIds = rows.filter((r) => opened.has(r.id) && isPending(r)).map((r) => r.id);
  const usable = new Map([...opened].filter(([id]) => !pendingKeyIds.includes(id)));
  const sessionKey = randomBytes(SESSION_KEY_BYTES);
  const sessionId = randomUUID();
  try {
    const outcome = { idleTimeoutS: ctx.options.idleTimeoutS, lockedKeyIds, pendingKeyIds };
    if (usable.size === 0) {
      await recordPendingOnly(ctx, user, pendingKeyIds);
      await rewrapWeak(ctx, user, rows, opened, passphrase);
      await coverOpenedKeys(ctx, user, opened);
      return { ...outcome, session: undefined, mustChangePassphrase: true };
    }
    const expiresAt = new Date(Date.now() + ctx.options.maxLifetimeS * 1000);
    await createSession(ctx, user, usable, { sessionId, sessionKey, expiresAt });
    await rewrapWeak(ctx, user, rows, opened, passphrase);
    await coverOpenedKeys(ctx, user, opened);
    const token = `${sessionId}.${sessionKey.toString('base64url')}`;
    return {
      ...outcome,
      session: { token, id: sessionId, expiresAt, keyIds: [...usable.keys()] },
      mustChangePassphrase: pendingKeyIds.length > 0,
    };
  } finally {
    sessionKey.fill(0);
    for (const b of opened.values()) b.fill(0);
  }
}

/**
 * The passphrase was right, but it is IT's and opens only keys IT placed: no session. The failure count is reset
 * (it was not a guess) and the audit says what happened.
 */
async function recordPendingOnly(ctx: VaultContext, user: UserRow, keyIds: string[]): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await throttle.recordSuccess(tx, user.id);
    await appendAudit(tx, {
      actor: userActor(user),
      userEmail: user.email,
      action: 'unlock.passphrase_change_required',
      details: { keyIds },
    });
  });
}

/** Keys wrapped at a lower Argon2 cost than configured are re-wrapped now that we know the passphrase. */
async function rewrapWeak(
  ctx: VaultContext,
  user: UserRow,
  rows: KeyRow[],
  opened: Map<string, Buffer>,
  passphrase: string,
): Promise<void> {
  for (const row of rows) {
    const pkcs8 = opened.get(row.id);
    if (!pkcs8 || !weakerThan(keys.wrappedOf(row), ctx.options.argon2)) continue;
    const wrapped = await wrapKey(ctx, user.id, row.id, passphrase, pkcs8);
    await ctx.db.transaction(async (tx) => {
      // Compare-and-swap: a concurrent passphrase change wins and this re-wrap is dropped.
      if (!(await keys.updateWrap(tx, user.id, row.id, wrapped, false, row.wrapped_key))) return;
      const from = { memoryKiB: row.kdf_memory_kib, timeCost: row.kdf_time_cost, parallelism: row.kdf_parallelism };
      await appendAudit(tx, {
        actor: 'system',
        userEmail: user.email,
        action: 'key.rewrapped',
        details: { keyId: row.id, from, to: ctx.options.argon2 },
      });
    });
  }
}

/** Lock: end this session, or every session of the user (`all`, e.g. at logout). */
export async function lock(ctx: VaultContext, user: UserRow, token: string | undefined, all = false): Promise<number> {
  const parsed = parseSessionToken(token);
  const n = await ctx.db.transaction(async (tx) => {
    let count = 0;
    if (all) count = await sessions.deleteUserSessions(tx, user.id);
    else if (parsed) count = Number(await sessions.deleteSession(tx, user.id, parsed.sessionId));
    if (count > 0)
      await appendAudit(tx, {
        actor: userActor(user),
        userEmail: user.email,
        action: 'session.locked',
        details: { sessions: count, all },
      });
    return count;
  });
  parsed?.key.fill(0);
  return n;
}

export async function status(ctx: VaultContext, user: UserRow, token: string | undefined): Promise<SessionStatus> {
  const parsed = parseSessionToken(token);
  const base = { unlocked: false, idleTimeoutS: ctx.options.idleTimeoutS, unlockedKeyIds: [] as string[] };
  if (!parsed) return base;
  try {
    const opened = await sessions.openSessionKeys(ctx.db, user.id, parsed.sessionId);
    if (!opened) return base;
    const s = opened.session;
    const blobs = opened.keys.map((k) => k.blob);
    // Prove the client holds the session key: one blob must open.
    const first = blobs[0];
    if (!first) return base;
    open(parsed.key, first.iv, first.wrapped, sessionAad(s.id, user.id, first.key_id)).fill(0);
    return {
      unlocked: true,
      sessionId: s.id,
      expiresAt: s.expires_at,
      idleExpiresAt: new Date(new Date(s.last_used_at).getTime() + s.idle_timeout_s * 1000),
      idleTimeoutS: s.idle_timeout_s,
      unlockedKeyIds: blobs.map((b) => b.key_id),
    };
  } catch (e) {
    if (e instanceof UnwrapError) return base;
    throw e;
  } finally {
    parsed.key.fill(0);
  }
}

/**
 * Unwrap the user's session keys (all, or those passing `filter`) for one operation; the caller MUST call
 * `dispose()` when done (it wipes the PKCS#8 bytes). Throws LOCKED without a live session,
 * PASSPHRASE_CHANGE_REQUIRED if a selected key is still pending.
 */
export async function openSession(
  ctx: VaultContext,
  user: UserRow,
  token: string | undefined,
  filter: (row: KeyRow) => boolean = () => true,
): Promise<{ keys: UnlockedKey[]; dispose: () => void }> {
  const parsed = parseSessionToken(token);
  if (!parsed) throw new AppError('LOCKED');
  const unlocked: UnlockedKey[] = [];
  const dispose = () => {
    for (const u of unlocked) u.pkcs8.fill(0);
  };
  try {
    // One statement: touch the session, its blobs, and the key rows they wrap (issue 6).
    const opened = await sessions.openSessionKeys(ctx.db, user.id, parsed.sessionId);
    if (!opened) throw new AppError('LOCKED');
    const s = opened.session;
    for (const { blob: b, row } of opened.keys) {
      if (!filter(row)) continue;
      if (isPending(row)) throw new AppError('PASSPHRASE_CHANGE_REQUIRED', undefined, { keyId: row.id });
      let pkcs8: Buffer;
      try {
        pkcs8 = open(parsed.key, b.iv, b.wrapped, sessionAad(s.id, user.id, b.key_id));
      } catch (e) {
        if (e instanceof UnwrapError) throw new AppError('LOCKED');
        throw e;
      }
      unlocked.push({ row, pkcs8, privateKey: privateKeyFromPkcs8(pkcs8) });
    }
    return { keys: unlocked, dispose };
  } catch (e) {
    dispose();
    throw e;
  } finally {
    parsed.key.fill(0);
  }
}
