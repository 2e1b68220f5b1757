// Writes a PKCS#12 file (RFC 7292) as current exporters do (issue 17): the private key in a pkcs8ShroudedKeyBag under
// PBES2 (RFC 8018 section 6.2: PBKDF2-HMAC-SHA256 and AES-256-CBC), the certificate and its chain in certBags, all in
// one unencrypted SafeContents, and a SHA-256 integrity MAC (RFC 7292 section 5). OpenSSL 3, NSS, Windows 10+ and
// macOS read it; parsePkcs12 reads it back.
//
// The PBES2 parameters are written here rather than by node's encrypted PKCS#8 export, which fixes the PBKDF2
// iteration count at 2048: far too cheap for a file that leaves the server as a long-term backup of a private key.

import { createCipheriv, createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  OID_AES256_CBC,
  OID_CERT_BAG,
  OID_DATA,
  OID_FRIENDLY_NAME,
  OID_HMAC_WITH_SHA256,
  OID_LOCAL_KEY_ID,
  OID_PBES2,
  OID_PBKDF2,
  OID_PKCS8_SHROUDED_KEY_BAG,
  OID_SHA256,
  OID_X509_CERTIFICATE,
} from '../asn1/oids.ts';
import {
  algorithm,
  explicit,
  integer,
  NULL,
  objectIdentifier,
  octetString,
  sequence,
  setOf,
  tlv,
  toBytes,
  type Der,
} from '../asn1/writer.ts';
import { MAX_KDF_ITERATIONS } from '../limits.ts';
import { bmpPassword, PKCS12_KDF_ID, pkcs12Kdf } from './kdf.ts';

const pbkdf2Async = promisify(pbkdf2);

/**
 * PBKDF2-HMAC-SHA256 iterations protecting an exported key: OWASP's 2023 Password Storage Cheat Sheet asks for
 * 600,000 with SHA-256. An exported file can be attacked offline for as long as it exists, so it gets the full count
 * (about 0.2 s on a current server core, paid once per export). Below our reader's MAX_KDF_ITERATIONS so the file
 * can be imported again here.
 */
export const EXPORT_PBKDF2_ITERATIONS = 600_000;
/**
 * Iterations of the PKCS#12 KDF that keys the MAC: OpenSSL 3's default (PKCS12_DEFAULT_ITER). The MAC only guards
 * integrity; the key's confidentiality rests on PBES2 above, and a higher count here would just slow every import.
 */
export const EXPORT_MAC_ITERATIONS = 2048;
/** Salt sizes: 16 bytes, as OpenSSL 3 writes them (RFC 8018 section 4.1 asks for at least 8). */
const SALT_BYTES = 16;
/** AES-256-CBC: a 32-byte key and a 16-byte IV (RFC 3565 section 4.1, as used under PBES2 by RFC 8018 B.2.5). */
const AES256_KEY_BYTES = 32;
const AES_IV_BYTES = 16;
/** RFC 7292 section 4: PFX version 3. */
const PFX_VERSION = 3;
/** BMPString tag (X.680 section 8.4), for friendlyName. */
const BMP_STRING_TAG = 0x1e;

export interface WritePkcs12Input {
  /** DER of the end-entity certificate. */
  certificate: Uint8Array;
  /** DER of further certificates (issuers), in order. */
  chain?: readonly Uint8Array[];
  /** PKCS#8 PrivateKeyInfo DER of the key matching `certificate`. */
  pkcs8: Uint8Array;
  password: string;
  friendlyName?: string;
  /** PBKDF2 iterations for the key (default EXPORT_PBKDF2_ITERATIONS). */
  iterations?: number;
  /** PKCS#12 KDF iterations for the MAC (default EXPORT_MAC_ITERATIONS). */
  macIterations?: number;
}

function checkIterations(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_KDF_ITERATIONS) {
    throw new RangeError(`${what} must be an integer from 1 to ${MAX_KDF_ITERATIONS}`);
  }
}

function bmpString(text: string): Der {
  // bmpPassword adds the two-byte terminator of RFC 7292 appendix B.1; a BMPString value has none.
  return tlv(BMP_STRING_TAG, bmpPassword(text).subarray(0, text.length * 2));
}

