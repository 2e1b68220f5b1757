// OCSP (RFC 6960) requests and responses, and X.509 CRLs (RFC 5280 section 5), as structures: building the
// request, reading the response and the CRL. Deciding whether to believe them (signatures, responder authorisation,
// freshness) is revocation.ts.

import * as ber from '../asn1/reader.ts';
import * as w from '../asn1/writer.ts';
import { digest } from '../crypto/signature-algorithms.ts';
import type { CertificateFacts } from './certificate.ts';
import {
  type HashName,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_CRL_NUMBER,
  OID_CRL_REASON,
  OID_DELTA_CRL_INDICATOR,
  OID_ISSUING_DISTRIBUTION_POINT,
  OID_OCSP_BASIC,
  OID_OCSP_NONCE,
  OID_SHA1,
  OID_SHA256,
  OID_SHA384,
  OID_SHA512,
} from '../asn1/oids.ts';

const HASH_OIDS: Readonly<Record<string, HashName>> = {
  [OID_SHA1]: 'sha1',
  [OID_SHA256]: 'sha256',
  [OID_SHA384]: 'sha384',
  [OID_SHA512]: 'sha512',
};

/** RFC 6960 section 4.1.1 CertID: hashes of the issuer's name and key, and the serial. */
export interface CertId {
  hash: HashName;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  serial: Uint8Array;
}

export function certIdFor(cert: CertificateFacts, issuer: CertificateFacts, hash: HashName = 'sha1'): CertId {
  // issuerNameHash is over the issuer's subject as the certificate names it; issuerKeyHash over the BIT STRING value
  // of the issuer's subjectPublicKey (without tag, length and unused-bits octet).
  return {
    hash,
    issuerNameHash: digest(hash, cert.issuer),
    issuerKeyHash: digest(hash, issuer.publicKeyBits),
    serial: cert.serial,
  };
}

function sameCertId(a: CertId, b: CertId): boolean {
  return (
    a.hash === b.hash &&
    Buffer.compare(a.issuerNameHash, b.issuerNameHash) === 0 &&
    Buffer.compare(a.issuerKeyHash, b.issuerKeyHash) === 0 &&
    Buffer.compare(a.serial, b.serial) === 0
  );
}

/**
 * OCSPRequest for one certificate, with a nonce (RFC 8954: 1 to 32 octets). CertID uses SHA-1, the hash every
 * responder supports (RFC 5019 section 2.1.1 requires it of lightweight responders).
 */
export function buildOcspRequest(id: CertId, nonce?: Uint8Array): Uint8Array {
  if (id.hash !== 'sha1') throw new ber.BerError('requests are built with SHA-1 CertIDs');
  const certId = w.sequence(
    w.algorithm(OID_SHA1, w.NULL),
    w.octetString(id.issuerNameHash),
    w.octetString(id.issuerKeyHash),
    w.integerFromContent(id.serial),
  );
  // TBSRequest ::= SEQUENCE { version [0] DEFAULT v1, requestorName [1] OPTIONAL, requestList SEQUENCE OF Request,
  //   requestExtensions [2] EXPLICIT Extensions OPTIONAL }
  const requestList = w.sequence(w.sequence(certId));
  if (!nonce) return w.toBytes(w.sequence(w.sequence(requestList)));
  const nonceExtension = w.sequence(w.objectIdentifier(OID_OCSP_NONCE), w.octetString(w.toBytes(w.octetString(nonce))));
  return w.toBytes(w.sequence(w.sequence(requestList, w.explicit(2, w.sequence(nonceExtension)))));
}

