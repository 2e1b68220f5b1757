/**
 * What the directory sync (directory/sync.ts) writes, inside its one transaction: entries, their certificates, the
 * removals, the advisory lock that keeps it alone, and the one-row sync status. Readers of the copy use directory.ts.
 */
import { recordColumns, recordPlaceholders, recordValues, type CertificateRecord } from './certificate-record.ts';
import type { Queryable } from './db.ts';
import { CERT_FACT_COLUMNS, type DirectoryEntryRow, type StoredDirectoryCert } from './directory.ts';

/** Arbitrary constant naming the sync's advisory lock (the migration runner uses 727_001). */
export const DIRECTORY_SYNC_LOCK_KEY = 727_004;

/** Rows per multi-row INSERT: 21 parameters each stays far below PostgreSQL's 65,535 bind parameters. */
const INSERT_CHUNK = 200;

/** What the sync found about a certificate of an entry: stored when it is new, rewritten when it changed. */
export interface CertificateFindings {
  attribute: string;
  addresses: string[];
  /** Why it cannot be used; undefined when usable. */
  reason: string | undefined;
  sanEmails: string[];
  intermediates: Uint8Array[];
  issuerFingerprint: string | undefined;
}

export interface NewDirectoryCert extends CertificateRecord, CertificateFindings {
  id: string;
  entryId: number;
  certificate: Uint8Array;
  emails: string[];
}

/** The findings' columns in the order of findingValues, and their casts (arrays cast for multi-row VALUES). */
const FINDING_COLUMNS = 'attribute, addresses, usable, reason, san_emails, intermediates, issuer_fingerprint';
const FINDING_CASTS = ['', '::text[]', '', '', '::text[]', '::bytea[]', ''];

function findingValues(f: CertificateFindings): unknown[] {
  const { attribute, addresses, reason, sanEmails, intermediates, issuerFingerprint } = f;
  return [
    attribute,
    addresses,
    reason === undefined,
    reason ?? null,
    sanEmails,
    intermediates,
    issuerFingerprint ?? null,
  ];
}

// ---- the lock ------------------------------------------------------------------------------------------------------

/** Take the sync's transaction-scoped advisory lock without waiting: false when another sync holds it. */
export async function tryLockSync(tx: Queryable): Promise<boolean> {
  const [lock] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [
    DIRECTORY_SYNC_LOCK_KEY,
  ]);
  return lock?.ok === true;
}

/** Whether a sync holds the lock now, on any instance; undefined when pg_locks cannot be read. */
export async function syncLockHeld(db: Queryable): Promise<boolean | undefined> {
  try {
    const [row] = await db.query<{ n: number }>(
      // Advisory locks belong to one database; pg_locks shows the whole cluster's.
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [DIRECTORY_SYNC_LOCK_KEY],
    );
    return (row?.n ?? 0) > 0;
  } catch {
    return undefined;
  }
}

// ---- writing (the sync, inside its transaction) --------------------------------------------------------------------

export async function countEntries(db: Queryable): Promise<number> {
  const [had] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM directory_entries');
  return had?.n ?? 0;
}

export async function entriesByKeys(
  db: Queryable,
  keys: string[],
): Promise<(DirectoryEntryRow & { change_marker: string | null })[]> {
  if (keys.length === 0) return [];
  return db.query<DirectoryEntryRow & { change_marker: string | null }>(
    'SELECT id, entry_key, dn, addresses, change_marker FROM directory_entries WHERE entry_key = ANY($1::text[])',
    [keys],
  );
}

/** The stored facts of these entries' certificates, without any certificate bytes (the sync compares fingerprints). */
export async function certificatesOfEntries(db: Queryable, entryIds: number[]): Promise<StoredDirectoryCert[]> {
  if (entryIds.length === 0) return [];
  return db.query<StoredDirectoryCert>(
    `SELECT ${CERT_FACT_COLUMNS} FROM directory_certificates c WHERE c.entry_id = ANY($1::bigint[])`,
    [entryIds],
  );
}

