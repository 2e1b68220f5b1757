// Reading and writing the structures of CMS enveloping: ContentInfo, EnvelopedData (RFC 5652 section 6),
// AuthEnvelopedData (RFC 5083 section 2.1), RecipientInfo (ktri, kari; kekri/pwri/ori are recognised and skipped).
//
// Parsing: the skeleton (ContentInfo > [0] > EnvelopedData > EncryptedContentInfo > [0] ciphertext) is walked with
// the engine's offset-based BER reader (asn1/reader.ts), so indefinite lengths and chunked ciphertext of any size cost
// no tree; each RecipientInfo is read whole up front (readTree: every value checked, the values budget). pkijs'
// EnvelopedData is not used: it parses the whole ContentInfo as one asn1js tree (16 MiB and 10,000-node defaults),
// has no AuthEnvelopedData, and decrypts through WebCrypto, which has no RSA PKCS #1 v1.5 decryption.
//
// Every failure is BerError (limit: true for resource limits); inspect.ts turns it into CMS_MALFORMED/CMS_TOO_LARGE.

import {
  algorithm as algorithmIdentifier,
  BerError,
  children,
  octetStringLength,
  octetSegments,
  readTlv,
  bigInteger,
  bitString,
  encoding,
  explicit,
  isContext,
  isUniversal,
  ownedOctets,
  oid,
  readTree,
  sequence,
  smallInteger,
  type Tlv,
  UNIVERSAL,
} from '../../asn1/reader.ts';
import {
  parseContentAlgorithm,
  parseKeyAgreementAlgorithm,
  parseKeyTransportAlgorithm,
  type ContentAlgorithm,
  type KeyAgreementAlgorithm,
  type KeyTransportAlgorithm,
} from './algorithms.ts';
import { MAX_AUTH_ATTRIBUTES_BYTES, MAX_ENCRYPTED_CONTENT_BYTES, MAX_RECIPIENT_INFOS } from '../../limits.ts';
import { formatName } from '../../x509/name.ts';
import { OID_AUTH_ENVELOPED_DATA, OID_EC_PUBLIC_KEY, OID_ENVELOPED_DATA, OID_X25519 } from '../../asn1/oids.ts';

/** Fields of one SEQUENCE in the skeleton: EnvelopedData has at most 6, AuthEnvelopedData 7. */
const MAX_SKELETON_FIELDS = 8;

export type RecipientId =
  | { kind: 'issuerAndSerialNumber'; issuer: Uint8Array; issuerText: string; serial: bigint }
  | { kind: 'subjectKeyIdentifier'; ski: Uint8Array };

export interface KeyTransRecipient {
  type: 'ktri';
  rid: RecipientId;
  algorithm: KeyTransportAlgorithm;
  encryptedKey: Uint8Array;
}

export interface KeyAgreeRecipient {
  type: 'kari';
  /**
   * The sender's ephemeral key (originatorKey); undefined when the originator is a certificate (static-static ECDH).
   * curveOid: the curve named by id-ecPublicKey's parameters, or id-X25519 for an X25519 key (RFC 8418).
   */
  originator: { point: Uint8Array; curveOid: string | undefined; unsupported?: string } | undefined;
  ukm: Uint8Array | undefined;
  algorithm: KeyAgreementAlgorithm;
  keys: { rid: RecipientId; encryptedKey: Uint8Array }[];
}

export interface OtherRecipient {
  type: 'other';
  kind: 'kekri' | 'pwri' | 'ori';
}

export type RecipientInfo = KeyTransRecipient | KeyAgreeRecipient | OtherRecipient;

export interface ParsedEnvelope {
  format: 'enveloped' | 'auth-enveloped';
  version: number;
  recipients: RecipientInfo[];
  contentAlgorithm: ContentAlgorithm;
  /** The encryptedContent element (an [0] IMPLICIT OCTET STRING), undefined when detached. */
  encryptedContent: Tlv | undefined;
  encryptedContentLength: number;
  /** AuthEnvelopedData: the DER SET OF of authAttrs (RFC 5083 section 2.2: the AAD), and the mac (GCM tag). */
  aad: Uint8Array | undefined;
  mac: Uint8Array | undefined;
  input: Uint8Array;
}

function small(input: Uint8Array, tlv: Tlv | undefined, what: string): Tlv {
  if (!tlv) throw new BerError(`${what}: missing`);
  return readTree(input.subarray(tlv.start, tlv.end), what);
}

/** The children of an IMPLICIT-tagged constructed value [n]. */
function implicitChildren(node: Tlv | undefined, tagNumber: number, what: string): Tlv[] {
  if (!node || !isContext(node, tagNumber) || !node.constructed) throw new BerError(`${what}: expected [${tagNumber}]`);
  return children(node, what);
}

