/**
 * Full or incremental, and where the next incremental sync starts (issue 4). Active Directory: uSNChanged above the
 * highestCommittedUSN read from the rootDSE before the previous sync (Microsoft's documented "polling for changes
 * using uSNChanged"), valid for the same domain controller only (dsServiceName). Elsewhere: modifyTimestamp at or
 * after the previous sync's newest modifyTimestamp less that sync's duration and two seconds, which catches changes
 * made while it ran whatever the two clocks say; entries at the edge are read again and change nothing.
 */
import type { SyncStatusRow } from '../store/directory-sync.ts';
import type { RawEntry } from './attributes.ts';

/** Second granularity of modifyTimestamp plus rounding: how far before the computed bound an incremental reads. */
const TIMESTAMP_SLACK_S = 2;

export type SyncMode = 'full' | 'incremental' | 'auto';

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
  const date = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  const base = `${date}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  // Active Directory writes and expects the ".0Z" form; OpenLDAP accepts both.
  return withFraction ? `${base}.0Z` : `${base}Z`;
}

/** The filter of an incremental search: the configured filter, restricted to what changed since the watermark. */
export function changedFilter(kind: 'usn' | 'timestamp', watermark: string): string {
  if (kind === 'usn') return `(uSNChanged>=${BigInt(watermark) + 1n})`;
  if (!GENERALIZED_TIME.test(watermark)) throw new Error('bad timestamp watermark');
  return `(modifyTimestamp>=${watermark})`;
}

export interface Plan {
  mode: 'full' | 'incremental';
  fullBecause: string | undefined;
  kind: 'usn' | 'timestamp';
}

/** Decide between a full and an incremental sync. Exported for the unit tests. */
export function plan(
  requested: SyncMode,
  status: SyncStatusRow | undefined,
  rootUsn: string | undefined,
  serverId: string | undefined,
  fullSyncIntervalS: number,
  now: Date,
): Plan {
  const kind = rootUsn !== undefined && /^\d+$/.test(rootUsn) ? 'usn' : 'timestamp';
  const full = (why: string | undefined): Plan => ({ mode: 'full', fullBecause: why, kind });
  if (requested === 'full') return full(undefined);
  if (!status?.watermark || !status.watermark_kind) return full('no earlier sync to continue from');
  if (status.watermark_kind !== kind)
    return full(`the server now offers ${kind === 'usn' ? 'uSNChanged' : 'only modifyTimestamp'}`);
  if (kind === 'usn' && status.server_id !== (serverId ?? null))
    return full('another domain controller answered (uSNs are per controller)');
  if (requested === 'auto') {
    const lastFull = status.last_full_success_at;
    if (!lastFull) return full('no full sync yet');
    if (now.getTime() - lastFull.getTime() >= fullSyncIntervalS * 1000)
      return full('the last full sync is older than SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S');
  }
  return { mode: 'incremental', fullBecause: undefined, kind };
}

/** The newest modifyTimestamp of what a sync read, and whether the server writes the ".0Z" form. */
export class TimestampTracker {
  newest: Date | undefined;
  fraction = false;

  note(r: RawEntry): void {
    const ts = r.modifyTimestamp;
    const v = typeof ts === 'string' ? ts : undefined;
    const d = v ? parseGeneralizedTime(v) : undefined;
    if (d && (!this.newest || d > this.newest)) this.newest = d;
    if (v?.includes('.')) this.fraction = true;
  }
}

/** Where the next incremental sync starts, or undefined when there is nothing to continue from. */
export function nextWatermark(
  p: Plan,
  previous: string | null | undefined,
  highestCommittedUSN: string | undefined,
  seen: TimestampTracker,
  durationMs: number,
): string | undefined {
  if (p.kind === 'usn') return highestCommittedUSN;
  if (seen.newest) {
    const bound = new Date(seen.newest.getTime() - (Math.ceil(durationMs / 1000) + TIMESTAMP_SLACK_S) * 1000);
    const prev = p.mode === 'incremental' && previous ? parseGeneralizedTime(previous) : undefined;
    return formatGeneralizedTime(prev && prev > bound ? prev : bound, seen.fraction);
  }
  return p.mode === 'incremental' ? (previous ?? undefined) : undefined;
}