/** Insert or refresh entries; returns each key's row id. */
export async function upsertEntries(
  db: Queryable,
  entries: { key: string; dn: string; addresses: string[]; changeMarker: string | undefined }[],
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (let i = 0; i < entries.length; i += INSERT_CHUNK) {
    const chunk = entries.slice(i, i + INSERT_CHUNK);
    const params: unknown[] = [];
    const values = chunk.map((e) => {
      params.push(e.key, e.dn, e.addresses, e.changeMarker ?? null);
      const n = params.length;
      return `($${n - 3}, $${n - 2}, $${n - 1}::text[], $${n})`;
    });
    const rows = await db.query<{ id: number; entry_key: string }>(
      `INSERT INTO directory_entries (entry_key, dn, addresses, change_marker) VALUES ${values.join(', ')}
       ON CONFLICT (entry_key) DO UPDATE SET dn = EXCLUDED.dn, addresses = EXCLUDED.addresses,
         change_marker = EXCLUDED.change_marker, synced_at = now()
       RETURNING id, entry_key`,
      params,
    );
    for (const r of rows) ids.set(r.entry_key, r.id);
  }
  return ids;
}

/** A new certificate's own columns before its findings and its record. */
const NEW_COLUMNS = 'id, entry_id, certificate, emails';
const NEW_CASTS = ['', '', '', '::text[]'];

function placeholders(casts: string[], first: number): string {
  return casts.map((cast, k) => `$${first + k}${cast}`).join(', ');
}

export async function insertCertificates(db: Queryable, certs: NewDirectoryCert[]): Promise<void> {
  for (let i = 0; i < certs.length; i += INSERT_CHUNK) {
    const params: unknown[] = [];
    const values = certs.slice(i, i + INSERT_CHUNK).map((c) => {
      const start = params.length + 1;
      params.push(c.id, c.entryId, c.certificate, c.emails, ...findingValues(c), ...recordValues(c));
      const findingsAt = start + NEW_CASTS.length;
      const findings = placeholders(FINDING_CASTS, findingsAt);
      const record = recordPlaceholders(findingsAt + FINDING_CASTS.length);
      return `(${placeholders(NEW_CASTS, start)}, ${findings}, ${record})`;
    });
    await db.query(
      `INSERT INTO directory_certificates (${NEW_COLUMNS}, ${FINDING_COLUMNS}, ${recordColumns()})
       VALUES ${values.join(',\n  ')}`,
      params,
    );
  }
}

/** A certificate that is still there but whose addresses, source attribute, verdict or path changed. */
export async function updateCertificate(db: Queryable, id: string, f: CertificateFindings): Promise<void> {
  await db.query(
    `UPDATE directory_certificates SET attribute = $2, addresses = $3::text[], usable = $4, reason = $5,
       san_emails = $6::text[], intermediates = $7::bytea[], issuer_fingerprint = $8, updated_at = now()
      WHERE id = $1`,
    [id, ...findingValues(f)],
  );
}

export async function deleteCertificates(db: Queryable, ids: string[]): Promise<void> {
  if (ids.length > 0) await db.query('DELETE FROM directory_certificates WHERE id = ANY($1::uuid[])', [ids]);
}

export interface Removal {
  entries: number;
  certificates: number;
}

/** Delete these entries (and, by cascade, their certificates). */
export async function deleteEntriesByKeys(db: Queryable, keys: string[]): Promise<Removal> {
  if (keys.length === 0) return { entries: 0, certificates: 0 };
  return removal(db, 'entry_key = ANY($1::text[])', [keys]);
}

/** A full sync: delete every entry it did not see. */
export async function deleteEntriesExcept(db: Queryable, keys: string[]): Promise<Removal> {
  return removal(db, 'NOT (entry_key = ANY($1::text[]))', [keys]);
}

