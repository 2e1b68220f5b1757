// The SignedData structure (RFC 5652 section 5) read in place. The envelope is walked with the offset reader so
// a 25 MB eContent is never copied into an ASN.1 tree: it comes out as views of its segments (one for DER, many for
// BER-chunked content) that the verifier hashes in order. Each SignerInfo is parsed on its own, so one damaged
// SignerInfo does not hide the others.

import {
  algorithm,
  BerError,
  children,
  CLASS,
  encoding,
  expect,
  explicit,
  integerBytes,
  isContext,
  isUniversal,
  octets,
  octetSegments,
  oid,
  readOne,
  readTlv,
  sequence,
  setOf,
  smallInteger,
  UNIVERSAL,
  type Tlv,
} from '../../asn1/reader.ts';
import {
  MAX_MESSAGE_CERTIFICATES,
  MAX_SIGNED_ATTRIBUTES,
  MAX_SIGNED_ATTRIBUTES_BYTES,
  MAX_SIGNER_INFOS,
} from '../../limits.ts';
import { OID_SIGNED_DATA } from '../../asn1/oids.ts';

export interface Attribute {
  oid: string;
  values: Tlv[];
}

export type SignerIdentifier =
  { kind: 'issuer-serial'; issuer: Uint8Array; serial: Uint8Array } | { kind: 'key-id'; keyId: Uint8Array };

export interface SignerInfoParts {
  version: number;
  sid: SignerIdentifier;
  digestAlgorithm: { oid: string; params: Tlv | undefined };
  /** The [0] IMPLICIT SET OF Attribute as received, and its attributes. */
  signedAttrs?: { node: Tlv; attributes: Attribute[] };
  signatureAlgorithm: { oid: string; params: Tlv | undefined };
  signature: Uint8Array;
}

export interface SignedDataParts {
  version: number;
  eContentType: string;
  /** eContent as views of its segments, if present (absent = detached). */
  eContent?: Uint8Array[];
  /** DER of each X.509 certificate in `certificates` (other CertificateChoices are skipped). */
  certificates: Uint8Array[];
  signerInfos: ({ ok: true; value: SignerInfoParts } | { ok: false; error: string })[];
}

/** Reads ContentInfo and returns the SignedData node. Throws BerError when `bytes` is not a signed-data ContentInfo. */
export function signedDataNode(bytes: Uint8Array): Tlv {
  // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY DEFINED BY contentType }
  const info = sequence(readOne(bytes, 'ContentInfo'), 'ContentInfo');
  const type = oid(info[0], 'contentType');
  if (type !== OID_SIGNED_DATA) throw new BerError(`ContentInfo holds ${type}, not signed-data`);
  if (info.length !== 2) throw new BerError('ContentInfo: expected contentType and content');
  return explicit(info[1], 0, 'content');
}

function attributes(node: Tlv): Attribute[] {
  if (node.end - node.start > MAX_SIGNED_ATTRIBUTES_BYTES)
    throw new BerError('signed attributes too large', { limit: true });
  const list = children(node);
  if (list.length === 0) throw new BerError('signedAttrs: empty (RFC 5652 section 5.3: SIZE (1..MAX))');
  if (list.length > MAX_SIGNED_ATTRIBUTES) throw new BerError('too many signed attributes', { limit: true });
  return list.map((a) => {
    // Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }
    const [type, values, ...rest] = sequence(a, 'Attribute');
    if (rest.length) throw new BerError('Attribute: too many fields');
    return { oid: oid(type, 'attrType'), values: setOf(values, 'attrValues') };
  });
}

