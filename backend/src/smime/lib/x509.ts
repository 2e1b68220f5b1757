// The raw parts of an X.509 certificate (RFC 5280 section 4.1), as the exact bytes they had in the input: what key
// matching, chain ordering and "self-issued" checks compare. Full decoding (names, extensions) is certificate.ts.

import { decode, DerError, encodingOf, explicit, integerBytes, isContextTag, sequence, type Node } from './der.ts';

export interface CertificateParts {
  /** The whole certificate as one parsed tree. */
  root: Node;
  serialNumber: Uint8Array;
  /** DER of the issuer and subject Name. */
  issuer: Uint8Array;
  subject: Uint8Array;
  /** DER of SubjectPublicKeyInfo. */
  subjectPublicKeyInfo: Uint8Array;
}

/** Splits a certificate into its parts. Throws DerError if it is not Certificate-shaped. */
export function certificateParts(der: Uint8Array): CertificateParts {
  const root = decode(der, 'Certificate');
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  const outer = sequence(root, 'Certificate');
  if (outer.length !== 3) throw new DerError('Certificate: expected tbsCertificate, signatureAlgorithm, signature');
  const tbs = sequence(outer[0], 'TBSCertificate');
  // version [0] EXPLICIT is optional (v1 certificates).
  const fields = isContextTag(tbs[0], 0) ? (explicit(tbs[0], 0, 'version'), tbs.slice(1)) : tbs;
  if (fields.length < 6) throw new DerError('TBSCertificate: missing fields');
  const [serial, , issuer, validity, subject, spki] = fields as [Node, Node, Node, Node, Node, Node];
  sequence(issuer, 'issuer');
  sequence(validity, 'validity');
  sequence(subject, 'subject');
  sequence(spki, 'subjectPublicKeyInfo');
  return {
    root,
    serialNumber: integerBytes(serial, 'serialNumber'),
    issuer: encodingOf(issuer),
    subject: encodingOf(subject),
    subjectPublicKeyInfo: encodingOf(spki),
  };
}
