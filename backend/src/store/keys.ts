/** The private_keys table: certificates with their wrapped private keys. Nothing here ever sees a plaintext key. */
import type { CertificateRecord, CertificateRecordRow } from './certificate-record.ts';
import { recordColumns, recordPlaceholders, recordValues } from './certificate-record.ts';
import type { Queryable } from './db.ts';

export interface WrappedKey {
  wrapVersion: number;
  salt: Uint8Array;
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

export interface KeyRow extends CertificateRecordRow {
  id: string;
  user_id: number;
  certificate: Uint8Array;
  chain: Uint8Array[];
  emails: string[];
  wrap_version: number;
  kdf_salt: Uint8Array;
  kdf_memory_kib: number;
  kdf_time_cost: number;
  kdf_parallelism: number;
  wrap_iv: Uint8Array;
  wrapped_key: Uint8Array;
  must_change_passphrase: boolean;
  is_default: boolean;
  source: 'admin' | 'user';
  created_at: Date;
}

export interface NewKey extends CertificateRecord {
  id: string;
  userId: number;
  certificate: Uint8Array;
  chain: Uint8Array[];
  emails: string[];
  wrapped: WrappedKey;
  mustChangePassphrase: boolean;
  isDefault: boolean;
  source: 'admin' | 'user';
}

export const COLUMNS = `id, user_id, certificate, chain, ${recordColumns()}, emails, wrap_version, kdf_salt,
  kdf_memory_kib, kdf_time_cost, kdf_parallelism, wrap_iv, wrapped_key, must_change_passphrase, is_default, source,
  created_at`;

/** The key columns qualified with a table alias, for joins (sessions.openSessionKeys). */
export function qualifiedColumns(alias: string): string {
  return COLUMNS.split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}

export function wrappedOf(row: KeyRow): WrappedKey {
  return {
    wrapVersion: row.wrap_version,
    salt: row.kdf_salt,
    memoryKiB: row.kdf_memory_kib,
    timeCost: row.kdf_time_cost,
    parallelism: row.kdf_parallelism,
    iv: row.wrap_iv,
    ciphertext: row.wrapped_key,
  };
}

export async function listKeys(db: Queryable, userId: number): Promise<KeyRow[]> {
  return db.query<KeyRow>(
    `SELECT ${COLUMNS} FROM private_keys WHERE user_id = $1 ORDER BY is_default DESC, not_after DESC, created_at DESC`,
    [userId],
  );
}

/** Lock the user's key rows for the rest of the transaction (passphrase change, adoption, deletion). */
export async function listKeysForUpdate(db: Queryable, userId: number): Promise<KeyRow[]> {
  return db.query<KeyRow>(`SELECT ${COLUMNS} FROM private_keys WHERE user_id = $1 ORDER BY created_at FOR UPDATE`, [
    userId,
  ]);
}

/** A key of this user, or undefined: a key id of another user is indistinguishable from a missing one. */
export async function getKey(db: Queryable, userId: number, keyId: string): Promise<KeyRow | undefined> {
  const [row] = await db.query<KeyRow>(`SELECT ${COLUMNS} FROM private_keys WHERE user_id = $1 AND id = $2`, [
    userId,
    keyId,
  ]);
  return row;
}

export async function findKeyByFingerprint(db: Queryable, userId: number, fp: string): Promise<KeyRow | undefined> {
  const [row] = await db.query<KeyRow>(
    `SELECT ${COLUMNS} FROM private_keys WHERE user_id = $1 AND fingerprint_sha256 = $2`,
    [userId, fp],
  );
  return row;
}

export async function insertKey(db: Queryable, k: NewKey): Promise<void> {
  if (k.isDefault) await db.query('UPDATE private_keys SET is_default = false WHERE user_id = $1', [k.userId]);
  await db.query(
    `INSERT INTO private_keys (id, user_id, certificate, chain, emails, wrap_version, kdf_salt, kdf_memory_kib,
       kdf_time_cost, kdf_parallelism, wrap_iv, wrapped_key, must_change_passphrase, is_default, source,
       ${recordColumns()})
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15, ${recordPlaceholders(16)})`,
    [
      k.id,
      k.userId,
      k.certificate,
      k.chain,
      k.emails,
      ...wrapValues(k.wrapped),
      k.mustChangePassphrase,
      k.isDefault,
      k.source,
      ...recordValues(k),
    ],
  );
}

/** A wrap's values in column order: wrap_version, kdf_salt, kdf_memory_kib, kdf_time_cost, kdf_parallelism, wrap_iv,
 * wrapped_key. */
function wrapValues(w: WrappedKey): unknown[] {
  return [w.wrapVersion, w.salt, w.memoryKiB, w.timeCost, w.parallelism, w.iv, w.ciphertext];
}

/** Replace the wrap of a key. `expectCiphertext` guards against a concurrent re-wrap (compare-and-swap). */
export async function updateWrap(
  db: Queryable,
  userId: number,
  keyId: string,
  wrapped: WrappedKey,
  clearMustChange: boolean,
  expectCiphertext?: Uint8Array,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE private_keys SET wrap_version = $3, kdf_salt = $4, kdf_memory_kib = $5, kdf_time_cost = $6,
        kdf_parallelism = $7, wrap_iv = $8, wrapped_key = $9,
        must_change_passphrase = CASE WHEN $10 THEN false ELSE must_change_passphrase END
      WHERE user_id = $1 AND id = $2 AND ($11::bytea IS NULL OR wrapped_key = $11::bytea)
      RETURNING id`,
    [userId, keyId, ...wrapValues(wrapped), clearMustChange, expectCiphertext ?? null],
  );
  return rows.length === 1;
}

/**
 * IT puts a recovered key back (issue 17): the same key under a new wrap that the user must take over, row and id
 * kept so that the key's recovery copies stay valid. Resolves false when the row is gone.
 */
export async function replaceWrap(db: Queryable, userId: number, keyId: string, wrapped: WrappedKey): Promise<boolean> {
  const rows = await db.query(
    `UPDATE private_keys SET wrap_version = $3, kdf_salt = $4, kdf_memory_kib = $5, kdf_time_cost = $6,
        kdf_parallelism = $7, wrap_iv = $8, wrapped_key = $9, must_change_passphrase = true, source = 'admin'
      WHERE user_id = $1 AND id = $2
      RETURNING id`,
    [userId, keyId, ...wrapValues(wrapped)],
  );
  return rows.length === 1;
}

export async function setDefaultKey(db: Queryable, userId: number, keyId: string): Promise<boolean> {
  const [exists] = await db.query('SELECT 1 FROM private_keys WHERE user_id = $1 AND id = $2', [userId, keyId]);
  if (!exists) return false;
  await db.query('UPDATE private_keys SET is_default = false WHERE user_id = $1 AND is_default', [userId]);
  await db.query('UPDATE private_keys SET is_default = true WHERE user_id = $1 AND id = $2', [userId, keyId]);
  return true;
}

export async function deleteKey(db: Queryable, userId: number, keyId: string): Promise<KeyRow | undefined> {
  const [row] = await db.query<KeyRow>(`DELETE FROM private_keys WHERE user_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [
    userId,
    keyId,
  ]);
  if (row?.is_default) {
    // Keep one default for signing: the newest key still valid, else the newest.
    await db.query(
      `UPDATE private_keys SET is_default = true WHERE id = (
         SELECT id FROM private_keys WHERE user_id = $1 ORDER BY (not_after > now()) DESC, not_after DESC LIMIT 1)`,
      [userId],
    );
  }
  return row;
}
