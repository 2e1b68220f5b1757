// What a certificate contributes to CMS enveloping: the identifiers a RecipientInfo names it by (issuerAndSerialNumber,
// subjectKeyIdentifier; RFC 5652 section 6.2.1) and its public key. Used to match the caller's keys to RecipientInfos
// and to address the recipients of a message we encrypt.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { CertificateCache } from '../../x509/cache.ts';
import { BerError, isUniversal, ownedOctets, oid, readTree, sequence, type Tlv, UNIVERSAL } from '../../asn1/reader.ts';

import type { RecipientId } from './read.ts';
import { certificateParts } from '../../x509/raw.ts';
import { formatName } from '../../x509/name.ts';
import { OID_SUBJECT_KEY_IDENTIFIER } from '../../asn1/oids.ts';

export interface CertificateIdentity {
  /** DER of the issuer Name and of the serialNumber INTEGER, as in the certificate (copied into what we write). */
  issuer: Uint8Array;
  issuerText: string;
  serialNumber: Uint8Array;
  serial: bigint;
  subjectText: string;
  /** subjectKeyIdentifier extension value, if present (RFC 5280 section 4.2.1.2). */
  ski: Uint8Array | undefined;
  /** undefined when node:crypto cannot load the key (an algorithm it does not know). */
  publicKey: KeyObject | undefined;
}

function subjectKeyIdentifier(extensions: Tlv | undefined): Uint8Array | undefined {
  if (!extensions) return undefined;
  // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
  for (const extension of sequence(extensions, 'extensions')) {
    const fields = sequence(extension, 'Extension');
    if (oid(fields[0], 'extnID') !== OID_SUBJECT_KEY_IDENTIFIER) continue;
    const value = fields[fields.length - 1];
    if (!isUniversal(value, UNIVERSAL.OCTET_STRING)) throw new BerError('subjectKeyIdentifier: bad extnValue');
    // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING, inside extnValue
    return ownedOctets(readTree(ownedOctets(value, 'extnValue'), 'SubjectKeyIdentifier'), 'SubjectKeyIdentifier');
  }
  return undefined;
}

const identities = new CertificateCache<Readonly<CertificateIdentity>>();

/**
 * Throws BerError for a certificate that is not X.509. Remembered per DER (lib/certificate-cache.ts): the result is
 * read from a private copy of the bytes and frozen, so it never changes under a caller.
 */
export function certificateIdentity(der: Uint8Array): Readonly<CertificateIdentity> {
  return identities.get(der, () => Object.freeze(readIdentity(Uint8Array.from(der))));
}

function readIdentity(der: Uint8Array): CertificateIdentity {
  const parts = certificateParts(der);
  return {
    issuer: parts.issuer,
    issuerText: formatName(parts.issuerNode, 'issuer'),
    serialNumber: encodeInteger(parts.serialNumber),
    serial: parts.serialValue,
    subjectText: formatName(parts.subjectNode, 'subject'),
    ski: subjectKeyIdentifier(parts.extensions),
    publicKey: loadPublicKey(parts.subjectPublicKeyInfo),
  };
}

function loadPublicKey(spki: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** INTEGER TLV around two's-complement content bytes (as stored in the certificate). */
function encodeInteger(content: Uint8Array): Uint8Array {
  const length = content.length;
  const header =
    length < 0x80 ? [0x02, length] : length < 0x100 ? [0x02, 0x81, length] : [0x02, 0x82, length >> 8, length & 0xff];
  const out = new Uint8Array(header.length + length);
  out.set(header);
  out.set(content, header.length);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
  );
}

/**
 * Whether a RecipientIdentifier names this certificate. The issuer is compared by DER, and failing that by its RFC 4514
 * text: some senders re-encode the Name (PrintableString as UTF8String), which changes the bytes but not the name.
 */
export function identifies(rid: RecipientId, identity: CertificateIdentity): boolean {
  if (rid.kind === 'subjectKeyIdentifier') return identity.ski !== undefined && sameBytes(rid.ski, identity.ski);
  return (
    rid.serial === identity.serial && (sameBytes(rid.issuer, identity.issuer) || rid.issuerText === identity.issuerText)
  );
}

/** Serial numbers as certificate.ts prints them: lowercase hex of whole bytes, '-' for the non-conforming negatives. */
export function serialHex(value: bigint): string {
  const negative = value < 0n;
  let text = (negative ? -value : value).toString(16);
  if (text.length % 2 === 1) text = `0${text}`;
  return negative ? `-${text}` : text;
}
