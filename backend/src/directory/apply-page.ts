/**
 * Applying one page of directory entries inside the sync's transaction (issue 4): each entry's certificates judged
 * (evaluate.ts, from the stored facts when a certificate is already known), then only what changed is written: new
 * or changed entries, new certificates, certificates whose addresses, attribute, verdict or path changed, and the
 * removal of those gone from an entry. A repeated full sync of an unchanged directory writes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { CertificateInfo } from '../smime/index.ts';
import { recordFromRow, recordOf } from '../store/certificate-record.ts';
import type { Queryable } from '../store/db.ts';
import type { StoredDirectoryCert } from '../store/directory.ts';
import {
  certificatesOfEntries,
  deleteCertificates,
  deleteEntriesByKeys,
  entriesByKeys,
  insertCertificates,
  updateCertificates,
  upsertEntries,
  type CertificateFindings,
  type NewDirectoryCert,
} from '../store/directory-sync.ts';
import { mapEntry, type MappedEntry, type RawEntry } from './attributes.ts';
import {
  evaluateCertificates,
  type EvaluatedCertificate,
  type KnownCertificate,
  type TrustContext,
} from './evaluate.ts';
import type { DirectoryOptions } from './options.ts';
import { countRejected, countRemoval, type RejectedCertificate, type SyncCounters } from './report.ts';

/** The run's context for applyPage. */
export interface PageContext {
  opts: DirectoryOptions;
  now: Date;
  trust: TrustContext;
  log: Logger | undefined;
}

/** An entry that keeps at least one certificate. */
interface KeptEntry {
  key: string;
  dn: string;
  addresses: string[];
  changeMarker: string | undefined;
  certs: EvaluatedCertificate[];
}

type StoredEntry = Awaited<ReturnType<typeof entriesByKeys>>[number];

/** What is stored already for a page's entries, so unchanged certificates are not parsed again. */
interface StoredPage {
  entries: StoredEntry[];
  idOf: Map<string, number>;
  certificatesOf: Map<number, StoredDirectoryCert[]>;
}

async function readStored(tx: Queryable, keys: string[]): Promise<StoredPage> {
  const entries = await entriesByKeys(tx, keys);
  const certificatesOf = new Map<number, StoredDirectoryCert[]>();
  for (const row of await certificatesOfEntries(
    tx,
    entries.map((e) => e.id),
  ))
    certificatesOf.set(row.entry_id, [...(certificatesOf.get(row.entry_id) ?? []), row]);
  return { entries, idOf: new Map(entries.map((e) => [e.entry_key, e.id])), certificatesOf };
}

type DescribedRow = StoredDirectoryCert & { san_emails: string[] };

/** What a stored certificate row says, in the shape evaluateCertificates takes (a certificate is never a CA here). */
function storedInfo(r: DescribedRow): CertificateInfo {
  return {
    ...recordFromRow(r),
    keyAlgorithm: r.key_algorithm as CertificateInfo['keyAlgorithm'],
    emails: r.emails,
    subjectAltNameEmails: r.san_emails,
    isCA: false,
    selfSigned: r.subject === r.issuer,
  };
}

/** Judge one entry's certificates; the rejected ones (and values that are no certificate) are returned beside them. */
async function judgeEntry(
  m: MappedEntry,
  stored: StoredPage,
  ctx: PageContext,
): Promise<{ certificates: EvaluatedCertificate[]; rejected: RejectedCertificate[] }> {
  const id = stored.idOf.get(m.key);
  // Rows stored before migration 006 lack the subjectAltName addresses: those certificates are described again.
  const rows = (id === undefined ? [] : (stored.certificatesOf.get(id) ?? [])).filter(
    (r): r is DescribedRow => r.san_emails !== null,
  );
  const known = new Map<string, KnownCertificate>(
    rows.map((r) => [
      r.fingerprint_sha256,
      { info: storedInfo(r), reason: r.reason, issuerFingerprint: r.issuer_fingerprint },
    ]),
  );
  const { certificates, malformed } = await evaluateCertificates(
    m.certificates,
    m.addresses,
    ctx.now,
    ctx.trust,
    known,
  );
  const problems = [...m.problems, ...malformed];
  if (problems.length) ctx.log?.warn({ dn: m.dn, problems }, 'directory entry has values that are not certificates');
  const rejected: RejectedCertificate[] = [
    ...problems.map((reason) => ({ dn: m.dn, reason })),
    ...certificates
      .filter((x) => x.reason !== undefined)
      .map((x) => ({ dn: m.dn, fingerprintSha256: x.info.fingerprintSha256, reason: x.reason! })),
  ];
  return { certificates, rejected };
}

