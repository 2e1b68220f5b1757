/**
 * Which of an entry's certificates can be encrypted to, and why not: the same rule as every other recipient
 * certificate (the engine's rule, smime/usable.ts encryptionUnusableReason: valid now, RSA >= 2048 or EC, key usage,
 * email-protection purpose or none) plus the directory's own (issue 12): the certificate names one of the entry's addresses in its
 * subjectAltName, and chains to the directory's trust anchors (trust.ts). Unusable ones are kept with the reason, so
 * an admin and the resolve API can say why.
 */
import { createHash } from 'node:crypto';
import {
  type CertificateInfo,
  type ChainCache,
  type ChainResult,
  describeCertificate,
  encryptionUnusableReason,
  parsedCertificate,
} from '../smime/index.ts';
import type { CertificateValue } from './attributes.ts';
import { chainReason, intermediatesOf } from './trust.ts';

export interface EvaluatedCertificate {
  der: Uint8Array;
  attribute: string;
  info: CertificateInfo;
  /** The entry's addresses that the certificate names in its subjectAltName. */
  addresses: string[];
  /** The certificates between this one and its trust anchor, as found (empty without a trusted path). */
  intermediates: Uint8Array[];
  /** SHA-256 of the certificate that signed this one on a path to an anchor (undefined without one). */
  issuerFingerprint: string | undefined;
  /** Undefined when usable. */
  reason: string | undefined;
}

export interface Evaluation {
  certificates: EvaluatedCertificate[];
  /** Values that are not certificates at all: counted as rejected, not stored (there is nothing to show). */
  malformed: string[];
}

export interface TrustContext {
  /** Paths to the directory's trust anchors, built once per issuer for the whole sync. */
  chains: ChainCache;
  anchorsConfigured: boolean;
}

/** What an earlier sync stored about a certificate. */
export interface KnownCertificate {
  info: CertificateInfo;
  /** Its verdict then (null: usable). */
  reason: string | null;
  /** Who signed it on the path found then (null: no trusted path). */
  issuerFingerprint: string | null;
}

/**
 * `known`: what an earlier sync stored about certificates of this entry, by SHA-256 fingerprint. Describing a
 * certificate costs about half a millisecond and a directory changes little between syncs, so a certificate already
 * stored is judged from its stored facts instead of being described again. Its path is checked again every time,
 * because the anchors may have changed and an intermediate may have expired; but the signature on these very bytes,
 * verified by the sync that found it usable, is not verified again once its issuer's path has been checked in this
 * sync (ChainCache.knownPath): a repeated full sync costs one path check per issuer, not one per certificate.
 */
export async function evaluateCertificates(
  values: CertificateValue[],
  entryAddresses: string[],
  now: Date,
  trust: TrustContext,
  known?: ReadonlyMap<string, KnownCertificate>,
): Promise<Evaluation> {
  const described: { v: CertificateValue; info: CertificateInfo; before?: KnownCertificate }[] = [];
  const malformed: string[] = [];
  for (const v of values) {
    const before = known?.size ? known.get(createHash('sha256').update(v.der).digest('hex')) : undefined;
    let info = before?.info;
    if (!info) {
      try {
        info = describeCertificate(v.der);
      } catch (e) {
        malformed.push(`${v.attribute}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
    }
    described.push({ v, info, ...(before ? { before } : {}) });
  }
  // Every certificate of the entry is where a path may go through (a PKCS#7 bundle carries the issuing CA along); none
  // is an anchor, so each must still chain to one, and a non-CA found as an issuer fails the path as such.
  const pool = described.map((d) => d.v.der);
  const byFingerprint = new Map<string, EvaluatedCertificate>();
  for (const { v, info, before } of described) {
    // A CA certificate in the entry is the chain the bundle carries along, not a recipient's certificate.
    if (info.isCA) continue;
    // The same certificate in userCertificate and in a userSMIMECertificate bundle is one certificate.
    if (byFingerprint.has(info.fingerprintSha256)) continue;
    const addresses = info.subjectAltNameEmails.filter((e) => entryAddresses.includes(e));
    const reused =
      before?.reason === null && before.issuerFingerprint
        ? trust.chains.knownPath(before.issuerFingerprint)
        : undefined;
    const chain: ChainResult = reused ?? (await trust.chains.build(v.der, pool));
    const reason =
      addresses.length === 0
        ? `${info.subject}: names none of the entry's addresses (${entryAddresses.join(', ') || 'none'}) in its subjectAltName`
        : (encryptionUnusableReason(info, now) ?? chainReason(info.subject, chain, trust.anchorsConfigured));
    const issuerFingerprint =
      chain.anchor && chain.chain[0] ? parsedCertificate(chain.chain[0])?.fingerprint : undefined;
    byFingerprint.set(info.fingerprintSha256, {
      der: v.der,
      attribute: v.attribute,
      info,
      addresses,
      intermediates: intermediatesOf(chain),
      issuerFingerprint,
      reason,
    });
  }
  return { certificates: [...byFingerprint.values()], malformed };
}
