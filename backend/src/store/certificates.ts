/** Correspondents' certificates exchanged through signed mail (per reading user). */
import type { CertificateRecord, CertificateRecordRow } from './certificate-record.ts';
import { recordColumns, recordPlaceholders, recordValues } from './certificate-record.ts';
import type { Queryable } from './db.ts';

export interface ExchangedCertRow extends CertificateRecordRow {
  id: string;
  user_id: number;
  email: string;
  certificate: Uint8Array;
  chain: Uint8Array[];
  capabilities: string[];
  capabilities_signed_at: Date | null;
  source: 'harvested' | 'imported';
  first_seen_at: Date;
  last_seen_at: Date;
}

export interface NewExchangedCert extends CertificateRecord {
  id: string;
  userId: number;
  email: string;
  certificate: Uint8Array;
  chain: Uint8Array[];
  capabilities: string[];
  /** The signing time of the message that announced `capabilities` (undefined: none given, or imported). */
  capabilitiesSignedAt?: Date | undefined;
  source: 'harvested' | 'imported';
}

const COLUMNS = `id, user_id, email, certificate, chain, ${recordColumns()}, capabilities, capabilities_signed_at,
  source, first_seen_at, last_seen_at`;

/**
 * SET clause taking the capabilities $caps announced by a message signed at $at (NULL: no signing time) only when
 * they are not older than the ones stored: the newest message by signing time decides (issue 14), not the one read
 * last. A message without a signing time replaces only capabilities of unknown age.
 */
function newerCapabilities(caps: string, at: string): string {
  const newer = `cardinality(${caps}::text[]) > 0 AND (capabilities_signed_at IS NULL OR ${at}::timestamptz >= capabilities_signed_at)`;
  return `capabilities = CASE WHEN ${newer} THEN ${caps}::text[] ELSE capabilities END,
    capabilities_signed_at = CASE WHEN ${newer} THEN ${at}::timestamptz ELSE capabilities_signed_at END`;
}

export async function listExchanged(
  db: Queryable,
  userId: number,
  filter: { email?: string; q?: string } = {},
): Promise<ExchangedCertRow[]> {
  return db.query<ExchangedCertRow>(
    `SELECT ${COLUMNS} FROM exchanged_certificates
      WHERE user_id = $1 AND ($2::text IS NULL OR email = $2)
        AND ($3::text IS NULL OR email LIKE '%' || $3 || '%' OR lower(subject) LIKE '%' || $3 || '%')
      ORDER BY email`,
    [userId, filter.email?.toLowerCase() ?? null, filter.q?.toLowerCase() ?? null],
  );
}

export async function getExchanged(db: Queryable, userId: number, id: string): Promise<ExchangedCertRow | undefined> {
  const [row] = await db.query<ExchangedCertRow>(
    `SELECT ${COLUMNS} FROM exchanged_certificates WHERE user_id = $1 AND id = $2`,
    [userId, id],
  );
  return row;
}

/**
 * Refresh last_seen_at (and the capabilities, when the signature announced some) of this exact certificate for
 * (user, email); false when it is not the stored one (then upsertExchanged decides, in a transaction).
 */
export async function touchExchanged(
  db: Queryable,
  userId: number,
  email: string,
  fingerprintSha256: string,
  capabilities: string[],
  capabilitiesSignedAt?: Date,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE exchanged_certificates SET last_seen_at = now(), ${newerCapabilities('$4', '$5')}
      WHERE user_id = $1 AND email = $2 AND fingerprint_sha256 = $3 RETURNING id`,
    [userId, email, fingerprintSha256, capabilities, capabilitiesSignedAt ?? null],
  );
  return rows.length > 0;
}

/**
 * Store a harvested certificate for (user, email) unless a certificate at least as new is already there: the
 * newer one (later notBefore, then later notAfter) wins; the same certificate only refreshes last_seen_at.
 * Returns what happened.
 */
export async function upsertExchanged(
  db: Queryable,
  c: NewExchangedCert,
  retried = false,
): Promise<'added' | 'replaced' | 'seen' | 'kept'> {
  const [current] = await db.query<ExchangedCertRow>(
    `SELECT ${COLUMNS} FROM exchanged_certificates WHERE user_id = $1 AND email = $2 FOR UPDATE`,
    [c.userId, c.email],
  );
  if (current && current.fingerprint_sha256 === c.fingerprintSha256) {
    await db.query(
      `UPDATE exchanged_certificates SET last_seen_at = now(), ${newerCapabilities('$2', '$3')} WHERE id = $1`,
      [current.id, c.capabilities, c.capabilitiesSignedAt ?? null],
    );
    return 'seen';
  }
  const newer =
    !current ||
    c.notBefore > current.not_before ||
    (c.notBefore.getTime() === current.not_before.getTime() && c.notAfter > current.not_after);
  if (!newer) return 'kept';
  if (current) await db.query('DELETE FROM exchanged_certificates WHERE id = $1', [current.id]);
  // Two messages from a new correspondent read at once both find no row (FOR UPDATE locks nothing): the first
  // insert wins, the second does nothing and decides again against the committed row (found by the load test).
  const inserted = await db.query(
    `INSERT INTO exchanged_certificates (id, user_id, email, certificate, chain, capabilities, source,
       capabilities_signed_at, ${recordColumns()})
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8, ${recordPlaceholders(9)})
     ON CONFLICT (user_id, email) DO NOTHING RETURNING id`,
    [
      c.id,
      c.userId,
      c.email,
      c.certificate,
      c.chain,
      c.capabilities,
      c.source,
      c.capabilitiesSignedAt ?? null,
      ...recordValues(c),
    ],
  );
  if (inserted.length === 0) {
    if (retried) throw new Error('exchanged certificate: concurrent insert did not settle');
    return upsertExchanged(db, c, true);
  }
  return current ? 'replaced' : 'added';
}

export async function deleteExchanged(db: Queryable, userId: number, id: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM exchanged_certificates WHERE user_id = $1 AND id = $2 RETURNING id', [
    userId,
    id,
  ]);
  return rows.length > 0;
}
