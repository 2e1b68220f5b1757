/**
 * What every vault operation works with (the database, the settings, the log, the KDF and the PKCS#12 pool) and the
 * steps they share: wrapping a key under a passphrase, trying a passphrase on a wrapped key, and the throttle around
 * every passphrase attempt (a wrong one is audited and counted, issue 2).
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RecoveryTarget } from '../recovery/escrow.ts';
import { appendAudit } from '../store/audit.ts';
import type { Database } from '../store/db.ts';
import * as keys from '../store/keys.ts';
import type { KeyRow, WrappedKey } from '../store/keys.ts';
import * as throttle from '../store/throttle.ts';
import type { UserRow } from '../store/users.ts';
import { type Argon2Params, Kdf, SALT_BYTES } from './kdf.ts';
import type { Pkcs12Pool } from './p12-pool.ts';
import { open, seal, UnwrapError, vaultAad, WRAP_VERSION } from './wrap.ts';

export interface VaultOptions {
  argon2: Argon2Params;
  kdfConcurrency: number;
  /** Nice value of the Argon2 worker process (kdf.ts); default ARGON2_NICE. */
  kdfNice?: number;
  idleTimeoutS: number;
  maxLifetimeS: number;
  throttle: throttle.ThrottlePolicy;
  passphraseMinLength: number;
  maxP12Bytes: number;
  /** PKCS#12 reading off the event loop (issue 12); default: one worker, 16 waiting. */
  p12Pool?: { concurrency: number; queue: number };
  /** The recovery certificate every stored key is also wrapped to (issue 17); undefined: none. */
  recovery?: RecoveryTarget;
}

export interface VaultContext {
  db: Database;
  options: VaultOptions;
  log: Logger | undefined;
  kdf: Kdf;
  p12Pool: Pkcs12Pool;
}

/** The audit actor of what a user does to their own keys. */
export function userActor(user: UserRow): string {
  return `user:${user.email}`;
}

/** Wrap PKCS#8 bytes under a key derived from `passphrase` (Argon2id at the configured cost, a fresh salt). */
export async function wrapKey(
  ctx: VaultContext,
  userId: number,
  keyId: string,
  passphrase: string,
  pkcs8: Uint8Array,
): Promise<WrappedKey> {
  const salt = randomBytes(SALT_BYTES);
  const p = ctx.options.argon2;
  const kek = await ctx.kdf.derive(passphrase, salt, p);
  try {
    const { iv, ciphertext } = seal(kek, pkcs8, vaultAad(userId, keyId));
    return { wrapVersion: WRAP_VERSION, salt, ...p, iv, ciphertext };
  } finally {
    kek.fill(0);
  }
}

/** The PKCS#8 bytes if `passphrase` opens the key, else undefined. */
export async function tryUnwrap(ctx: VaultContext, row: KeyRow, passphrase: string): Promise<Buffer | undefined> {
  const w = keys.wrappedOf(row);
  const kek = await ctx.kdf.derive(passphrase, w.salt, w);
  try {
    return open(kek, w.iv, w.ciphertext, vaultAad(row.user_id, row.id, w.wrapVersion));
  } catch (e) {
    if (e instanceof UnwrapError) return undefined;
    throw e;
  } finally {
    kek.fill(0);
  }
}

/** Each key that `passphrase` opens, by id. */
export async function tryUnwrapAll(
  ctx: VaultContext,
  rows: KeyRow[],
  passphrase: string,
): Promise<Map<string, Buffer>> {
  const results = await Promise.all(rows.map(async (r) => [r.id, await tryUnwrap(ctx, r, passphrase)] as const));
  return new Map(results.filter((e): e is readonly [string, Buffer] => e[1] !== undefined));
}

/** Before any passphrase attempt: THROTTLED while the user's wrong attempts say wait. */
export async function beginAttempt(ctx: VaultContext, user: UserRow): Promise<void> {
  const d = await ctx.db.transaction((tx) => throttle.beginAttempt(tx, user.id, ctx.options.throttle));
  if (!d.allowed) {
    ctx.log?.warn({ user: user.email, retryAfterS: d.retryAfterS }, 'passphrase attempt refused by throttle');
    throw new AppError('THROTTLED', undefined, { retryAfterSeconds: d.retryAfterS });
  }
}

/** A wrong passphrase: audited, and WRONG_PASSPHRASE with the failures so far and the wait the throttle asks. */
export async function failAttempt(
  ctx: VaultContext,
  user: UserRow,
  action: 'unlock.failure' | 'passphrase.change_failed',
): Promise<never> {
  const state = await ctx.db.transaction(async (tx) => {
    const s = await throttle.throttleState(tx, user.id);
    await appendAudit(tx, { actor: userActor(user), userEmail: user.email, action, details: { failures: s.failures } });
    return s;
  });
  throw new AppError('WRONG_PASSPHRASE', undefined, {
    failures: state.failures,
    retryAfterSeconds: state.retryAfterS,
  });
}

/** Prove the user knows the passphrase that opens `row` (throttled like an unlock); the key is wiped at once. */
export async function provePassphrase(
  ctx: VaultContext,
  user: UserRow,
  row: KeyRow,
  passphrase: string,
): Promise<void> {
  await beginAttempt(ctx, user);
  const pkcs8 = await tryUnwrap(ctx, row, passphrase);
  if (!pkcs8) return failAttempt(ctx, user, 'unlock.failure');
  pkcs8.fill(0);
  await ctx.db.transaction((tx) => throttle.recordSuccess(tx, user.id));
}