async function removal(db: Queryable, where: string, params: unknown[]): Promise<Removal> {
  // The CTE's DELETE is not visible to the count beside it (one snapshot), so the certificates are still counted.
  const [row] = await db.query<Removal>(
    `WITH gone AS (DELETE FROM directory_entries WHERE ${where} RETURNING id)
     SELECT (SELECT count(*)::int FROM gone) AS entries,
            (SELECT count(*)::int FROM directory_certificates WHERE entry_id IN (SELECT id FROM gone)) AS certificates`,
    params,
  );
  return row ?? { entries: 0, certificates: 0 };
}

// ---- status --------------------------------------------------------------------------------------------------------

export interface SyncStatusRow {
  last_attempt_at: Date | null;
  last_attempt_mode: string | null;
  last_success_at: Date | null;
  last_full_success_at: Date | null;
  last_summary: Record<string, unknown> | null;
  last_error_at: Date | null;
  last_error_code: string | null;
  last_error_message: string | null;
  watermark_kind: 'usn' | 'timestamp' | null;
  watermark: string | null;
  server_id: string | null;
  full_entry_count: number | null;
}

export async function readSyncStatus(db: Queryable): Promise<SyncStatusRow | undefined> {
  const [row] = await db.query<SyncStatusRow>(
    `SELECT last_attempt_at, last_attempt_mode, last_success_at, last_full_success_at, last_summary, last_error_at,
            last_error_code, last_error_message, watermark_kind, watermark, server_id, full_entry_count
       FROM directory_sync_status WHERE id = 1`,
  );
  return row;
}

export async function recordSyncSuccess(
  db: Queryable,
  s: {
    mode: 'full' | 'incremental';
    startedAt: Date;
    summary: object;
    watermarkKind: 'usn' | 'timestamp' | undefined;
    watermark: string | undefined;
    serverId: string | undefined;
    entriesSeen: number;
  },
): Promise<void> {
  const full = s.mode === 'full';
  await db.query(
    `INSERT INTO directory_sync_status (id, last_attempt_at, last_attempt_mode, last_success_at, last_full_success_at,
       last_summary, watermark_kind, watermark, server_id, full_entry_count)
     VALUES (1, $1, $2, now(), CASE WHEN $3 THEN now() END, $4::jsonb, $5, $6, $7, CASE WHEN $3 THEN $8::int END)
     ON CONFLICT (id) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,
       last_attempt_mode = EXCLUDED.last_attempt_mode, last_success_at = now(),
       last_full_success_at = CASE WHEN $3 THEN now() ELSE directory_sync_status.last_full_success_at END,
       last_summary = EXCLUDED.last_summary, watermark_kind = EXCLUDED.watermark_kind, watermark = EXCLUDED.watermark,
       server_id = EXCLUDED.server_id,
       full_entry_count = CASE WHEN $3 THEN $8::int ELSE directory_sync_status.full_entry_count END`,
    [
      s.startedAt,
      s.mode,
      full,
      JSON.stringify(s.summary),
      s.watermarkKind ?? null,
      s.watermark ?? null,
      s.serverId ?? null,
      s.entriesSeen,
    ],
  );
}

/** A failed sync: only the error is recorded; the copy and the watermark stay as the last success left them. */
export async function recordSyncFailure(
  db: Queryable,
  f: { mode: string; startedAt: Date; code: string; message: string },
): Promise<void> {
  await db.query(
    `INSERT INTO directory_sync_status (id, last_attempt_at, last_attempt_mode, last_error_at, last_error_code,
       last_error_message)
     VALUES (1, $1, $2, now(), $3, $4)
     ON CONFLICT (id) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,
       last_attempt_mode = EXCLUDED.last_attempt_mode, last_error_at = now(),
       last_error_code = EXCLUDED.last_error_code, last_error_message = EXCLUDED.last_error_message`,
    [f.startedAt, f.mode, f.code, f.message],
  );
}
