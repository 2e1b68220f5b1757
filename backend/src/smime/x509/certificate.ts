// The facts of an X.509 certificate that path validation (RFC 5280 section 6) and revocation checking need: the
// signed bytes, names as DER, validity, key, and the extensions that constrain use or point to more data
// (basicConstraints, keyUsage, extendedKeyUsage, key identifiers, AIA, CRL distribution points). Description for
// people is certificate.ts; this is for machines and never throws anything but BerError on bad input.

import { createHash } from 'node:crypto';
import {
  algorithm,
  bitString,
  boolean,
  BerError,
  byteBitString,
  children,
  content,
  encoding,
  explicit,
  isContext,
  isUniversal,
  octets,
  oid,
  readOne,
  sequence,
  smallInteger,
  time,
  UNIVERSAL,
  type Tlv,
} from '../asn1/reader.ts';
import { MAX_CERTIFICATE_BYTES } from '../limits.ts';
import {
  certificateNames,
  parseNameConstraints,
  type CertificateNames,
  type NameConstraints,
} from './name-constraints.ts';
import {
  OID_AD_CA_ISSUERS,
  OID_AD_OCSP,
  OID_AUTHORITY_INFO_ACCESS,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_CERTIFICATE_POLICIES,
  OID_CRL_DISTRIBUTION_POINTS,
  OID_CT_SCT_LIST,
  OID_EXTENDED_KEY_USAGE,
  OID_FRESHEST_CRL,
  OID_INHIBIT_ANY_POLICY,
  OID_ISSUER_ALT_NAME,
  OID_KEY_USAGE,
  OID_NAME_CONSTRAINTS,
  OID_OCSP_NOCHECK,
  OID_POLICY_CONSTRAINTS,
  OID_POLICY_MAPPINGS,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_DIRECTORY_ATTRIBUTES,
  OID_SUBJECT_INFO_ACCESS,
  OID_SUBJECT_KEY_IDENTIFIER,
} from '../asn1/oids.ts';

/**
 * Extensions whose meaning we either enforce (above) or may safely leave unenforced because we make no claim that
 * depends on them (policies: we do no policy processing and report no policy). A critical extension outside this list
 * makes the certificate unusable (RFC 5280 section 4.2). nameConstraints (2.5.29.30) is parsed below and enforced by
 * trust.ts (issue 12), failing closed for the name forms it cannot check (lib/name-constraints.ts).
 */
const UNDERSTOOD = new Set([
  OID_SUBJECT_KEY_IDENTIFIER,
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  OID_BASIC_CONSTRAINTS,
  OID_CRL_DISTRIBUTION_POINTS,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_EXTENDED_KEY_USAGE,
  OID_AUTHORITY_INFO_ACCESS,
  OID_SUBJECT_DIRECTORY_ATTRIBUTES, // subjectDirectoryAttributes
  OID_ISSUER_ALT_NAME, // issuerAltName
  OID_CERTIFICATE_POLICIES, // certificatePolicies
  OID_POLICY_MAPPINGS, // policyMappings
  OID_POLICY_CONSTRAINTS, // policyConstraints
  OID_FRESHEST_CRL, // freshestCRL
  OID_INHIBIT_ANY_POLICY, // inhibitAnyPolicy
  OID_SUBJECT_INFO_ACCESS, // subjectInfoAccess
  OID_OCSP_NOCHECK, // id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2.1)
  OID_CT_SCT_LIST, // CT SCT list
]);

/** RFC 5280 section 4.2.1.3, bit 0 first. */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageBit = (typeof KEY_USAGE_BITS)[number];

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
  /** A CA's nameConstraints (RFC 5280 section 4.2.1.10), enforced on the certificates below it by trust.ts. */
  nameConstraints?: NameConstraints;
  /** The names name constraints apply to: subject, its emailAddress attributes, subjectAltName. */
  names: CertificateNames;
  /** OIDs of critical extensions not in UNDERSTOOD. */
  unhandledCritical: string[];
  selfIssued: boolean;
}

function ia5(t: Tlv): string {
  return Buffer.from(content(t)).toString('latin1');
}

