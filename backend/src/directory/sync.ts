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
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ChainCache } from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import type { Database, Queryable } from '../store/db.ts';
import { directoryConflicts } from '../store/directory.ts';
import {
  countEntries,
  deleteEntriesByKeys,
  deleteEntriesExcept,
  readSyncStatus,
  recordSyncFailure,
  recordSyncSuccess,
  tryLockSync,
  type SyncStatusRow,
} from '../store/directory-sync.ts';
import { judgePage, mapPage, writePage, type PageContext } from './apply-page.ts';
import { entryKey } from './attributes.ts';
import { DirectoryConnection, type RootDse } from './ldap.ts';
import type { DirectoryOptions } from './options.ts';
import { countRemoval, newCounters, type SyncCounters, type SyncProgress, type SyncSummary } from './report.ts';
import { changedFilter, nextWatermark, plan, TimestampTracker, type Plan, type SyncMode } from './watermark.ts';

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

/** Whether a sync runs in this process on this database (the embedded database shows no other instance's lock). */
export function syncRunningHere(db: Database): boolean {
  return running.has(db);
}

/** One run, inside the sync's transaction: what was asked, what the server and the last run said, and the plan. */
interface Run {
  tx: Queryable;
  conn: DirectoryConnection;
  opts: DirectoryOptions;
  o: SyncOptions;
  status: SyncStatusRow | undefined;
  root: RootDse;
  plan: Plan;
  startedAt: Date;
  t0: number;
  counters: SyncCounters;
  timestamps: TimestampTracker;
  expected: number | undefined;
}

function pageContext(run: Run): PageContext {
  const { opts, startedAt } = run;
  if (opts.trustAnchors.length === 0)
    run.o.log?.warn(
      'no directory trust anchors are configured (SMIME_DIRECTORY_TRUST_ANCHORS, SMIME_TRUST_ANCHORS): ' +
        'every directory certificate is rejected',
    );
  // One cache for the run: the path above each issuer is checked once, at the sync's instant.
  const chains = new ChainCache(opts.trustAnchors, { now: startedAt });
  return { opts, now: startedAt, trust: { chains, anchorsConfigured: opts.trustAnchors.length > 0 }, log: run.o.log };
}

/**
 * Read what the filter matches (all of it, or what changed since the watermark) and apply it page by page. A page's
 * writes run while the next page is read and judged (issue 16), one page in flight: the database works while this
 * process parses and checks certificates. The pages share the sync's one transaction, so the pipeline changes no
 * outcome; an entry that a server returns in two pages is judged only after the first page's writes are done.
 */
async function readEntries(run: Run, since: string | undefined): Promise<Set<string>> {
  const ctx = pageContext(run);
  const c = run.counters;
  const filter = since ? `(&${run.opts.filter}${since})` : run.opts.filter;
  const seen = new Set<string>();
  let writing: { keys: Set<string>; done: Promise<string[]> } | undefined;
  const settle = async () => {
    const w = writing;
    writing = undefined;
    if (w) for (const k of await w.done) seen.add(k);
  };
  try {
    for await (const page of run.conn.search(filter)) {
      page.forEach((r) => run.timestamps.note(r));
      const mapped = mapPage(page, ctx, c);
      if (writing && mapped.some((m) => writing!.keys.has(m.key))) await settle();
      const judged = await judgePage(run.tx, mapped, ctx, c);
      await settle();
      const done = writePage(run.tx, judged, c);
      // Awaited by settle(); until then a failure must not count as an unhandled rejection.
      done.catch(() => undefined);
      writing = { keys: new Set(mapped.map((m) => m.key)), done };
      run.o.onProgress?.({ phase: 'reading', entriesSeen: c.entriesSeen, expected: run.expected });
    }
    await settle();
  } finally {
    // A failed read or judgement leaves no write running behind the transaction's rollback.
    await writing?.done.catch(() => undefined);
  }
  return seen;
}

/**
 * Remove what is gone. Full: every entry not seen (the only way plain LDAP shows deletions). Incremental: changed
 * entries that the filter no longer matches (their certificate or address was removed); deleted entries are invisible
 * to an incremental search (AD's tombstones need the Show Deleted control and rights; OpenLDAP needs accesslog) and go
 * at the next full sync.
 */
async function removeGone(run: Run, seen: Set<string>, since: string | undefined): Promise<void> {
  const c = run.counters;
  run.o.onProgress?.({ phase: 'removing', entriesSeen: c.entriesSeen, expected: run.expected });
  if (run.plan.mode === 'full') {
    // A filter or base DN that now matches nothing is far likelier a misconfiguration than an empty directory.
    if (c.entriesSeen === 0 && (await countEntries(run.tx)) > 0) throw new AppError('DIRECTORY_EMPTY');
    countRemoval(c, await deleteEntriesExcept(run.tx, [...seen]));
    return;
  }
  const left: string[] = [];
  for await (const page of run.conn.search(since!, true)) {
    page.forEach((r) => run.timestamps.note(r));
    for (const r of page) if (!seen.has(entryKey(r))) left.push(entryKey(r));
  }
  countRemoval(c, await deleteEntriesByKeys(run.tx, left));
}

