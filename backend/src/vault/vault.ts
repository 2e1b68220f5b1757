/**
 * Private-key custody (issue 2). Every private key is stored wrapped under a key derived with Argon2id from a
 * passphrase only its owner knows; the passphrase is never stored, cached or logged, and an unwrapped key lives only
 * in memory for the duration of one operation.
 *
 * The Vault is the one object the rest of the backend holds; each job is a module of its own, working with the
 * shared VaultContext (context.ts): taking keys in (intake.ts), unlock sessions (unlock.ts), passphrase change and
 * adoption (passphrase-change.ts), the key history (history.ts), key backup (export.ts), and what a passphrase must be (passphrase-policy.ts).
 *
 * Keys placed by IT are wrapped under the .p12 password (or an initial passphrase IT chose) and marked
 * must_change_passphrase ("pending"): the user either changes the passphrase (first key) or adopts the key under
 * their own passphrase. Admins can never read, set or reset a user's passphrase.
 */
import type { Logger } from '../log.ts';
import type { Database } from '../store/db.ts';
import type { KeyRow } from '../store/keys.ts';
import type { UserRow } from '../store/users.ts';
import type { VaultContext, VaultOptions } from './context.ts';
import * as backup from './export.ts';
import * as history from './history.ts';
import * as intake from './intake.ts';
import { Kdf } from './kdf.ts';
import { Pkcs12Pool } from './p12-pool.ts';
import * as change from './passphrase-change.ts';
import * as unlock from './unlock.ts';
import type { SessionStatus, UnlockedKey, UnlockResult } from './unlock.ts';

export type { VaultOptions } from './context.ts';
export { isPending } from './passphrase-policy.ts';
export { parseSessionToken, type SessionStatus, type UnlockedKey, type UnlockResult } from './unlock.ts';

export class Vault {
  readonly kdf: Kdf;
  private readonly ctx: VaultContext;

  constructor(
    db: Database,
    readonly options: VaultOptions,
    log?: Logger,
  ) {
    this.kdf = new Kdf(options.kdfConcurrency, options.kdfNice);
    const p12Pool = new Pkcs12Pool(options.p12Pool ?? { concurrency: 1, queue: 16 });
    this.ctx = { db, options, log, kdf: this.kdf, p12Pool };
  }

  // ---- intake (intake.ts) ---------------------------------------------------------------------------------------

  /** IT places a PKCS#12 into a user's profile; the key must get the user's own passphrase before it can be used. */
  placeKey(input: Parameters<typeof intake.placeKey>[1]): Promise<intake.PlacedKey> {
    return intake.placeKey(this.ctx, input);
  }

  /** The user imports their own PKCS#12, under their passphrase (or a first one). */
  importKey(user: UserRow, input: Parameters<typeof intake.importKey>[2]): Promise<KeyRow> {
    return intake.importKey(this.ctx, user, input);
  }

  // ---- unlock sessions (unlock.ts) ------------------------------------------------------------------------------

  unlock(user: UserRow, passphrase: string): Promise<UnlockResult> {
    return unlock.unlock(this.ctx, user, passphrase);
  }

  /** Lock: end this session, or every session of the user (`all`, e.g. at logout). */
  lock(user: UserRow, token: string | undefined, all = false): Promise<number> {
    return unlock.lock(this.ctx, user, token, all);
  }

  status(user: UserRow, token: string | undefined): Promise<SessionStatus> {
    return unlock.status(this.ctx, user, token);
  }

  /** The user's session keys for one operation; the caller MUST call `dispose()` (see unlock.ts openSession). */
  openSession(
    user: UserRow,
    token: string | undefined,
    filter: (row: KeyRow) => boolean = () => true,
  ): Promise<{ keys: UnlockedKey[]; dispose: () => void }> {
    return unlock.openSession(this.ctx, user, token, filter);
  }

  /** Run `fn` with the user's unlocked keys (see openSession); the PKCS#8 bytes are wiped when fn ends. */
  async withUnlockedKeys<T>(
    user: UserRow,
    token: string | undefined,
    fn: (keys: UnlockedKey[]) => Promise<T>,
    filter: (row: KeyRow) => boolean = () => true,
  ): Promise<T> {
    const session = await this.openSession(user, token, filter);
    try {
      return await fn(session.keys);
    } finally {
      session.dispose();
    }
  }

  // ---- passphrase management (passphrase-change.ts) -------------------------------------------------------------

  /** Re-wrap every key under `next` in one transaction and end the user's other sessions. */
  changePassphrase(
    user: UserRow,
    current: string,
    next: string,
    keepSessionId?: string,
  ): Promise<{ rewrapped: string[]; sessionsEnded: number }> {
    return change.changePassphrase(this.ctx, user, { current, next, keepSessionId });
  }

  /** Take a key IT placed under the user's own passphrase. */
  adoptKey(user: UserRow, keyId: string, keyPassword: string, passphrase: string): Promise<KeyRow> {
    return change.adoptKey(this.ctx, user, keyId, keyPassword, passphrase);
  }

  // ---- key history (history.ts) ---------------------------------------------------------------------------------

  listKeys(user: UserRow): Promise<KeyRow[]> {
    return history.listKeys(this.ctx, user);
  }

  getKey(user: UserRow, keyId: string): Promise<KeyRow> {
    return history.getKey(this.ctx, user, keyId);
  }

  setDefault(user: UserRow, keyId: string): Promise<KeyRow> {
    return history.setDefault(this.ctx, user, keyId);
  }

  /** Delete a key: needs a live session or the passphrase, and the key's fingerprint as confirmation. */
  deleteKey(
    user: UserRow,
    keyId: string,
    confirmFingerprint: string | undefined,
    proof: { unlockToken?: string; passphrase?: string },
  ): Promise<void> {
    return history.deleteKey(this.ctx, user, keyId, confirmFingerprint, proof);
  }

  /** IT removes a key from a user's profile (the CLI's remove-key), confirmed by its fingerprint. */
  removeKey(input: Parameters<typeof history.removeKey>[1]): Promise<KeyRow> {
    return history.removeKey(this.ctx, input);
  }

  // ---- key backup (export.ts) -----------------------------------------------------------------------------------

  /** The key as a PKCS#12 under `exportPassword`: needs the passphrase (an unlocked session is not enough). */
  exportKey(user: UserRow, keyId: string, passphrase: string, exportPassword: string): Promise<backup.ExportedKey> {
    return backup.exportKey(this.ctx, user, keyId, passphrase, exportPassword);
  }
}
