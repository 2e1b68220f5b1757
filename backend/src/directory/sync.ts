/**
 * Directory sync (issue 4): copy the certificates of the directory's entries into directory_entries and
 * directory_certificates, shared by all users.
 *
 * - One sync at a time across every instance: a transaction-scoped advisory lock taken with try-lock, so a second
 *   caller is told DIRECTORY_SYNC_RUNNING at once instead of queueing (plus an in-process guard, since the embedded
 *   database has a single session in which advisory locks are re-entrant).
 * - All or nothing: the whole sync, LDAP reading included, runs in that one transaction. A directory that fails
 *   halfway (unreachable, wrong password, bad base DN, a size limit) rolls everything back; readers keep seeing the
 *   last good copy meanwhile (MVCC), and the error goes to the status row.
 * - Full sync: a paged search of the filter; entries not seen are removed (the only way plain LDAP shows deletions).
 * - Incremental sync: only entries changed since the watermark. Active Directory: uSNChanged above the
 *   highestCommittedUSN read from the rootDSE before the previous sync (Microsoft's documented "polling for changes
 *   using uSNChanged"), valid for the same domain controller only (dsServiceName). Elsewhere: modifyTimestamp at or
 *   after the previous sync's newest modifyTimestamp less that sync's duration and two seconds, which catches
 *   changes made while it ran whatever the two clocks say; entries at the edge are read again and change nothing.
 *   Changed entries that no longer match the filter are removed. Deleted entries are invisible to an incremental
 *   search (AD's tombstones need the Show Deleted control and rights; OpenLDAP needs accesslog): they go at the next
 *   full sync, which the schedule runs every SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S.
 * - Trust (issue 12): every certificate read is judged (evaluate.ts: subjectAltName, validity, key usage, the path to
 *   the directory's trust anchors, once per issuer through one ChainCache per run) and stored with its verdict; use
 *   decides again (trust.ts). Addresses that more than one entry claims are found over the whole copy after each run
 *   and reported, with the rejected certificates, in the summary (each list at most SMIME_DIRECTORY_REPORT_LIMIT).
 * - Audit: every run appends one audit entry, 'directory.synced' inside the sync's transaction or
 *   'directory.sync_failed' after its rollback, naming who started it (SyncOptions.actor).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type CertificateInfo, ChainCache } from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import type { Database, Queryable } from '../store/db.ts';
import {
  certificatesOfEntries,
  deleteCertificates,
  deleteEntriesByKeys,
  deleteEntriesExcept,
  directoryConflicts,
  entriesByKeys,
  insertCertificates,
  readSyncStatus,
  recordSyncFailure,
  recordSyncSuccess,
  updateCertificate,
  upsertEntries,
  type AddressConflict,
  type NewDirectoryCert,
  type StoredDirectoryCert,
  type SyncStatusRow,
} from '../store/directory.ts';
import { entryKey, mapEntry, type RawEntry } from './attributes.ts';
import { evaluateCertificates, type EvaluatedCertificate, type TrustContext } from './evaluate.ts';
import { DirectoryConnection } from './ldap.ts';
import type { DirectoryOptions } from './options.ts';

/** Arbitrary constant naming the sync's advisory lock (the migration runner uses 727_001). */
export const DIRECTORY_SYNC_LOCK_KEY = 727_004;
/** Second granularity of modifyTimestamp plus rounding: how far before the computed bound an incremental reads. */
const TIMESTAMP_SLACK_S = 2;

export type SyncMode = 'full' | 'incremental' | 'auto';

export interface SyncProgress {
  phase: 'reading' | 'removing' | 'done';
  entriesSeen: number;
  /** Entries the last full sync saw: an estimate for a progress bar (LDAP gives no count up front). */
  expected: number | undefined;
}

