/**
 * Directory entries and their certificates (issue 4): shared by all users, written only by the directory sync, read
 * by recipient resolution (recipient-certificates.ts) and the certificate list. What the sync writes, and its status
 * row, are in directory-sync.ts.
 */
import { recordColumns, type CertificateRecordRow } from './certificate-record.ts';
import type { Queryable } from './db.ts';

export interface DirectoryEntryRow {
  id: number;
  entry_key: string;
  dn: string;
  addresses: string[];
}

export interface DirectoryCertRow extends CertificateRecordRow {
  id: string;
  entry_id: number;
  attribute: string;
  certificate: Uint8Array;
  emails: string[];
  addresses: string[];
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

/** The columns of a stored certificate without its bytes (the sync compares fingerprints, not certificates). */
export const CERT_FACT_COLUMNS = `c.id, c.entry_id, c.attribute, ${recordColumns('c')}, c.emails, c.addresses,
  c.san_emails, c.issuer_fingerprint, c.usable, c.reason, c.first_seen_at, c.updated_at`;
/** Certificates with their entry: the start of every reader's query. */
const SELECT_WITH_ENTRY = `SELECT ${CERT_FACT_COLUMNS}, c.certificate, c.intermediates,
         e.dn, e.addresses AS entry_addresses
       FROM directory_entries e JOIN directory_certificates c ON c.entry_id = e.id`;

// ---- reading -------------------------------------------------------------------------------------------------------

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
    `${SELECT_WITH_ENTRY}
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
  const [row] = await db.query<DirectoryCertWithEntry>(`${SELECT_WITH_ENTRY} WHERE c.id = $1`, [id]);
  return row;
}

/** A stored certificate without its bytes (what the sync compares against). */
export type StoredDirectoryCert = Omit<DirectoryCertRow, 'certificate' | 'intermediates'>;

export async function countDirectory(
  db: Queryable,
): Promise<{ entries: number; certificates: number; usable: number }> {
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
export async function directoryConflicts(
  db: Queryable,
  limit: number,
): Promise<{ total: number; conflicts: AddressConflict[] }> {
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
