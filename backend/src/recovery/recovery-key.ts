/**
 * The organisation's recovery key (issue 17): an RSA key pair made offline by `smime-admin recovery-init`, whose
 * certificate the server is given (SMIME_RECOVERY_CERTIFICATE) and whose private part exists only as Shamir shares in
 * the custodians' files (share-file.ts), rebuilt in memory by `smime-admin recover` and nowhere else.
 *
 * - The certificate is self-signed: nobody verifies a chain to it; it carries the public key, a name for people, and
 *   keyUsage keyEncipherment so that CMS tools (ours, OpenSSL's cms -decrypt) accept it as a key-transport recipient.
 * - The set id of a recovery key is the SHA-256 of its certificate's DER (hex): the share files, the wrapped copies in
 *   the database and the configured certificate all name it.
 * - checkRecoveryKey proves that rebuilt bytes are the private key of that certificate before anything is unwrapped
 *   with them: a custodian who writes a share with a wrong y (share-file.ts says why that cannot be caught earlier), a
 *   share of another split, or a mix-up of files all end there with RECOVERY_KEY_MISMATCH.
 */
import { createHash, generateKeyPair, randomBytes, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AppError } from '../errors.ts';
import { describeCertificate, parsedCertificate, pemToDer } from '../smime/index.ts';
import { privateKeyMatches, type RecoveryTarget } from './escrow.ts';

export type { RecoveryTarget };

/** RSA size of a recovery key: it protects every escrowed key for years, so above the 3072 bits of NIST's 128-bit level. */
export const RECOVERY_RSA_BITS = 4096;
/** Lifetime written into the certificate. Wrapping does not depend on it (an expired recovery certificate still wraps). */
export const RECOVERY_CERT_DAYS = 20 * 365;
export const DEFAULT_RECOVERY_NAME = 'S/MIME key recovery';

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SUBJECT_KEY_ID = '2.5.29.14';

const generate = promisify(generateKeyPair);
const engine = new pkijs.CryptoEngine({ name: 'smime-recovery', crypto: webcrypto as unknown as Crypto });

/** An ArrayBuffer of exactly these bytes (never a Buffer's shared pool). */
function copy(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}

export interface RecoveryKey {
  /** DER certificate: public. */
  certificate: Uint8Array;
  /** PKCS#8 DER private key: the caller splits it and wipes it. */
  pkcs8: Uint8Array;
  setId: string;
}

/** Hex SHA-256 of the certificate's DER: what share files, wrapped copies and the configuration call this key. */
export function recoverySetId(certificate: Uint8Array): string {
  return createHash('sha256').update(certificate).digest('hex');
}

function rdn(type: string, value: string): asn1js.Set {
  return new asn1js.Set({
    value: [new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) as never }).toSchema()],
  });
}