/** The summary, its audit entry and the status row with the next watermark, in the sync's transaction. */
async function finish(run: Run, actor: string): Promise<SyncSummary> {
  const { tx, plan: p, o } = run;
  const conflicts = await directoryConflicts(tx, run.opts.reportLimit);
  if (conflicts.total > 0)
    o.log?.warn(
      { conflicts: conflicts.total, first: conflicts.conflicts.slice(0, 10) },
      'directory addresses claimed by more than one entry resolve to nothing',
    );
  const durationMs = performance.now() - run.t0;
  const watermark = nextWatermark(p, run.status?.watermark, run.root.highestCommittedUSN, run.timestamps, durationMs);
  const summary: SyncSummary = {
    mode: p.mode,
    fullBecause: p.fullBecause,
    watermarkKind: watermark ? p.kind : undefined,
    ...run.counters,
    conflicts: conflicts.conflicts,
    conflictCount: conflicts.total,
    startedAt: run.startedAt.toISOString(),
    durationMs: Math.round(durationMs),
  };
  // In the sync's transaction: no copy without its audit entry, no entry without its copy.
  await appendAudit(tx, { actor, userEmail: null, action: 'directory.synced', details: { ...summary } });
  await recordSyncSuccess(tx, {
    mode: p.mode,
    startedAt: run.startedAt,
    summary,
    watermarkKind: summary.watermarkKind,
    watermark,
    serverId: run.root.dsServiceName,
    entriesSeen: run.counters.entriesSeen,
  });
  o.onProgress?.({ phase: 'done', entriesSeen: run.counters.entriesSeen, expected: run.expected });
  return summary;
}

type Attempt = { opts: DirectoryOptions; o: SyncOptions; startedAt: Date; t0: number; onPlan: (p: Plan) => void };

/** The whole sync in its transaction: lock, plan, read, remove, finish. */
async function runSync(tx: Queryable, a: Attempt): Promise<SyncSummary> {
  if (!(await tryLockSync(tx))) throw new AppError('DIRECTORY_SYNC_RUNNING');
  const status = await readSyncStatus(tx);
  const conn = await DirectoryConnection.open(a.opts);
  try {
    const root = await conn.rootDse();
    const p = plan(
      a.o.mode ?? 'auto',
      status,
      root.highestCommittedUSN,
      root.dsServiceName,
      a.opts.fullSyncIntervalS,
      a.startedAt,
    );
    a.onPlan(p);
    const expected = p.mode === 'full' ? (status?.full_entry_count ?? undefined) : undefined;
    const run: Run = {
      tx,
      conn,
      opts: a.opts,
      o: a.o,
      status,
      root,
      plan: p,
      startedAt: a.startedAt,
      t0: a.t0,
      expected,
      counters: newCounters(),
      timestamps: new TimestampTracker(),
    };
    const since = p.mode === 'incremental' ? changedFilter(p.kind, status!.watermark!) : undefined;
    const seen = await readEntries(run, since);
    await removeGone(run, seen, since);
    return await finish(run, a.o.actor ?? 'system');
  } finally {
    await conn.close();
  }
}

/** The sync's transaction rolled back, its audit entry with it: the failure gets its own, beside the status row. */
async function recordFailure(
  db: Database,
  err: AppError,
  f: { mode: string; startedAt: Date; actor: string; log?: Logger },
) {
  const { mode, startedAt, actor } = f;
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
    .catch((re: unknown) => f.log?.error({ err: re }, 'could not record the directory sync failure'));
  f.log?.warn({ code: err.code, message: err.message }, 'directory sync failed; the last good copy is kept');
}

/**
 * Run one sync. Resolves with the summary; rejects with an AppError (DIRECTORY_SYNC_RUNNING, DIRECTORY_UNREACHABLE,
 * DIRECTORY_BIND_FAILED, DIRECTORY_BAD_BASE_DN, ...) after recording it in the status row, the copy untouched.
 */
export async function syncDirectory(db: Database, opts: DirectoryOptions, o: SyncOptions = {}): Promise<SyncSummary> {
  if (running.has(db)) throw new AppError('DIRECTORY_SYNC_RUNNING');
  running.add(db);
  const startedAt = (o.now ?? (() => new Date()))();
  let mode: string = o.mode ?? 'auto';
  const attempt: Attempt = { opts, o, startedAt, t0: performance.now(), onPlan: (p) => (mode = p.mode) };
  try {
    const summary = await db.transaction((tx) => runSync(tx, attempt));
    o.log?.info({ directory: summary }, 'directory sync done');
    return summary;
  } catch (e) {
    const err =
      e instanceof AppError
        ? e
        : new AppError(
            'DIRECTORY_SEARCH_FAILED',
            `The directory sync failed: ${e instanceof Error ? e.message : String(e)}`,
            undefined,
            {
              cause: e,
            },
          );
    if (err.code !== 'DIRECTORY_SYNC_RUNNING')
      await recordFailure(db, err, { mode, startedAt, actor: o.actor ?? 'system', ...(o.log ? { log: o.log } : {}) });
    throw err;
  } finally {
    running.delete(db);
  }
}
