/**
 * Directory entries and their certificates (issue 4): shared by all users, written only by the directory sync, read
 * by recipient resolution and the certificate list. Plus the one-row sync status.
 */
import type { Queryable } from './db.ts';

export interface DirectoryEntryRow {
  id: number;
  entry_key: string;
  dn: string;
  addresses: string[];
}

export interface DirectoryCertRow {
  id: string;
  entry_id: number;
  attribute: string;
  certificate: Uint8Array;
  fingerprint_sha256: string;
  subject: string;
  issuer: string;
  serial_number: string;
  not_before: Date;
  not_after: Date;
  emails: string[];
  addresses: string[];
  key_usage: string[];
  extended_key_usage: string[];
  key_algorithm: string;
  key_size: number;
  /** subjectAltName rfc822Name addresses (migration 006); null for a row synced before it. */
  san_emails: string[] | null;
  /** The certificates between this one and its trust anchor, as the sync found them (migration 006). */
  intermediates: Uint8Array[];
  /** SHA-256 of the certificate whose signature on this one the sync verified; null without a trusted path. */
  issuer_fingerprint: string | null;
  usable: boolean;
  reason: string | null;
  first_seen_at: Date;
  updated_at: Date;
}

/** A certificate with the entry it belongs to. */
export interface DirectoryCertWithEntry extends DirectoryCertRow {
  dn: string;
  entry_addresses: string[];
}

export interface NewDirectoryCert {
  id: string;
  entryId: number;
  attribute: string;
  certificate: Uint8Array;
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  emails: string[];
  addresses: string[];
  keyUsage: string[];
  extendedKeyUsage: string[];
  keyAlgorithm: string;
  keySize: number;
  sanEmails: string[];
  intermediates: Uint8Array[];
  issuerFingerprint: string | undefined;
  reason: string | undefined;
}

const CERT_COLUMNS = `c.id, c.entry_id, c.attribute, c.certificate, c.fingerprint_sha256, c.subject, c.issuer, c.serial_number,
  c.not_before, c.not_after, c.emails, c.addresses, c.key_usage, c.extended_key_usage, c.key_algorithm, c.key_size,
  c.san_emails, c.intermediates, c.issuer_fingerprint, c.usable, c.reason, c.first_seen_at, c.updated_at`;

/** Rows per multi-row INSERT: 21 parameters each stays far below PostgreSQL's 65,535 bind parameters. */
const INSERT_CHUNK = 200;

// ---- reading -------------------------------------------------------------------------------------------------------

/** Every certificate of every entry that has one of these addresses (recipient resolution). */
export async function directoryCertificatesForEmails(db: Queryable, emails: string[]): Promise<DirectoryCertWithEntry[]> {
  if (emails.length === 0) return [];
  return db.query<DirectoryCertWithEntry>(
    `SELECT ${CERT_COLUMNS}, e.dn, e.addresses AS entry_addresses
       FROM directory_entries e JOIN directory_certificates c ON c.entry_id = e.id
      WHERE e.addresses && $1::text[]`,
    [emails],
  );
}

