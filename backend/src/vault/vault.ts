/**
 * Private-key custody (issue 2). Every private key is stored wrapped under a key derived with Argon2id from a
 * passphrase only its owner knows; the passphrase is never stored, cached or logged, and an unwrapped key lives only
 * in memory for the duration of one operation.
 *
 * Unlocking (design, see README "Unlock sessions"): POST /session/unlock derives each key's KEK, unwraps the keys,
 * and re-wraps them under a fresh random 256-bit session key. The database keeps only those session-wrapped blobs;
 * the session key goes to the client alone (HttpOnly cookie, or a header for server-to-server calls). Any backend
 * instance can then use the keys for a request that presents the session key; none can without it. Idle timeout and
 * absolute lifetime are enforced by the database clock; lock deletes the rows.
 *
 * Keys placed by IT are wrapped under the .p12 password (or an initial passphrase IT chose) and marked
 * must_change_passphrase ("pending"): the user either changes the passphrase (first key) or adopts the key under
 * their own passphrase. Admins can never read, set or reset a user's passphrase.
 */
import { createPrivateKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type CertificateInfo, describeCertificate, type Pkcs12Contents } from '../smime/index.ts';
import { Pkcs12Pool } from './p12-pool.ts';
import { appendAudit } from '../store/audit.ts';
import type { Database } from '../store/db.ts';
import { certificateFacts } from '../store/certificates.ts';
import * as keys from '../store/keys.ts';
import type { KeyRow, WrappedKey } from '../store/keys.ts';
import * as sessions from '../store/sessions.ts';
import * as throttle from '../store/throttle.ts';
import { ensureUser, userAddresses, type UserRow } from '../store/users.ts';
import { Kdf, SALT_BYTES, weakerThan, type Argon2Params } from './kdf.ts';
import { open, seal, sessionAad, UnwrapError, vaultAad, WRAP_VERSION } from './wrap.ts';

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
}

/** A key, unwrapped for the length of one operation. */
export interface UnlockedKey {
  row: KeyRow;
  privateKey: KeyObject;
  /** PKCS#8 DER; wiped when the operation ends. */
  pkcs8: Buffer;
}

export interface UnlockResult {
  /** The session credential: `<session id>.<base64url session key>`. Goes to the client only. */
  token: string;
  sessionId: string;
  expiresAt: Date;
  idleTimeoutS: number;
  unlockedKeyIds: string[];
  lockedKeyIds: string[];
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

export function isPending(row: KeyRow): boolean {
  return row.must_change_passphrase;
}

function certStatus(info: { notBefore: Date; notAfter: Date }, now = new Date()): 'valid' | 'expired' | 'not-yet-valid' {
  if (now < info.notBefore) return 'not-yet-valid';
  if (now > info.notAfter) return 'expired';
  return 'valid';
}

export class Vault {
  readonly kdf: Kdf;

  constructor(
    private readonly db: Database,
    readonly options: VaultOptions,
    private readonly log?: Logger,
  ) {
    this.kdf = new Kdf(options.kdfConcurrency, options.kdfNice);
    this.p12Pool = new Pkcs12Pool(options.p12Pool ?? { concurrency: 1, queue: 16 });
  }

  private readonly p12Pool: Pkcs12Pool;

  // ---- wrapping -------------------------------------------------------------------------------------------------

  private async wrap(userId: number, keyId: string, passphrase: string, pkcs8: Uint8Array): Promise<WrappedKey> {
    const salt = randomBytes(SALT_BYTES);
    const p = this.options.argon2;
    const kek = await this.kdf.derive(passphrase, salt, p);
    try {
      const { iv, ciphertext } = seal(kek, pkcs8, vaultAad(userId, keyId));
      return { wrapVersion: WRAP_VERSION, salt, ...p, iv, ciphertext };
    } finally {
      kek.fill(0);
    }
  }