export interface SyncSummary {
  mode: 'full' | 'incremental';
  /** Why a full sync ran when an incremental one was asked for, if so. */
  fullBecause: string | undefined;
  watermarkKind: 'usn' | 'timestamp' | undefined;
  entriesSeen: number;
  entriesRemoved: number;
  certificatesAdded: number;
  /** Replaced by another certificate in the same entry (renewal), or the same certificate with new addresses/verdict. */
  certificatesUpdated: number;
  certificatesRemoved: number;
  /** Certificates read in this run that cannot be used (kept, with the reason), plus values that are no certificate. */
  certificatesRejected: number;
  /** The first SMIME_DIRECTORY_REPORT_LIMIT of those, with why (no fingerprint for a value that is no certificate). */
  rejected: RejectedCertificate[];
  /**
   * Addresses that more than one entry claims once this sync is done (the whole copy, not only what it read): such an
   * address resolves to nothing until the directory is fixed (issue 12). The first SMIME_DIRECTORY_REPORT_LIMIT.
   */
  conflicts: AddressConflict[];
  conflictCount: number;
  startedAt: string;
  durationMs: number;
}

export interface RejectedCertificate {
  dn: string;
  fingerprintSha256?: string;
  reason: string;
}

export interface SyncOptions {
  mode?: SyncMode;
  /**
   * Who started the sync, for the audit log: 'system:schedule', 'admin:api', 'admin:cli' (default 'system', for a
   * caller that names nobody).
   */
  actor?: string;
  onProgress?: (p: SyncProgress) => void;
  log?: Logger;
  now?: () => Date;
}

const running = new WeakSet<Database>();

/** Generalized time (RFC 4517 section 3.3.13) as LDAP servers write modifyTimestamp: 20240101120000Z, ...00.0Z */
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,]\d+)?Z$/;

export function parseGeneralizedTime(v: string): Date | undefined {
  const m = GENERALIZED_TIME.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

export function formatGeneralizedTime(d: Date, withFraction: boolean): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  // Active Directory writes and expects the ".0Z" form; OpenLDAP accepts both.
  return withFraction ? `${base}.0Z` : `${base}Z`;
}

/** The filter of an incremental search: the configured filter, restricted to what changed since the watermark. */
export function changedFilter(kind: 'usn' | 'timestamp', watermark: string): string {
  if (kind === 'usn') return `(uSNChanged>=${BigInt(watermark) + 1n})`;
  if (!GENERALIZED_TIME.test(watermark)) throw new Error('bad timestamp watermark');
  return `(modifyTimestamp>=${watermark})`;
}

interface Plan {
  mode: 'full' | 'incremental';
  fullBecause: string | undefined;
  kind: 'usn' | 'timestamp';
}

/** Decide between a full and an incremental sync. Exported for the unit tests. */
export function plan(requested: SyncMode, status: SyncStatusRow | undefined, rootUsn: string | undefined, serverId: string | undefined, fullSyncIntervalS: number, now: Date): Plan {
  const kind = rootUsn !== undefined && /^\d+$/.test(rootUsn) ? 'usn' : 'timestamp';
  const full = (why: string | undefined): Plan => ({ mode: 'full', fullBecause: why, kind });
  if (requested === 'full') return full(undefined);
  if (!status?.watermark || !status.watermark_kind) return full('no earlier sync to continue from');
  if (status.watermark_kind !== kind) return full(`the server now offers ${kind === 'usn' ? 'uSNChanged' : 'only modifyTimestamp'}`);
  if (kind === 'usn' && status.server_id !== (serverId ?? null)) return full('another domain controller answered (uSNs are per controller)');
  if (requested === 'auto') {
    const lastFull = status.last_full_success_at;
    if (!lastFull) return full('no full sync yet');
    if (now.getTime() - lastFull.getTime() >= fullSyncIntervalS * 1000)
      return full('the last full sync is older than SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S');
  }
  return { mode: 'incremental', fullBecause: undefined, kind };
}

interface Counters {
  entriesSeen: number;
  entriesRemoved: number;
  certificatesAdded: number;
  certificatesUpdated: number;
  certificatesRemoved: number;
  certificatesRejected: number;
  /** Bounded by the report limit; certificatesRejected counts them all. */
  rejected: RejectedCertificate[];
}

