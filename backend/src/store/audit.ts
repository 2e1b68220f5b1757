/**
 * Append-only, hash-chained audit log. Each entry's hash is SHA-256 over the previous hash and a canonical encoding
 * of the entry, so editing or removing any entry breaks every hash after it. Appends are serialised by a
 * transaction-scoped advisory lock and belong to the same transaction as the action they record: no action without
 * its entry, no entry without its action. The table refuses UPDATE, DELETE and TRUNCATE (trigger, migration 001).
 * Removing the newest entries leaves a valid shorter chain; `verifyAudit` returns the head hash so an operator can
 * note it elsewhere and pass it back as `expectHead`.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './db.ts';

const AUDIT_LOCK_KEY = 727_002;
export const GENESIS_HASH = '0'.repeat(64);

export type AuditAction =
  | 'key.placed'
  | 'key.imported'
  | 'key.adopted'
  | 'key.deleted'
  | 'key.default_set'
  | 'key.rewrapped'
  | 'unlock.success'
  | 'unlock.failure'
  | 'unlock.throttled'
  | 'session.locked'
  | 'passphrase.changed'
  | 'passphrase.change_failed'
  | 'alias.added'
  | 'certificate.harvested'
  | 'certificate.deleted'
  | 'directory.synced'
  | 'directory.sync_failed';

export interface AuditEntry {
  seq: number;
  at: Date;
  actor: string;
  user_email: string | null;
  action: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** Deterministic JSON: object keys sorted at every level. */
function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at.toISOString(),
    actor: e.actor,
    user_email: e.user_email,
    action: e.action,
    details: e.details,
  });
  return createHash('sha256').update(e.prev_hash).update('\n').update(body).digest('hex');
}

export async function appendAudit(
  db: Queryable,
  e: { actor: string; userEmail: string | null; action: AuditAction; details?: Record<string, unknown> },
): Promise<AuditEntry> {
  await db.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
  const [last] = await db.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  // Millisecond precision: what timestamptz round-trips exactly through both drivers.
  const at = new Date(Math.floor(Date.now()));
  const entry: Omit<AuditEntry, 'hash'> = {
    seq: (last?.seq ?? 0) + 1,
    at,
    actor: e.actor,
    user_email: e.userEmail,
    action: e.action,
    details: e.details ?? {},
    prev_hash: last?.hash ?? GENESIS_HASH,
  };
  const hash = entryHash(entry);
  await db.query(
    `INSERT INTO audit_log (seq, at, actor, user_email, action, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [entry.seq, entry.at, entry.actor, entry.user_email, entry.action, JSON.stringify(entry.details), entry.prev_hash, hash],
  );
  return { ...entry, hash };
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  headHash: string;
  problems: { seq: number; problem: 'hash-mismatch' | 'chain-broken' | 'sequence-gap' | 'head-mismatch' }[];
}

/** Recompute the whole chain. Reads in pages so a long log does not sit in memory at once. */
export async function verifyAudit(db: Queryable, opts: { expectHead?: string; pageSize?: number } = {}) {
  const pageSize = opts.pageSize ?? 1000;
  const problems: AuditVerification['problems'] = [];
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const rows = await db.query<AuditEntry>(
      `SELECT seq, at, actor, user_email, action, details, prev_hash, hash FROM audit_log
        WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [expectedSeq, pageSize],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      count++;
      if (r.seq !== expectedSeq) problems.push({ seq: r.seq, problem: 'sequence-gap' });
      if (r.prev_hash !== prevHash) problems.push({ seq: r.seq, problem: 'chain-broken' });
      if (entryHash({ ...r, at: new Date(r.at) }) !== r.hash) problems.push({ seq: r.seq, problem: 'hash-mismatch' });
      prevHash = r.hash;
      expectedSeq = r.seq + 1;
    }
  }
  if (opts.expectHead && opts.expectHead !== prevHash) problems.push({ seq: expectedSeq - 1, problem: 'head-mismatch' });
  return { ok: problems.length === 0, entries: count, headHash: prevHash, problems } satisfies AuditVerification;
}

export async function listAudit(db: Queryable, opts: { userEmail?: string; limit?: number } = {}) {
  return db.query<AuditEntry>(
    `SELECT seq, at, actor, user_email, action, details, prev_hash, hash FROM audit_log
      WHERE ($1::text IS NULL OR user_email = $1) ORDER BY seq DESC LIMIT $2`,
    [opts.userEmail ?? null, opts.limit ?? 100],
  );
}