function bagAttributes(localKeyId: Uint8Array, friendlyName: string | undefined): Der {
  const attributes = [sequence(objectIdentifier(OID_LOCAL_KEY_ID), setOf([octetString(localKeyId)]))];
  if (friendlyName !== undefined) {
    attributes.push(sequence(objectIdentifier(OID_FRIENDLY_NAME), setOf([bmpString(friendlyName)])));
  }
  return setOf(attributes);
}

/**
 * EncryptedPrivateKeyInfo (RFC 5958 section 3) under PBES2: PBKDF2-params with salt, iterationCount, keyLength and
 * prf hmacWithSHA256 (RFC 8018 appendix A.2), encryptionScheme aes256-CBC with its IV (appendix B.2.5).
 */
async function shroudKey(pkcs8: Uint8Array, password: string, iterations: number): Promise<Der> {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(AES_IV_BYTES);
  const passwordBytes = Buffer.from(password, 'utf8'); // RFC 8018 section 6.2: PBES2 takes the password as octets
  const key = await pbkdf2Async(passwordBytes, salt, iterations, AES256_KEY_BYTES, 'sha256');
  try {
    const cipher = createCipheriv('aes-256-cbc', key, iv);
    const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    const kdf = algorithm(
      OID_PBKDF2,
      sequence(
        octetString(salt),
        integer(iterations),
        integer(AES256_KEY_BYTES),
        algorithm(OID_HMAC_WITH_SHA256, NULL),
      ),
    );
    const scheme = algorithm(OID_PBES2, sequence(kdf, algorithm(OID_AES256_CBC, octetString(iv))));
    return sequence(scheme, octetString(encrypted));
  } finally {
    key.fill(0);
    passwordBytes.fill(0);
  }
}

/**
 * A PKCS#12 file holding `pkcs8` and `certificate` (and `chain`), protected by `password`. The caller wipes its own
 * copy of the key; this function wipes the derived keys it made.
 */
export async function writePkcs12(input: WritePkcs12Input): Promise<Uint8Array> {
  const iterations = input.iterations ?? EXPORT_PBKDF2_ITERATIONS;
  const macIterations = input.macIterations ?? EXPORT_MAC_ITERATIONS;
  checkIterations(iterations, 'iterations');
  checkIterations(macIterations, 'macIterations');
  if (typeof input.password !== 'string') throw new TypeError('password must be a string');

  // localKeyId ties the key bag to its certificate (RFC 7292 section 4.2, PKCS#9 localKeyId): the SHA-1 of the
  // certificate, as OpenSSL writes it.
  const localKeyId = createHash('sha1').update(input.certificate).digest();
  const attributes = bagAttributes(localKeyId, input.friendlyName);
  const keyBag = sequence(
    objectIdentifier(OID_PKCS8_SHROUDED_KEY_BAG),
    explicit(0, await shroudKey(input.pkcs8, input.password, iterations)),
    attributes,
  );
  const certBag = (der: Uint8Array, attrs?: Der) =>
    sequence(
      objectIdentifier(OID_CERT_BAG),
      explicit(0, sequence(objectIdentifier(OID_X509_CERTIFICATE), explicit(0, octetString(der)))),
      ...(attrs ? [attrs] : []),
    );
  const bags = [keyBag, certBag(input.certificate, attributes), ...(input.chain ?? []).map((c) => certBag(c))];
  const safeContents = toBytes(sequence(...bags));
  // AuthenticatedSafe: one ContentInfo of type data. The key bag is shrouded on its own; the certificates are public.
  const authSafe = toBytes(sequence(sequence(objectIdentifier(OID_DATA), explicit(0, octetString(safeContents)))));

  const macSalt = randomBytes(SALT_BYTES);
  const password = bmpPassword(input.password);
  const macKey = await pkcs12Kdf('sha256', password, macSalt, PKCS12_KDF_ID.MAC, macIterations, 32);
  password.fill(0);
  let mac: Buffer;
  try {
    mac = createHmac('sha256', macKey).update(authSafe).digest();
  } finally {
    macKey.fill(0);
  }
  const pfx = sequence(
    integer(PFX_VERSION),
    sequence(objectIdentifier(OID_DATA), explicit(0, octetString(authSafe))),
    sequence(sequence(algorithm(OID_SHA256, NULL), octetString(mac)), octetString(macSalt), integer(macIterations)),
  );
  return new Uint8Array(toBytes(pfx));
}
