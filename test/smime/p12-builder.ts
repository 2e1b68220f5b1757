// Builds small PKCS#12 structures for negative and edge-case tests that no exporter will produce on demand
// (several keys, nesting, huge iteration counts, other integrity modes). Unencrypted and, unless asked, without MAC;
// the encrypted items (shroudedKeyBag, encryptedSafe) hold whatever bytes they are given, not a real encryption.

import * as asn1js from 'asn1js';
import { createHmac } from 'node:crypto';
import { bmpPassword, PKCS12_KDF_ID, pkcs12Kdf } from '../../backend/src/smime/pkcs12/kdf.ts';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  crlBag: '1.2.840.113549.1.12.10.1.4',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  sdsiCertificate: '1.2.840.113549.1.9.22.2',
  localKeyId: '1.2.840.113549.1.9.21',
  sha256: '2.16.840.1.101.3.4.2.1',
  pbmac1: '1.2.840.113549.1.5.14',
  encryptedData: '1.2.840.113549.1.7.6',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  pbeWithSHAAnd3KeyTripleDesCbc: '1.2.840.113549.1.12.1.3',
} as const;

type Asn = asn1js.AsnType;

const seq = (...value: Asn[]): asn1js.Sequence => new asn1js.Sequence({ value });
const oid = (value: string): asn1js.ObjectIdentifier => new asn1js.ObjectIdentifier({ value });
const octets = (bytes: Uint8Array): asn1js.OctetString => new asn1js.OctetString({ valueHex: bytes });
const explicit0 = (value: Asn): asn1js.Constructed =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [value] });
const der = (node: Asn): Uint8Array => new Uint8Array(node.toBER(false));

function attributes(localKeyId: Uint8Array | undefined): Asn[] {
  if (!localKeyId) return [];
  return [new asn1js.Set({ value: [seq(oid(OID.localKeyId), new asn1js.Set({ value: [octets(localKeyId)] }))] })];
}

/** A keyBag SafeBag holding PKCS#8 `pkcs8` as is. */
export function keyBag(pkcs8: Uint8Array, localKeyId?: Uint8Array): Asn {
  const parsed = asn1js.fromBER(pkcs8).result;
  return seq(oid(OID.keyBag), explicit0(parsed), ...attributes(localKeyId));
}

/** A certBag SafeBag (x509Certificate unless `certId` says otherwise). */
export function certBag(certificate: Uint8Array, localKeyId?: Uint8Array, certId: string = OID.x509Certificate): Asn {
  return seq(oid(OID.certBag), explicit0(seq(oid(certId), explicit0(octets(certificate)))), ...attributes(localKeyId));
}

/** A bag of a type the reader should skip. */
export function crlBag(): Asn {
  return seq(
    oid(OID.crlBag),
    explicit0(seq(oid('1.2.840.113549.1.9.23.1'), explicit0(octets(new Uint8Array([1, 2, 3]))))),
  );
}

/** A safeContentsBag holding `bags`. */
export function nestedBag(bags: Asn[]): Asn {
  return seq(oid(OID.safeContentsBag), explicit0(seq(...bags)));
}

/** AlgorithmIdentifier of PBES2: PBKDF2 (hmacWithSHA256, `iterations`) and AES-256-CBC. */
export function pbes2Algorithm(iterations: bigint): Asn {
  const pbkdf2 = seq(
    octets(new Uint8Array(8).fill(1)),
    asn1js.Integer.fromBigInt(iterations),
    seq(oid(OID.hmacWithSHA256), new asn1js.Null()),
  );
  const scheme = seq(oid(OID.aes256Cbc), octets(new Uint8Array(16).fill(2)));
  return seq(oid(OID.pbes2), seq(seq(oid(OID.pbkdf2), pbkdf2), scheme));
}