  /** The PKCS#8 bytes if `passphrase` opens the key, else undefined. */
  private async tryUnwrap(row: KeyRow, passphrase: string): Promise<Buffer | undefined> {
    const w = keys.wrappedOf(row);
    const kek = await this.kdf.derive(passphrase, w.salt, w);
    try {
      return open(kek, w.iv, w.ciphertext, vaultAad(row.user_id, row.id, w.wrapVersion));
    } catch (e) {
      if (e instanceof UnwrapError) return undefined;
      throw e;
    } finally {
      kek.fill(0);
    }
  }

  private async tryUnwrapAll(rows: KeyRow[], passphrase: string): Promise<Map<string, Buffer>> {
    const results = await Promise.all(rows.map(async (r) => [r.id, await this.tryUnwrap(r, passphrase)] as const));
    return new Map(results.filter((e): e is readonly [string, Buffer] => e[1] !== undefined));
  }

  // ---- throttle -------------------------------------------------------------------------------------------------

  private async beginAttempt(user: UserRow): Promise<void> {
    const d = await this.db.transaction((tx) => throttle.beginAttempt(tx, user.id, this.options.throttle));
    if (!d.allowed) {
      this.log?.warn({ user: user.email, retryAfterS: d.retryAfterS }, 'passphrase attempt refused by throttle');
      throw new AppError('THROTTLED', undefined, { retryAfterSeconds: d.retryAfterS });
    }
  }

  private async failAttempt(
    user: UserRow,
    actor: string,
    action: 'unlock.failure' | 'passphrase.change_failed',
  ): Promise<never> {
    const state = await this.db.transaction(async (tx) => {
      const s = await throttle.throttleState(tx, user.id);
      await appendAudit(tx, { actor, userEmail: user.email, action, details: { failures: s.failures } });
      return s;
    });
    throw new AppError('WRONG_PASSPHRASE', undefined, {
      failures: state.failures,
      retryAfterSeconds: state.retryAfterS,
    });
  }

  // ---- PKCS#12 intake -------------------------------------------------------------------------------------------

  private async readP12(p12: Uint8Array, password: string): Promise<{ contents: Pkcs12Contents; info: CertificateInfo }> {
    if (p12.length > this.options.maxP12Bytes) throw new AppError('P12_TOO_LARGE');
    // An engine error (SmimeError) is an AppError of the one registry: it reaches the API as it is.
    const contents = await this.p12Pool.parse(p12, password);
    return { contents, info: describeCertificate(contents.certificate) };
  }

  private async checkCertificateFor(user: UserRow, info: CertificateInfo, force: boolean): Promise<void> {
    if (force) return;
    const addresses = await userAddresses(this.db, user);
    if (!info.emails.some((e) => addresses.includes(e)))
      throw new AppError(
        'CERT_EMAIL_MISMATCH',
        `The certificate is for ${info.emails.join(', ') || 'no email address'}, not for ${addresses.join(', ')}.`,
        { certificateEmails: info.emails, userAddresses: addresses },
      );
    const eku = info.extendedKeyUsage;
    if (eku.length > 0 && !eku.includes('emailProtection') && !eku.includes('anyExtendedKeyUsage'))
      throw new AppError('CERT_NOT_FOR_EMAIL', undefined, { extendedKeyUsage: eku });
  }

  private async storeKey(
    user: UserRow,
    contents: Pkcs12Contents,
    info: CertificateInfo,
    wrapped: WrappedKey,
    keyId: string,
    meta: { source: 'admin' | 'user'; mustChange: boolean; actor: string; action: 'key.placed' | 'key.imported'; forced: boolean },
  ): Promise<KeyRow> {
    return this.db.transaction(async (tx) => {
      if (await keys.findKeyByFingerprint(tx, user.id, info.fingerprintSha256)) throw new AppError('KEY_ALREADY_PRESENT');
      const current = (await keys.listKeys(tx, user.id)).find((k) => k.is_default);
      // A new key becomes the signing default when it is valid and the current default is not, or lasts longer.
      const currentValid = current && certStatus({ notBefore: current.not_before, notAfter: current.not_after }) === 'valid';
      const isDefault =
        !current || (certStatus(info) === 'valid' && (!currentValid || info.notAfter > current.not_after));
      await keys.insertKey(tx, {
        id: keyId,
        userId: user.id,
        certificate: contents.certificate,
        chain: contents.chain,
        ...certificateFacts(info),
        emails: info.emails,
        wrapped,
        mustChangePassphrase: meta.mustChange,
        isDefault,
        source: meta.source,
      });
      await appendAudit(tx, {
        actor: meta.actor,
        userEmail: user.email,
        action: meta.action,
        details: {
          keyId,
          fingerprint: info.fingerprintSha256,
          subject: info.subject,
          notAfter: info.notAfter.toISOString(),
          forced: meta.forced,
          protection: contents.protection,
        },
      });
      return (await keys.getKey(tx, user.id, keyId))!;
    });
  }