function issuerAndSerialNumber(node: Tlv, what: string): RecipientId {
  // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
  const [issuer, serial, ...rest] = sequence(node, what);
  if (!issuer || rest.length > 0) throw new BerError(`${what}: expected issuer and serialNumber`);
  return {
    kind: 'issuerAndSerialNumber',
    issuer: encoding(issuer),
    issuerText: formatName(issuer, `${what} issuer`),
    serial: bigInteger(serial, `${what} serialNumber`),
  };
}

/** RecipientIdentifier ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0] IMPLICIT OCTET STRING } */
function recipientIdentifier(node: Tlv | undefined, what: string): RecipientId {
  if (isContext(node, 0))
    return { kind: 'subjectKeyIdentifier', ski: ownedOctets(node, `${what} subjectKeyIdentifier`, 0) };
  if (!node) throw new BerError(`${what}: missing`);
  return issuerAndSerialNumber(node, what);
}

function keyTransRecipient(node: Tlv): KeyTransRecipient {
  // KeyTransRecipientInfo ::= SEQUENCE { version, rid, keyEncryptionAlgorithm, encryptedKey OCTET STRING }
  const [version, rid, algorithm, encryptedKey, ...rest] = sequence(node, 'KeyTransRecipientInfo');
  if (rest.length > 0) throw new BerError('KeyTransRecipientInfo: too many fields');
  smallInteger(version, 'KeyTransRecipientInfo version', 0, 4);
  return {
    type: 'ktri',
    rid: recipientIdentifier(rid, 'KeyTransRecipientInfo rid'),
    algorithm: parseKeyTransportAlgorithm(algorithm),
    encryptedKey: ownedOctets(encryptedKey, 'KeyTransRecipientInfo encryptedKey'),
  };
}

function originatorKey(node: Tlv): KeyAgreeRecipient['originator'] {
  // OriginatorIdentifierOrKey ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0], originatorKey [1] }
  if (!isContext(node, 1)) {
    if (isContext(node, 0) || isUniversal(node, UNIVERSAL.SEQUENCE)) return undefined; // static-static ECDH: unsupported
    throw new BerError('OriginatorIdentifierOrKey: unknown choice');
  }
  // OriginatorPublicKey ::= SEQUENCE { algorithm AlgorithmIdentifier, publicKey BIT STRING } ([1] IMPLICIT)
  const [algorithm, publicKey, ...rest] = implicitChildren(node, 1, 'originatorKey');
  if (rest.length > 0) throw new BerError('originatorKey: too many fields');
  const { oid: id, params } = algorithmIdentifier(algorithm, 'originatorKey algorithm');
  const { bytes, unusedBits } = bitString(publicKey, 'originatorKey publicKey');
  if (unusedBits !== 0) throw new BerError('originatorKey publicKey: unused bits');
  if (id === OID_X25519) {
    // RFC 8418 section 3.1 (RFC 8410 section 3): id-X25519 with parameters absent, the raw key as the BIT STRING.
    if (params) return { point: bytes, curveOid: undefined, unsupported: 'X25519 with parameters' };
    return { point: bytes, curveOid: OID_X25519 };
  }
  if (id !== OID_EC_PUBLIC_KEY) return { point: bytes, curveOid: undefined, unsupported: `originator key ${id}` };
  // RFC 5753 section 3.1.1: parameters absent, NULL (both read as undefined here) or the curve.
  if (params && !isUniversal(params, UNIVERSAL.OID))
    return { point: bytes, curveOid: undefined, unsupported: 'explicit curve parameters' };
  return { point: bytes, curveOid: params ? oid(params, 'originatorKey curve') : undefined };
}

