/**
 * The demo's own certificate authority (issue 5): a CA and S/MIME user certificates generated on the spot in
 * TypeScript (pkijs over node's WebCrypto; no openssl at run time), and PKCS#12 files for them, so the demo users'
 * keys go through the same placement path IT uses (Vault.placeKey). For the demo only: the CA key sits in the data
 * folder, and nothing here is meant to issue real certificates.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
// The engine's PKCS#12 writer: the demo writes what the engine reads.
import { writePkcs12 } from '../smime/index.ts';

/** Demo certificates' lifetime: long enough that a demo data folder does not expire under a newcomer. */
export const DEMO_CERT_VALIDITY_DAYS = 2 * 365;
const CA_VALIDITY_DAYS = 10 * 365;
/** RSA size of demo keys: the smallest size the mail service encrypts to (MIN_RSA_BITS). */
const RSA_BITS = 2048;
/** PBKDF2 iterations of the PKCS#12 key encryption and MAC: a demo file, not a long-term secret (and the load bench makes many). */
const P12_ITERATIONS = 10_000;

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  email: '1.2.840.113549.1.9.1',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  emailProtection: '1.3.6.1.5.5.7.3.4',
} as const;

/**
 * An ArrayBuffer holding exactly these bytes. A Buffer's `.buffer` is often node's shared 8 KiB pool (Buffer.slice
 * does not copy), so handing `.buffer` to asn1js would write the whole pool into the certificate.
 */
function copy(b: Uint8Array): ArrayBuffer {
  return new Uint8Array(b).buffer;
}

const engine = new pkijs.CryptoEngine({ name: 'smime-demo', crypto: webcrypto as unknown as Crypto });

export interface Issued {
  /** DER certificate. */
  certificate: Uint8Array;
  /** PKCS#8 DER private key. */
  pkcs8: Uint8Array;
}

function name(cn: string, email?: string): pkijs.RelativeDistinguishedNames {
  // One attribute per RDN (pkijs would put them all in one multi-valued RDN: "O=..+CN=.."), built as DER and parsed
  // back so pkijs keeps these exact bytes.
  const atv = (type: string, value: asn1js.AsnType) =>
    new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({ type, value: value as never }).toSchema()] });
  const rdns = [
    atv(OID.o, new asn1js.Utf8String({ value: 'S/MIME webmail demo' })),
    atv(OID.cn, new asn1js.Utf8String({ value: cn })),
  ];
  if (email) rdns.push(atv(OID.email, new asn1js.IA5String({ value: email })));
  return pkijs.RelativeDistinguishedNames.fromBER(new asn1js.Sequence({ value: rdns }).toBER(false));
}

function ext(extnID: string, critical: boolean, value: asn1js.AsnType): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

/** keyUsage as a DER BIT STRING: bit 0 is the most significant bit of the first byte (RFC 5280 section 4.2.1.3). */
function keyUsage(bits: number[]): asn1js.BitString {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  const last = Math.max(...bits);
  return new asn1js.BitString({ valueHex: new Uint8Array([v]).buffer, unusedBits: 7 - last });
}

export async function generateRsa(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: RSA_BITS, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
}

function serial(): asn1js.Integer {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive (RFC 5280 section 4.1.2.2)
  b[0]! |= 0x01; // and exactly 16 bytes
  return new asn1js.Integer({ valueHex: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) });
}

async function keyId(publicKey: CryptoKey): Promise<Uint8Array> {
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', publicKey));
  const info = pkijs.PublicKeyInfo.fromBER(spki);
  return createHash('sha1').update(new Uint8Array(info.subjectPublicKey.valueBlock.valueHexView)).digest();
}

async function build(input: {
  subject: pkijs.RelativeDistinguishedNames;
  issuer: pkijs.RelativeDistinguishedNames;
  publicKey: CryptoKey;
  signingKey: CryptoKey;
  issuerKeyId: Uint8Array;
  days: number;
  extensions: pkijs.Extension[];
}): Promise<Uint8Array> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = serial();
  cert.subject = input.subject;
  cert.issuer = input.issuer;
  // Back-dated an hour: clocks of the demo machine and a reader's may differ a little.
  cert.notBefore.value = new Date(Date.now() - 3600_000);
  cert.notAfter.value = new Date(Date.now() + input.days * 86400_000);
  await cert.subjectPublicKeyInfo.importKey(input.publicKey, engine);
  cert.extensions = [
    ...input.extensions,
    ext(OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: copy(await keyId(input.publicKey)) })),
    ext(
      OID.authorityKeyId,
      false,
      new pkijs.AuthorityKeyIdentifier({
        keyIdentifier: new asn1js.OctetString({ valueHex: copy(input.issuerKeyId) }),
      }).toSchema(),
    ),
  ];
  await cert.sign(input.signingKey, 'SHA-256', engine);
  return new Uint8Array(cert.toSchema(true).toBER(false));
}