  /**
   * IT places a PKCS#12 into a user's profile (CLI import-p12 or the admin endpoint). The .p12 password becomes the
   * initial passphrase unless `initialPassphrase` is given; either way the key must get the user's own passphrase
   * before it can be used.
   */
  async placeKey(input: {
    actor: string;
    userEmail: string;
    p12: Uint8Array;
    p12Password: string;
    initialPassphrase?: string;
    force?: boolean;
  }): Promise<KeyRow> {
    const { contents, info } = await this.readP12(input.p12, input.p12Password);
    try {
      const user = await ensureUser(this.db, input.userEmail);
      await this.checkCertificateFor(user, info, input.force ?? false);
      if (input.initialPassphrase !== undefined) this.checkNewPassphrase(input.initialPassphrase);
      const keyId = randomUUID();
      const wrapped = await this.wrap(user.id, keyId, input.initialPassphrase ?? input.p12Password, contents.privateKey);
      return await this.storeKey(user, contents, info, wrapped, keyId, {
        source: 'admin',
        mustChange: true,
        actor: input.actor,
        action: 'key.placed',
        forced: input.force ?? false,
      });
    } finally {
      contents.privateKey.fill(0);
    }
  }

  /**
   * The user imports their own PKCS#12. With keys already under a passphrase, `passphrase` must be that passphrase
   * (checked, throttled); a first key takes `passphrase` as the new passphrase.
   */
  async importKey(user: UserRow, input: { p12: Uint8Array; p12Password: string; passphrase?: string }): Promise<KeyRow> {
    const { contents, info } = await this.readP12(input.p12, input.p12Password);
    try {
      await this.checkCertificateFor(user, info, false);
      if (!input.passphrase) throw new AppError('PASSPHRASE_REQUIRED');
      const existing = await keys.listKeys(this.db, user.id);
      const own = existing.filter((k) => !isPending(k));
      // Only keys IT placed and the user has not taken over: no passphrase of the user's own exists yet to prove, and
      // a passphrase given here would become it, so the token alone could plant a key that takes over as the signing
      // default and receives every encrypt-to-self copy (issue 12). The user takes over IT's key first.
      if (existing.length > 0 && own.length === 0)
        throw new AppError('PASSPHRASE_CHANGE_REQUIRED', 'Take over the key IT placed for you (choose your passphrase) before importing another.');
      if (own.length > 0) {
        await this.beginAttempt(user);
        const pkcs8 = await this.tryUnwrap(own[0]!, input.passphrase);
        if (!pkcs8) await this.failAttempt(user, `user:${user.email}`, 'unlock.failure');
        pkcs8!.fill(0);
        await this.db.transaction((tx) => throttle.recordSuccess(tx, user.id));
      } else {
        this.checkNewPassphrase(input.passphrase);
      }
      const keyId = randomUUID();
      const wrapped = await this.wrap(user.id, keyId, input.passphrase, contents.privateKey);
      return await this.storeKey(user, contents, info, wrapped, keyId, {
        source: 'user',
        mustChange: false,
        actor: `user:${user.email}`,
        action: 'key.imported',
        forced: false,
      });
    } finally {
      contents.privateKey.fill(0);
    }
  }

  private checkNewPassphrase(p: string): void {
    if ([...p.normalize('NFC')].length < this.options.passphraseMinLength)
      throw new AppError('PASSPHRASE_TOO_WEAK', `The passphrase must have at least ${this.options.passphraseMinLength} characters.`, {
        minLength: this.options.passphraseMinLength,
      });
  }

