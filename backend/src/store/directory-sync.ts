/**
 * What the directory sync (directory/sync.ts) writes, inside its one transaction: entries, their certificates, the
 * removals, the advisory lock that keeps it alone, and the one-row sync status. Readers of the copy use directory.ts.
 */
import { recordColumns, recordJson, recordJsonColumns, type CertificateRecord } from './certificate-record.ts';
import type { Queryable } from './db.ts';
import { CERT_FACT_COLUMNS, type DirectoryEntryRow, type StoredDirectoryCert } from './directory.ts';

/** Arbitrary constant naming the sync's advisory lock (the migration runner uses 727_001). */
export const DIRECTORY_SYNC_LOCK_KEY = 727_004;

/**
 * Rows per bulk statement. Each writes its rows as one JSON parameter read by json_to_recordset (issue 16): one
 * statement per page and kind instead of one per entry or 21 bind parameters per row, which node-postgres serialised
 * one by one. 1,000 certificates are about 1.5 MB of JSON; a larger page is split.
 */
const BULK_ROWS = 1000;

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += BULK_ROWS) yield rows.slice(i, i + BULK_ROWS);
}

const base64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Rows as the JSON parameter of json_to_recordset. A string with a lone UTF-16 surrogate (a certificate's BMPString
 * name can hold one) becomes U+FFFD, as node-postgres's UTF-8 encoding of a bind parameter made it: JSON.stringify
 * writes it as an escape that PostgreSQL's json type refuses, and one such certificate would fail the whole sync.
 */
function jsonRows(rows: object[]): string {
  const json = JSON.stringify(rows);
  // JSON.stringify escapes a lone surrogate, and only that, as \udXXX (a literal backslash before `ud` is a false
  // alarm that costs a second pass): the common case is one native pass.
  if (!json.includes('\\ud')) return json;
  return JSON.stringify(rows, (_key, v: unknown) =>
    typeof v === 'string' && SURROGATE.test(v) ? Buffer.from(v, 'utf8').toString('utf8') : v,
  );
}

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

/** The findings as json_to_recordset reads them (bytes as base64; `usable` is derived from `reason` in SQL). */
const FINDING_JSON_COLUMNS =
  'attribute text, addresses text[], reason text, san_emails text[], intermediates text[], issuer_fingerprint text';
/** The findings' columns and the expressions that read them from json_to_recordset's row `r`. */
const FINDING_COLUMNS = 'attribute, addresses, usable, reason, san_emails, intermediates, issuer_fingerprint';
const FINDING_VALUES = `r.attribute, r.addresses, r.reason IS NULL, r.reason, r.san_emails,
  ARRAY(SELECT decode(x, 'base64') FROM unnest(r.intermediates) WITH ORDINALITY AS i(x, n) ORDER BY n),
  r.issuer_fingerprint`;

function findingJson(f: CertificateFindings) {
  const { attribute, addresses, reason, sanEmails, intermediates, issuerFingerprint } = f;
  return {
    attribute,
    addresses,
    reason: reason ?? null,
    san_emails: sanEmails,
    intermediates: intermediates.map(base64),
    issuer_fingerprint: issuerFingerprint ?? null,
  };
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
  for (const chunk of chunks(entries)) {
    const rows = await db.query<{ id: number; entry_key: string }>(
      `INSERT INTO directory_entries (entry_key, dn, addresses, change_marker)
       SELECT r.entry_key, r.dn, r.addresses, r.change_marker
         FROM json_to_recordset($1::json) AS r(entry_key text, dn text, addresses text[], change_marker text)
       ON CONFLICT (entry_key) DO UPDATE SET dn = EXCLUDED.dn, addresses = EXCLUDED.addresses,
         change_marker = EXCLUDED.change_marker, synced_at = now()
       RETURNING id, entry_key`,
      [
        jsonRows(
          chunk.map((e) => ({
            entry_key: e.key,
            dn: e.dn,
            addresses: e.addresses,
            change_marker: e.changeMarker ?? null,
          })),
        ),
      ],
    );
    for (const r of rows) ids.set(r.entry_key, r.id);
  }
  return ids;
}

export async function insertCertificates(db: Queryable, certs: NewDirectoryCert[]): Promise<void> {
  for (const chunk of chunks(certs)) {
    const rows = chunk.map((c) => ({
      id: c.id,
      entry_id: c.entryId,
      certificate: base64(c.certificate),
      emails: c.emails,
      ...findingJson(c),
      ...recordJson(c),
    }));
    await db.query(
      `INSERT INTO directory_certificates (id, entry_id, certificate, emails, ${FINDING_COLUMNS}, ${recordColumns()})
       SELECT r.id, r.entry_id, decode(r.certificate, 'base64'), r.emails, ${FINDING_VALUES}, ${recordColumns('r')}
         FROM json_to_recordset($1::json)
           AS r(id uuid, entry_id bigint, certificate text, emails text[], ${FINDING_JSON_COLUMNS}, ${recordJsonColumns()})`,
      [jsonRows(rows)],
    );
  }
}

/** Certificates that are still there but whose addresses, source attribute, verdict or path changed. */
export async function updateCertificates(
  db: Queryable,
  updates: { id: string; findings: CertificateFindings }[],
): Promise<void> {
  for (const chunk of chunks(updates)) {
    await db.query(
      `UPDATE directory_certificates c SET attribute = r.attribute, addresses = r.addresses, usable = r.reason IS NULL,
         reason = r.reason, san_emails = r.san_emails,
         intermediates = ARRAY(SELECT decode(x, 'base64') FROM unnest(r.intermediates) WITH ORDINALITY AS i(x, n) ORDER BY n),
         issuer_fingerprint = r.issuer_fingerprint, updated_at = now()
        FROM json_to_recordset($1::json) AS r(id uuid, ${FINDING_JSON_COLUMNS})
       WHERE c.id = r.id`,
      [jsonRows(chunk.map((u) => ({ id: u.id, ...findingJson(u.findings) })))],
    );
  }
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
