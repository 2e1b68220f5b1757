/** The directory sync's state for the admin status route: the status row, the copy's conflicts, a sync running now. */
import type { Database } from '../store/db.ts';
import { directoryConflicts, type AddressConflict } from '../store/directory.ts';
import { readSyncStatus, syncLockHeld } from '../store/directory-sync.ts';
import { syncRunningHere } from './sync.ts';

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

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** The status row, the copy's address conflicts and whether a sync holds the lock now (on any instance). */
export async function directoryStatus(
  db: Database,
  configured: boolean,
  reportLimit: number,
): Promise<DirectoryStatus> {
  const s = await readSyncStatus(db);
  // pg_locks not readable (undefined): the in-process flag still tells.
  const locked = (await syncLockHeld(db)) ?? false;
  const conflicts = await directoryConflicts(db, reportLimit);
  return {
    configured,
    running: locked || syncRunningHere(db),
    lastAttemptAt: iso(s?.last_attempt_at),
    lastAttemptMode: s?.last_attempt_mode ?? null,
    lastSuccessAt: iso(s?.last_success_at),
    lastFullSuccessAt: iso(s?.last_full_success_at),
    lastSummary: s?.last_summary ?? null,
    lastError: s?.last_error_at
      ? { at: iso(s.last_error_at)!, code: s.last_error_code ?? '', message: s.last_error_message ?? '' }
      : null,
    failing: !!s?.last_error_at && (!s.last_success_at || new Date(s.last_error_at) > new Date(s.last_success_at)),
    watermarkKind: s?.watermark_kind ?? null,
    conflicts: conflicts.conflicts,
    conflictCount: conflicts.total,
  };
}