  // ---- unlock sessions ------------------------------------------------------------------------------------------

  async unlock(user: UserRow, passphrase: string): Promise<UnlockResult> {
    const rows = await keys.listKeys(this.db, user.id);
    if (rows.length === 0) throw new AppError('NO_KEYS');
    await this.beginAttempt(user);
    const opened = await this.tryUnwrapAll(rows, passphrase);
    if (opened.size === 0) return this.failAttempt(user, `user:${user.email}`, 'unlock.failure');
    const sessionKey = randomBytes(SESSION_KEY_BYTES);
    const sessionId = randomUUID();
    try {
      const blobs = [...opened].map(([keyId, pkcs8]) => {
        const { iv, ciphertext } = seal(sessionKey, pkcs8, sessionAad(sessionId, user.id, keyId));
        return { keyId, iv, wrapped: ciphertext };
      });
      const expiresAt = new Date(Date.now() + this.options.maxLifetimeS * 1000);
      await this.db.transaction(async (tx) => {
        await throttle.recordSuccess(tx, user.id);
        await sessions.createSession(tx, { id: sessionId, userId: user.id, idleTimeoutS: this.options.idleTimeoutS, expiresAt }, blobs);
        await appendAudit(tx, {
          actor: `user:${user.email}`,
          userEmail: user.email,
          action: 'unlock.success',
          details: { sessionId, keyIds: [...opened.keys()] },
        });
      });
      await this.rewrapWeak(user, rows, opened, passphrase);
      const token = `${sessionId}.${sessionKey.toString('base64url')}`;
      return {
        token,
        sessionId,
        expiresAt,
        idleTimeoutS: this.options.idleTimeoutS,
        unlockedKeyIds: [...opened.keys()],
        lockedKeyIds: rows.filter((r) => !opened.has(r.id)).map((r) => r.id),
        mustChangePassphrase: rows.some((r) => opened.has(r.id) && isPending(r)),
      };
    } finally {
      sessionKey.fill(0);
      for (const b of opened.values()) b.fill(0);
    }
  }

  /** Keys wrapped at a lower Argon2 cost than configured are re-wrapped now that we know the passphrase. */
  private async rewrapWeak(user: UserRow, rows: KeyRow[], opened: Map<string, Buffer>, passphrase: string): Promise<void> {
    for (const row of rows) {
      const pkcs8 = opened.get(row.id);
      if (!pkcs8 || !weakerThan(keys.wrappedOf(row), this.options.argon2)) continue;
      const wrapped = await this.wrap(user.id, row.id, passphrase, pkcs8);
      await this.db.transaction(async (tx) => {
        // Compare-and-swap: a concurrent passphrase change wins and this re-wrap is dropped.
        if (!(await keys.updateWrap(tx, user.id, row.id, wrapped, false, row.wrapped_key))) return;
        await appendAudit(tx, {
          actor: 'system',
          userEmail: user.email,
          action: 'key.rewrapped',
          details: {
            keyId: row.id,
            from: { memoryKiB: row.kdf_memory_kib, timeCost: row.kdf_time_cost, parallelism: row.kdf_parallelism },
            to: this.options.argon2,
          },
        });
      });
    }
  }

  /** Lock: end this session, or every session of the user (`all`, e.g. at logout). */
  async lock(user: UserRow, token: string | undefined, all = false): Promise<number> {
    const parsed = parseSessionToken(token);
    const n = await this.db.transaction(async (tx) => {
      const count = all
        ? await sessions.deleteUserSessions(tx, user.id)
        : parsed
          ? Number(await sessions.deleteSession(tx, user.id, parsed.sessionId))
          : 0;
      if (count > 0)
        await appendAudit(tx, {
          actor: `user:${user.email}`,
          userEmail: user.email,
          action: 'session.locked',
          details: { sessions: count, all },
        });
      return count;
    });
    parsed?.key.fill(0);
    return n;
  }

