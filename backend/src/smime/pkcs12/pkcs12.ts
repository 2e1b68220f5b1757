// PKCS#12 import (RFC 7292): the private key, its certificate and the chain from a .p12/.pfx file.
//
// Reads what real exporters write: OpenSSL 3 defaults (PBES2/AES, SHA-256 MAC), NSS, Java, and the legacy files of
// Windows, AD CS and `openssl pkcs12 -legacy` (3DES key bag, RC2-40 certificate bag, SHA-1 MAC). The ASN.1 is walked
// here with strict accessors rather than pkijs' PFX classes: pkijs' SafeBag rejects a whole file for one unknown bag
// type, parses CRL and SDSI bags eagerly, recurses without bound into nested SafeContents and throws plain Errors.
// Decryption and the MAC go through the pkijs crypto engine subclass (crypto-engine.ts).
//
// Every failure is a SmimeError with a P12_* code. A message never contains the password or key material.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { getEngine, type PasswordDecryptResult, type SmimeCryptoEngine } from '../crypto/engine.ts';
import { SmimeError, type SmimeErrorCode } from '../errors.ts';
import {
  algorithmIdentifier,
  bigInteger,
  copyBytes,
  decode,
  DerError,
  encodingOf,
  explicit,
  octets,
  oid,
  sequence,
  set,
  smallInteger,
  type Node,
} from '../asn1/asn1js-nodes.ts';
import { KdfBudget } from './kdf-budget.ts';
import { MAX_BAGS, MAX_CERTIFICATES, MAX_P12_BYTES, MAX_SAFE_CONTENTS_DEPTH } from '../limits.ts';
import {
  type HashName,
  OID_CERT_BAG,
  OID_DATA,
  OID_DSA,
  OID_EC_PUBLIC_KEY,
  OID_ED25519,
  OID_ED448,
  OID_ENCRYPTED_DATA,
  OID_ENVELOPED_DATA,
  OID_KEY_BAG,
  OID_LOCAL_KEY_ID,
  OID_PBMAC1,
  OID_PKCS8_SHROUDED_KEY_BAG,
  OID_RSA_ENCRYPTION,
  OID_RSASSA_PSS,
  OID_SAFE_CONTENTS_BAG,
  OID_SIGNED_DATA,
  OID_X25519,
  OID_X448,
  OID_X509_CERTIFICATE,
} from '../asn1/oids.ts';
import type { PbeCipherName } from '../crypto/pbe-ciphers.ts';
import {
  pkcs12PasswordCandidates,
  type Pkcs12PasswordCandidate,
  type Pkcs12PasswordEncoding,
} from './kdf.ts';
import { MAC_DIGESTS } from './mac.ts';
import { certificateParts } from '../x509/raw.ts';

/** What protected the file, for the record. Cipher names follow OpenSSL ('aes-256-cbc', 'des-ede3-cbc', 'rc2-40-cbc'). */
export interface Pkcs12Protection {
  /** 'mac': a password MAC covered the contents and verified. 'none': the file has no MAC; nothing vouches for it. */
  integrity: 'mac' | 'none';
  /** MAC digest, null without a MAC. */
  mac: HashName | null;
  macIterations: number | null;
  /** Cipher that protected the returned private key ('none' if it was stored unencrypted). */
  keyCipher: PbeCipherName | 'none';
  /** Key derivation for keyCipher, e.g. 'pbkdf2-hmac-sha256' or 'pkcs12-kdf-sha1'; null if unencrypted. */
  keyKdf: string | null;
  /** Cipher that protected the returned certificate ('none' if it was stored unencrypted). */
  certCipher: PbeCipherName | 'none';
  certKdf: string | null;
  /**
   * True when the file relies on legacy protection: an RFC 7292 appendix C scheme (pbeWithSHAAnd3-KeyTripleDES-CBC,
   * pbeWithSHAAnd40BitRC2-CBC, ...) anywhere in the file, or a SHA-1 MAC.
   */
  legacy: boolean;
  /**
   * How the password was encoded for the PKCS#12 KDF (MAC and legacy schemes), as found by the MAC: 'bmp' per RFC 7292;
   * 'bmp-empty-without-terminator' or 'bmp-of-utf8-bytes' for files from writers that got it wrong (see
   * lib/pkcs12-kdf.ts). Without a MAC it is always 'bmp'.
   */
  passwordEncoding: Pkcs12PasswordEncoding;
}