function keyAgreeRecipient(node: Tlv): KeyAgreeRecipient {
  // KeyAgreeRecipientInfo ::= SEQUENCE { version (3), originator [0] EXPLICIT, ukm [1] EXPLICIT OPTIONAL,
  //   keyEncryptionAlgorithm, recipientEncryptedKeys } ([1] IMPLICIT in RecipientInfo)
  const fields = implicitChildren(node, 1, 'KeyAgreeRecipientInfo');
  let next = 0;
  smallInteger(fields[next++], 'KeyAgreeRecipientInfo version', 0, 4);
  const originator = originatorKey(explicit(fields[next++], 0, 'originator'));
  let ukm: Uint8Array | undefined;
  if (isContext(fields[next], 1)) ukm = ownedOctets(explicit(fields[next++], 1, 'ukm'), 'ukm');
  const algorithm = parseKeyAgreementAlgorithm(fields[next++]);
  const encryptedKeys = sequence(fields[next++], 'RecipientEncryptedKeys');
  if (next !== fields.length) throw new BerError('KeyAgreeRecipientInfo: too many fields');
  if (encryptedKeys.length > MAX_RECIPIENT_INFOS)
    throw new BerError('RecipientEncryptedKeys: too many', { limit: true });
  const keys = encryptedKeys.map((entry) => {
    // RecipientEncryptedKey ::= SEQUENCE { rid KeyAgreeRecipientIdentifier, encryptedKey EncryptedKey }
    const [rid, encryptedKey, ...rest] = sequence(entry, 'RecipientEncryptedKey');
    if (!rid || rest.length > 0) throw new BerError('RecipientEncryptedKey: expected rid and encryptedKey');
    let id: RecipientId;
    if (isContext(rid, 0)) {
      // rKeyId [0] IMPLICIT RecipientKeyIdentifier ::= SEQUENCE { subjectKeyIdentifier, date OPTIONAL, other OPTIONAL }
      const [ski] = implicitChildren(rid, 0, 'rKeyId');
      id = { kind: 'subjectKeyIdentifier', ski: ownedOctets(ski, 'rKeyId subjectKeyIdentifier') };
    } else {
      id = issuerAndSerialNumber(rid, 'RecipientEncryptedKey rid');
    }
    return { rid: id, encryptedKey: ownedOctets(encryptedKey, 'RecipientEncryptedKey encryptedKey') };
  });
  if (keys.length === 0) throw new BerError('RecipientEncryptedKeys: empty');
  return { type: 'kari', originator, ukm, algorithm, keys };
}

function recipientInfo(node: Tlv): RecipientInfo {
  // RecipientInfo ::= CHOICE { ktri, kari [1], kekri [2], pwri [3], ori [4] }
  const constructed = node.constructed;
  if (isUniversal(node, UNIVERSAL.SEQUENCE)) return keyTransRecipient(node);
  if (isContext(node, 1)) return keyAgreeRecipient(node);
  if (constructed && isContext(node, 2)) return { type: 'other', kind: 'kekri' };
  if (constructed && isContext(node, 3)) return { type: 'other', kind: 'pwri' };
  if (constructed && isContext(node, 4)) return { type: 'other', kind: 'ori' };
  throw new BerError('RecipientInfo: unknown choice');
}