export interface SingleResponse {
  certId: CertId;
  status: 'good' | 'revoked' | 'unknown';
  revokedAt?: Date;
  revocationReason?: number;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface BasicResponse {
  /** Exact bytes of ResponseData (what the responder signed). */
  tbs: Uint8Array;
  signatureAlgorithm: { oid: string; params: ber.Tlv | undefined };
  signature: Uint8Array;
  responderId: { byName: Uint8Array } | { byKey: Uint8Array };
  producedAt: Date;
  responses: SingleResponse[];
  nonce?: Uint8Array;
  certificates: Uint8Array[];
}

/** The OCSPResponse status names of RFC 6960 section 4.2.1. */
const RESPONSE_STATUS = [
  'successful',
  'malformedRequest',
  'internalError',
  'tryLater',
  '(4)',
  'sigRequired',
  'unauthorized',
];

export class OcspStatusError extends Error {}

function extensions(node: ber.Tlv): { oid: string; critical: boolean; value: Uint8Array }[] {
  return ber.sequence(node, 'Extensions').map((e) => {
    const f = ber.sequence(e, 'Extension');
    if (f.length < 2 || f.length > 3) throw new ber.BerError('Extension: bad field count');
    return {
      oid: ber.oid(f[0], 'extnID'),
      critical: f.length === 3 ? ber.boolean(f[1], 'critical') : false,
      value: ber.octets(f[f.length - 1], 'extnValue'),
    };
  });
}

function certId(node: ber.Tlv | undefined): CertId | undefined {
  const [alg, nameHash, keyHash, serial] = ber.sequence(node, 'CertID');
  const hash = HASH_OIDS[ber.algorithm(alg, 'hashAlgorithm').oid];
  const id = {
    issuerNameHash: ber.octets(nameHash, 'issuerNameHash'),
    issuerKeyHash: ber.octets(keyHash, 'issuerKeyHash'),
    serial: ber.integerBytes(serial, 'serialNumber'),
  };
  return hash ? { hash, ...id } : undefined;
}

function singleResponse(node: ber.Tlv): SingleResponse | undefined {
  const f = ber.sequence(node, 'SingleResponse');
  const id = certId(f[0]);
  const s = f[1];
  let status: SingleResponse['status'];
  let revokedAt: Date | undefined;
  let revocationReason: number | undefined;
  if (ber.isContext(s, 0)) status = 'good';
  else if (ber.isContext(s, 1)) {
    status = 'revoked';
    // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL },
    // here [1] IMPLICIT, so the [1] holds the fields directly.
    const fields = readSequenceContent(s);
    revokedAt = ber.time(fields[0], 'revocationTime');
    if (ber.isContext(fields[1], 0)) revocationReason = enumerated(ber.explicit(fields[1], 0, 'revocationReason'));
  } else if (ber.isContext(s, 2)) status = 'unknown';
  else throw new ber.BerError('CertStatus: unexpected choice');
  const thisUpdate = ber.time(f[2], 'thisUpdate');
  let nextUpdate: Date | undefined;
  for (const extra of f.slice(3)) {
    if (ber.isContext(extra, 0)) nextUpdate = ber.time(ber.explicit(extra, 0, 'nextUpdate'), 'nextUpdate');
    else if (ber.isContext(extra, 1)) {
      for (const e of extensions(ber.explicit(extra, 1, 'singleExtensions')))
        if (e.critical) throw new ber.BerError(`unsupported critical extension ${e.oid}`);
    } else throw new ber.BerError('SingleResponse: unexpected field');
  }
  if (!id) return undefined; // a CertID hashed with something we do not know: not about our certificate
  return {
    certId: id,
    status,
    ...(revokedAt ? { revokedAt } : {}),
    ...(revocationReason !== undefined ? { revocationReason } : {}),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
  };
}

function readSequenceContent(t: ber.Tlv): ber.Tlv[] {
  if (!t.constructed) throw new ber.BerError('expected constructed');
  const out: ber.Tlv[] = [];
  for (let p = t.contentStart; p < t.contentEnd;) {
    const c = ber.readTlv(t.bytes, p, t.contentEnd, t.depth + 1);
    out.push(c);
    p = c.end;
  }
  return out;
}

function enumerated(t: ber.Tlv): number {
  if (!ber.isUniversal(t, ber.UNIVERSAL.ENUMERATED)) throw new ber.BerError('expected ENUMERATED');
  const b = ber.content(t);
  if (b.length !== 1) throw new ber.BerError('ENUMERATED out of range');
  return b[0]!;
}

/**
 * Reads an OCSPResponse. Throws OcspStatusError for a non-successful responseStatus, ber.BerError for anything malformed
 * or not a basic response.
 */
export function parseOcspResponse(bytes: Uint8Array): BasicResponse {
  const outer = ber.sequence(ber.readOne(bytes, 'OCSPResponse'), 'OCSPResponse');
  const status = enumerated(outer[0]!);
  if (status !== 0) throw new OcspStatusError(`responder answered ${RESPONSE_STATUS[status] ?? status}`);
  const [type, response] = ber.sequence(ber.explicit(outer[1], 0, 'responseBytes'), 'ResponseBytes');
  if (ber.oid(type, 'responseType') !== OID_OCSP_BASIC) throw new ber.BerError('not a basic OCSP response');
  const basicBytes = ber.octets(response, 'response');
  const [tbsNode, sigAlg, sig, certsNode] = ber.sequence(
    ber.readOne(basicBytes, 'BasicOCSPResponse'),
    'BasicOCSPResponse',
  );
  const tbs = ber.sequence(tbsNode, 'ResponseData');
  let i = 0;
  if (ber.isContext(tbs[0], 0)) {
    if (ber.smallInteger(ber.explicit(tbs[i++], 0, 'version'), 'version', 0, 0) !== 0)
      throw new ber.BerError('unsupported version');
  }
  const rid = tbs[i++];
  let responderId: BasicResponse['responderId'];
  if (ber.isContext(rid, 1)) responderId = { byName: ber.encoding(ber.explicit(rid, 1, 'byName')) };
  else if (ber.isContext(rid, 2)) responderId = { byKey: ber.octets(ber.explicit(rid, 2, 'byKey'), 'KeyHash') };
  else throw new ber.BerError('ResponderID: unexpected choice');
  const producedAt = ber.time(tbs[i++], 'producedAt');
  const responses = ber
    .sequence(tbs[i++], 'responses')
    .map(singleResponse)
    .filter((r): r is SingleResponse => r !== undefined);
  let nonce: Uint8Array | undefined;
  if (ber.isContext(tbs[i], 1)) {
    for (const e of extensions(ber.explicit(tbs[i++], 1, 'responseExtensions'))) {
      if (e.oid === OID_OCSP_NONCE) nonce = e.value;
      else if (e.critical) throw new ber.BerError(`unsupported critical extension ${e.oid}`);
    }
  }
  if (i !== tbs.length) throw new ber.BerError('ResponseData: unexpected fields');
  const certificates = certsNode ? ber.sequence(ber.explicit(certsNode, 0, 'certs'), 'certs').map(ber.encoding) : [];
  return {
    tbs: ber.encoding(tbsNode!),
    signatureAlgorithm: ber.algorithm(sigAlg, 'signatureAlgorithm'),
    signature: ber.byteBitString(sig, 'signature'),
    responderId,
    producedAt,
    responses,
    ...(nonce ? { nonce } : {}),
    certificates,
  };
}

/** The SingleResponse about `cert`, whatever hash the responder used for its CertID. */
export function findResponse(
  response: BasicResponse,
  cert: CertificateFacts,
  issuer: CertificateFacts,
): SingleResponse | undefined {
  return response.responses.find((r) => sameCertId(r.certId, certIdFor(cert, issuer, r.certId.hash)));
}

/** The nonce as our request encoded it (extnValue = DER OCTET STRING of the nonce), for comparison. */
export function encodedNonce(nonce: Uint8Array): Uint8Array {
  return w.toBytes(w.octetString(nonce));
}

// ---- CRLs -------------------------------------------------------------------------------------------------------

export interface Crl {
  tbs: Uint8Array;
  signatureAlgorithm: { oid: string; params: ber.Tlv | undefined };
  signature: Uint8Array;
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Scope limits from issuingDistributionPoint (RFC 5280 section 5.2.5). */
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
  /** The revoked entries, scanned lazily. */
  revokedCertificates?: ber.Tlv;
}

/** Reads a CertificateList. Delta CRLs and partitioned or indirect CRLs are refused (ber.BerError). */
export function parseCrl(bytes: Uint8Array): Crl {
  const [tbsNode, sigAlg, sig, ...rest] = ber.sequence(ber.readOne(bytes, 'CertificateList'), 'CertificateList');
  if (rest.length) throw new ber.BerError('CertificateList: too many fields');
  const f = ber.sequence(tbsNode, 'TBSCertList');
  let i = 0;
  if (ber.isUniversal(f[0], ber.UNIVERSAL.INTEGER)) ber.smallInteger(f[i++], 'version', 1, 1);
  const innerAlg = f[i++];
  if (!innerAlg || Buffer.compare(ber.encoding(innerAlg), ber.encoding(sigAlg!)) !== 0)
    throw new ber.BerError('CRL signature algorithm mismatch');
  const issuer = f[i++];
  ber.sequence(issuer, 'issuer');
  const thisUpdate = ber.time(f[i++], 'thisUpdate');
  let nextUpdate: Date | undefined;
  if (f[i] && (ber.isUniversal(f[i], ber.UNIVERSAL.UTC_TIME) || ber.isUniversal(f[i], ber.UNIVERSAL.GENERALIZED_TIME)))
    nextUpdate = ber.time(f[i++], 'nextUpdate');
  let revokedCertificates: ber.Tlv | undefined;
  if (ber.isUniversal(f[i], ber.UNIVERSAL.SEQUENCE)) revokedCertificates = f[i++];
  let onlyUserCerts = false;
  let onlyCaCerts = false;
  if (ber.isContext(f[i], 0)) {
    for (const e of extensions(ber.explicit(f[i++], 0, 'crlExtensions'))) {
      if (e.oid === OID_DELTA_CRL_INDICATOR) throw new ber.BerError('delta CRLs are not supported');
      if (e.oid === OID_ISSUING_DISTRIBUTION_POINT) {
        // IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] OPTIONAL, onlyContainsUserCerts [1] BOOLEAN,
        //   onlyContainsCACerts [2] BOOLEAN, onlySomeReasons [3], indirectCRL [4] BOOLEAN, onlyContainsAttributeCerts [5] }
        for (const field of ber.sequence(
          ber.readOne(e.value, 'issuingDistributionPoint'),
          'issuingDistributionPoint',
        )) {
          const flag = () => !field.constructed && ber.content(field).length === 1 && ber.content(field)[0] !== 0;
          if (ber.isContext(field, 1)) onlyUserCerts = flag();
          else if (ber.isContext(field, 2)) onlyCaCerts = flag();
          else if (ber.isContext(field, 3))
            throw new ber.BerError('partitioned CRLs (onlySomeReasons) are not supported');
          else if (ber.isContext(field, 4) && flag()) throw new ber.BerError('indirect CRLs are not supported');
          else if (ber.isContext(field, 5) && flag()) throw new ber.BerError('attribute-certificate CRL');
        }
      } else if (e.critical && e.oid !== OID_AUTHORITY_KEY_IDENTIFIER && e.oid !== OID_CRL_NUMBER) {
        throw new ber.BerError(`unsupported critical CRL extension ${e.oid}`);
      }
    }
  }
  if (i !== f.length) throw new ber.BerError('TBSCertList: unexpected fields');
  return {
    tbs: ber.encoding(tbsNode!),
    signatureAlgorithm: ber.algorithm(sigAlg, 'signatureAlgorithm'),
    signature: ber.byteBitString(sig, 'signatureValue'),
    issuer: ber.encoding(issuer!),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    onlyUserCerts,
    onlyCaCerts,
    ...(revokedCertificates ? { revokedCertificates } : {}),
  };
}

/** The entry for `serial`, scanning the list without building it (a big CA's CRL has 10^5 entries). */
export function crlEntry(crl: Crl, serial: Uint8Array): { revokedAt: Date; reason?: number } | undefined {
  const list = crl.revokedCertificates;
  if (!list) return undefined;
  for (let p = list.contentStart; p < list.contentEnd;) {
    const entry = ber.readTlv(list.bytes, p, list.contentEnd, list.depth + 1);
    p = entry.end;
    // SEQUENCE { userCertificate CertificateSerialNumber, revocationDate Time, crlEntryExtensions Extensions OPTIONAL }
    const first = ber.readTlv(entry.bytes, entry.contentStart, entry.contentEnd, entry.depth + 1);
    if (Buffer.compare(ber.integerBytes(first, 'userCertificate'), serial) !== 0) continue;
    const fields = ber.sequence(entry, 'revokedCertificate');
    const revokedAt = ber.time(fields[1], 'revocationDate');
    let reason: number | undefined;
    if (fields[2]) {
      for (const e of extensions(fields[2])) {
        if (e.oid === OID_CRL_REASON) reason = enumerated(ber.readOne(e.value, 'reasonCode'));
        else if (e.critical) throw new ber.BerError(`unsupported critical CRL entry extension ${e.oid}`);
      }
    }
    return reason === undefined ? { revokedAt } : { revokedAt, reason };
  }
  return undefined;
}