export interface Pkcs12Contents {
  /** PKCS#8 PrivateKeyInfo DER of the key that matches `certificate` (re-encoded by node:crypto, attributes dropped). */
  privateKey: Uint8Array;
  /** DER of the end-entity certificate (the one whose public key matches the private key). */
  certificate: Uint8Array;
  /** DER of the other certificates in the file: issuer order from the end entity up where names chain, then the rest. */
  chain: Uint8Array[];
  protection: Pkcs12Protection;
}

interface Protection {
  cipher: PbeCipherName | 'none';
  kdf: string | null;
}

const UNPROTECTED: Protection = { cipher: 'none', kdf: null };

interface FoundKey {
  pkcs8: Uint8Array;
  localKeyId: Uint8Array | undefined;
  protection: Protection;
  /** Whether the key came out of a decryption whose result nothing (no MAC) vouches for. */
  unverifiedDecryption: boolean;
}

interface FoundCertificate {
  der: Uint8Array;
  localKeyId: Uint8Array | undefined;
  protection: Protection;
}

/** State of one parse: the passwords, the shared KDF budget, what was found and what must be wiped. */
interface ParseState {
  engine: SmimeCryptoEngine;
  utf8Password: Uint8Array;
  bmpPassword: Uint8Array;
  passwordEncoding: Pkcs12PasswordEncoding;
  integrity: 'mac' | 'none';
  budget: KdfBudget;
  bags: number;
  keys: FoundKey[];
  certificates: FoundCertificate[];
  legacy: boolean;
  /** Decrypted buffers (they hold key material); zeroed when the parse ends. */
  secrets: Uint8Array[];
}

function malformed(message: string, cause?: unknown): SmimeError {
  return new SmimeError('P12_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/** Runs `fn`, turning DerError into `code` (or P12_TOO_LARGE for resource limits). */
function shape<T>(what: string, fn: () => T, code: SmimeErrorCode = 'P12_MALFORMED'): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SmimeError) throw error;
    if (error instanceof DerError && error.limit) {
      throw new SmimeError('P12_TOO_LARGE', `The file exceeds a parsing limit (${what})`, { cause: error });
    }
    if (code === 'P12_BAD_PASSWORD') {
      throw new SmimeError(code, `The password is wrong or the file is damaged (${what} did not decrypt to valid data)`, { cause: error });
    }
    const detail = error instanceof DerError ? `: ${error.message}` : '';
    throw new SmimeError(code, `The file is damaged or not a PKCS#12 file (${what}${detail})`, { cause: error });
  }
}

// Base64 of a DER SEQUENCE starts with 'M' (0x30 -> 001100..). Only whole-file base64 is recognised; PEM is not a
// PKCS#12 format.
const BASE64_TEXT = /^[A-Za-z0-9+/\r\n\t ]+={0,2}[\r\n\t ]*$/;

function unwrapBase64(input: Uint8Array): Uint8Array {
  if (input[0] !== 0x4d /* 'M' */) return input;
  const text = Buffer.from(input).toString('latin1');
  if (!BASE64_TEXT.test(text)) return input;
  const decoded = Buffer.from(text, 'base64');
  return decoded[0] === 0x30 ? new Uint8Array(decoded) : input;
}

function contentInfo(node: Node | undefined, what: string): { type: string; content: Node | undefined } {
  // ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY OPTIONAL } (RFC 5652 section 3)
  const fields = sequence(node, what);
  if (fields.length < 1 || fields.length > 2) throw new DerError(`${what}: expected contentType [, content]`);
  return { type: oid(fields[0], `${what} contentType`), content: fields[1] ? explicit(fields[1], 0, `${what} content`) : undefined };
}

