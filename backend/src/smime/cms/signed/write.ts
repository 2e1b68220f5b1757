// SignerInfo, SignedData and the ContentInfo around them (RFC 5652 sections 3, 5.1, 5.3), written as DER.

import { digestAlgorithm, type DigestName } from './algorithms.ts';
import { issuerAndSerialNumber, type IssuerAndSerial } from './attributes.ts';
import {
  contextTag,
  encoded,
  explicit,
  integer,
  objectIdentifier,
  octetString,
  sequence,
  setOf,
  TAG,
  tlv,
  type Der,
} from '../../asn1/writer.ts';
import { OID_DATA, OID_SIGNED_DATA } from '../../asn1/oids.ts';

export interface SignerInfoInput {
  sid: IssuerAndSerial;
  digest: DigestName;
  /** The signed attributes exactly as signed: DER of the SET OF (universal tag 0x31). */
  signedAttributes: Uint8Array;
  signatureAlgorithm: Der;
  signature: Uint8Array;
}

/**
 * SignerInfo ::= SEQUENCE { version 1, sid IssuerAndSerialNumber, digestAlgorithm, signedAttrs [0] IMPLICIT,
 * signatureAlgorithm, signature OCTET STRING } (RFC 5652 section 5.3: version 1 goes with issuerAndSerialNumber).
 * The [0] field reuses the signed bytes with only the tag octet changed, so what is in the message is exactly what
 * was signed.
 */
export function signerInfo(input: SignerInfoInput): Der {
  if (input.signedAttributes[0] !== 0x31) throw new RangeError('signed attributes must be a DER SET');
  const attrs = Uint8Array.from(input.signedAttributes);
  attrs[0] = contextTag(0); // signedAttrs [0] IMPLICIT inside the SignerInfo
  return sequence(
    integer(1),
    issuerAndSerialNumber(input.sid),
    digestAlgorithm(input.digest),
    encoded(attrs),
    input.signatureAlgorithm,
    octetString(input.signature),
  );
}

export interface SignedDataInput {
  digest: DigestName;
  signerInfo: Der;
  /** DER certificates to carry (signer first is customary; DER sorts them anyway). */
  certificates: readonly Uint8Array[];
  /** The content, in pieces joined in order, for an opaque (encapsulated) signature; undefined for a detached one. */
  content?: readonly Uint8Array[];
}

/**
 * ContentInfo { id-signedData, [0] EXPLICIT SignedData }, where SignedData ::= SEQUENCE { version 1, digestAlgorithms
 * SET OF, encapContentInfo, certificates [0] IMPLICIT, signerInfos SET OF }. Version 1: no attribute or other
 * certificates, SignerInfos of version 1, eContentType id-data (RFC 5652 section 5.1).
 *
 * The DER is returned as pieces, joined once by the caller (toBytes, or written straight into a message as base64).
 * For opaque output the eContent OCTET STRING is header octets plus the caller's pieces: the content is hashed
 * elsewhere (node:crypto) and is copied only by that one join. Encoding it through asn1js instead would build
 * a 25 MB OctetString object, copy it into the tree and again into the output, for bytes that need no encoding at all.
 */
export function signedDataContentInfoDer(input: SignedDataInput): Der {
  const encapContentInfo =
    input.content === undefined
      ? sequence(objectIdentifier(OID_DATA))
      : sequence(objectIdentifier(OID_DATA), explicit(0, tlv(TAG.OCTET_STRING, input.content.map(encoded))));
  const signedData = sequence(
    integer(1),
    setOf([digestAlgorithm(input.digest)]),
    encapContentInfo,
    // certificates [0] IMPLICIT CertificateSet, a SET OF: DER order (X.690 section 11.6). Verifiers find the signer by
    // sid, not by position.
    setOf(input.certificates.map(encoded), contextTag(0)),
    setOf([input.signerInfo]),
  );
  return sequence(objectIdentifier(OID_SIGNED_DATA), explicit(0, signedData));
}