/** Make a recovery key pair and its self-signed certificate, entirely in memory. */
export async function createRecoveryKey(
  options: { name?: string; organisation?: string; bits?: number } = {},
): Promise<RecoveryKey> {
  const name = options.name ?? DEFAULT_RECOVERY_NAME;
  if (name.length === 0 || name.length > 64)
    throw new AppError('RECOVERY_SHARES_INVALID', 'The name must have 1 to 64 characters.');
  const bits = options.bits ?? RECOVERY_RSA_BITS;
  const { publicKey, privateKey } = await generate('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  const pkcs8 = new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }));
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  try {
    const signingKey = await webcrypto.subtle.importKey(
      'pkcs8',
      pkcs8,
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const rdns = [...(options.organisation ? [rdn(OID_O, options.organisation)] : []), rdn(OID_CN, name)];
    const dn = () => pkijs.RelativeDistinguishedNames.fromBER(new asn1js.Sequence({ value: rdns }).toBER(false));
    const cert = new pkijs.Certificate();
    cert.version = 2;
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x01;
    cert.serialNumber = new asn1js.Integer({ valueHex: copy(serial) });
    cert.subject = dn();
    cert.issuer = dn();
    cert.notBefore.value = new Date(Date.now() - 3600_000);
    cert.notAfter.value = new Date(Date.now() + RECOVERY_CERT_DAYS * 86400_000);
    cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(copy(spki));
    const info = cert.subjectPublicKeyInfo;
    const keyId = createHash('sha1').update(new Uint8Array(info.subjectPublicKey.valueBlock.valueHexView)).digest();
    // keyEncipherment (bit 2) and, for the self-signature, keyCertSign (bit 5): 0b00100100.
    const keyUsage = new asn1js.BitString({ valueHex: copy(new Uint8Array([0x24])), unusedBits: 2 });
    cert.extensions = [
      new pkijs.Extension({
        extnID: OID_BASIC_CONSTRAINTS,
        critical: true,
        extnValue: new pkijs.BasicConstraints({ cA: false }).toSchema().toBER(false),
      }),
      new pkijs.Extension({ extnID: OID_KEY_USAGE, critical: true, extnValue: keyUsage.toBER(false) }),
      new pkijs.Extension({
        extnID: OID_SUBJECT_KEY_ID,
        critical: false,
        extnValue: new asn1js.OctetString({ valueHex: copy(keyId) }).toBER(false),
      }),
    ];
    await cert.sign(signingKey, 'SHA-256', engine);
    const certificate = new Uint8Array(cert.toSchema(true).toBER(false));
    return { certificate, pkcs8, setId: recoverySetId(certificate) };
  } catch (e) {
    pkcs8.fill(0);
    throw e;
  }
}

/** Read a recovery certificate from PEM or DER; RECOVERY_CERTIFICATE_INVALID unless it is an RSA certificate we can wrap to. */
export function readRecoveryCertificate(bytes: Uint8Array): { certificate: Uint8Array; setId: string } {
  let der: Uint8Array;
  try {
    const text = Buffer.from(bytes).toString('latin1');
    der = (text.includes('-----BEGIN CERTIFICATE-----') ? pemToDer(text)[0] : bytes) ?? new Uint8Array(0);
    if (!parsedCertificate(der)) throw new Error('not a certificate');
  } catch {
    throw new AppError(
      'RECOVERY_CERTIFICATE_INVALID',
      'The recovery certificate is not a PEM or DER X.509 certificate.',
    );
  }
  const info = describeCertificate(der);
  if (info.keyAlgorithm !== 'RSA' || info.keySize < 3072)
    throw new AppError(
      'RECOVERY_CERTIFICATE_INVALID',
      `The recovery certificate must hold an RSA key of at least 3072 bits, not ${info.keyAlgorithm} ${info.keySize}.`,
    );
  return { certificate: der, setId: recoverySetId(der) };
}

/**
 * The recovery certificate the server is configured with (SMIME_RECOVERY_CERTIFICATE; undefined when unset), every
 * failure given to `fail` to make the caller's error. A file that also holds a
 * private key is refused outright: the server must only ever have the certificate, and an operator who copied the
 * wrong file must learn it at start-up rather than keep the recovery key next to the keys it recovers.
 */
export function readRecoveryTargetFile(
  path: string | undefined,
  fail: (message: string) => Error,
): RecoveryTarget | undefined {
  if (!path) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw fail(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (bytes.toString('latin1').includes('PRIVATE KEY'))
    throw fail(
      `${path} holds a private key; the server must only ever have the certificate. Remove that file from this machine.`,
    );
  try {
    const { certificate, setId } = readRecoveryCertificate(bytes);
    return { certificate, setId, subject: describeCertificate(certificate).subject };
  } catch (e) {
    throw fail((e as Error).message);
  }
}

/** RECOVERY_KEY_MISMATCH unless `pkcs8` is the private key of `certificate` (its SubjectPublicKeyInfo, byte for byte). */
export function checkRecoveryKey(pkcs8: Uint8Array, certificate: Uint8Array): void {
  if (!privateKeyMatches(pkcs8, certificate)) throw new AppError('RECOVERY_KEY_MISMATCH');
}