interface MacData {
  hash: HashName;
  digest: Uint8Array;
  salt: Uint8Array;
  iterations: number;
}

function macData(node: Node): MacData {
  // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 } (RFC 7292 section 4)
  const fields = sequence(node, 'MacData');
  if (fields.length < 2 || fields.length > 3) throw new DerError('MacData: expected mac, macSalt [, iterations]');
  const digestInfo = sequence(fields[0], 'MacData mac');
  if (digestInfo.length !== 2) throw new DerError('DigestInfo: expected digestAlgorithm and digest');
  const algorithm = algorithmIdentifier(digestInfo[0], 'MacData digestAlgorithm');
  const hash = MAC_DIGESTS[algorithm.oid];
  if (!hash) {
    const name = algorithm.oid === OID_PBMAC1 ? 'PBMAC1 (RFC 9579)' : algorithm.oid;
    throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The file's integrity MAC uses an unsupported algorithm (${name})`);
  }
  return {
    hash,
    digest: octets(digestInfo[1], 'MacData digest'),
    salt: octets(fields[1], 'MacData macSalt'),
    // Counts are range-checked by the KDF budget; here only "is a sane integer".
    iterations: fields[2] ? smallInteger(fields[2], 'MacData iterations', 1, Number.MAX_SAFE_INTEGER) : 1,
  };
}

/** Finds the password encoding that makes the MAC verify (see pkcs12PasswordCandidates), or throws P12_BAD_PASSWORD. */
async function verifyMac(
  state: ParseState,
  mac: MacData,
  content: Uint8Array,
  candidates: Pkcs12PasswordCandidate[],
): Promise<Pkcs12PasswordCandidate> {
  for (const candidate of candidates) {
    const ok = await state.engine.checkPkcs12Mac({
      hash: mac.hash,
      bmpPassword: candidate.bytes,
      salt: mac.salt,
      iterations: mac.iterations,
      content,
      expected: mac.digest,
      budget: state.budget,
    });
    if (ok) return candidate;
  }
  throw new SmimeError('P12_BAD_PASSWORD', 'The password is wrong or the file is damaged (MAC check failed)');
}

async function decrypt(state: ParseState, algorithm: Node | undefined, data: Uint8Array, what: string): Promise<PasswordDecryptResult> {
  const alg = shape(what, () => algorithmIdentifier(algorithm, `${what} algorithm`));
  let result: PasswordDecryptResult;
  try {
    result = await state.engine.decryptWithPassword({
      algorithm: alg,
      data,
      password: state.utf8Password,
      bmpPassword: state.bmpPassword,
      budget: state.budget,
    });
  } catch (error) {
    if (error instanceof SmimeError && error.code === 'P12_BAD_PASSWORD' && state.integrity === 'mac') {
      // The MAC verified with this password, so the password is right for the MAC; the content was encrypted with a
      // different one (openssl -twopass) or by a broken writer.
      throw new SmimeError(
        'P12_BAD_PASSWORD',
        `The file's integrity check passed but its ${what} could not be decrypted with this password (it may use a separate encryption password)`,
        { cause: error },
      );
    }
    throw error;
  }
  state.secrets.push(result.plaintext);
  if (result.scheme === 'pkcs12-pbe') state.legacy = true;
  return result;
}

function bagAttributes(node: Node | undefined): { localKeyId: Uint8Array | undefined } {
  if (!node) return { localKeyId: undefined };
  let localKeyId: Uint8Array | undefined;
  // PKCS12Attribute ::= SEQUENCE { attrId OBJECT IDENTIFIER, attrValues SET OF ANY } (RFC 7292 section 4.2)
  for (const attribute of set(node, 'bagAttributes')) {
    const [id, values, ...rest] = sequence(attribute, 'PKCS12Attribute');
    if (rest.length > 0) throw new DerError('PKCS12Attribute: too many fields');
    const attrId = oid(id, 'PKCS12Attribute attrId');
    const attrValues = set(values, 'PKCS12Attribute attrValues');
    if (attrId === OID_LOCAL_KEY_ID && attrValues.length === 1) localKeyId = octets(attrValues[0], 'localKeyId');
  }
  return { localKeyId };
}

