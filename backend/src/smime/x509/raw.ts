// The raw parts of an X.509 certificate (RFC 5280 section 4.1), as the exact bytes they had in the input: what key
// matching, chain ordering and "self-issued" checks compare. Decoding names and extensions is name.ts and
// extensions.ts; the public view is describe.ts.

import {
  BerError,
  bigInteger,
  copyBytes,
  encoding,
  explicit,
  integerBytes,
  isContext,
  readTree,
  sequence,
  type Tlv,
} from '../asn1/reader.ts';

export interface CertificateParts {
  /** serialNumber as stored (two's complement) and as a number. */
  serialNumber: Uint8Array;
  serialValue: bigint;
  /** The Name nodes and their DER. */
  issuer: Uint8Array;
  subject: Uint8Array;
  issuerNode: Tlv;
  subjectNode: Tlv;
  /** Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
  validity: Tlv;
  /** DER of SubjectPublicKeyInfo, and its node. */
  subjectPublicKeyInfo: Uint8Array;
  subjectPublicKeyInfoNode: Tlv;
  /** The SEQUENCE OF Extension inside [3], if present. */
  extensions: Tlv | undefined;
}

/** Splits a certificate into its parts. Throws BerError if it is not Certificate-shaped. */
export function certificateParts(der: Uint8Array): CertificateParts {
  const root = readTree(der, 'Certificate');
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  const outer = sequence(root, 'Certificate');
  if (outer.length !== 3) throw new BerError('Certificate: expected tbsCertificate, signatureAlgorithm, signature');
  const tbs = sequence(outer[0], 'TBSCertificate');
  // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber, signature, issuer, validity,
  //   subject, subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL, subjectUniqueID [2] OPTIONAL, extensions [3] OPTIONAL }
  let fields = tbs;
  if (isContext(tbs[0], 0)) {
    explicit(tbs[0], 0, 'version');
    fields = tbs.slice(1);
  }
  if (fields.length < 6) throw new BerError('TBSCertificate: missing fields');
  const [serial, , issuer, validity, subject, spki, ...optional] = fields as [Tlv, Tlv, Tlv, Tlv, Tlv, Tlv, ...Tlv[]];
  sequence(issuer, 'issuer');
  sequence(validity, 'validity');
  sequence(subject, 'subject');
  sequence(spki, 'subjectPublicKeyInfo');
  let extensions: Tlv | undefined;
  for (const field of optional) {
    if (isContext(field, 3)) extensions = explicit(field, 3, 'extensions');
    else if (!isContext(field, 1) && !isContext(field, 2)) throw new BerError('TBSCertificate: unexpected field');
  }
  // The byte fields are copies: callers keep them (identities, signer infos) long after the input, which may be a
  // buffer its owner reuses or wipes. The nodes stay views for reading more fields now.
  return {
    serialNumber: copyBytes(integerBytes(serial, 'serialNumber')),
    serialValue: bigInteger(serial, 'serialNumber'),
    issuer: copyBytes(encoding(issuer)),
    subject: copyBytes(encoding(subject)),
    issuerNode: issuer,
    subjectNode: subject,
    validity,
    subjectPublicKeyInfo: copyBytes(encoding(spki)),
    subjectPublicKeyInfoNode: spki,
    extensions,
  };
}