function signerInfo(node: Tlv): SignerInfoParts {
  // SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL, signatureAlgorithm,
  //   signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL }
  const f = sequence(node, 'SignerInfo');
  let i = 0;
  const version = smallInteger(f[i++], 'SignerInfo version', 0, 255);
  const sidNode = f[i++];
  let sid: SignerIdentifier;
  if (isUniversal(sidNode, UNIVERSAL.SEQUENCE)) {
    // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
    const [issuer, serial, ...rest] = sequence(sidNode, 'IssuerAndSerialNumber');
    if (rest.length) throw new BerError('IssuerAndSerialNumber: too many fields');
    sequence(issuer, 'issuer');
    sid = { kind: 'issuer-serial', issuer: encoding(issuer!), serial: integerBytes(serial, 'serialNumber') };
  } else if (isContext(sidNode, 0)) {
    sid = { kind: 'key-id', keyId: octets(sidNode, 'subjectKeyIdentifier', 0) };
  } else throw new BerError('SignerIdentifier: neither issuerAndSerialNumber nor subjectKeyIdentifier');
  const digestAlgorithm = algorithm(f[i++], 'digestAlgorithm');
  let signedAttrs: SignerInfoParts['signedAttrs'];
  if (isContext(f[i], 0)) {
    const n = f[i++]!;
    if (!n.constructed) throw new BerError('signedAttrs: not constructed');
    signedAttrs = { node: n, attributes: attributes(n) };
  }
  const signatureAlgorithm = algorithm(f[i++], 'signatureAlgorithm');
  const signature = octets(f[i++], 'signature');
  if (isContext(f[i], 1)) i++;
  if (i !== f.length) throw new BerError('SignerInfo: unexpected fields');
  return { version, sid, digestAlgorithm, ...(signedAttrs ? { signedAttrs } : {}), signatureAlgorithm, signature };
}

/** Reads the SignedData at `node` (from signedDataNode). Throws BerError when its envelope is unreadable. */
export function signedDataParts(node: Tlv): SignedDataParts {
  // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, certificates [0] IMPLICIT OPTIONAL,
  //   crls [1] IMPLICIT OPTIONAL, signerInfos SET OF SignerInfo }
  const f = sequence(node, 'SignedData');
  let i = 0;
  const version = smallInteger(f[i++], 'SignedData version', 0, 255);
  // RFC 5652 section 5.1: 1, 3, 4 or 5 (PKCS#7 1.5 writes 1).
  if (![1, 3, 4, 5].includes(version)) throw new BerError(`SignedData version ${version} is not defined`);
  // digestAlgorithms only helps one-pass processors; each SignerInfo names its own. Its shape is still checked.
  for (const alg of setOf(f[i++], 'digestAlgorithms')) algorithm(alg, 'digestAlgorithm');
  // EncapsulatedContentInfo ::= SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING OPTIONAL }
  const encap = sequence(f[i++], 'encapContentInfo');
  const eContentType = oid(encap[0], 'eContentType');
  let eContent: Uint8Array[] | undefined;
  if (encap.length > 1) {
    if (encap.length > 2) throw new BerError('encapContentInfo: too many fields');
    eContent = octetSegments(explicit(encap[1], 0, 'eContent'), 'eContent');
  }
  const certificates: Uint8Array[] = [];
  if (isContext(f[i], 0)) {
    const set = f[i++]!;
    if (!set.constructed) throw new BerError('certificates: not constructed');
    // Walked one element at a time so a crafted set of a million tiny entries stops at the limit.
    let p = set.contentStart;
    while (p < set.contentEnd) {
      const choice = readTlv(set.bytes, p, set.contentEnd, set.depth + 1);
      p = choice.end;
      // CertificateChoices: certificate is a plain SEQUENCE; extendedCertificate [0], attribute certificates [1] [2]
      // and other [3] are not X.509 certificates and are not used.
      if (choice.cls === CLASS.UNIVERSAL && choice.tag === UNIVERSAL.SEQUENCE) {
        if (certificates.length >= MAX_MESSAGE_CERTIFICATES)
          throw new BerError('too many certificates', { limit: true });
        certificates.push(encoding(choice));
      }
    }
  }
  if (isContext(f[i], 1)) i++; // crls: revocation data a sender chose to include; we fetch our own
  const signerSet = expect(f[i++], UNIVERSAL.SET, 'signerInfos');
  if (i !== f.length) throw new BerError('SignedData: unexpected fields');
  const signerInfos: SignedDataParts['signerInfos'] = [];
  let p = signerSet.contentStart;
  while (p < signerSet.contentEnd) {
    if (signerInfos.length >= MAX_SIGNER_INFOS) throw new BerError('too many SignerInfos', { limit: true });
    const si = readTlv(signerSet.bytes, p, signerSet.contentEnd, signerSet.depth + 1);
    p = si.end;
    try {
      signerInfos.push({ ok: true, value: signerInfo(si) });
    } catch (e) {
      if (!(e instanceof BerError)) throw e;
      signerInfos.push({ ok: false, error: e.message });
    }
  }
  return { version, eContentType, ...(eContent ? { eContent } : {}), certificates, signerInfos };
}