export interface DemoCa extends Issued {
  /** Parsed keys, to issue user certificates. */
  keys: { privateKey: CryptoKey; keyId: Uint8Array; name: pkijs.RelativeDistinguishedNames };
}

/**
 * A self-signed CA. With `permittedEmail`, a critical nameConstraints extension (RFC 5280 section 4.2.1.10) lets it
 * certify only mailboxes at those hosts ("demo.example": every address @demo.example), so whoever holds its key cannot
 * make a certificate for anyone else that a conforming verifier (ours: smime/x509/chain.ts) accepts.
 */
export async function generateCa(
  commonName = 'S/MIME webmail demo CA',
  options: { permittedEmail?: readonly string[] } = {},
): Promise<DemoCa> {
  const kp = await generateRsa();
  const n = name(commonName);
  const kid = await keyId(kp.publicKey);
  const constraints = options.permittedEmail?.length
    ? [
        ext(
          OID.nameConstraints,
          true, // RFC 5280 section 4.2.1.10: "Conforming CAs MUST mark this extension as critical"
          new pkijs.NameConstraints({
            permittedSubtrees: options.permittedEmail.map(
              (host) => new pkijs.GeneralSubtree({ base: new pkijs.GeneralName({ type: 1, value: host }) }),
            ),
          }).toSchema(),
        ),
      ]
    : [];
  const certificate = await build({
    subject: n,
    issuer: n,
    publicKey: kp.publicKey,
    signingKey: kp.privateKey,
    issuerKeyId: kid,
    days: CA_VALIDITY_DAYS,
    extensions: [
      ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }).toSchema()),
      ext(OID.keyUsage, true, keyUsage([5, 6])), // keyCertSign, cRLSign
      ...constraints,
    ],
  });
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', kp.privateKey));
  return { certificate, pkcs8, keys: { privateKey: kp.privateKey, keyId: kid, name: n } };
}

/** Load a CA written earlier (certificate DER + PKCS#8 DER). */
export async function loadCa(certificate: Uint8Array, pkcs8: Uint8Array): Promise<DemoCa> {
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    pkcs8,
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    true,
    ['sign'],
  );
  const cert = pkijs.Certificate.fromBER(new Uint8Array(certificate));
  const spki = cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
  return {
    certificate,
    pkcs8,
    keys: { privateKey, keyId: createHash('sha1').update(spki).digest(), name: cert.subject },
  };
}

/**
 * An S/MIME certificate for `email`: signing (digitalSignature, nonRepudiation) and RSA key transport. A fresh key
 * pair unless `keyPair` is given (the load bench issues many certificates over a few keys: RSA generation dominates).
 */
export async function issueUser(
  ca: DemoCa,
  input: { name: string; email: string; days?: number; keyPair?: CryptoKeyPair },
): Promise<Issued> {
  const kp = input.keyPair ?? (await generateRsa());
  const san = new pkijs.AltName({ altNames: [new pkijs.GeneralName({ type: 1, value: input.email })] });
  const certificate = await build({
    subject: name(input.name, input.email),
    issuer: ca.keys.name,
    publicKey: kp.publicKey,
    signingKey: ca.keys.privateKey,
    issuerKeyId: ca.keys.keyId,
    days: input.days ?? DEMO_CERT_VALIDITY_DAYS,
    extensions: [
      ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false }).toSchema()),
      ext(OID.keyUsage, true, keyUsage([0, 1, 2])), // digitalSignature, nonRepudiation, keyEncipherment
      ext(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID.emailProtection] }).toSchema()),
      ext(OID.subjectAltName, false, san.toSchema()),
    ],
  });
  return { certificate, pkcs8: new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', kp.privateKey)) };
}

// ---- PKCS#12 --------------------------------------------------------------------------------------------------------

/**
 * A PKCS#12 file as current exporters write it, by the engine's writer (PBES2 with PBKDF2-HMAC-SHA256 and
 * AES-256-CBC, certBags, a SHA-256 MAC), with the demo's cheaper iteration counts.
 */
export async function buildPkcs12(input: {
  certificate: Uint8Array;
  chain?: Uint8Array[];
  pkcs8: Uint8Array;
  password: string;
  friendlyName: string;
}): Promise<Uint8Array> {
  return writePkcs12({ ...input, iterations: P12_ITERATIONS, macIterations: P12_ITERATIONS });
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
