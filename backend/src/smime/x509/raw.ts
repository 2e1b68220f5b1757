// The raw parts of an X.509 certificate (RFC 5280 section 4.1), as the exact bytes they had in the input: what key
// matching, chain ordering and "self-issued" checks compare. Decoding names and extensions is name.ts and
// extensions.ts; the public view is describe.ts.

import {
  bigInteger,
  decode,
  DerError,
  encodingOf,
  explicit,
  integerBytes,
  isContextTag,
  sequence,
  type Node,
} from '../asn1/asn1js-nodes.ts';

export interface CertificateParts {
  /** serialNumber as stored (two's complement) and as a number. */
  serialNumber: Uint8Array;
  serialValue: bigint;
  /** The Name nodes and their DER. */
  issuer: Uint8Array;
  subject: Uint8Array;
  issuerNode: Node;
  subjectNode: Node;
  /** Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
  validity: Node;
  /** DER of SubjectPublicKeyInfo, and its node. */
  subjectPublicKeyInfo: Uint8Array;
  subjectPublicKeyInfoNode: Node;
  /** The SEQUENCE OF Extension inside [3], if present. */
  extensions: Node | undefined;
}

/** Splits a certificate into its parts. Throws DerError if it is not Certificate-shaped. */
export function certificateParts(der: Uint8Array): CertificateParts {
  const root = decode(der, 'Certificate');
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  const outer = sequence(root, 'Certificate');
  if (outer.length !== 3) throw new DerError('Certificate: expected tbsCertificate, signatureAlgorithm, signature');
  const tbs = sequence(outer[0], 'TBSCertificate');
  // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber, signature, issuer, validity,
  //   subject, subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL, subjectUniqueID [2] OPTIONAL, extensions [3] OPTIONAL }
  let fields = tbs;
  if (isContextTag(tbs[0], 0)) {
    explicit(tbs[0], 0, 'version');
    fields = tbs.slice(1);
  }
  if (fields.length < 6) throw new DerError('TBSCertificate: missing fields');
  const [serial, , issuer, validity, subject, spki, ...optional] = fields as [
    Node,
    Node,
    Node,
    Node,
    Node,
    Node,
    ...Node[],
  ];
  sequence(issuer, 'issuer');
  sequence(validity, 'validity');
  sequence(subject, 'subject');
  sequence(spki, 'subjectPublicKeyInfo');
  let extensions: Node | undefined;
  for (const field of optional) {
    if (isContextTag(field, 3)) extensions = explicit(field, 3, 'extensions');
    else if (!isContextTag(field, 1) && !isContextTag(field, 2)) throw new DerError('TBSCertificate: unexpected field');
  }
  return {
    serialNumber: integerBytes(serial, 'serialNumber'),
    serialValue: bigInteger(serial, 'serialNumber'),
    issuer: encodingOf(issuer),
    subject: encodingOf(subject),
    issuerNode: issuer,
    subjectNode: subject,
    validity,
    subjectPublicKeyInfo: encodingOf(spki),
    subjectPublicKeyInfoNode: spki,
    extensions,
  };
}
