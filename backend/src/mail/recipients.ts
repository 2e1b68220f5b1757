/**
 * Which certificate to encrypt to, per recipient address (issue 3; issue 4 puts directory certificates first).
 * A certificate is usable when it is valid now, RSA (>= 2048 bits) or EC, allows key encipherment (RSA) or key
 * agreement (EC) if it restricts key usage, allows email protection if it restricts extended key usage, and is not
 * known to be revoked. Among usable ones: directory before exchanged, newest first.
 */
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
}

export interface Resolution {
  email: string;
  ready: boolean;
  /** The chosen certificate, when ready. */
  certificate?: CertificateCandidate;
  /** Why not ready: every candidate's reason, or that there is none. */
  reasons: string[];
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

export function pickCertificate(
  email: string,
  candidates: CertificateCandidate[],
  now = new Date(),
  isRevoked: (c: CertificateCandidate) => boolean = () => false,
): Resolution {
  const reasons: string[] = [];
  const usable = candidates
    .filter((c) => {
      const why = c.rejected ?? unusableReason(c, now) ?? (isRevoked(c) ? `${c.subject}: revoked` : undefined);
      if (why) reasons.push(why);
      return !why;
    })
    .sort((a, b) => SOURCE_RANK[a.source] - SOURCE_RANK[b.source] || b.notBefore.getTime() - a.notBefore.getTime());
  if (usable[0]) return { email, ready: true, certificate: usable[0], reasons: [] };
  if (candidates.length === 0) reasons.push('no certificate known for this address');
  return { email, ready: false, reasons };
}

/**
 * Candidates from every source for these addresses: the directory's (shared by all users, issue 4) and the user's
 * exchanged ones. Every directory certificate of an entry that has the address is returned, the unusable ones too,
 * so that pickCertificate can give their reasons; one that does not name this address comes `rejected`. A harvested
 * certificate lives in its own table and never replaces a directory one; the ranking prefers the directory's.
 */
export async function candidatesFor(db: Queryable, userId: number, emails: string[]): Promise<Map<string, CertificateCandidate[]>> {
  const out = new Map<string, CertificateCandidate[]>(emails.map((e) => [e, []]));
  for (const r of await directoryCertificatesForEmails(db, emails)) {
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
        ...(r.addresses.includes(email) ? {} : { rejected: `${r.subject}: does not name ${email}` }),
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
