/**
 * What a directory sync tells: its progress while it runs, and its summary (counts, the certificates it rejected and
 * the addresses more than one entry claims), which goes to the caller, the audit entry and the status row.
 */
import type { AddressConflict } from '../store/directory.ts';

export interface SyncProgress {
  phase: 'reading' | 'removing' | 'done';
  entriesSeen: number;
  /** Entries the last full sync saw: an estimate for a progress bar (LDAP gives no count up front). */
  expected: number | undefined;
}

export interface RejectedCertificate {
  dn: string;
  fingerprintSha256?: string;
  reason: string;
}

/** What a run counts as it applies pages and removals. */
export interface SyncCounters {
  entriesSeen: number;
  entriesRemoved: number;
  certificatesAdded: number;
  /** Replaced by another certificate in the same entry (renewal), or the same one with new addresses or verdict. */
  certificatesUpdated: number;
  certificatesRemoved: number;
  /** Certificates read in this run that cannot be used (kept, with the reason), plus values that are no certificate. */
  certificatesRejected: number;
  /**
   * The first SMIME_DIRECTORY_REPORT_LIMIT of those, with why (no fingerprint for a value that is no certificate);
   * certificatesRejected counts them all.
   */
  rejected: RejectedCertificate[];
}

export interface SyncSummary extends SyncCounters {
  mode: 'full' | 'incremental';
  /** Why a full sync ran when an incremental one was asked for, if so. */
  fullBecause: string | undefined;
  watermarkKind: 'usn' | 'timestamp' | undefined;
  /**
   * Addresses that more than one entry claims once this sync is done (the whole copy, not only what it read): such an
   * address resolves to nothing until the directory is fixed (issue 12). The first SMIME_DIRECTORY_REPORT_LIMIT.
   */
  conflicts: AddressConflict[];
  conflictCount: number;
  startedAt: string;
  durationMs: number;
}

export function newCounters(): SyncCounters {
  return {
    entriesSeen: 0,
    entriesRemoved: 0,
    certificatesAdded: 0,
    certificatesUpdated: 0,
    certificatesRemoved: 0,
    certificatesRejected: 0,
    rejected: [],
  };
}

/** Count a removal of entries (and, with them, their certificates). */
export function countRemoval(c: SyncCounters, gone: { entries: number; certificates: number }): void {
  c.entriesRemoved += gone.entries;
  c.certificatesRemoved += gone.certificates;
}

/** Count rejected certificates; only the first `limit` are listed. */
export function countRejected(c: SyncCounters, rejected: RejectedCertificate[], limit: number): void {
  c.certificatesRejected += rejected.length;
  c.rejected.push(...rejected.slice(0, Math.max(0, limit - c.rejected.length)));
}

/** One line for the end of a sync (CLI, logs). */
export function summaryLine(s: SyncSummary): string {
  return (
    `directory sync (${s.mode}): ${s.entriesSeen} entries seen, ${s.entriesRemoved} removed; certificates: ` +
    `${s.certificatesAdded} added, ${s.certificatesUpdated} updated, ${s.certificatesRemoved} removed, ` +
    `${s.certificatesRejected} rejected; ${s.conflictCount} address conflicts; ${(s.durationMs / 1000).toFixed(1)} s`
  );
}
