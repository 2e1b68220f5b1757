/**
 * Which of an entry's certificates can be encrypted to, and why not: the same rule as every other recipient
 * certificate (mail/recipients.ts unusableReason: valid now, RSA >= 2048 or EC, key usage, email-protection purpose
 * or none) plus the directory's own: the certificate must name one of the entry's addresses. Unusable ones are kept
 * with the reason, so an admin and the resolve API can say why.
 */
import { createHash } from 'node:crypto';
import { unusableReason } from '../mail/recipients.ts';
import { describeCertificate, type CertificateInfo } from '../smime/certificate.ts';
import type { CertificateValue } from './attributes.ts';

export interface EvaluatedCertificate {
  der: Uint8Array;
  attribute: string;
  info: CertificateInfo;
  /** The entry's addresses that the certificate names. */
  addresses: string[];
  /** Undefined when usable. */
  reason: string | undefined;
}

export interface Evaluation {
  certificates: EvaluatedCertificate[];
  /** Values that are not certificates at all: counted as rejected, not stored (there is nothing to show). */
  malformed: string[];
}

/**
 * `known`: what an earlier sync stored about certificates of this entry, by SHA-256 fingerprint. Parsing a
 * certificate costs about 2 ms and a directory changes little between syncs, so a certificate already stored is
 * judged from its stored facts instead of being parsed again.
 */
export function evaluateCertificates(
  values: CertificateValue[],
  entryAddresses: string[],
  now: Date,
  known?: ReadonlyMap<string, CertificateInfo>,
): Evaluation {
  const byFingerprint = new Map<string, EvaluatedCertificate>();
  const malformed: string[] = [];
  for (const v of values) {
    let info = known?.size ? known.get(createHash('sha256').update(v.der).digest('hex')) : undefined;
    if (!info) {
      try {
        info = describeCertificate(v.der);
      } catch (e) {
        malformed.push(`${v.attribute}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
    }
    // A CA certificate in the entry is the chain that a PKCS#7 bundle carries along, not a recipient's certificate.
    if (info.isCA) continue;
    // The same certificate in userCertificate and in a userSMIMECertificate bundle is one certificate.
    if (byFingerprint.has(info.fingerprintSha256)) continue;
    const addresses = info.emails.filter((e) => entryAddresses.includes(e));
    const reason =
      addresses.length === 0
        ? `${info.subject}: names none of the entry's addresses (${entryAddresses.join(', ') || 'none'})`
        : unusableReason(info, now);
    byFingerprint.set(info.fingerprintSha256, { der: v.der, attribute: v.attribute, info, addresses, reason });
  }
  return { certificates: [...byFingerprint.values()], malformed };
}
