/**
 * The certificates a user may encrypt to (or check a signature against) for some addresses, from both stores in one
 * statement (issue 16: every statement costs the server a round trip, about 0.2 ms of its CPU per request on this
 * machine): the directory's (shared by all users, every certificate of every entry that has one of the addresses)
 * and the ones this user exchanged with them. The directory and exchanged tables keep their own readers
 * (directory.ts, certificates.ts); this one reads only what recipient resolution needs.
 */
import { recordColumns, type CertificateRecordRow } from './certificate-record.ts';
import type { Queryable } from './db.ts';

interface Common extends CertificateRecordRow {
  id: string;
  certificate: Uint8Array;
  /** Directory: the intermediates the sync found; exchanged: the chain the signature carried. */
  chain: Uint8Array[];
}

export interface DirectoryCandidateRow extends Common {
  source: 'directory';
  entry_id: number;
  dn: string;
  entry_addresses: string[];
  /** subjectAltName rfc822Name addresses (migration 006); null for a row synced before it. */
  san_emails: string[] | null;
}

export interface ExchangedCandidateRow extends Common {
  source: 'exchanged';
  email: string;
  capabilities: string[];
}

export type RecipientCertificateRow = DirectoryCandidateRow | ExchangedCandidateRow;

export async function recipientCertificates(
  db: Queryable,
  userId: number,
  emails: string[],
): Promise<RecipientCertificateRow[]> {
  if (emails.length === 0) return [];
  return db.query<RecipientCertificateRow>(
    `SELECT 'directory' AS source, c.id, c.certificate, c.intermediates AS chain, ${recordColumns('c')},
            c.entry_id, e.dn, e.addresses AS entry_addresses, c.san_emails, NULL AS email, NULL AS capabilities
       FROM directory_entries e JOIN directory_certificates c ON c.entry_id = e.id
      WHERE e.addresses && $2::text[]
     UNION ALL
     SELECT 'exchanged', x.id, x.certificate, x.chain, ${recordColumns('x')},
            NULL, NULL, NULL, NULL, x.email, x.capabilities
       FROM exchanged_certificates x
      WHERE x.user_id = $1 AND x.email = ANY($2::text[])`,
    [userId, emails],
  );
}
