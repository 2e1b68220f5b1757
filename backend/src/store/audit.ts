/**
 * Append-only, hash-chained audit log. Each entry's hash is SHA-256 over the previous hash and a canonical encoding
 * of the entry, so editing or removing any entry breaks every hash after it. Appends are serialised by a
 * transaction-scoped advisory lock and belong to the same transaction as the action they record: no action without
 * its entry, no entry without its action. The table refuses UPDATE, DELETE and TRUNCATE (trigger, migration 001),
 * and the application's role smime_app has no right to do either (migration 007).
 *
 * The table's owner can still disable the trigger, rewrite rows and recompute every hash after them, or cut off the
 * newest entries: the chain alone is then valid again. What catches that is an anchor outside the database: signed
 * checkpoints (backend/src/audit/checkpoints.ts) name an entry and its hash, and `verifyAudit` checks each anchor it
 * is given against the chain it walks (issue 12).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import type { Queryable } from './db.ts';

const AUDIT_LOCK_KEY = 727_002;
export const GENESIS_HASH = '0'.repeat(64);

export type AuditAction =
  | 'key.placed'
  | 'key.replaced'
  | 'key.imported'
  | 'key.adopted'
  | 'key.deleted'
  | 'key.exported'
  | 'key.default_set'
  | 'key.rewrapped'
  | 'key.recovery_wrapped'
  | 'key.recovered'
  | 'unlock.success'
  | 'unlock.failure'
  | 'unlock.passphrase_change_required'
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
    [
      entry.seq,
      entry.at,
      entry.actor,
      entry.user_email,
      entry.action,
      JSON.stringify(entry.details),
      entry.prev_hash,
      hash,
    ],
  );
  return { ...entry, hash };
}

/**
 * A point of the chain recorded outside the database: the entry `seq` (0 = the empty chain) had hash `hash` and was
 * the `entries`-th entry. `at`, `source` and `line` only say where it came from, for the report.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
  entries: number;
  at?: string;
  source?: string;
  line?: number;
}

type AnchorRef = Pick<AuditAnchor, 'at' | 'source' | 'line'>;

export type AuditProblem =
  | { seq: number; problem: 'hash-mismatch' | 'chain-broken' | 'sequence-gap' | 'head-mismatch' }
  /**
   * The anchored entry now has another hash (or another position): at least one of the entries `from`..`seq` was
   * changed, removed or inserted since the anchor was taken, and the chain after it recomputed.
   */
  | ({ seq: number; problem: 'checkpoint-mismatch'; from: number } & AnchorRef)
  /** The anchored entry is gone: the chain was cut back (entries `from`..`seq` at least were removed). */
  | ({ seq: number; problem: 'checkpoint-missing'; from: number } & AnchorRef);

export interface AuditVerification {
  ok: boolean;
  /** Entries in the chain up to its head. */
  entries: number;
  headSeq: number;
  headHash: string;
  problems: AuditProblem[];
}

/**
 * Recompute the chain. Reads in pages so a long log does not sit in memory at once. Every anchor is compared with
 * the entry it names as the walk passes it. With `from` (an anchor already known to be good) the walk starts at that
 * entry instead of the first one: checkpointing verifies only what was appended since the last checkpoint.
 */
export async function verifyAudit(
  db: Queryable,
  opts: { expectHead?: string; pageSize?: number; anchors?: readonly AuditAnchor[]; from?: AuditAnchor } = {},
): Promise<AuditVerification> {
  const pageSize = opts.pageSize ?? 1000;
  const problems: AuditProblem[] = [];
  const anchors = new Map<number, AuditAnchor[]>();
  for (const a of [...(opts.from ? [opts.from] : []), ...(opts.anchors ?? [])])
    anchors.set(a.seq, [...(anchors.get(a.seq) ?? []), a]);
  const seen = new Set<AuditAnchor>();
  // The last anchored entry found intact: a mismatch further on names the entries after it.
  let lastGood = 0;
  const checkAnchors = (seq: number, hash: string, entries: number) => {
    for (const a of anchors.get(seq) ?? []) {
      seen.add(a);
      if (a.hash === hash && a.entries === entries) lastGood = Math.max(lastGood, seq);
      else problems.push({ seq, problem: 'checkpoint-mismatch', from: lastGood + 1, ...ref(a) });
    }
  };
  const start = opts.from && opts.from.seq > 0 ? opts.from.seq : 1;
  // Starting mid-chain, the first entry's own prev_hash is taken as given: the anchor check vouches for it.
  let prevHash: string | undefined = start === 1 ? GENESIS_HASH : undefined;
  let expectedSeq = start;
  let count = start - 1;
  checkAnchors(0, GENESIS_HASH, 0);
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
      if (prevHash !== undefined && r.prev_hash !== prevHash) problems.push({ seq: r.seq, problem: 'chain-broken' });
      if (entryHash({ ...r, at: new Date(r.at) }) !== r.hash) problems.push({ seq: r.seq, problem: 'hash-mismatch' });
      checkAnchors(r.seq, r.hash, count);
      prevHash = r.hash;
      expectedSeq = r.seq + 1;
    }
  }
  const headSeq = expectedSeq - 1;
  const headHash = prevHash ?? GENESIS_HASH;
  for (const list of anchors.values())
    for (const a of list)
      if (!seen.has(a))
        problems.push({ seq: a.seq, problem: 'checkpoint-missing', from: Math.min(a.seq, headSeq + 1), ...ref(a) });
  if (opts.expectHead && opts.expectHead !== headHash) problems.push({ seq: headSeq, problem: 'head-mismatch' });
  problems.sort((a, b) => a.seq - b.seq);
  return { ok: problems.length === 0, entries: count, headSeq, headHash, problems };
}

function ref(a: AuditAnchor): AnchorRef {
  return Object.fromEntries(
    Object.entries({ at: a.at, source: a.source, line: a.line }).filter(([, v]) => v !== undefined),
  );
}

export async function listAudit(db: Queryable, opts: { userEmail?: string; limit?: number } = {}) {
  return db.query<AuditEntry>(
    `SELECT seq, at, actor, user_email, action, details, prev_hash, hash FROM audit_log
      WHERE ($1::text IS NULL OR user_email = $1) ORDER BY seq DESC LIMIT $2`,
    [opts.userEmail ?? null, opts.limit ?? 100],
  );
}
