// The signed attributes of an S/MIME SignerInfo (RFC 5652 section 11, RFC 8551 section 2.5) and the
// IssuerAndSerialNumber they and the SignerInfo use to name a certificate (RFC 5652 section 10.2.4).

import { capability, type SmimeCapability } from './algorithms.ts';
import {
  encoded,
  implicitConstructed,
  integerFromContent,
  objectIdentifier,
  octetString,
  sequence,
  setOf,
  time,
  toBytes,
  type Der,
} from '../../asn1/writer.ts';
import { certificateParts } from '../../x509/raw.ts';
import {
  OID_CONTENT_TYPE,
  OID_DATA,
  OID_ENCRYPTION_KEY_PREFERENCE,
  OID_MESSAGE_DIGEST,
  OID_MS_ENCRYPTION_KEY_PREFERENCE,
  OID_SIGNING_TIME,
  OID_SMIME_CAPABILITIES,
} from '../../asn1/oids.ts';

/** The parts of a certificate a CMS structure names it by: its issuer Name and serial number, as they are encoded. */
export interface IssuerAndSerial {
  issuer: Uint8Array;
  /** Content octets of the serialNumber INTEGER, exactly as in the certificate. */
  serialNumber: Uint8Array;
}

/** Throws BerError if `certificate` is not Certificate-shaped. */
export function issuerAndSerialOf(certificate: Uint8Array): IssuerAndSerial {
  const parts = certificateParts(certificate);
  return { issuer: parts.issuer, serialNumber: parts.serialNumber };
}

/**
 * IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }. The Name is copied from
 * the certificate byte for byte: a verifier matches it against the certificate's issuer by encoding, and a
 * re-encoded Name (another string type, another order) would not match.
 */
export function issuerAndSerialNumber(id: IssuerAndSerial): Der {
  return sequence(encoded(id.issuer), integerFromContent(id.serialNumber));
}

function attribute(oid: string, value: Der): Der {
  // Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }; one value each here.
  return sequence(objectIdentifier(oid), setOf([value]));
}

export interface SignedAttributesInput {
  /** Digest of the content (the eContent octets, or the detached content). */
  messageDigest: Uint8Array;
  signingTime: Date;
  capabilities: readonly SmimeCapability[];
  /** The certificate others should encrypt to; omitted when undefined. */
  encryptionKeyPreference?: IssuerAndSerial;
}

/**
 * The attributes, unsorted. RFC 5652 section 5.3 requires contentType and messageDigest whenever signed attributes
 * are present; RFC 8551 section 2.5 says sending agents SHOULD include signingTime, SMIMECapabilities and
 * SMIMEEncryptionKeyPreference.
 */
export function signedAttributes(input: SignedAttributesInput): Der[] {
  const attributes = [
    // The content is a MIME entity: id-data (RFC 8551 section 3.1).
    attribute(OID_CONTENT_TYPE, objectIdentifier(OID_DATA)),
    attribute(OID_SIGNING_TIME, time(input.signingTime)),
    attribute(OID_MESSAGE_DIGEST, octetString(input.messageDigest)),
  ];
  if (input.capabilities.length > 0) {
    // SMIMECapabilities ::= SEQUENCE OF SMIMECapability: a SEQUENCE, so the preference order is kept.
    attributes.push(attribute(OID_SMIME_CAPABILITIES, sequence(...input.capabilities.map(capability))));
  }
  if (input.encryptionKeyPreference) {
    // SMIMEEncryptionKeyPreference ::= CHOICE { issuerAndSerialNumber [0] IssuerAndSerialNumber, ... }; the S/MIME
    // ASN.1 module has IMPLICIT TAGS, so [0] replaces the SEQUENCE tag (RFC 8551 appendix A).
    const ias = issuerAndSerialNumber(input.encryptionKeyPreference);
    const inner = [
      encoded(input.encryptionKeyPreference.issuer),
      integerFromContent(input.encryptionKeyPreference.serialNumber),
    ];
    attributes.push(attribute(OID_ENCRYPTION_KEY_PREFERENCE, implicitConstructed(0, inner)));
    attributes.push(attribute(OID_MS_ENCRYPTION_KEY_PREFERENCE, ias));
  }
  return attributes;
}

/**
 * The DER that is signed: the attributes as a SET OF with the universal SET tag, elements in DER order (RFC 5652
 * section 5.4: "a separate encoding of the signedAttrs field is performed for message digest calculation. The
 * IMPLICIT [0] tag in the signedAttrs is not used for the DER encoding, rather an EXPLICIT SET OF tag is used").
 */
export function signedAttributesToSign(attributes: readonly Der[]): Uint8Array {
  return toBytes(setOf(attributes));
}