/** The certificate list: filtered like the exchanged one, at most `limit` rows (the directory may be large). */
export async function listDirectoryCertificates(
  db: Queryable,
  filter: { email?: string; q?: string; limit: number },
): Promise<{ rows: DirectoryCertWithEntry[]; total: number }> {
  const params = [filter.email?.toLowerCase() ?? null, filter.q?.toLowerCase() ?? null];
  const where = `($1::text IS NULL OR $1 = ANY(e.addresses))
      AND ($2::text IS NULL OR lower(c.subject) LIKE '%' || $2 || '%'
           OR EXISTS (SELECT 1 FROM unnest(e.addresses) a WHERE a LIKE '%' || $2 || '%'))`;
  const rows = await db.query<DirectoryCertWithEntry>(
    `SELECT ${CERT_COLUMNS}, e.dn, e.addresses AS entry_addresses
       FROM directory_entries e JOIN directory_certificates c ON c.entry_id = e.id
      WHERE ${where}
      ORDER BY e.addresses[1], c.not_before DESC
      LIMIT ${Math.max(0, Math.floor(filter.limit))}`,
    params,
  );
  const [count] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM directory_entries e JOIN directory_certificates c ON c.entry_id = e.id WHERE ${where}`,
    params,
  );
  return { rows, total: count?.n ?? 0 };
}

export async function getDirectoryCertificate(db: Queryable, id: string): Promise<DirectoryCertWithEntry | undefined> {
  const [row] = await db.query<DirectoryCertWithEntry>(
    `SELECT ${CERT_COLUMNS}, e.dn, e.addresses AS entry_addresses
       FROM directory_certificates c JOIN directory_entries e ON e.id = c.entry_id WHERE c.id = $1`,
    [id],
  );
  return row;
}

export async function countDirectory(db: Queryable): Promise<{ entries: number; certificates: number; usable: number }> {
  const [row] = await db.query<{ entries: number; certificates: number; usable: number }>(
    `SELECT (SELECT count(*)::int FROM directory_entries) AS entries,
            (SELECT count(*)::int FROM directory_certificates) AS certificates,
            (SELECT count(*)::int FROM directory_certificates WHERE usable) AS usable`,
  );
  return row ?? { entries: 0, certificates: 0, usable: 0 };
}

export interface AddressConflict {
  address: string;
  /** The DNs of the entries that claim it, sorted. */
  entries: string[];
}

/**
 * Addresses that more than one entry claims (as mail or as a proxy address), the first `limit` by address, and how
 * many there are in all. Such an address resolves to nothing (issue 12): the directory does not say whose it is.
 */
export async function directoryConflicts(db: Queryable, limit: number): Promise<{ total: number; conflicts: AddressConflict[] }> {
  // count(*) OVER () is taken before the LIMIT: the whole number of conflicts beside the first few.
  const rows = await db.query<{ address: string; entries: string[]; total: number }>(
    `SELECT address, entries, count(*) OVER ()::int AS total FROM (
       SELECT a AS address, array_agg(e.dn ORDER BY e.dn) AS entries
         FROM directory_entries e, unnest(e.addresses) a
        GROUP BY a HAVING count(DISTINCT e.id) > 1) claimed
      ORDER BY address LIMIT $1`,
    [Math.max(1, Math.floor(limit))],
  );
  return { total: rows[0]?.total ?? 0, conflicts: rows.map((r) => ({ address: r.address, entries: r.entries })) };
}

// ---- writing (the sync, inside its transaction) --------------------------------------------------------------------

export async function entriesByKeys(db: Queryable, keys: string[]): Promise<(DirectoryEntryRow & { change_marker: string | null })[]> {
  if (keys.length === 0) return [];
  return db.query<DirectoryEntryRow & { change_marker: string | null }>(
    'SELECT id, entry_key, dn, addresses, change_marker FROM directory_entries WHERE entry_key = ANY($1::text[])',
    [keys],
  );
}

export type StoredDirectoryCert = Omit<DirectoryCertRow, 'certificate' | 'intermediates'>;

/** The stored facts of these entries' certificates, without any certificate bytes (the sync compares fingerprints). */
export async function certificatesOfEntries(db: Queryable, entryIds: number[]): Promise<StoredDirectoryCert[]> {
  if (entryIds.length === 0) return [];
  return db.query<StoredDirectoryCert>(
    `SELECT ${CERT_COLUMNS.replace('c.certificate, ', '').replace('c.intermediates, ', '')}
       FROM directory_certificates c WHERE c.entry_id = ANY($1::bigint[])`,
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

export async function insertCertificates(db: Queryable, certs: NewDirectoryCert[]): Promise<void> {
  for (let i = 0; i < certs.length; i += INSERT_CHUNK) {
    const chunk = certs.slice(i, i + INSERT_CHUNK);
    const params: unknown[] = [];
    const values = chunk.map((c) => {
      const start = params.length;
      params.push(
        c.id,
        c.entryId,
        c.attribute,
        c.certificate,
        c.fingerprintSha256,
        c.subject,
        c.issuer,
        c.serialNumber,
        c.notBefore,
        c.notAfter,
        c.emails,
        c.addresses,
        c.keyUsage,
        c.extendedKeyUsage,
        c.keyAlgorithm,
        c.keySize,
        c.reason === undefined,
        c.reason ?? null,
        c.sanEmails,
        c.intermediates,
        c.issuerFingerprint ?? null,
      );
      const p = (k: number, cast = '') => `$${start + k}${cast}`;
      return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11, '::text[]')},
        ${p(12, '::text[]')}, ${p(13, '::text[]')}, ${p(14, '::text[]')}, ${p(15)}, ${p(16)}, ${p(17)}, ${p(18)},
        ${p(19, '::text[]')}, ${p(20, '::bytea[]')}, ${p(21)})`;
    });
    await db.query(
      `INSERT INTO directory_certificates (id, entry_id, attribute, certificate, fingerprint_sha256, subject, issuer,
         serial_number, not_before, not_after, emails, addresses, key_usage, extended_key_usage, key_algorithm, key_size,
         usable, reason, san_emails, intermediates, issuer_fingerprint)
       VALUES ${values.join(', ')}`,
      params,
    );
  }
}

/** A certificate that is still there but whose addresses, source attribute, verdict or path changed. */
export async function updateCertificate(
  db: Queryable,
  id: string,
  c: {
    attribute: string;
    addresses: string[];
    reason: string | undefined;
    sanEmails: string[];
    intermediates: Uint8Array[];
    issuerFingerprint: string | undefined;
  },
): Promise<void> {
  await db.query(
    `UPDATE directory_certificates SET attribute = $2, addresses = $3::text[], usable = $4, reason = $5,
       san_emails = $6::text[], intermediates = $7::bytea[], issuer_fingerprint = $8, updated_at = now()
      WHERE id = $1`,
    [id, c.attribute, c.addresses, c.reason === undefined, c.reason ?? null, c.sanEmails, c.intermediates, c.issuerFingerprint ?? null],
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
    [s.startedAt, s.mode, full, JSON.stringify(s.summary), s.watermarkKind ?? null, s.watermark ?? null, s.serverId ?? null, s.entriesSeen],
  );
}

/** A failed sync: only the error is recorded; the copy and the watermark stay as the last success left them. */
export async function recordSyncFailure(
  db: Queryable,
  f: { mode: string; startedAt: Date; code: string; message: string },
): Promise<void> {
  await db.query(
    `INSERT INTO directory_sync_status (id, last_attempt_at, last_attempt_mode, last_error_at, last_error_code, last_error_message)
     VALUES (1, $1, $2, now(), $3, $4)
     ON CONFLICT (id) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,
       last_attempt_mode = EXCLUDED.last_attempt_mode, last_error_at = now(),
       last_error_code = EXCLUDED.last_error_code, last_error_message = EXCLUDED.last_error_message`,
    [f.startedAt, f.mode, f.code, f.message],
  );
}