/** The run's context for applyPage. */
interface PageContext {
  opts: DirectoryOptions;
  now: Date;
  trust: TrustContext;
  log: Logger | undefined;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** What a stored certificate row says, in the shape evaluateCertificates takes (a certificate is never a CA here). */
function storedInfo(r: StoredDirectoryCert & { san_emails: string[] }): CertificateInfo {
  return {
    subject: r.subject,
    issuer: r.issuer,
    serialNumber: r.serial_number,
    notBefore: r.not_before,
    notAfter: r.not_after,
    emails: r.emails,
    subjectAltNameEmails: r.san_emails,
    keyUsage: r.key_usage,
    extendedKeyUsage: r.extended_key_usage,
    keyAlgorithm: r.key_algorithm as CertificateInfo['keyAlgorithm'],
    keySize: r.key_size,
    fingerprintSha256: r.fingerprint_sha256,
    isCA: false,
    selfSigned: r.subject === r.issuer,
  };
}

/** Apply one page of entries inside the sync's transaction. Returns the keys of entries kept (with certificates). */
async function applyPage(tx: Queryable, raw: RawEntry[], ctx: PageContext, c: Counters): Promise<string[]> {
  const { opts, now, log } = ctx;
  const mapped = raw.map((r) => mapEntry(r, opts.attributes));
  c.entriesSeen += mapped.length;
  // What is stored already for these entries, so unchanged certificates are not parsed again.
  const stored = await entriesByKeys(tx, mapped.map((m) => m.key));
  const storedId = new Map(stored.map((e) => [e.entry_key, e.id]));
  const existing = await certificatesOfEntries(tx, stored.map((e) => e.id));
  const byEntry = new Map<number, StoredDirectoryCert[]>();
  for (const row of existing) byEntry.set(row.entry_id, [...(byEntry.get(row.entry_id) ?? []), row]);

  const keep: { key: string; dn: string; addresses: string[]; changeMarker: string | undefined; certs: EvaluatedCertificate[] }[] = [];
  const drop: string[] = [];
  for (const m of mapped) {
    const id = storedId.get(m.key);
    // Rows stored before migration 006 lack the subjectAltName addresses: those certificates are described again.
    const rows = (id === undefined ? [] : (byEntry.get(id) ?? [])).filter((r): r is StoredDirectoryCert & { san_emails: string[] } => r.san_emails !== null);
    const known = new Map(rows.map((r) => [r.fingerprint_sha256, { info: storedInfo(r), reason: r.reason, issuerFingerprint: r.issuer_fingerprint }]));
    const { certificates, malformed } = await evaluateCertificates(m.certificates, m.addresses, now, ctx.trust, known);
    const problems = [...m.problems, ...malformed];
    if (problems.length) log?.warn({ dn: m.dn, problems }, 'directory entry has values that are not certificates');
    const rejected: RejectedCertificate[] = [
      ...problems.map((reason) => ({ dn: m.dn, reason })),
      ...certificates.filter((x) => x.reason !== undefined).map((x) => ({ dn: m.dn, fingerprintSha256: x.info.fingerprintSha256, reason: x.reason! })),
    ];
    c.certificatesRejected += rejected.length;
    c.rejected.push(...rejected.slice(0, Math.max(0, opts.reportLimit - c.rejected.length)));
    if (certificates.length === 0) drop.push(m.key);
    else keep.push({ key: m.key, dn: m.dn, addresses: m.addresses, changeMarker: m.usnChanged ?? m.modifyTimestamp, certs: certificates });
  }
  if (drop.length) {
    const gone = await deleteEntriesByKeys(tx, drop);
    c.entriesRemoved += gone.entries;
    c.certificatesRemoved += gone.certificates;
  }
  if (keep.length === 0) return [];
  // Write only new or changed entries: a repeated full sync of an unchanged directory then writes nothing.
  const storedByKey = new Map(stored.map((e) => [e.entry_key, e]));
  const changed = keep.filter((k) => {
    const s = storedByKey.get(k.key);
    return !s || s.dn !== k.dn || s.addresses.join('\n') !== k.addresses.join('\n') || (s.change_marker ?? undefined) !== k.changeMarker;
  });
  const ids = new Map([...storedId, ...(await upsertEntries(tx, changed))]);
  const inserts: NewDirectoryCert[] = [];
  const deletes: string[] = [];
  for (const e of keep) {
    const entryId = ids.get(e.key)!;
    const old = new Map((byEntry.get(entryId) ?? []).map((r) => [r.fingerprint_sha256, r]));
    let added = 0;
    let changedInPlace = 0;
    for (const cert of e.certs) {
      const prev = old.get(cert.info.fingerprintSha256);
      if (prev) {
        old.delete(cert.info.fingerprintSha256);
        // A row from before migration 006 (no subjectAltName addresses stored) is rewritten with the new facts.
        if (
          prev.attribute !== cert.attribute ||
          !sameSet(prev.addresses, cert.addresses) ||
          (prev.reason ?? undefined) !== cert.reason ||
          (prev.issuer_fingerprint ?? undefined) !== cert.issuerFingerprint ||
          prev.san_emails === null
        ) {
          await updateCertificate(tx, prev.id, {
            attribute: cert.attribute,
            addresses: cert.addresses,
            reason: cert.reason,
            sanEmails: cert.info.subjectAltNameEmails,
            intermediates: cert.intermediates,
            issuerFingerprint: cert.issuerFingerprint,
          });
          changedInPlace++;
        }
        continue;
      }
      added++;
      const i = cert.info;
      inserts.push({
        id: randomUUID(),
        entryId,
        attribute: cert.attribute,
        certificate: cert.der,
        fingerprintSha256: i.fingerprintSha256,
        subject: i.subject,
        issuer: i.issuer,
        serialNumber: i.serialNumber,
        notBefore: i.notBefore,
        notAfter: i.notAfter,
        emails: i.emails,
        addresses: cert.addresses,
        keyUsage: i.keyUsage,
        extendedKeyUsage: i.extendedKeyUsage,
        keyAlgorithm: i.keyAlgorithm,
        keySize: i.keySize,
        sanEmails: i.subjectAltNameEmails,
        intermediates: cert.intermediates,
        issuerFingerprint: cert.issuerFingerprint,
        reason: cert.reason,
      });
    }
    const removed = old.size;
    for (const r of old.values()) deletes.push(r.id);
    // A certificate gone and another come in the same entry is a replacement (a renewal): counted as updated.
    const replaced = Math.min(added, removed);
    c.certificatesUpdated += replaced + changedInPlace;
    c.certificatesAdded += added - replaced;
    c.certificatesRemoved += removed - replaced;
  }
  await deleteCertificates(tx, deletes);
  await insertCertificates(tx, inserts);
  return keep.map((k) => k.key);
}

/**
 * Run one sync. Resolves with the summary; rejects with an AppError (DIRECTORY_SYNC_RUNNING, DIRECTORY_UNREACHABLE,
 * DIRECTORY_BIND_FAILED, DIRECTORY_BAD_BASE_DN, ...) after recording it in the status row, the copy untouched.
 */
export async function syncDirectory(db: Database, opts: DirectoryOptions, o: SyncOptions = {}): Promise<SyncSummary> {
  const requested = o.mode ?? 'auto';
  const actor = o.actor ?? 'system';
  if (running.has(db)) throw new AppError('DIRECTORY_SYNC_RUNNING');
  running.add(db);
  const clock = o.now ?? (() => new Date());
  const startedAt = clock();
  const t0 = performance.now();
  let mode: string = requested;
  try {
    const summary = await db.transaction(async (tx) => {
      const [lock] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [DIRECTORY_SYNC_LOCK_KEY]);
      if (!lock?.ok) throw new AppError('DIRECTORY_SYNC_RUNNING');
      const status = await readSyncStatus(tx);
      const conn = await DirectoryConnection.open(opts);
      try {
        const root = await conn.rootDse();
        const p = plan(requested, status, root.highestCommittedUSN, root.dsServiceName, opts.fullSyncIntervalS, startedAt);
        mode = p.mode;
        const c: Counters = {
          entriesSeen: 0,
          entriesRemoved: 0,
          certificatesAdded: 0,
          certificatesUpdated: 0,
          certificatesRemoved: 0,
          certificatesRejected: 0,
          rejected: [],
        };
        if (opts.trustAnchors.length === 0)
          o.log?.warn('no directory trust anchors are configured (SMIME_DIRECTORY_TRUST_ANCHORS, SMIME_TRUST_ANCHORS): every directory certificate is rejected');
        // One cache for the run: the path above each issuer is checked once, at the sync's instant.
        const ctx: PageContext = {
          opts,
          now: startedAt,
          trust: { chains: new ChainCache(opts.trustAnchors, { now: startedAt }), anchorsConfigured: opts.trustAnchors.length > 0 },
          log: o.log,
        };
        const expected = p.mode === 'full' ? (status?.full_entry_count ?? undefined) : undefined;
        const seen = new Set<string>();
        let newest: Date | undefined;
        let fraction = false;
        const note = (r: RawEntry) => {
          const ts = r.modifyTimestamp;
          const v = typeof ts === 'string' ? ts : undefined;
          const d = v ? parseGeneralizedTime(v) : undefined;
          if (d && (!newest || d > newest)) newest = d;
          if (v?.includes('.')) fraction = true;
        };
        const since = p.mode === 'incremental' ? changedFilter(p.kind, status!.watermark!) : undefined;
        const filter = since ? `(&${opts.filter}${since})` : opts.filter;
        for await (const page of conn.search(filter)) {
          page.forEach(note);
          for (const k of await applyPage(tx, page, ctx, c)) seen.add(k);
          o.onProgress?.({ phase: 'reading', entriesSeen: c.entriesSeen, expected });
        }
        o.onProgress?.({ phase: 'removing', entriesSeen: c.entriesSeen, expected });
        if (p.mode === 'full') {
          const [had] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM directory_entries');
          // A filter or base DN that now matches nothing is far likelier a misconfiguration than an empty directory.
          if (c.entriesSeen === 0 && (had?.n ?? 0) > 0) throw new AppError('DIRECTORY_EMPTY');
          const gone = await deleteEntriesExcept(tx, [...seen]);
          c.entriesRemoved += gone.entries;
          c.certificatesRemoved += gone.certificates;
        } else {
          // Changed entries that the filter no longer matches (their certificate or address was removed).
          const left: string[] = [];
          for await (const page of conn.search(since!, true)) {
            page.forEach(note);
            for (const r of page) if (!seen.has(entryKey(r))) left.push(entryKey(r));
          }
          const gone = await deleteEntriesByKeys(tx, left);
          c.entriesRemoved += gone.entries;
          c.certificatesRemoved += gone.certificates;
        }
        const conflicts = await directoryConflicts(tx, opts.reportLimit);
        if (conflicts.total > 0)
          o.log?.warn({ conflicts: conflicts.total, first: conflicts.conflicts.slice(0, 10) }, 'directory addresses claimed by more than one entry resolve to nothing');
        const durationMs = performance.now() - t0;
        let watermark: string | undefined;
        if (p.kind === 'usn') watermark = root.highestCommittedUSN;
        else if (newest) {
          const bound = new Date(newest.getTime() - (Math.ceil(durationMs / 1000) + TIMESTAMP_SLACK_S) * 1000);
          const prev = p.mode === 'incremental' && status?.watermark ? parseGeneralizedTime(status.watermark) : undefined;
          watermark = formatGeneralizedTime(prev && prev > bound ? prev : bound, fraction);
        } else if (p.mode === 'incremental') watermark = status?.watermark ?? undefined;
        const summary: SyncSummary = {
          mode: p.mode,
          fullBecause: p.fullBecause,
          watermarkKind: watermark ? p.kind : undefined,
          ...c,
          conflicts: conflicts.conflicts,
          conflictCount: conflicts.total,
          startedAt: startedAt.toISOString(),
          durationMs: Math.round(durationMs),
        };
        // In the sync's transaction: no copy without its audit entry, no entry without its copy.
        await appendAudit(tx, { actor, userEmail: null, action: 'directory.synced', details: { ...summary } });
        await recordSyncSuccess(tx, {
          mode: p.mode,
          startedAt,
          summary,
          watermarkKind: summary.watermarkKind,
          watermark,
          serverId: root.dsServiceName,
          entriesSeen: c.entriesSeen,
        });
        o.onProgress?.({ phase: 'done', entriesSeen: c.entriesSeen, expected });
        return summary;
      } finally {
        await conn.close();
      }
    });
    o.log?.info({ directory: summary }, 'directory sync done');
    return summary;
  } catch (e) {
    const err = e instanceof AppError ? e : new AppError('DIRECTORY_SEARCH_FAILED', `The directory sync failed: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
    if (err.code !== 'DIRECTORY_SYNC_RUNNING') {
      // The sync's transaction rolled back, its audit entry with it: the failure gets its own, beside the status row.
      await db
        .transaction(async (tx) => {
          await recordSyncFailure(tx, { mode, startedAt, code: err.code, message: err.message });
          await appendAudit(tx, {
            actor,
            userEmail: null,
            action: 'directory.sync_failed',
            details: { mode, startedAt: startedAt.toISOString(), code: err.code, message: err.message },
          });
        })
        .catch((re: unknown) => o.log?.error({ err: re }, 'could not record the directory sync failure'));
      o.log?.warn({ code: err.code, message: err.message }, 'directory sync failed; the last good copy is kept');
    }
    throw err;
  } finally {
    running.delete(db);
  }
}

export interface DirectoryStatus {
  configured: boolean;
  running: boolean;
  lastAttemptAt: string | null;
  lastAttemptMode: string | null;
  lastSuccessAt: string | null;
  lastFullSuccessAt: string | null;
  lastSummary: Record<string, unknown> | null;
  lastError: { at: string; code: string; message: string } | null;
  /** The last attempt failed: the copy is the one of lastSuccessAt. */
  failing: boolean;
  watermarkKind: string | null;
  /** Addresses more than one entry claims in the stored copy now (they resolve to nothing), the first `reportLimit`. */
  conflicts: AddressConflict[];
  conflictCount: number;
}

/** For the status route: the status row, the copy's address conflicts and whether a sync holds the lock now (on any instance). */
export async function directoryStatus(db: Database, configured: boolean, reportLimit: number): Promise<DirectoryStatus> {
  const s = await readSyncStatus(db);
  let locked = false;
  try {
    const [row] = await db.query<{ n: number }>(
      // Advisory locks belong to one database; pg_locks shows the whole cluster's.
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [DIRECTORY_SYNC_LOCK_KEY],
    );
    locked = (row?.n ?? 0) > 0;
  } catch {
    /* pg_locks not readable: the in-process flag still tells */
  }
  const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
  const conflicts = await directoryConflicts(db, reportLimit);
  return {
    configured,
    running: locked || running.has(db),
    lastAttemptAt: iso(s?.last_attempt_at),
    lastAttemptMode: s?.last_attempt_mode ?? null,
    lastSuccessAt: iso(s?.last_success_at),
    lastFullSuccessAt: iso(s?.last_full_success_at),
    lastSummary: s?.last_summary ?? null,
    lastError: s?.last_error_at ? { at: iso(s.last_error_at)!, code: s.last_error_code ?? '', message: s.last_error_message ?? '' } : null,
    failing: !!s?.last_error_at && (!s.last_success_at || new Date(s.last_error_at) > new Date(s.last_success_at)),
    watermarkKind: s?.watermark_kind ?? null,
    conflicts: conflicts.conflicts,
    conflictCount: conflicts.total,
  };
}
