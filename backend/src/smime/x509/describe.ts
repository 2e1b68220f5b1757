// A readable description of an X.509 certificate (RFC 5280) for the key list and the import dialog (PEM is
// pem.ts). This describes; it does not validate (no signature, chain or revocation checks happen here).
// Every failure is SmimeError CERT_MALFORMED.

import { createHash } from 'node:crypto';
import { SmimeError } from '../errors.ts';
import { tryCanonicalAddress } from '../mime/address.ts';
import {
  algorithm as algorithmIdentifier,
  BerError,
  bitString,
  isUniversal,
  oid,
  positiveBitLength,
  readTree,
  sequence,
  time,
  type Tlv,
  UNIVERSAL,
} from '../asn1/reader.ts';
import { MAX_P12_BYTES } from '../limits.ts';
import {
  NAMED_CURVES,
  OID_EC_PUBLIC_KEY,
  OID_DSA,
  OID_ED25519,
  OID_ED448,
  OID_EMAIL_ADDRESS,
  OID_RSA_ENCRYPTION,
  OID_RSASSA_PSS,
  OID_X25519,
  OID_X448,
} from '../asn1/oids.ts';
import { certificateParts } from './raw.ts';
import { describeExtensions } from './extensions.ts';
import { formatName, nameAttributes } from './name.ts';
import type { CertificateFacts } from './certificate.ts';

export type KeyAlgorithmName = 'RSA' | 'EC' | 'Ed25519' | 'X25519' | 'Ed448' | 'X448' | 'DSA' | 'other';

/** RFC 8410 section 3, RFC 3279 section 2.3.2: key algorithms known by OID alone, with their size in bits. */
const NAMED_KEY_ALGORITHMS: Readonly<Record<string, { name: KeyAlgorithmName; bits: number }>> = {
  [OID_ED25519]: { name: 'Ed25519', bits: 256 },
  [OID_X25519]: { name: 'X25519', bits: 256 },
  [OID_ED448]: { name: 'Ed448', bits: 448 },
  [OID_X448]: { name: 'X448', bits: 448 },
  [OID_DSA]: { name: 'DSA', bits: 0 },
};

export interface CertificateInfo {
  /** RFC 4514 string (last RDN first), e.g. "CN=Alice,E=Alice@example.com,O=Example". */
  subject: string;
  issuer: string;
  /** Hex, lowercase, whole bytes without a leading sign byte (serial 30 is "1e", serial 128 is "80"). */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** Lowercase, deduplicated: subjectAltName rfc822Name entries first, then subject emailAddress attributes. */
  emails: string[];
  /**
   * Lowercase, deduplicated: the subjectAltName rfc822Name entries alone. A CA vouches for these (RFC 5280 section
   * 4.2.1.6); the emailAddress attribute of the subject DN is legacy (RFC 8550 section 3) and often copied from the
   * request unchecked, so directory resolution (issue 12) accepts only these.
   */
  subjectAltNameEmails: string[];
  /** RFC 5280 KeyUsage bit names, e.g. ['digitalSignature', 'keyEncipherment']; [] if the extension is absent. */
  keyUsage: string[];
  /** Names for known key purposes ('emailProtection', 'clientAuth', ...), else the dotted OID; [] if absent. */
  extendedKeyUsage: string[];
  /** The key's type, named so that a refusal can say which (usable.ts ownKeyUnsupportedReason). */
  keyAlgorithm: KeyAlgorithmName;
  /** RSA modulus bits, EC curve bits, 256 for Ed25519 and X25519, 448 for Ed448 and X448, 0 when unknown. */
  keySize: number;
  /** EC only: 'P-256', 'P-384', ... or the curve OID. */
  namedCurve?: string;
  /** Lowercase hex SHA-256 of the DER. */
  fingerprintSha256: string;
  /** basicConstraints cA. */
  isCA: boolean;
  /** Subject and issuer are the same Name (by DER). Says nothing about the signature. */
  selfSigned: boolean;
}

/** A certificate is at most a few KiB; anything beyond the PKCS#12 limit is not one worth describing. */
const MAX_CERTIFICATE_BYTES = MAX_P12_BYTES;

function serialHex(value: bigint): string {
  const negative = value < 0n;
  let text = (negative ? -value : value).toString(16);
  if (text.length % 2 === 1) text = `0${text}`;
  // RFC 5280 section 4.1.2.2 requires positive serials, but non-conforming negative ones exist.
  return negative ? `-${text}` : text;
}