/** X.690 section 10.1 lengths: the AAD is the DER SET OF (RFC 5083 section 2.2), so [1] becomes a universal SET. */
function authAttributesAad(input: Uint8Array, tlv: Tlv): Uint8Array {
  const value = input.subarray(tlv.contentStart, tlv.contentEnd);
  if (value.length > MAX_AUTH_ATTRIBUTES_BYTES) throw new BerError('authAttrs: too large', { limit: true });
  const length = value.length;
  const lengthOctets =
    length < 0x80
      ? [length]
      : length < 0x100
        ? [0x81, length]
        : length < 0x10000
          ? [0x82, length >> 8, length & 0xff]
          : [0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
  const out = new Uint8Array(1 + lengthOctets.length + length);
  out[0] = 0x31;
  out.set(lengthOctets, 1);
  out.set(value, 1 + lengthOctets.length);
  return out;
}

/** ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT }: the content type and the content element. */
export function contentInfo(input: Uint8Array): { contentType: string; content: Tlv } {
  const top = readTlv(input, 0, input.length);
  if (top.end !== input.length) throw new BerError(`ContentInfo: ${input.length - top.end} bytes after the end`);
  if (!isUniversal(top, 16) || !top.constructed) throw new BerError('ContentInfo: expected SEQUENCE');
  const [type, wrapper, ...rest] = children(top, 'ContentInfo', 2);
  if (!type || !wrapper || rest.length > 0) throw new BerError('ContentInfo: expected contentType and content');
  const contentType = oid(small(input, type, 'contentType'), 'contentType');
  if (!isContext(wrapper, 0)) throw new BerError('ContentInfo: content is not [0]');
  const [content, ...more] = children(wrapper, 'ContentInfo content', 1);
  if (!content || more.length > 0) throw new BerError('ContentInfo: [0] must hold one value');
  return { contentType, content };
}

/**
 * Parses an EnvelopedData or AuthEnvelopedData ContentInfo. Throws BerError, or UnsupportedContentType for another
 * CMS content type (the caller reports CMS_UNSUPPORTED).
 */
export function parseEnvelope(input: Uint8Array): ParsedEnvelope {
  const { contentType, content } = contentInfo(input);
  let format: ParsedEnvelope['format'];
  if (contentType === OID_ENVELOPED_DATA) format = 'enveloped';
  else if (contentType === OID_AUTH_ENVELOPED_DATA) format = 'auth-enveloped';
  else throw new UnsupportedContentType(contentType);
  if (!isUniversal(content, 16) || !content.constructed)
    throw new BerError(`${format === 'enveloped' ? 'EnvelopedData' : 'AuthEnvelopedData'}: expected SEQUENCE`);
  const fields = children(content, 'EnvelopedData', MAX_SKELETON_FIELDS);
  let next = 0;
  // EnvelopedData ::= SEQUENCE { version, originatorInfo [0] IMPLICIT OPTIONAL, recipientInfos SET,
  //   encryptedContentInfo, unprotectedAttrs [1] IMPLICIT OPTIONAL }
  // AuthEnvelopedData ::= SEQUENCE { version, originatorInfo [0] OPTIONAL, recipientInfos, authEncryptedContentInfo,
  //   authAttrs [1] OPTIONAL, mac OCTET STRING, unauthAttrs [2] OPTIONAL }
  const version = smallInteger(small(input, fields[next++], 'version'), 'version', 0, 4);
  if (isContext(fields[next], 0)) next++; // originatorInfo: certificates and CRLs we do not need
  const set = fields[next++];
  if (!isUniversal(set, 17) || !set.constructed) throw new BerError('recipientInfos: expected SET');
  const recipients = children(set, 'recipientInfos', MAX_RECIPIENT_INFOS).map((tlv) =>
    recipientInfo(small(input, tlv, 'RecipientInfo')),
  );
  if (recipients.length === 0) throw new BerError('recipientInfos: empty');

  // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OPTIONAL }
  const eci = fields[next++];
  if (!isUniversal(eci, 16) || !eci.constructed) throw new BerError('EncryptedContentInfo: expected SEQUENCE');
  const [innerType, algorithm, encrypted, ...extra] = children(eci, 'EncryptedContentInfo', 3);
  if (extra.length > 0) throw new BerError('EncryptedContentInfo: too many fields');
  oid(small(input, innerType, 'EncryptedContentInfo contentType'), 'EncryptedContentInfo contentType');
  const contentAlgorithm = parseContentAlgorithm(small(input, algorithm, 'contentEncryptionAlgorithm'));
  let encryptedContent: Tlv | undefined;
  let encryptedContentLength = 0;
  if (encrypted) {
    if (!isContext(encrypted, 0)) throw new BerError('encryptedContent: expected [0]');
    encryptedContentLength = octetStringLength(encrypted, 'encryptedContent');
    if (encryptedContentLength > MAX_ENCRYPTED_CONTENT_BYTES)
      throw new BerError('encryptedContent: too large', { limit: true });
    encryptedContent = encrypted;
  }

  let aad: Uint8Array | undefined;
  let mac: Uint8Array | undefined;
  if (format === 'enveloped') {
    if (isContext(fields[next], 1)) next++; // unprotectedAttrs: nothing in them changes how we decrypt
  } else {
    if (isContext(fields[next], 1)) {
      const attrs = fields[next++]!;
      if (!attrs.constructed) throw new BerError('authAttrs: expected constructed [1]');
      aad = authAttributesAad(input, attrs);
      small(input, attrs, 'authAttrs'); // must be well-formed BER
    }
    const macTlv = fields[next++];
    if (!isUniversal(macTlv, 4)) throw new BerError('mac: expected OCTET STRING');
    mac = ownedOctets(small(input, macTlv, 'mac'), 'mac');
    if (isContext(fields[next], 2)) next++; // unauthAttrs
  }
  if (next !== fields.length) throw new BerError('EnvelopedData: unexpected field');
  return { format, version, recipients, contentAlgorithm, encryptedContent, encryptedContentLength, aad, mac, input };
}

/**
 * The encrypted content as the segments it was sent in, views of the message (issue 16): a chunked BER string (1 KiB
 * or 4 KiB chunks from streaming writers) is decrypted segment after segment instead of being joined into a copy. Its
 * size was checked when the envelope was read.
 */
export function encryptedContentSegments(envelope: ParsedEnvelope): Uint8Array[] {
  if (!envelope.encryptedContent) return [];
  return octetSegments(envelope.encryptedContent, 'encryptedContent', 0);
}

/** The content type is CMS but not one this module reads (signed data, compressed data, ...). */
export class UnsupportedContentType extends Error {
  readonly contentType: string;

  constructor(contentType: string) {
    super(`content type ${contentType} is not enveloped data`);
    this.name = 'UnsupportedContentType';
    this.contentType = contentType;
  }
}
