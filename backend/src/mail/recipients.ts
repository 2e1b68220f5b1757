/**
 * Which certificate to encrypt to, per recipient address (issue 3; issue 4 puts directory certificates first).
 * A certificate is usable when it is valid now, RSA (>= 2048 bits) or EC, allows key encipherment (RSA) or key
 * agreement (EC) if it restricts key usage, allows email protection if it restricts extended key usage, and is not
 * known to be revoked. Among usable ones: directory before exchanged, newest first.
 *
 * A directory certificate must also (issue 12) name the address in its subjectAltName and pass the directory's trust
 * decision at use (directory/trust.ts: a path to the directory's anchors, revocation), which the mail service makes
 * before picking. An address that two directory entries claim resolves to nothing at all, whatever the sources: the
 * directory does not say whose it is, and choosing either could encrypt to the wrong person.
 */
import type { RevocationShown } from '../directory/trust.ts';
import { describeCertificate } from '../smime/index.ts';
import type { Queryable } from '../store/db.ts';
import { exchangedForEmails } from '../store/certificates.ts';
import { directoryCertificatesForEmails } from '../store/directory.ts';
import type { KeyRow } from '../store/keys.ts';

/** RSA keys below this are refused as encryption targets (RFC 8551 section 2.2 recommends 2048 bits at least). */
export const MIN_RSA_BITS = 2048;

export interface CertificateCandidate {
  source: 'directory' | 'exchanged' | 'own';
  id: string;
  email: string;
  certificate: Uint8Array;
  subject: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  keyUsage: string[];
  extendedKeyUsage: string[];
  keyAlgorithm: string;
  keySize: number;
  capabilities: string[];
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

/** Why a certificate cannot be used for encryption now, or undefined if it can. */
export function unusableReason(c: Omit<CertificateCandidate, 'id' | 'source' | 'email' | 'certificate' | 'capabilities'>, now = new Date()): string | undefined {
  if (now < c.notBefore) return `${c.subject}: not valid before ${c.notBefore.toISOString()}`;
  if (now > c.notAfter) return `${c.subject}: expired ${c.notAfter.toISOString()}`;
  if (c.keyAlgorithm === 'RSA') {
    if (c.keySize < MIN_RSA_BITS) return `${c.subject}: RSA key of ${c.keySize} bits is too weak`;
    if (c.keyUsage.length > 0 && !c.keyUsage.includes('keyEncipherment'))
      return `${c.subject}: key usage does not allow key encipherment`;
  } else if (c.keyAlgorithm === 'EC') {
    if (c.keyUsage.length > 0 && !c.keyUsage.includes('keyAgreement'))
      return `${c.subject}: key usage does not allow key agreement`;
  } else {
    return `${c.subject}: ${c.keyAlgorithm} keys cannot be encrypted to`;
  }
  if (
    c.extendedKeyUsage.length > 0 &&
    !c.extendedKeyUsage.includes('emailProtection') &&
    !c.extendedKeyUsage.includes('anyExtendedKeyUsage')
  )
    return `${c.subject}: not meant for email protection`;
  return undefined;
}

const SOURCE_RANK: Record<CertificateCandidate['source'], number> = { directory: 0, own: 1, exchanged: 2 };

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
      const why = c.rejected ?? unusableReason(c, now) ?? (isRevoked(c) ? `${c.subject}: revoked` : undefined);
      if (why) reasons.push(why);
      return !why;
    })
    .sort((a, b) => SOURCE_RANK[a.source] - SOURCE_RANK[b.source] || b.notBefore.getTime() - a.notBefore.getTime());
  if (usable[0]) return { email, ready: true, certificate: usable[0], reasons: [], warnings: usable[0].warning ? [usable[0].warning] : [] };
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
export async function candidatesFor(db: Queryable, userId: number, emails: string[]): Promise<Map<string, CertificateCandidate[]>> {
  const out = new Map<string, CertificateCandidate[]>(emails.map((e) => [e, []]));
  for (const r of await directoryCertificatesForEmails(db, emails)) {
    // Rows synced before migration 006 did not store the subjectAltName addresses.
    const san = r.san_emails ?? describeCertificate(r.certificate).subjectAltNameEmails;
    for (const email of r.entry_addresses) {
      out.get(email)?.push({
        source: 'directory',
        id: r.id,
        email,
        certificate: r.certificate,
        subject: r.subject,
        fingerprintSha256: r.fingerprint_sha256,
        notBefore: r.not_before,
        notAfter: r.not_after,
        keyUsage: r.key_usage,
        extendedKeyUsage: r.extended_key_usage,
        keyAlgorithm: r.key_algorithm,
        keySize: r.key_size,
        capabilities: [],
        entry: { id: r.entry_id, dn: r.dn },
        intermediates: r.intermediates,
        ...(san.includes(email) ? {} : { rejected: `${r.subject}: does not name ${email} in its subjectAltName` }),
      });
    }
  }
  for (const r of await exchangedForEmails(db, userId, emails)) {
    out.get(r.email)?.push({
      source: 'exchanged',
      id: r.id,
      email: r.email,
      certificate: r.certificate,
      subject: r.subject,
      fingerprintSha256: r.fingerprint_sha256,
      notBefore: r.not_before,
      notAfter: r.not_after,
      keyUsage: r.key_usage,
      extendedKeyUsage: r.extended_key_usage,
      keyAlgorithm: r.key_algorithm,
      keySize: r.key_size,
      capabilities: r.capabilities,
    });
  }
  return out;
}

export function ownCandidate(row: KeyRow, email: string): CertificateCandidate {
  return {
    source: 'own',
    id: row.id,
    email,
    certificate: row.certificate,
    subject: row.subject,
    fingerprintSha256: row.fingerprint_sha256,
    notBefore: row.not_before,
    notAfter: row.not_after,
    keyUsage: row.key_usage,
    extendedKeyUsage: row.extended_key_usage,
    keyAlgorithm: row.key_algorithm,
    keySize: row.key_size,
    capabilities: [],
  };
}