function publicKeyInfo(spki: Tlv): Pick<CertificateInfo, 'keyAlgorithm' | 'keySize' | 'namedCurve'> {
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
  const [algorithm, key] = sequence(spki, 'subjectPublicKeyInfo');
  const { oid: algorithmOid, params } = algorithmIdentifier(algorithm, 'subjectPublicKeyInfo algorithm');
  const { bytes: keyBytes } = bitString(key, 'subjectPublicKey');
  if (algorithmOid === OID_RSA_ENCRYPTION || algorithmOid === OID_RSASSA_PSS) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 appendix A.1.1)
    const [modulus] = sequence(readTree(keyBytes, 'RSAPublicKey'), 'RSAPublicKey');
    return { keyAlgorithm: 'RSA', keySize: positiveBitLength(modulus, 'RSA modulus') };
  }
  if (algorithmOid === OID_EC_PUBLIC_KEY) {
    // ECParameters ::= CHOICE { namedCurve OBJECT IDENTIFIER, ... } (RFC 5480 section 2.1.1)
    if (params && isUniversal(params, UNIVERSAL.OID)) {
      const curveOid = oid(params, 'namedCurve');
      const curve = NAMED_CURVES[curveOid];
      return { keyAlgorithm: 'EC', keySize: curve?.bits ?? 0, namedCurve: curve?.name ?? curveOid };
    }
    return { keyAlgorithm: 'EC', keySize: 0 };
  }
  const named = NAMED_KEY_ALGORITHMS[algorithmOid];
  return named ? { keyAlgorithm: named.name, keySize: named.bits } : { keyAlgorithm: 'other', keySize: 0 };
}

/** Describes a DER certificate. Throws SmimeError CERT_MALFORMED if it is not one. */
export function describeCertificate(der: Uint8Array): CertificateInfo {
  if (!(der instanceof Uint8Array) || der.length === 0)
    throw new SmimeError('CERT_MALFORMED', 'The certificate is empty');
  if (der.length > MAX_CERTIFICATE_BYTES) throw new SmimeError('CERT_MALFORMED', 'The certificate is too large');
  try {
    const parts = certificateParts(der);
    const validity = sequence(parts.validity, 'validity');
    if (validity.length !== 2) throw new BerError('validity: expected notBefore and notAfter');
    const extensions = describeExtensions(parts.extensions);
    const subjectEmails = nameAttributes(parts.subjectNode, 'subject')
      .flat()
      .filter((a) => a.oid === OID_EMAIL_ADDRESS && a.value !== undefined)
      .map((a) => a.value as string);
    // The canonical spelling (mime/address.ts canonicalAddress), the one every comparison uses; an address that has
    // none (compatibility characters, not an address) stays as written and so equals no one's address (issue 12).
    const normalise = (list: string[]) => [
      ...new Set(list.map((e) => tryCanonicalAddress(e) ?? e.trim()).filter((e) => e !== '')),
    ];
    const emails = normalise([...extensions.sanEmails, ...subjectEmails]);
    return {
      subject: formatName(parts.subjectNode, 'subject'),
      issuer: formatName(parts.issuerNode, 'issuer'),
      serialNumber: serialHex(parts.serialValue),
      notBefore: time(validity[0], 'notBefore'),
      notAfter: time(validity[1], 'notAfter'),
      emails,
      subjectAltNameEmails: normalise(extensions.sanEmails),
      keyUsage: extensions.keyUsage,
      extendedKeyUsage: extensions.extendedKeyUsage,
      ...publicKeyInfo(parts.subjectPublicKeyInfoNode),
      fingerprintSha256: createHash('sha256').update(der).digest('hex'),
      isCA: extensions.isCA,
      selfSigned: Buffer.from(parts.subject).equals(parts.issuer),
    };
  } catch (error) {
    if (error instanceof SmimeError) throw error;
    const detail = error instanceof BerError ? ` (${error.message})` : '';
    throw new SmimeError('CERT_MALFORMED', `The certificate is malformed${detail}`, { cause: error });
  }
}

const descriptions = new WeakMap<CertificateFacts, Readonly<CertificateInfo> | null>();

/**
 * describeCertificate of a certificate already parsed (parsedCertificate), worked out once per certificate object:
 * verification, chain problems and the summaries of a result ask for the same few descriptions again and again. The
 * answer is shared, so it is read-only; undefined when the certificate cannot be described.
 */
export function describeParsed(cert: CertificateFacts): Readonly<CertificateInfo> | undefined {
  let info = descriptions.get(cert);
  if (info === undefined) {
    try {
      info = describeCertificate(cert.der);
    } catch (e) {
      if (!(e instanceof SmimeError)) throw e;
      info = null;
    }
    descriptions.set(cert, info);
  }
  return info ?? undefined;
}
