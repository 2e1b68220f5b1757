/**
 * Which certificate to encrypt to, per recipient address (issue 3; issue 4 puts directory certificates first).
 * A certificate is usable when the engine's rule says so (smime/usable.ts encryptionUnusableReason: valid now, RSA
 * >= 2048 bits or EC, key usage and purpose) and it is not known to be revoked. Among usable ones: directory before
 * own before exchanged, then the newest (later notBefore), and between two issued the same second the one that lasts
 * longer, then the one naming fewer addresses (the more specific), then by fingerprint: never a random choice.
 *
 * A directory certificate must also (issue 12) name the address in its subjectAltName and pass the directory's trust
 * decision at use (directory/trust.ts: a path to the directory's anchors, revocation), which the mail service makes
 * before picking. An address that two directory entries claim resolves to nothing at all, whatever the sources: the
 * directory does not say whose it is, and choosing either could encrypt to the wrong person.
 */
import type { RevocationShown } from '../directory/trust.ts';
import { describeCertificate, encryptionUnusableReason } from '../smime/index.ts';
import { recordFromRow, type CertificateRecord, type CertificateRecordRow } from '../store/certificate-record.ts';
import type { Queryable } from '../store/db.ts';
import { recipientCertificates } from '../store/recipient-certificates.ts';
import type { KeyRow } from '../store/keys.ts';

export interface CertificateCandidate extends CertificateRecord {
  source: 'directory' | 'exchanged' | 'own';
  id: string;
  email: string;
  certificate: Uint8Array;
  capabilities: string[];
  /** Directory: how many addresses the certificate's subjectAltName names (fewer is more specific). */
  sanCount?: number;
  /** Set when the source already knows the certificate cannot serve this address (directory: it names another). */
  rejected?: string;
  /** Directory: the entry the certificate belongs to (two entries claiming one address are a conflict). */
  entry?: { id: number; dn: string };
  /** Directory: the certificates the sync found between this one and its trust anchor. */
  intermediates?: Uint8Array[];
  /** Directory: what the trust decision at use said about revocation. */
  revocation?: RevocationShown;
  /** Usable, but the user should know (a revocation status that could not be established). */
  warning?: string;
}

export interface Resolution {
  email: string;
  ready: boolean;
  /** The chosen certificate, when ready. */
  certificate?: CertificateCandidate;
  /** Why not ready: every candidate's reason, or that there is none. */
  reasons: string[];
  /** Ready, but worth saying (the chosen certificate's revocation status is unknown). */
  warnings: string[];
}

const SOURCE_RANK: Record<CertificateCandidate['source'], number> = { directory: 0, own: 1, exchanged: 2 };

/**
 * The order among usable candidates: source, then the newest. Two certificates issued the same second (a test PKI, a
 * bulk enrolment) tie on notBefore: then the later notAfter, then the fewer addresses (a certificate for one person
 * rather than one shared with others), then the fingerprint, so the same candidates always give the same answer.
 */
export function preferCandidate(a: CertificateCandidate, b: CertificateCandidate): number {
  return (
    SOURCE_RANK[a.source] - SOURCE_RANK[b.source] ||
    b.notBefore.getTime() - a.notBefore.getTime() ||
    b.notAfter.getTime() - a.notAfter.getTime() ||
    (a.sanCount ?? 0) - (b.sanCount ?? 0) ||
    (a.fingerprintSha256 < b.fingerprintSha256 ? -1 : a.fingerprintSha256 > b.fingerprintSha256 ? 1 : 0)
  );
}

/** Why no certificate may serve `email` because several directory entries claim it, or undefined. */
export function directoryConflict(email: string, candidates: CertificateCandidate[]): string | undefined {
  const entries = new Map<number, string>();
  for (const c of candidates) if (c.source === 'directory' && c.entry) entries.set(c.entry.id, c.entry.dn);
  if (entries.size < 2) return undefined;
  return (
    `${email} is claimed by ${entries.size} directory entries (${[...entries.values()].sort().join('; ')}): ` +
    'an address must belong to one entry, so none of their certificates is used until the directory is corrected'
  );
}

export function pickCertificate(
  email: string,
  candidates: CertificateCandidate[],
  now = new Date(),
  isRevoked: (c: CertificateCandidate) => boolean = () => false,
): Resolution {
  const conflict = directoryConflict(email, candidates);
  if (conflict) return { email, ready: false, reasons: [conflict], warnings: [] };
  const reasons: string[] = [];
  const usable = candidates
    .filter((c) => {
      const why =
        c.rejected ?? encryptionUnusableReason(c, now) ?? (isRevoked(c) ? `${c.subject}: revoked` : undefined);
      if (why) reasons.push(why);
      return !why;
    })
    .sort(preferCandidate);
  if (usable[0])
    return {
      email,
      ready: true,
      certificate: usable[0],
      reasons: [],
      warnings: usable[0].warning ? [usable[0].warning] : [],
    };
  if (candidates.length === 0) reasons.push('no certificate known for this address');
  return { email, ready: false, reasons, warnings: [] };
}

/**
 * Candidates from every source for these addresses: the directory's (shared by all users, issue 4) and the user's
 * exchanged ones. Every directory certificate of an entry that has the address is returned, the unusable ones too,
 * so that pickCertificate can give their reasons; one that does not name this address in its subjectAltName comes
 * `rejected` (issue 12: read from the certificate, not from what an earlier sync concluded). A harvested certificate
 * lives in its own table and never replaces a directory one; the ranking prefers the directory's.
 */
export async function candidatesFor(
  db: Queryable,
  userId: number,
  emails: string[],
): Promise<Map<string, CertificateCandidate[]>> {
  const out = new Map<string, CertificateCandidate[]>(emails.map((e) => [e, []]));
  for (const r of await recipientCertificates(db, userId, emails)) {
    if (r.source === 'exchanged') {
      out.get(r.email)?.push(candidateOf('exchanged', r, r.email, r.capabilities));
      continue;
    }
    // Rows synced before migration 006 did not store the subjectAltName addresses.
    const san = r.san_emails ?? describeCertificate(r.certificate).subjectAltNameEmails;
    for (const email of r.entry_addresses) {
      out.get(email)?.push({
        ...candidateOf('directory', r, email, []),
        sanCount: san.length,
        entry: { id: r.entry_id, dn: r.dn },
        intermediates: r.chain,
        ...(san.includes(email) ? {} : { rejected: `${r.subject}: does not name ${email} in its subjectAltName` }),
      });
    }
  }
  return out;
}

/** A stored certificate of any source as a candidate for `email`. */
function candidateOf(
  source: CertificateCandidate['source'],
  row: CertificateRecordRow & { id: string; certificate: Uint8Array },
  email: string,
  capabilities: string[],
): CertificateCandidate {
  return { source, id: row.id, email, certificate: row.certificate, ...recordFromRow(row), capabilities };
}

export function ownCandidate(row: KeyRow, email: string): CertificateCandidate {
  return candidateOf('own', row, email, []);
}
