// The certificate extensions path validation and revocation read (RFC 5280 section 4.2), from the TBSCertificate's
// [3] field into CertificateFacts (certificate.ts): one reader per extension, and the list of extensions whose
// absence of enforcement is safe. A malformed known extension is a malformed certificate (BerError).

import {
  bitString,
  boolean,
  BerError,
  children,
  content,
  explicit,
  isContext,
  isUniversal,
  octets,
  oid,
  readOne,
  sequence,
  smallInteger,
  UNIVERSAL,
  type Tlv,
} from '../asn1/reader.ts';
import { parseNameConstraints } from './name-constraints.ts';
import type { CertificateFacts } from './certificate.ts';
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
 * Extensions whose meaning we either enforce (the readers below) or may safely leave unenforced because we make no claim that
 * depends on them (policies: we do no policy processing and report no policy). A critical extension outside this list
 * makes the certificate unusable (RFC 5280 section 4.2). nameConstraints (2.5.29.30) is parsed below and enforced by
 * path-checks.ts (issue 12), failing closed for the name forms it cannot check (name-constraints.ts).
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

/** The KeyUsage bits set in a BIT STRING's content, by name, in bit order (describe.ts reads the same bits). */
export function keyUsageBits(bytes: Uint8Array, unusedBits: number): KeyUsageBit[] {
  const total = bytes.length * 8 - unusedBits;
  return KEY_USAGE_BITS.filter((_, bit) => bit < total && (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) === 1);
}

function ia5(t: Tlv): string {
  return Buffer.from(content(t)).toString('latin1');
}

function keyUsage(value: Tlv): Set<KeyUsageBit> {
  const { bytes, unusedBits } = bitString(value, 'keyUsage');
  return new Set(keyUsageBits(bytes, unusedBits));
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

/** What reading the extensions finds besides facts: the subjectAltName, which is read leniently. */
export interface ExtensionReading {
  subjectAltName?: Tlv;
  subjectAltNameUnreadable: boolean;
}

type ExtensionReader = (node: () => Tlv, facts: CertificateFacts, reading: ExtensionReading) => void;

const READERS: Readonly<Record<string, ExtensionReader>> = {
  [OID_BASIC_CONSTRAINTS]: (node, facts) => {
    facts.basicConstraints = basicConstraints(node());
  },
  [OID_KEY_USAGE]: (node, facts) => {
    facts.keyUsage = keyUsage(node());
  },
  [OID_EXTENDED_KEY_USAGE]: (node, facts) => {
    facts.extendedKeyUsage = sequence(node(), 'extendedKeyUsage').map((p) => oid(p, 'KeyPurposeId'));
  },
  [OID_SUBJECT_KEY_IDENTIFIER]: (node, facts) => {
    facts.subjectKeyId = octets(node(), 'subjectKeyIdentifier');
  },
  [OID_AUTHORITY_KEY_IDENTIFIER]: (node, facts) => {
    const keyId = sequence(node(), 'authorityKeyIdentifier').find((f) => isContext(f, 0));
    if (keyId) facts.authorityKeyId = octets(keyId, 'keyIdentifier', 0);
  },
  [OID_AUTHORITY_INFO_ACCESS]: (node, facts) => authorityInfoAccess(node(), facts),
  [OID_CRL_DISTRIBUTION_POINTS]: (node, facts) => crlDistributionPoints(node(), facts),
  [OID_NAME_CONSTRAINTS]: (node, facts) => {
    facts.nameConstraints = parseNameConstraints(node());
  },
  [OID_SUBJECT_ALT_NAME]: (node, _facts, reading) => {
    // Read leniently (certificateNames never throws): a damaged subjectAltName only matters, and then fails
    // closed, under a CA with name constraints.
    try {
      reading.subjectAltName = node();
    } catch (e) {
      if (!(e instanceof BerError)) throw e;
      reading.subjectAltNameUnreadable = true;
    }
  },
};

/** Reads the extensions of one [3] field of a TBSCertificate into `facts`. */
export function readExtensions(field: Tlv, facts: CertificateFacts, reading: ExtensionReading): void {
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
    const reader = Object.hasOwn(READERS, id) ? READERS[id] : undefined;
    if (reader) reader(() => readOne(value, id), facts, reading);
    else if (critical && !UNDERSTOOD.has(id)) facts.unhandledCritical.push(id);
  }
}
