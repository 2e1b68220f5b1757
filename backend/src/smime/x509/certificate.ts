// The facts of an X.509 certificate that path validation (RFC 5280 section 6) and revocation checking need: the
// signed bytes, names as DER, validity, key, and the extensions that constrain use or point to more data
// (basicConstraints, keyUsage, extendedKeyUsage, key identifiers, AIA, CRL distribution points; the extensions are read
// by certificate-extensions.ts). Description for people is describe.ts (describeParsed describes a parsed certificate);
// this is for machines and never throws anything but BerError on bad input.

import { createHash } from 'node:crypto';
import {
  algorithm,
  BerError,
  byteBitString,
  content,
  encoding,
  explicit,
  isContext,
  isUniversal,
  readOne,
  sequence,
  smallInteger,
  time,
  UNIVERSAL,
  type Tlv,
} from '../asn1/reader.ts';
import { MAX_CERTIFICATE_BYTES } from '../limits.ts';
import { CertificateCache } from './cache.ts';
import { readExtensions, type ExtensionReading, type KeyUsageBit } from './certificate-extensions.ts';
import { certificateNames, type CertificateNames, type NameConstraints } from './name-constraints.ts';

export interface CertificateFacts {
  der: Uint8Array;
  /** Lowercase hex SHA-256 of the DER: identity for de-duplication and loops. */
  fingerprint: string;
  /** The exact TBSCertificate bytes the issuer signed. */
  tbs: Uint8Array;
  signatureAlgorithm: { oid: string; params: Tlv | undefined };
  signature: Uint8Array;
  version: number;
  serial: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo, and the subjectPublicKey BIT STRING content (what OCSP's issuerKeyHash hashes). */
  spki: Uint8Array;
  publicKeyBits: Uint8Array;
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: Set<KeyUsageBit>;
  /** Key purpose OIDs. */
  extendedKeyUsage?: string[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  ocspUrls: string[];
  caIssuersUrls: string[];
  crlUrls: string[];
  /** A CA's nameConstraints (RFC 5280 section 4.2.1.10), enforced on the certificates below it by path-checks.ts. */
  nameConstraints?: NameConstraints;
  /** The names name constraints apply to: subject, its emailAddress attributes, subjectAltName. */
  names: CertificateNames;
  /** OIDs of critical extensions not in UNDERSTOOD. */
  unhandledCritical: string[];
  selfIssued: boolean;
}

/** The fields of a TBSCertificate up to subjectPublicKeyInfo (RFC 5280 section 4.1), and where the rest begin. */
function tbsFields(tbs: Tlv[]) {
  let i = 0;
  let version = 1;
  if (isContext(tbs[0], 0)) version = smallInteger(explicit(tbs[i++], 0, 'version'), 'version', 0, 2) + 1;
  const serialNode = tbs[i++];
  if (!isUniversal(serialNode, UNIVERSAL.INTEGER)) throw new BerError('serialNumber: expected INTEGER');
  const innerSigAlg = tbs[i++];
  const issuer = tbs[i++];
  const validity = sequence(tbs[i++], 'validity');
  const subject = tbs[i++];
  const spkiNode = tbs[i++];
  sequence(issuer, 'issuer');
  sequence(subject, 'subject');
  const [spkiAlg, spkiKey] = sequence(spkiNode, 'subjectPublicKeyInfo');
  algorithm(spkiAlg, 'subjectPublicKeyInfo algorithm');
  const publicKeyBits = byteBitString(spkiKey, 'subjectPublicKey');
  return {
    version,
    serialNode,
    innerSigAlg,
    issuer: issuer!,
    validity,
    subject: subject!,
    spkiNode: spkiNode!,
    publicKeyBits,
    next: i,
  };
}

/** Parses a DER certificate. Throws BerError if it is not one. */
export function certificateFacts(der: Uint8Array): CertificateFacts {
  if (der.length > MAX_CERTIFICATE_BYTES) throw new BerError('certificate too large', { limit: true });
  const root = readOne(der, 'Certificate');
  const outer = sequence(root, 'Certificate');
  if (outer.length !== 3) throw new BerError('Certificate: expected three fields');
  const [tbsNode, sigAlgNode, sigNode] = outer as [Tlv, Tlv, Tlv];
  const tbs = sequence(tbsNode, 'TBSCertificate');
  const f = tbsFields(tbs);
  // RFC 5280 section 4.1.1.2: the outer signatureAlgorithm MUST equal the TBSCertificate's signature field.
  if (!f.innerSigAlg || Buffer.compare(encoding(f.innerSigAlg), encoding(sigAlgNode)) !== 0) {
    throw new BerError('Certificate: signature algorithm differs from the one inside TBSCertificate');
  }
  if (f.validity.length !== 2) throw new BerError('validity: expected two times');
  const facts: CertificateFacts = {
    der,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    tbs: encoding(tbsNode),
    signatureAlgorithm: algorithm(sigAlgNode, 'signatureAlgorithm'),
    signature: byteBitString(sigNode, 'signatureValue'),
    version: f.version,
    serial: content(f.serialNode!),
    issuer: encoding(f.issuer),
    subject: encoding(f.subject),
    notBefore: time(f.validity[0], 'notBefore'),
    notAfter: time(f.validity[1], 'notAfter'),
    spki: encoding(f.spkiNode),
    publicKeyBits: f.publicKeyBits,
    ocspUrls: [],
    caIssuersUrls: [],
    crlUrls: [],
    unhandledCritical: [],
    selfIssued: false,
    names: { emails: [], dnsNames: [], directoryNames: [], altNameForms: new Set(), unreadable: false },
  };
  facts.selfIssued = Buffer.compare(facts.issuer, facts.subject) === 0;
  const reading: ExtensionReading = { subjectAltNameUnreadable: false };
  for (const field of tbs.slice(f.next)) {
    if (isContext(field, 1) || isContext(field, 2)) continue; // unique identifiers (RFC 5280 section 4.1.2.8)
    if (!isContext(field, 3)) throw new BerError('TBSCertificate: unexpected field');
    readExtensions(field, facts, reading);
  }
  facts.names = certificateNames(f.subject, reading.subjectAltName);
  if (reading.subjectAltNameUnreadable) facts.names.unreadable = true;
  return facts;
}

/**
 * Parsed certificates by their bytes. A certificate arrives as bytes again and again (the sender's in every message,
 * the anchors and intermediates of every verification, a directory's entries on every sync), and one parse then
 * serves the chain builder, revocation and the description (describe.ts describeParsed) alike.
 */
const parsed = new CertificateCache<CertificateFacts | null>();

/**
 * The one certificate model: `der` parsed once (certificateFacts) and remembered by its bytes, so every step of a
 * verification is handed the same object. Read from a private copy, so a caller that changes its bytes later
 * changes nothing here. Undefined for something that is not a certificate.
 */
export function parsedCertificate(der: Uint8Array): CertificateFacts | undefined {
  return (
    parsed.get(der, () => {
      try {
        return certificateFacts(new Uint8Array(der));
      } catch (e) {
        if (!(e instanceof BerError)) throw e;
        return null;
      }
    }) ?? undefined
  );
}

/** RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey, for certificates without the extension. */
export function keyIdentifier(cert: CertificateFacts): Uint8Array {
  return cert.subjectKeyId ?? new Uint8Array(createHash('sha1').update(cert.publicKeyBits).digest());
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && Buffer.compare(a, b) === 0;
}