async function readSafeContents(state: ParseState, bytes: Uint8Array, protection: Protection, depth: number, fromDecryption: boolean): Promise<void> {
  // Garbage that decrypted with valid padding under a wrong password (about 1 in 256 for 8-byte blocks) only shows up
  // here; without a MAC to say otherwise, that is a wrong password rather than a damaged file.
  const badDecode: SmimeErrorCode = fromDecryption && state.integrity === 'none' ? 'P12_BAD_PASSWORD' : 'P12_MALFORMED';
  const root = shape('SafeContents', () => decode(bytes, 'SafeContents'), badDecode);
  await readSafeBags(state, root, protection, depth, fromDecryption, badDecode);
}

async function readSafeBags(
  state: ParseState,
  root: Node,
  protection: Protection,
  depth: number,
  fromDecryption: boolean,
  badDecode: SmimeErrorCode,
): Promise<void> {
  // SafeContents ::= SEQUENCE OF SafeBag; SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OPTIONAL }
  const bags = shape('SafeContents', () => sequence(root, 'SafeContents'), badDecode);
  for (const bag of bags) {
    state.bags += 1;
    if (state.bags > MAX_BAGS) throw new SmimeError('P12_TOO_LARGE', `The file holds more than ${MAX_BAGS} items`);
    const { bagId, value, attributes } = shape(
      'SafeBag',
      () => {
        const fields = sequence(bag, 'SafeBag');
        if (fields.length < 2 || fields.length > 3) throw new DerError('SafeBag: expected bagId, bagValue [, bagAttributes]');
        return { bagId: oid(fields[0], 'bagId'), value: explicit(fields[1], 0, 'bagValue'), attributes: bagAttributes(fields[2]) };
      },
      badDecode,
    );
    switch (bagId) {
      case OID_KEY_BAG:
        shape('keyBag', () => sequence(value, 'PrivateKeyInfo'), badDecode);
        state.keys.push({
          pkcs8: encodingOf(value),
          localKeyId: attributes.localKeyId,
          protection,
          unverifiedDecryption: fromDecryption && state.integrity === 'none',
        });
        break;
      case OID_PKCS8_SHROUDED_KEY_BAG: {
        // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
        const { algorithm, data } = shape(
          'pkcs8ShroudedKeyBag',
          () => {
            const fields = sequence(value, 'EncryptedPrivateKeyInfo');
            if (fields.length !== 2) throw new DerError('EncryptedPrivateKeyInfo: expected algorithm and data');
            return { algorithm: fields[0], data: octets(fields[1], 'encryptedData') };
          },
          badDecode,
        );
        const result = await decrypt(state, algorithm, data, 'private key');
        state.keys.push({
          pkcs8: result.plaintext,
          localKeyId: attributes.localKeyId,
          protection: { cipher: result.cipher, kdf: result.kdf },
          unverifiedDecryption: state.integrity === 'none',
        });
        break;
      }
      case OID_CERT_BAG: {
        // CertBag ::= SEQUENCE { certId OBJECT IDENTIFIER, certValue [0] EXPLICIT ANY } (RFC 7292 section 4.2.3)
        const certificate = shape(
          'certBag',
          () => {
            const fields = sequence(value, 'CertBag');
            if (fields.length !== 2) throw new DerError('CertBag: expected certId and certValue');
            const certId = oid(fields[0], 'certId');
            return certId === OID_X509_CERTIFICATE ? octets(explicit(fields[1], 0, 'certValue'), 'x509Certificate') : undefined;
          },
          badDecode,
        );
        if (!certificate) break; // sdsiCertificate and others: not something S/MIME can use
        if (state.certificates.length >= MAX_CERTIFICATES) {
          throw new SmimeError('P12_TOO_LARGE', `The file holds more than ${MAX_CERTIFICATES} certificates`);
        }
        state.certificates.push({ der: certificate, localKeyId: attributes.localKeyId, protection });
        break;
      }
      case OID_SAFE_CONTENTS_BAG:
        if (depth >= MAX_SAFE_CONTENTS_DEPTH) {
          throw new SmimeError('P12_TOO_LARGE', `The file nests its contents more than ${MAX_SAFE_CONTENTS_DEPTH} levels deep`);
        }
        await readSafeBags(state, value, protection, depth + 1, fromDecryption, badDecode);
        break;
      default:
        // crlBag, secretBag and private extensions: nothing to import. RFC 7292 section 4.2 allows unknown bag types.
        break;
    }
  }
}