function keyUsage(value: Tlv): Set<KeyUsageBit> {
  const { bytes, unusedBits } = bitString(value, 'keyUsage');
  const total = bytes.length * 8 - unusedBits;
  return new Set(KEY_USAGE_BITS.filter((_, bit) => bit < total && ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) === 1));
}

function basicConstraints(value: Tlv): { ca: boolean; pathLen?: number } {
  // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
  const fields = sequence(value, 'basicConstraints');
  let i = 0;
  let ca = false;
  if (isUniversal(fields[i], UNIVERSAL.BOOLEAN)) ca = boolean(fields[i++], 'cA');
  let pathLen: number | undefined;
  if (fields[i]) pathLen = smallInteger(fields[i++], 'pathLenConstraint', 0, 1_000_000);
  if (fields[i]) throw new BerError('basicConstraints: too many fields');
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

/** uniformResourceIdentifier entries ([6] IA5String) of a GeneralNames. */
function uris(generalNames: Tlv[]): string[] {
  return generalNames.filter((n) => isContext(n, 6) && !n.constructed).map(ia5);
}

function authorityInfoAccess(value: Tlv, out: CertificateFacts): void {
  // AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod OID, accessLocation GeneralName }
  for (const ad of sequence(value, 'authorityInfoAccess')) {
    const [method, location] = sequence(ad, 'AccessDescription');
    const m = oid(method, 'accessMethod');
    if (!location) throw new BerError('AccessDescription: no location');
    const url = uris([location]);
    if (m === OID_AD_OCSP) out.ocspUrls.push(...url);
    else if (m === OID_AD_CA_ISSUERS) out.caIssuersUrls.push(...url);
  }
}

function crlDistributionPoints(value: Tlv, out: CertificateFacts): void {
  // DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
  //   reasons [1] ReasonFlags OPTIONAL, cRLIssuer [2] GeneralNames OPTIONAL }
  // DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] ... }
  for (const dp of sequence(value, 'cRLDistributionPoints')) {
    const fields = sequence(dp, 'DistributionPoint');
    // Partitioned (reasons) and indirect (cRLIssuer) CRLs are not supported: such a point does not cover every
    // reason, or is signed by someone else, so it is not used (the check ends 'unknown' if nothing else exists).
    if (fields.some((f) => isContext(f, 1) || isContext(f, 2))) continue;
    const name = fields.find((f) => isContext(f, 0));
    if (!name) continue;
    const full = children(name).find((f) => isContext(f, 0));
    if (full && full.constructed) out.crlUrls.push(...uris(children(full)));
  }
}

/** Parses a DER certificate. Throws BerError if it is not one. */
export function certificateFacts(der: Uint8Array): CertificateFacts {
  if (der.length > MAX_CERTIFICATE_BYTES) throw new BerError('certificate too large', { limit: true });
  const root = readOne(der, 'Certificate');
  const outer = sequence(root, 'Certificate');
  if (outer.length !== 3) throw new BerError('Certificate: expected three fields');
  const [tbsNode, sigAlgNode, sigNode] = outer as [Tlv, Tlv, Tlv];
  const tbs = sequence(tbsNode, 'TBSCertificate');
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
  // RFC 5280 section 4.1.1.2: the outer signatureAlgorithm MUST equal the TBSCertificate's signature field.
  if (!innerSigAlg || Buffer.compare(encoding(innerSigAlg), encoding(sigAlgNode)) !== 0) {
    throw new BerError('Certificate: signature algorithm differs from the one inside TBSCertificate');
  }
  if (validity.length !== 2) throw new BerError('validity: expected two times');
  const facts: CertificateFacts = {
    der,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    tbs: encoding(tbsNode),
    signatureAlgorithm: algorithm(sigAlgNode, 'signatureAlgorithm'),
    signature: byteBitString(sigNode, 'signatureValue'),
    version,
    serial: content(serialNode),
    issuer: encoding(issuer!),
    subject: encoding(subject!),
    notBefore: time(validity[0], 'notBefore'),
    notAfter: time(validity[1], 'notAfter'),
    spki: encoding(spkiNode!),
    publicKeyBits,
    ocspUrls: [],
    caIssuersUrls: [],
    crlUrls: [],
    unhandledCritical: [],
    selfIssued: false,
    names: { emails: [], dnsNames: [], directoryNames: [], altNameForms: new Set(), unreadable: false },
  };
  let subjectAltName: Tlv | undefined;
  let subjectAltNameUnreadable = false;
  facts.selfIssued = Buffer.compare(facts.issuer, facts.subject) === 0;
  for (; i < tbs.length; i++) {
    const field = tbs[i]!;
    if (isContext(field, 1) || isContext(field, 2)) continue; // unique identifiers (RFC 5280 section 4.1.2.8)
    if (!isContext(field, 3)) throw new BerError('TBSCertificate: unexpected field');
    const seen = new Set<string>();
    for (const ext of sequence(explicit(field, 3, 'extensions'), 'Extensions')) {
      // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
      const parts = sequence(ext, 'Extension');
      if (parts.length < 2 || parts.length > 3) throw new BerError('Extension: bad field count');
      const id = oid(parts[0], 'extnID');
      const critical = parts.length === 3 ? boolean(parts[1], 'critical') : false;
      if (seen.has(id)) throw new BerError(`extension ${id} appears twice`);
      seen.add(id);
      const value = octets(parts[parts.length - 1], 'extnValue');
      const node = () => readOne(value, id);
      switch (id) {
        case OID_BASIC_CONSTRAINTS:
          facts.basicConstraints = basicConstraints(node());
          break;
        case OID_KEY_USAGE:
          facts.keyUsage = keyUsage(node());
          break;
        case OID_EXTENDED_KEY_USAGE:
          facts.extendedKeyUsage = sequence(node(), 'extendedKeyUsage').map((p) => oid(p, 'KeyPurposeId'));
          break;
        case OID_SUBJECT_KEY_IDENTIFIER:
          facts.subjectKeyId = octets(node(), 'subjectKeyIdentifier');
          break;
        case OID_AUTHORITY_KEY_IDENTIFIER: {
          const keyId = sequence(node(), 'authorityKeyIdentifier').find((f) => isContext(f, 0));
          if (keyId) facts.authorityKeyId = octets(keyId, 'keyIdentifier', 0);
          break;
        }
        case OID_AUTHORITY_INFO_ACCESS:
          authorityInfoAccess(node(), facts);
          break;
        case OID_CRL_DISTRIBUTION_POINTS:
          crlDistributionPoints(node(), facts);
          break;
        case OID_NAME_CONSTRAINTS:
          facts.nameConstraints = parseNameConstraints(node());
          break;
        case OID_SUBJECT_ALT_NAME:
          // Read leniently (certificateNames never throws): a damaged subjectAltName only matters, and then fails
          // closed, under a CA with name constraints.
          try {
            subjectAltName = node();
          } catch (e) {
            if (!(e instanceof BerError)) throw e;
            subjectAltNameUnreadable = true;
          }
          break;
        default:
          if (critical && !UNDERSTOOD.has(id)) facts.unhandledCritical.push(id);
      }
    }
  }
  facts.names = certificateNames(subject!, subjectAltName);
  if (subjectAltNameUnreadable) facts.names.unreadable = true;
  return facts;
}

/** RFC 5280 section 4.2.1.2 method 1: SHA-1 of the subjectPublicKey, for certificates without the extension. */
export function keyIdentifier(cert: CertificateFacts): Uint8Array {
  return cert.subjectKeyId ?? new Uint8Array(createHash('sha1').update(cert.publicKeyBits).digest());
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Validity window check at `at` (RFC 5280 section 4.1.2.5: both ends inclusive). */
export function validityAt(cert: CertificateFacts, at: Date): 'valid' | 'expired' | 'not-yet-valid' {
  if (at.getTime() < cert.notBefore.getTime()) return 'not-yet-valid';
  if (at.getTime() > cert.notAfter.getTime()) return 'expired';
  return 'valid';
}