/** AlgorithmIdentifier of pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C) with `iterations`. */
export function legacyPbeAlgorithm(iterations: bigint): Asn {
  return seq(
    oid(OID.pbeWithSHAAnd3KeyTripleDesCbc),
    seq(octets(new Uint8Array(8).fill(1)), asn1js.Integer.fromBigInt(iterations)),
  );
}

/** A pkcs8ShroudedKeyBag: EncryptedPrivateKeyInfo of `algorithm` (pbes2Algorithm, legacyPbeAlgorithm) and `data`. */
export function shroudedKeyBag(algorithm: Asn, data: Uint8Array): Asn {
  return seq(oid(OID.pkcs8ShroudedKeyBag), explicit0(seq(algorithm, octets(data))));
}

/** A ContentInfo of type encryptedData (password privacy mode): `data` encrypted with `algorithm`. */
export function encryptedSafe(algorithm: Asn, data: Uint8Array): Asn {
  const encryptedContent = new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: data });
  const encryptedData = seq(new asn1js.Integer({ value: 0 }), seq(oid(OID.data), algorithm, encryptedContent));
  return seq(oid(OID.encryptedData), explicit0(encryptedData));
}

/** A ContentInfo of type data holding a SafeContents of `bags`. */
export function dataSafe(bags: Asn[]): Asn {
  return seq(oid(OID.data), explicit0(octets(der(seq(...bags)))));
}

export interface PfxOptions {
  /** MAC iteration count to write. */
  macIterations?: bigint;
  /** MAC digestAlgorithm OID (default SHA-256). */
  macAlgorithm?: string;
  /** Write a MacData with this MAC value (see pfxWithMac for a real one). */
  macDigest?: Uint8Array;
  /** authSafe contentType (default data). */
  authSafeType?: string;
  /** Write the authSafe content as a BER-constructed OCTET STRING of this many segments (some may be empty). */
  authSafeSegments?: number;
}

/** `bytes` as an OCTET STRING, primitive or, with `segments`, constructed of that many pieces. */
function octetsIn(bytes: Uint8Array, segments?: number): Asn {
  if (segments === undefined) return octets(bytes);
  const size = Math.ceil(bytes.length / segments);
  const value = Array.from({ length: segments }, (_, i) => octets(bytes.subarray(i * size, (i + 1) * size)));
  return new asn1js.OctetString({ idBlock: { isConstructed: true }, value });
}

/** A PFX whose AuthenticatedSafe holds `items` (ContentInfo nodes, e.g. from dataSafe). */
export function pfx(items: Asn[], options: PfxOptions = {}): Uint8Array {
  const authSafe = der(seq(...items));
  const fields: Asn[] = [
    new asn1js.Integer({ value: 3 }),
    seq(oid(options.authSafeType ?? OID.data), explicit0(octetsIn(authSafe, options.authSafeSegments))),
  ];
  if (options.macDigest) {
    const iterations = options.macIterations ?? 1n;
    fields.push(
      seq(
        seq(seq(oid(options.macAlgorithm ?? OID.sha256), new asn1js.Null()), octets(options.macDigest)),
        octets(MAC_SALT),
        asn1js.Integer.fromBigInt(iterations),
      ),
    );
  }
  return der(seq(...fields));
}

const MAC_SALT = new Uint8Array(8).fill(7);

/**
 * A PFX with a real SHA-256 MAC. `password` is a string (RFC 7292 BMPString encoding) or the exact bytes to feed the
 * PKCS#12 KDF (to imitate writers that encode it differently).
 */
export async function pfxWithMac(items: Asn[], password: string | Uint8Array, iterations = 1n): Promise<Uint8Array> {
  const authSafe = der(seq(...items));
  const bytes = typeof password === 'string' ? bmpPassword(password) : password;
  const key = await pkcs12Kdf('sha256', bytes, MAC_SALT, PKCS12_KDF_ID.MAC, Number(iterations), 32);
  const macDigest = new Uint8Array(createHmac('sha256', key).update(authSafe).digest());
  return pfx(items, { macDigest, macIterations: iterations });
}