  async status(user: UserRow, token: string | undefined): Promise<SessionStatus> {
    const parsed = parseSessionToken(token);
    const base = { unlocked: false, idleTimeoutS: this.options.idleTimeoutS, unlockedKeyIds: [] as string[] };
    if (!parsed) return base;
    try {
      const opened = await sessions.openSessionKeys(this.db, user.id, parsed.sessionId);
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
  async openSession(
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
      const opened = await sessions.openSessionKeys(this.db, user.id, parsed.sessionId);
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
        unlocked.push({ row, pkcs8, privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) });
      }
      return { keys: unlocked, dispose };
    } catch (e) {
      dispose();
      throw e;
    } finally {
      parsed.key.fill(0);
    }
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

  // ---- passphrase management ------------------------------------------------------------------------------------

  /**
   * Change the passphrase: `current` must open every key the user owns under a passphrase (pending keys it opens
   * are taken along). All of them are re-wrapped under `next` in ONE transaction; a crash before the commit leaves
   * every key under the old passphrase, a crash after it leaves every key under the new one.
   *
   * The same transaction ends every unlock session of the user except `keepSessionId` (the caller's own, already
   * proven): whoever unlocked with the old passphrase, perhaps because they learnt it, loses the keys with it.
   */
  async changePassphrase(user: UserRow, current: string, next: string, keepSessionId?: string): Promise<{ rewrapped: string[]; sessionsEnded: number }> {
    this.checkNewPassphrase(next);
    if (current.normalize('NFC') === next.normalize('NFC')) throw new AppError('PASSPHRASE_UNCHANGED');
    const rows = await keys.listKeys(this.db, user.id);
    if (rows.length === 0) throw new AppError('NO_KEYS');
    await this.beginAttempt(user);
    const opened = await this.tryUnwrapAll(rows, current);
    try {
      const own = rows.filter((r) => !isPending(r));
      const ok = own.length > 0 ? own.every((r) => opened.has(r.id)) : opened.size > 0;
      if (!ok) return await this.failAttempt(user, `user:${user.email}`, 'passphrase.change_failed');
      const targets = rows.filter((r) => opened.has(r.id));
      const rewraps = await Promise.all(
        targets.map(async (r) => ({ row: r, wrapped: await this.wrap(user.id, r.id, next, opened.get(r.id)!) })),
      );
      const sessionsEnded = await this.db.transaction(async (tx) => {
        const locked = new Map((await keys.listKeysForUpdate(tx, user.id)).map((r) => [r.id, r]));
        for (const { row, wrapped } of rewraps) {
          const now = locked.get(row.id);
          if (!now || !Buffer.from(now.wrapped_key).equals(Buffer.from(row.wrapped_key)))
            throw new AppError('CONCURRENT_CHANGE');
          await keys.updateWrap(tx, user.id, row.id, wrapped, true);
        }
        await throttle.recordSuccess(tx, user.id);
        const ended = await sessions.deleteOtherSessions(tx, user.id, keepSessionId);
        await appendAudit(tx, {
          actor: `user:${user.email}`,
          userEmail: user.email,
          action: 'passphrase.changed',
          details: { keyIds: targets.map((t) => t.id), sessionsEnded: ended },
        });
        return ended;
      });
      return { rewrapped: targets.map((t) => t.id), sessionsEnded };
    } finally {
      for (const b of opened.values()) b.fill(0);
    }
  }