/** Write only new or changed entries; returns every kept entry's row id. */
async function writeEntries(tx: Queryable, keep: KeptEntry[], stored: StoredPage): Promise<Map<string, number>> {
  const storedByKey = new Map(stored.entries.map((e) => [e.entry_key, e]));
  const changed = keep.filter((k) => {
    const s = storedByKey.get(k.key);
    return (
      !s ||
      s.dn !== k.dn ||
      s.addresses.join('\n') !== k.addresses.join('\n') ||
      (s.change_marker ?? undefined) !== k.changeMarker
    );
  });
  return new Map([...stored.idOf, ...(await upsertEntries(tx, changed))]);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Whether a stored certificate must be rewritten with what this sync found. */
function changedInPlace(prev: StoredDirectoryCert, cert: EvaluatedCertificate): boolean {
  return (
    prev.attribute !== cert.attribute ||
    !sameSet(prev.addresses, cert.addresses) ||
    (prev.reason ?? undefined) !== cert.reason ||
    (prev.issuer_fingerprint ?? undefined) !== cert.issuerFingerprint ||
    // A row from before migration 006 (no subjectAltName addresses stored) is rewritten with the new facts.
    prev.san_emails === null
  );
}

function findingsOf(cert: EvaluatedCertificate): CertificateFindings {
  const { attribute, addresses, reason, intermediates, issuerFingerprint } = cert;
  return { attribute, addresses, reason, sanEmails: cert.info.subjectAltNameEmails, intermediates, issuerFingerprint };
}

function newCertificate(entryId: number, cert: EvaluatedCertificate): NewDirectoryCert {
  const { der: certificate, info } = cert;
  return { id: randomUUID(), entryId, certificate, ...recordOf(info), emails: info.emails, ...findingsOf(cert) };
}

/** What a page writes to its entries' certificates, collected for one statement of each kind. */
interface CertificateWrites {
  inserts: NewDirectoryCert[];
  updates: { id: string; findings: CertificateFindings }[];
  deletes: string[];
  c: SyncCounters;
}

/** The writes of one entry's certificates against what is stored, collected in `out`. */
function syncCertificates(entryId: number, e: KeptEntry, stored: StoredPage, out: CertificateWrites): void {
  const old = new Map((stored.certificatesOf.get(entryId) ?? []).map((r) => [r.fingerprint_sha256, r]));
  let added = 0;
  let updated = 0;
  for (const cert of e.certs) {
    const prev = old.get(cert.info.fingerprintSha256);
    if (!prev) {
      added++;
      out.inserts.push(newCertificate(entryId, cert));
      continue;
    }
    old.delete(cert.info.fingerprintSha256);
    if (!changedInPlace(prev, cert)) continue;
    out.updates.push({ id: prev.id, findings: findingsOf(cert) });
    updated++;
  }
  for (const r of old.values()) out.deletes.push(r.id);
  // A certificate gone and another come in the same entry is a replacement (a renewal): counted as updated.
  const replaced = Math.min(added, old.size);
  out.c.certificatesUpdated += replaced + updated;
  out.c.certificatesAdded += added - replaced;
  out.c.certificatesRemoved += old.size - replaced;
}

/** A page's entries as the sync keeps them (attribute map applied); counted as seen. */
export function mapPage(raw: RawEntry[], ctx: PageContext, c: SyncCounters): MappedEntry[] {
  const mapped = raw.map((r) => mapEntry(r, ctx.opts.attributes));
  c.entriesSeen += mapped.length;
  return mapped;
}

/** A page judged against what is stored, ready to be written. */
export interface JudgedPage {
  stored: StoredPage;
  keep: KeptEntry[];
  drop: string[];
}

/** Read what is stored for the page's entries and judge their certificates; the rejected ones are counted. */
export async function judgePage(
  tx: Queryable,
  mapped: MappedEntry[],
  ctx: PageContext,
  c: SyncCounters,
): Promise<JudgedPage> {
  const stored = await readStored(
    tx,
    mapped.map((m) => m.key),
  );
  // Every entry of the page at once: the signatures are verified on a thread of their own (ChainCache, issue 16) while
  // the main thread describes the next certificates. Counted in page order, as before.
  const judged = await Promise.all(mapped.map((m) => judgeEntry(m, stored, ctx)));
  const keep: KeptEntry[] = [];
  const drop: string[] = [];
  mapped.forEach((m, i) => {
    const { certificates: certs, rejected } = judged[i]!;
    countRejected(c, rejected, ctx.opts.reportLimit);
    if (certs.length === 0) drop.push(m.key);
    else
      keep.push({
        key: m.key,
        dn: m.dn,
        addresses: m.addresses,
        changeMarker: m.usnChanged ?? m.modifyTimestamp,
        certs,
      });
  });
  return { stored, keep, drop };
}

/**
 * Write what a judged page changed: one statement per kind (entries removed, entries upserted, certificates removed,
 * updated, added). Returns the keys of entries kept (with certificates).
 */
export async function writePage(tx: Queryable, page: JudgedPage, c: SyncCounters): Promise<string[]> {
  const { stored, keep, drop } = page;
  if (drop.length) countRemoval(c, await deleteEntriesByKeys(tx, drop));
  if (keep.length === 0) return [];
  const ids = await writeEntries(tx, keep, stored);
  const out: CertificateWrites = { inserts: [], updates: [], deletes: [], c };
  for (const e of keep) syncCertificates(ids.get(e.key)!, e, stored, out);
  await deleteCertificates(tx, out.deletes);
  await updateCertificates(tx, out.updates);
  await insertCertificates(tx, out.inserts);
  return keep.map((k) => k.key);
}