async function readAuthenticatedSafe(state: ParseState, authSafe: Uint8Array): Promise<void> {
  // AuthenticatedSafe ::= SEQUENCE OF ContentInfo; each is data (plain SafeContents), encryptedData (password
  // privacy mode) or envelopedData (public-key privacy mode). RFC 7292 section 4.1.
  const items = shape('AuthenticatedSafe', () => sequence(decode(authSafe, 'AuthenticatedSafe'), 'AuthenticatedSafe'));
  for (const [index, item] of items.entries()) {
    const info = shape('AuthenticatedSafe', () => contentInfo(item, `AuthenticatedSafe item ${index}`));
    if (info.type === OID_DATA) {
      const bytes = shape('SafeContents', () => octets(info.content, 'data content'));
      await readSafeContents(state, bytes, UNPROTECTED, 0, false);
    } else if (info.type === OID_ENCRYPTED_DATA) {
      // EncryptedData ::= SEQUENCE { version, encryptedContentInfo, unprotectedAttrs [1] IMPLICIT OPTIONAL }
      // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT }
      const { algorithm, data } = shape('EncryptedData', () => {
        const fields = sequence(info.content, 'EncryptedData');
        if (fields.length < 2 || fields.length > 3) throw new DerError('EncryptedData: expected version, encryptedContentInfo');
        bigInteger(fields[0], 'EncryptedData version');
        const eci = sequence(fields[1], 'EncryptedContentInfo');
        if (eci.length !== 3) throw new DerError('EncryptedContentInfo: expected contentType, algorithm, encryptedContent');
        if (oid(eci[0], 'EncryptedContentInfo contentType') !== OID_DATA) throw new DerError('EncryptedContentInfo: content is not data');
        return { algorithm: eci[1], data: octets(eci[2], 'encryptedContent', 0) };
      });
      const result = await decrypt(state, algorithm, data, 'certificates');
      await readSafeContents(state, result.plaintext, { cipher: result.cipher, kdf: result.kdf }, 0, true);
    } else if (info.type === OID_ENVELOPED_DATA) {
      throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', 'The file is encrypted to a certificate (public-key privacy mode), which is not supported');
    } else {
      throw malformed(`The file is damaged or not a PKCS#12 file (unexpected content type ${info.type})`);
    }
  }
}

/** Public key algorithms node:crypto can load from PKCS#8; others are "unsupported" rather than "damaged". */
const KNOWN_KEY_ALGORITHMS = new Set([OID_RSA_ENCRYPTION, OID_RSASSA_PSS, OID_EC_PUBLIC_KEY, OID_DSA, OID_X25519, OID_X448, OID_ED25519, OID_ED448]);

interface LoadedKey {
  found: FoundKey;
  key: KeyObject;
  publicKey: KeyObject;
}