  /**
   * Take a key IT placed (pending) under the user's own passphrase: `keyPassword` is what IT sent (the .p12 password
   * or initial passphrase), `passphrase` the user's current passphrase (or a new one if they have no other key).
   */
  async adoptKey(user: UserRow, keyId: string, keyPassword: string, passphrase: string): Promise<KeyRow> {
    const row = await keys.getKey(this.db, user.id, keyId);
    if (!row) throw new AppError('KEY_NOT_FOUND');
    if (!isPending(row)) throw new AppError('KEY_NOT_PENDING');
    const own = (await keys.listKeys(this.db, user.id)).filter((r) => !isPending(r));
    if (own.length === 0) this.checkNewPassphrase(passphrase);
    await this.beginAttempt(user);
    const pkcs8 = await this.tryUnwrap(row, keyPassword);
    if (!pkcs8) return this.failAttempt(user, `user:${user.email}`, 'unlock.failure');
    try {
      if (own.length > 0) {
        const check = await this.tryUnwrap(own[0]!, passphrase);
        if (!check) return await this.failAttempt(user, `user:${user.email}`, 'unlock.failure');
        check.fill(0);
      }
      const wrapped = await this.wrap(user.id, row.id, passphrase, pkcs8);
      await this.db.transaction(async (tx) => {
        if (!(await keys.updateWrap(tx, user.id, row.id, wrapped, true, row.wrapped_key)))
          throw new AppError('CONCURRENT_CHANGE');
        await throttle.recordSuccess(tx, user.id);
        await appendAudit(tx, {
          actor: `user:${user.email}`,
          userEmail: user.email,
          action: 'key.adopted',
          details: { keyId: row.id, fingerprint: row.fingerprint_sha256 },
        });
      });
      return (await keys.getKey(this.db, user.id, row.id))!;
    } finally {
      pkcs8.fill(0);
    }
  }

  // ---- key history ----------------------------------------------------------------------------------------------

  listKeys(user: UserRow): Promise<KeyRow[]> {
    return keys.listKeys(this.db, user.id);
  }

  async getKey(user: UserRow, keyId: string): Promise<KeyRow> {
    const row = await keys.getKey(this.db, user.id, keyId);
    if (!row) throw new AppError('KEY_NOT_FOUND');
    return row;
  }

  async setDefault(user: UserRow, keyId: string): Promise<KeyRow> {
    return this.db.transaction(async (tx) => {
      if (!(await keys.setDefaultKey(tx, user.id, keyId))) throw new AppError('KEY_NOT_FOUND');
      await appendAudit(tx, { actor: `user:${user.email}`, userEmail: user.email, action: 'key.default_set', details: { keyId } });
      return (await keys.getKey(tx, user.id, keyId))!;
    });
  }

  /** Delete a key. `confirmFingerprint` must be the key's SHA-256 fingerprint: deletion loses mail encrypted to it. */
  /**
   * Delete one of the user's keys. Needs the user, not just their host's token (issue 12): a live unlock session of
   * theirs, or their passphrase (checked and throttled like an unlock), and the key's fingerprint as confirmation,
   * which a refusal never gives away.
   */
  async deleteKey(
    user: UserRow,
    keyId: string,
    confirmFingerprint: string | undefined,
    proof: { unlockToken?: string; passphrase?: string },
  ): Promise<void> {
    const row = await keys.getKey(this.db, user.id, keyId);
    if (!row) throw new AppError('KEY_NOT_FOUND');
    if (!confirmFingerprint || confirmFingerprint.toLowerCase().replace(/:/g, '') !== row.fingerprint_sha256)
      throw new AppError(
        'CONFIRMATION_REQUIRED',
        "Deleting a key makes mail encrypted to it unreadable. Confirm with the key's SHA-256 fingerprint (?confirm=...).",
      );
    if (proof.passphrase !== undefined) {
      await this.beginAttempt(user);
      const pkcs8 = await this.tryUnwrap(row, proof.passphrase);
      if (!pkcs8) await this.failAttempt(user, `user:${user.email}`, 'unlock.failure');
      pkcs8!.fill(0);
      await this.db.transaction((tx) => throttle.recordSuccess(tx, user.id));
    } else if (!(await this.status(user, proof.unlockToken)).unlocked) {
      throw new AppError('LOCKED', 'Deleting a key needs your passphrase or your keys unlocked.');
    }
    await this.db.transaction(async (tx) => {
      if (!(await keys.getKey(tx, user.id, keyId))) throw new AppError('KEY_NOT_FOUND');
      await keys.deleteKey(tx, user.id, keyId);
      await appendAudit(tx, {
        actor: `user:${user.email}`,
        userEmail: user.email,
        action: 'key.deleted',
        details: { keyId, fingerprint: row.fingerprint_sha256, subject: row.subject },
      });
    });
  }
}