function loadKey(found: FoundKey): LoadedKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(found.pkcs8.buffer, found.pkcs8.byteOffset, found.pkcs8.length), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    // Tell "not a key at all" (wrong password without MAC, damage) from "a key of a type we cannot use".
    let algorithm: string | undefined;
    try {
      const fields = sequence(decode(found.pkcs8, 'PrivateKeyInfo'), 'PrivateKeyInfo');
      algorithm = algorithmIdentifier(fields[1], 'privateKeyAlgorithm').oid;
    } catch {
      algorithm = undefined;
    }
    if (algorithm === undefined && found.unverifiedDecryption) {
      throw new SmimeError('P12_BAD_PASSWORD', 'The password is wrong or the file is damaged (the private key did not decrypt to a valid key)', { cause });
    }
    if (algorithm !== undefined && !KNOWN_KEY_ALGORITHMS.has(algorithm)) {
      throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The private key uses an unsupported algorithm (${algorithm})`, { cause });
    }
    throw malformed('The file is damaged (the private key cannot be read)', cause);
  }
  try {
    return { found, key, publicKey: createPublicKey(key) };
  } catch (cause) {
    throw malformed('The file is damaged (the private key cannot be read)', cause);
  }
}

interface CertificateCandidate {
  found: FoundCertificate;
  subject: Uint8Array;
  issuer: Uint8Array;
  publicKey: KeyObject | undefined;
}

function loadCertificate(found: FoundCertificate): CertificateCandidate {
  const parts = shape('certificate', () => certificateParts(found.der));
  let publicKey: KeyObject | undefined;
  try {
    publicKey = createPublicKey({ key: Buffer.from(parts.subjectPublicKeyInfo), format: 'der', type: 'spki' });
  } catch {
    publicKey = undefined; // a key type node cannot load cannot match a key it loaded either
  }
  return { found, subject: parts.subject, issuer: parts.issuer, publicKey };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function keysMatch(key: LoadedKey, certificate: CertificateCandidate): boolean {
  if (!certificate.publicKey) return false;
  // Node 20: KeyObject.equals on keys of different types leaves "different key types" on OpenSSL's error queue, and
  // the next createPrivateKey in the process then fails with it. Never compare across types.
  if (key.publicKey.asymmetricKeyType !== certificate.publicKey.asymmetricKeyType) return false;
  try {
    // KeyObject.equals compares the key material, so SPKI encoding variations (e.g. compressed EC points) still match.
    return key.publicKey.equals(certificate.publicKey);
  } catch {
    return false;
  }
}

function selectPair(keys: LoadedKey[], certificates: CertificateCandidate[]): { key: LoadedKey; certificate: CertificateCandidate } {
  // A localKeyId match is a hint from the writer, never proof: the public keys must also match.
  for (const key of keys) {
    if (!key.found.localKeyId) continue;
    const certificate = certificates.find((c) => sameBytes(c.found.localKeyId, key.found.localKeyId) && keysMatch(key, c));
    if (certificate) return { key, certificate };
  }
  for (const key of keys) {
    const certificate = certificates.find((c) => keysMatch(key, c));
    if (certificate) return { key, certificate };
  }
  throw new SmimeError('P12_KEY_MISMATCH', 'No certificate in the file matches the private key');
}

/** The end entity's issuers in order (by Name), then every remaining certificate in file order. */
function orderChain(endEntity: CertificateCandidate, others: CertificateCandidate[]): Uint8Array[] {
  const remaining = [...others];
  const ordered: CertificateCandidate[] = [];
  let current = endEntity;
  while (!sameBytes(current.subject, current.issuer)) {
    const index = remaining.findIndex((c) => sameBytes(c.subject, current.issuer));
    if (index < 0) break;
    const [issuer] = remaining.splice(index, 1);
    if (!issuer) break;
    ordered.push(issuer);
    current = issuer;
  }
  return [...ordered, ...remaining].map((c) => copyBytes(c.found.der));
}

/**
 * Reads a PKCS#12 file: returns the private key, the certificate whose public key matches it, the other
 * certificates, and what protected the file. `der` may also be whole-file base64 (some tools export that).
 *
 * Throws SmimeError: P12_TOO_LARGE (over MAX_P12_BYTES or another limit), P12_MALFORMED, P12_BAD_PASSWORD (MAC
 * mismatch; without a MAC, undecryptable content), P12_UNSUPPORTED_ALGORITHM, P12_NO_KEY, P12_NO_CERTIFICATE,
 * P12_KEY_MISMATCH.
 */
export async function parsePkcs12(der: Uint8Array, password: string): Promise<Pkcs12Contents> {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  if (!(der instanceof Uint8Array)) throw malformed('The file is not a PKCS#12 file (no bytes given)');
  if (der.length > MAX_P12_BYTES) {
    throw new SmimeError('P12_TOO_LARGE', `The file is too large for a PKCS#12 key file (${der.length} bytes; the limit is ${MAX_P12_BYTES})`);
  }
  if (der.length === 0) throw malformed('The file is empty');

  const candidates = pkcs12PasswordCandidates(password);
  const state: ParseState = {
    engine: getEngine(),
    utf8Password: Buffer.from(password, 'utf8'),
    bmpPassword: candidates[0]?.bytes ?? new Uint8Array(2),
    passwordEncoding: 'bmp',
    integrity: 'none',
    budget: new KdfBudget(),
    bags: 0,
    keys: [],
    certificates: [],
    legacy: false,
    secrets: [],
  };
  let loadedKeys: LoadedKey[] = [];
  try {
    // A private copy: the caller's buffer is never wiped or aliased, and views into it are never Buffers.
    const input = copyBytes(unwrapBase64(der));
    state.secrets.push(input);
    // PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL } (RFC 7292 section 4)
    const pfx = shape('PFX', () => {
      const fields = sequence(decode(input, 'PFX'), 'PFX');
      if (fields.length < 2 || fields.length > 3) throw new DerError('PFX: expected version, authSafe [, macData]');
      if (bigInteger(fields[0], 'PFX version') !== 3n) throw new DerError('PFX: version is not 3');
      const authSafe = contentInfo(fields[1], 'authSafe');
      return { authSafe, mac: fields[2] };
    });
    if (pfx.authSafe.type === OID_SIGNED_DATA) {
      throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', 'The file is signed with a public key (public-key integrity mode), which is not supported');
    }
    if (pfx.authSafe.type !== OID_DATA) throw malformed('The file is damaged or not a PKCS#12 file (authSafe is not data)');
    const authSafeBytes = shape('authSafe', () => octets(pfx.authSafe.content, 'authSafe content'));

    let mac: MacData | undefined;
    if (pfx.mac) {
      const node = pfx.mac;
      mac = shape('MacData', () => macData(node));
      const candidate = await verifyMac(state, mac, authSafeBytes, candidates);
      state.bmpPassword = candidate.bytes;
      state.passwordEncoding = candidate.encoding;
      state.integrity = 'mac';
      if (mac.hash === 'sha1') state.legacy = true;
    }

    await readAuthenticatedSafe(state, authSafeBytes);

    if (state.keys.length === 0) throw new SmimeError('P12_NO_KEY', 'The file contains no private key');
    if (state.certificates.length === 0) throw new SmimeError('P12_NO_CERTIFICATE', 'The file contains a private key but no certificate');

    loadedKeys = state.keys.map(loadKey);
    // The same certificate is sometimes stored twice (once with the key's localKeyId, once in the chain).
    const unique = state.certificates.filter((c, i, all) => all.findIndex((o) => sameBytes(o.der, c.der)) === i);
    const certificates = unique.map(loadCertificate);
    const { key, certificate } = selectPair(loadedKeys, certificates);

    const exported = key.key.export({ type: 'pkcs8', format: 'der' });
    const privateKey = new Uint8Array(exported);
    exported.fill(0);
    return {
      privateKey,
      certificate: copyBytes(certificate.found.der),
      chain: orderChain(
        certificate,
        certificates.filter((c) => c !== certificate),
      ),
      protection: {
        integrity: state.integrity,
        mac: mac?.hash ?? null,
        macIterations: mac?.iterations ?? null,
        keyCipher: key.found.protection.cipher,
        keyKdf: key.found.protection.kdf,
        certCipher: certificate.found.protection.cipher,
        certKdf: certificate.found.protection.kdf,
        legacy: state.legacy,
        passwordEncoding: state.passwordEncoding,
      },
    };
  } catch (error) {
    if (error instanceof SmimeError) throw error;
    // Anything else is a bug or a library surprise; it still leaves as a typed error.
    throw malformed('The file is damaged or not a PKCS#12 file', error);
  } finally {
    for (const secret of state.secrets) secret.fill(0);
    state.utf8Password.fill(0);
    for (const candidate of candidates) candidate.bytes.fill(0);
    loadedKeys.length = 0;
  }
}
