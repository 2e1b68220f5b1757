/**
 * S/MIME encryption and decryption (issue 3): CMS EnvelopedData (RFC 5652 section 6) for CBC ciphers and
 * AuthEnvelopedData (RFC 5083) for AES-GCM (RFC 5084), to and from RSA (key transport) and EC (key agreement,
 * RFC 5753) recipients. Pure: bytes, keys and options in; a DER ContentInfo or a DecryptOutcome out.
 *
 * How it is built, and why:
 * - ASN.1: the outer structure and the ciphertext are read with our own offset-based BER reader (asn1/reader.ts), so
 *   indefinite lengths and chunked OCTET STRINGs as NSS and OpenSSL stream them cost no tree and no copies beyond one
 *   join, and 64 MiB of content is no different from 64 bytes. Each RecipientInfo and AlgorithmIdentifier is decoded
 *   with asn1js (asn1/asn1js-nodes.ts) under its default limits. Output is written by a small DER writer
 *   (asn1/writer.ts) that copies the ciphertext once. pkijs' EnvelopedData is not used: it parses the whole
 *   message as one asn1js tree (16 MiB content and 10,000-node defaults), has no AuthEnvelopedData, and decrypts
 *   through WebCrypto, which has no RSA PKCS #1 v1.5 decryption.
 * - Cryptography: through the pkijs crypto engine (SmimeCryptoEngine, crypto-engine.ts): content ciphers (AES-CBC,
 *   AES-GCM, DES-EDE3-CBC, RC2-CBC), RSA key transport (PKCS #1 v1.5 always with implicit rejection; OAEP), ECDH.
 *
 * Decryption outcomes and what they reveal: every cryptographic failure (wrong key, bad PKCS #1 padding, bad CBC
 * padding, bad GCM tag, bad key-wrap check) ends as status 'failed' with the one detail FAILED_DETAIL, so a sender of
 * crafted messages learns nothing from which of them failed (Bleichenbacher 1998, Vaudenay 2002, Marvin 2023).
 * Malformed input is SmimeError CMS_MALFORMED / CMS_TOO_LARGE / CMS_UNSUPPORTED, never another exception type.
 *
 * A known limit shared with OpenSSL (CMS_decrypt(3)): with RSA PKCS #1 v1.5 and a CBC cipher, a wrong key tried by
 * trial decryption (a RecipientInfo that names none of the caller's keys) yields a pseudo-random content key, and
 * about 1 time in 256 (AES) the garbage it decrypts to happens to end in valid padding. GCM and ECDH are immune (tag,
 * key-wrap check). Keys matched by identifier do not have this problem in practice: they are the right key.
 */
import { randomFillSync, type KeyObject } from 'node:crypto';
import { getEngine } from '../crypto/engine.ts';
import { SmimeError } from '../errors.ts';
import {
  contentAlgorithmDer,
  CURVES,
  KEY_WRAPS,
  keyAgreementAlgorithm,
  keyAgreementAlgorithmDer,
  keyTransportAlgorithmDer,
  oaepAlgorithm,
  RSA_PKCS1,
  type ContentAlgorithm,
  type KeyTransportAlgorithm,
} from './envelope-algorithms.ts';
import { ciphertextLength, generateContentKey } from '../crypto/content-cipher.ts';
import * as w from '../asn1/writer.ts';
import { curveOfKey } from './key-agreement.ts';
import {
  MAX_ENCRYPT_RECIPIENTS,
  MAX_ENCRYPTED_CONTENT_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_MATCHED_DECRYPTIONS,
  MAX_TRIAL_DECRYPTIONS,
  MIN_RSA_ENCRYPTION_BITS,
} from '../limits.ts';
import { certificateIdentity, identifies, serialHex, type CertificateIdentity } from './recipient-id.ts';
import {
  encryptedContentBytes,
  parseEnvelope,
  UnsupportedContentType,
  type KeyAgreeRecipient,
  type KeyTransRecipient,
  type ParsedEnvelope,
  type RecipientId,
} from './enveloped-data.ts';
import { DerError } from '../asn1/asn1js-nodes.ts';
import {
  OID_AES128_CBC,
  OID_AES128_GCM,
  OID_AES192_CBC,
  OID_AES256_CBC,
  OID_AES256_GCM,
  OID_AUTH_ENVELOPED_DATA,
  OID_DATA,
  OID_DES_EDE3_CBC,
  OID_EC_PUBLIC_KEY,
  OID_ENVELOPED_DATA,
} from '../asn1/oids.ts';

export type ContentCipher = 'aes-256-cbc' | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-128-gcm' | 'aes-256-gcm' | 'des-ede3-cbc';

export interface EnvelopeRecipient {
  /** DER X.509 certificate of the recipient: RSA (key transport) or EC P-256/384/521 (ECDH key agreement). */
  certificate: Uint8Array;
  /** RSA only (ignored for EC certificates): PKCS #1 v1.5, what every client reads (default), or RSAES-OAEP. */
  keyTransport?: 'rsa-pkcs1' | 'rsa-oaep';
}

export interface EncryptOptions {
  /** Content cipher; default aes-256-cbc. The GCM ciphers produce AuthEnvelopedData. */
  cipher?: ContentCipher;
  /** RSAES-OAEP digest (for OAEP and MGF1 alike, RFC 4055 section 4.1); default sha256. */
  oaepHash?: 'sha256' | 'sha1';
  /** X9.63 KDF digest of ECDH (dhSinglePass-stdDH-<hash>kdf-scheme, RFC 5753 section 7.1.4); default sha256. */
  ecdhKdf?: 'sha256' | 'sha384' | 'sha512';
}

export interface DecryptionKey {
  /** The caller's name for the key; returned with the outcome. */
  keyId: string;
  /** DER certificate of the key: its issuer/serial and subjectKeyIdentifier match RecipientInfos. */
  certificate: Uint8Array;
  privateKey: KeyObject;
}

export interface EnvelopeInfo {
  format: 'enveloped' | 'auth-enveloped';
  /** 'aes-256-cbc', 'aes-128-gcm', 'des-ede3-cbc', 'rc2-40-cbc', ..., or the OID of an unknown cipher. */
  contentCipher: string;
  recipients: {
    type: 'ktri' | 'kari' | 'other';
    /** RFC 4514 text of the issuer, with serialNumber (lowercase hex), or subjectKeyIdentifier (lowercase hex). */
    issuer?: string;
    serialNumber?: string;
    subjectKeyIdentifier?: string;
    /** 'rsa-pkcs1-v1_5', 'rsa-oaep-sha256', 'ecdh-sha256kdf-aes128-wrap', ..., 'kekri'/'pwri'/'ori' for other. */
    keyEncryption: string;
  }[];
}

export type DecryptOutcome =
  | { status: 'decrypted'; content: Uint8Array; keyId: string; info: EnvelopeInfo }
  | { status: 'no-key' | 'failed'; info?: EnvelopeInfo; detail: string };

/** The one detail of every cryptographic failure (see the module comment). */
export const FAILED_DETAIL = 'The message could not be decrypted with the key it is addressed to: the key does not fit or the message was altered.';
/** No RecipientInfo names any of the keys, and trial decryption with each of them failed. */
export const NO_KEY_DETAIL = 'The message is not encrypted to any of the available keys.';

const DEFAULT_OPTIONS: Required<EncryptOptions> = { cipher: 'aes-256-cbc', oaepHash: 'sha256', ecdhKdf: 'sha256' };
const CIPHERS: Readonly<Record<ContentCipher, { oid: string; kind: 'cbc' | 'gcm'; family: 'aes' | 'des-ede3'; keyLength: number }>> = {
  'aes-128-cbc': { oid: OID_AES128_CBC, kind: 'cbc', family: 'aes', keyLength: 16 },
  'aes-192-cbc': { oid: OID_AES192_CBC, kind: 'cbc', family: 'aes', keyLength: 24 },
  'aes-256-cbc': { oid: OID_AES256_CBC, kind: 'cbc', family: 'aes', keyLength: 32 },
  'aes-128-gcm': { oid: OID_AES128_GCM, kind: 'gcm', family: 'aes', keyLength: 16 },
  'aes-256-gcm': { oid: OID_AES256_GCM, kind: 'gcm', family: 'aes', keyLength: 32 },
  'des-ede3-cbc': { oid: OID_DES_EDE3_CBC, kind: 'cbc', family: 'des-ede3', keyLength: 24 },
};
const OPTION_VALUES: Readonly<Record<keyof EncryptOptions, readonly string[]>> = {
  cipher: Object.keys(CIPHERS),
  oaepHash: ['sha256', 'sha1'],
  ecdhKdf: ['sha256', 'sha384', 'sha512'],
};
const RECIPIENT_FIELDS = new Set(['certificate', 'keyTransport']);
const KEY_TRANSPORTS = new Set(['rsa-pkcs1', 'rsa-oaep']);
/** RFC 5084 section 3.2 / NIST SP 800-38D section 8.2: 12-byte nonces, and we write the full 16-byte tag. */
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_BLOCK = 16;
const DES_BLOCK = 8;
/** The largest plaintext we encrypt: the ciphertext (plus one block of padding) must stay within what we read back. */
const MAX_PLAINTEXT_BYTES = MAX_ENCRYPTED_CONTENT_BYTES - AES_BLOCK;

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

function toCmsError(error: unknown): SmimeError {
  if (error instanceof SmimeError) return error;
  if (error instanceof UnsupportedContentType) {
    return new SmimeError('CMS_UNSUPPORTED', `The CMS content is not enveloped data (content type ${error.contentType})`);
  }
  if (error instanceof DerError) {
    return error.limit
      ? new SmimeError('CMS_TOO_LARGE', `The encrypted message exceeds a parsing limit (${error.message})`)
      : new SmimeError('CMS_MALFORMED', `The encrypted message is damaged (${error.message})`);
  }
  return new SmimeError('CMS_MALFORMED', 'The encrypted message is damaged', { cause: error });
}

function parse(der: unknown): ParsedEnvelope {
  if (!(der instanceof Uint8Array)) throw new SmimeError('CMS_MALFORMED', 'The encrypted message must be bytes');
  if (der.length === 0) throw new SmimeError('CMS_MALFORMED', 'The encrypted message is empty');
  if (der.length > MAX_ENVELOPE_BYTES) {
    throw new SmimeError('CMS_TOO_LARGE', `The encrypted message is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  }
  try {
    return parseEnvelope(der);
  } catch (error) {
    throw toCmsError(error);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------------------------------------------

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function describeRid(rid: RecipientId): Pick<EnvelopeInfo['recipients'][number], 'issuer' | 'serialNumber' | 'subjectKeyIdentifier'> {
  return rid.kind === 'issuerAndSerialNumber' ? { issuer: rid.issuerText, serialNumber: serialHex(rid.serial) } : { subjectKeyIdentifier: hex(rid.ski) };
}

function infoOf(envelope: ParsedEnvelope): EnvelopeInfo {
  const recipients: EnvelopeInfo['recipients'] = [];
  for (const ri of envelope.recipients) {
    if (ri.type === 'ktri') recipients.push({ type: 'ktri', ...describeRid(ri.rid), keyEncryption: ri.algorithm.name });
    else if (ri.type === 'kari') for (const k of ri.keys) recipients.push({ type: 'kari', ...describeRid(k.rid), keyEncryption: ri.algorithm.name });
    else recipients.push({ type: 'other', keyEncryption: ri.kind });
  }
  return { format: envelope.format, contentCipher: envelope.contentAlgorithm.name, recipients };
}

/** Reads who a message is for and how it is encrypted, without keys. Throws SmimeError CMS_*. */
export function inspectEnvelope(der: Uint8Array): EnvelopeInfo {
  return infoOf(parse(der));
}

// ---------------------------------------------------------------------------------------------------------------
// Decryption
// ---------------------------------------------------------------------------------------------------------------

type Slot =
  | { type: 'ktri'; rid: RecipientId; ri: KeyTransRecipient; encryptedKey: Uint8Array }
  | { type: 'kari'; rid: RecipientId; ri: KeyAgreeRecipient; encryptedKey: Uint8Array };

interface Candidate {
  key: DecryptionKey;
  identity: CertificateIdentity | undefined;
}

type Attempt = { ok: true; content: Uint8Array } | { ok: false; unsupported?: string };

function slotsOf(envelope: ParsedEnvelope): Slot[] {
  const slots: Slot[] = [];
  for (const ri of envelope.recipients) {
    if (ri.type === 'ktri') slots.push({ type: 'ktri', rid: ri.rid, ri, encryptedKey: ri.encryptedKey });
    else if (ri.type === 'kari') for (const k of ri.keys) slots.push({ type: 'kari', rid: k.rid, ri, encryptedKey: k.encryptedKey });
  }
  return slots;
}

/** Whether a key can possibly open a slot, from public facts (key type, curve). */
function compatible(slot: Slot, key: KeyObject): boolean {
  if (key.type !== 'private') return false;
  if (slot.type === 'ktri') return key.asymmetricKeyType === 'rsa';
  const curve = curveOfKey(key);
  const originatorCurve = slot.ri.originator?.curveOid;
  return curve !== undefined && (originatorCurve === undefined || originatorCurve === curve.oid);
}

function isKeyObject(value: unknown): value is KeyObject {
  return typeof value === 'object' && value !== null && typeof (value as KeyObject).asymmetricKeyType !== 'undefined' && (value as KeyObject).type === 'private';
}

class Decryptor {
  readonly #envelope: ParsedEnvelope;
  readonly #algorithm: ContentAlgorithm;
  #ciphertext: Uint8Array | undefined;

  constructor(envelope: ParsedEnvelope) {
    this.#envelope = envelope;
    this.#algorithm = envelope.contentAlgorithm;
  }

  /** The ciphertext, joined once (a chunked BER string) and shared by every attempt. */
  #content(): Uint8Array {
    this.#ciphertext ??= encryptedContentBytes(this.#envelope);
    return this.#ciphertext;
  }

  #unwrap(slot: Slot, privateKey: KeyObject): Uint8Array {
    const engine = getEngine();
    const expectedLength = this.#algorithm.kind === 'unsupported' ? 0 : this.#algorithm.keyLength;
    if (slot.type === 'ktri') {
      return engine.decryptKeyTransport({ algorithm: slot.ri.algorithm, privateKey, encryptedKey: slot.encryptedKey, expectedLength });
    }
    const originator = slot.ri.originator;
    if (!originator) throw new SmimeError('CMS_UNSUPPORTED', 'static-static ECDH (an originator certificate) is not supported');
    if (originator.unsupported) throw new SmimeError('CMS_UNSUPPORTED', `ECDH with ${originator.unsupported} is not supported`);
    return engine.decryptKeyAgreement({
      algorithm: slot.ri.algorithm,
      privateKey,
      originatorPoint: originator.point,
      ...(originator.curveOid ? { originatorCurveOid: originator.curveOid } : {}),
      ...(slot.ri.ukm ? { ukm: slot.ri.ukm } : {}),
      wrappedKey: slot.encryptedKey,
      expectedLength,
    });
  }

  /** One key against one slot: unwrap the content key, decrypt the content, wipe the key. Never throws. */
  attempt(slot: Slot, privateKey: KeyObject): Attempt {
    let cek: Uint8Array | undefined;
    try {
      cek = this.#unwrap(slot, privateKey);
      const content = getEngine().decryptCmsContent({
        algorithm: this.#algorithm,
        key: cek,
        ciphertext: this.#content(),
        ...(this.#envelope.mac ? { tag: this.#envelope.mac } : {}),
        ...(this.#envelope.aad ? { aad: this.#envelope.aad } : {}),
      });
      // A plain Uint8Array view (the ciphers hand back Buffers), as the type says.
      return { ok: true, content: new Uint8Array(content.buffer, content.byteOffset, content.length) };
    } catch (error) {
      if (error instanceof SmimeError && error.code === 'CMS_UNSUPPORTED') return { ok: false, unsupported: error.message };
      return { ok: false };
    } finally {
      cek?.fill(0);
    }
  }
}

/** Checks what must hold before any key is used; throws SmimeError. */
function checkDecryptable(envelope: ParsedEnvelope): void {
  const algorithm = envelope.contentAlgorithm;
  if (algorithm.kind === 'unsupported') {
    throw new SmimeError('CMS_UNSUPPORTED', `The message is encrypted with an unsupported cipher (${algorithm.name})`);
  }
  // RFC 5083 section 2.1: AuthEnvelopedData needs an authenticated-encryption algorithm; a CBC cipher there would let
  // a tampered message pass as authenticated. And GCM without AuthEnvelopedData has no tag to check (RFC 5084).
  if (envelope.format === 'auth-enveloped' && algorithm.kind !== 'gcm') {
    throw new SmimeError('CMS_UNSUPPORTED', `AuthEnvelopedData with a non-authenticating cipher (${algorithm.name})`);
  }
  if (envelope.format === 'enveloped' && algorithm.kind === 'gcm') {
    throw new SmimeError('CMS_MALFORMED', `${algorithm.name} is only valid in AuthEnvelopedData (RFC 5084)`);
  }
  if (!envelope.encryptedContent) throw new SmimeError('CMS_UNSUPPORTED', 'Detached encrypted content is not supported');
}

/**
 * Decrypts with the first key that opens the message. Keys whose certificate a RecipientInfo names
 * (issuerAndSerialNumber or subjectKeyIdentifier) are tried first and alone; if none is named, every key is tried
 * against every ktri/kari it could fit (some senders write wrong identifiers) before answering 'no-key'.
 * Throws SmimeError CMS_MALFORMED / CMS_TOO_LARGE / CMS_UNSUPPORTED for input that cannot be decrypted by anyone.
 */
export async function decryptEnvelope(der: Uint8Array, keys: DecryptionKey[]): Promise<DecryptOutcome> {
  const envelope = parse(der);
  const info = infoOf(envelope);
  checkDecryptable(envelope);
  if (!Array.isArray(keys)) throw new SmimeError('CMS_INVALID_OPTIONS', 'keys must be an array');

  const candidates: Candidate[] = [];
  for (const key of keys) {
    if (!key || !isKeyObject(key.privateKey)) continue;
    let identity: CertificateIdentity | undefined;
    try {
      identity = key.certificate instanceof Uint8Array ? certificateIdentity(key.certificate) : undefined;
    } catch {
      identity = undefined; // an unreadable certificate names nothing, but the key may still open the message by trial
    }
    candidates.push({ key, identity });
  }

  const slots = slotsOf(envelope);
  const decryptor = new Decryptor(envelope);
  const matched: { slot: Slot; candidate: Candidate }[] = [];
  for (const candidate of candidates) {
    for (const slot of slots) {
      if (candidate.identity && identifies(slot.rid, candidate.identity)) matched.push({ slot, candidate });
    }
  }

  if (matched.length > 0) {
    let unsupported: string | undefined;
    let tried = 0;
    for (const { slot, candidate } of matched.slice(0, MAX_MATCHED_DECRYPTIONS)) {
      const result = decryptor.attempt(slot, candidate.key.privateKey);
      if (result.ok) return { status: 'decrypted', content: result.content, keyId: candidate.key.keyId, info };
      if (result.unsupported) unsupported ??= result.unsupported;
      else tried++;
    }
    // Only when nothing was tried at all is the algorithm the reason; otherwise the one generic detail.
    return { status: 'failed', info, detail: tried === 0 && unsupported ? unsupported : FAILED_DETAIL };
  }

  let budget = MAX_TRIAL_DECRYPTIONS;
  for (const candidate of candidates) {
    for (const slot of slots) {
      if (budget === 0 || !compatible(slot, candidate.key.privateKey)) continue;
      budget--;
      const result = decryptor.attempt(slot, candidate.key.privateKey);
      if (result.ok) return { status: 'decrypted', content: result.content, keyId: candidate.key.keyId, info };
    }
  }
  return { status: 'no-key', info, detail: NO_KEY_DETAIL };
}

// ---------------------------------------------------------------------------------------------------------------
// Encryption
// ---------------------------------------------------------------------------------------------------------------

function resolveOptions(options: unknown): Required<EncryptOptions> {
  if (options === undefined) return { ...DEFAULT_OPTIONS };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SmimeError('CMS_INVALID_OPTIONS', 'options must be an object');
  }
  const merged: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const [name, value] of Object.entries(options)) {
    if (!(name in OPTION_VALUES)) throw new SmimeError('CMS_INVALID_OPTIONS', `Unknown encryption option "${name}"`);
    if (value === undefined) continue;
    if (typeof value !== 'string' || !OPTION_VALUES[name as keyof EncryptOptions].includes(value)) {
      throw new SmimeError('CMS_INVALID_OPTIONS', `Invalid value for "${name}": expected one of ${OPTION_VALUES[name as keyof EncryptOptions].join(', ')}`);
    }
    merged[name] = value;
  }
  return merged as Required<EncryptOptions>;
}

interface PreparedRecipient {
  identity: CertificateIdentity;
  publicKey: KeyObject;
  kind: 'rsa' | 'ec';
  keyTransport: 'rsa-pkcs1' | 'rsa-oaep';
}

function prepareRecipient(recipient: unknown, index: number): PreparedRecipient {
  if (typeof recipient !== 'object' || recipient === null) throw new SmimeError('CMS_INVALID_OPTIONS', `Recipient ${index} is not an object`);
  for (const name of Object.keys(recipient)) {
    if (!RECIPIENT_FIELDS.has(name)) throw new SmimeError('CMS_INVALID_OPTIONS', `Unknown recipient field "${name}"`);
  }
  const { certificate, keyTransport = 'rsa-pkcs1' } = recipient as EnvelopeRecipient;
  if (!KEY_TRANSPORTS.has(keyTransport)) throw new SmimeError('CMS_INVALID_OPTIONS', `Invalid keyTransport "${String(keyTransport)}"`);
  if (!(certificate instanceof Uint8Array)) throw new SmimeError('CMS_INVALID_OPTIONS', `Recipient ${index} has no DER certificate`);
  let identity: CertificateIdentity;
  try {
    identity = certificateIdentity(certificate);
  } catch (cause) {
    throw new SmimeError('CERT_MALFORMED', `The certificate of recipient ${index} is malformed`, { cause });
  }
  const publicKey = identity.publicKey;
  const refuse = (why: string) => new SmimeError('CMS_UNSUPPORTED', `Cannot encrypt to "${identity.subjectText}": ${why}`);
  if (!publicKey) throw refuse('its public key cannot be read');
  if (publicKey.asymmetricKeyType === 'rsa') {
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_ENCRYPTION_BITS) throw refuse(`its ${bits}-bit RSA key is below ${MIN_RSA_ENCRYPTION_BITS} bits`);
    return { identity, publicKey, kind: 'rsa', keyTransport };
  }
  if (publicKey.asymmetricKeyType === 'ec') {
    if (!curveOfKey(publicKey)) throw refuse(`its EC curve (${publicKey.asymmetricKeyDetails?.namedCurve ?? 'unknown'}) is not P-256, P-384 or P-521`);
    return { identity, publicKey, kind: 'ec', keyTransport };
  }
  throw refuse(`its ${publicKey.asymmetricKeyType ?? 'unknown'} key can neither transport nor agree a key (RSA or EC P-256/384/521 needed)`);
}

function contentAlgorithmFor(cipher: ContentCipher): ContentAlgorithm {
  const spec = CIPHERS[cipher];
  if (spec.kind === 'gcm') {
    const nonce = randomFillSync(new Uint8Array(GCM_NONCE_BYTES));
    return { kind: 'gcm', family: 'aes', name: cipher, oid: spec.oid, keyLength: spec.keyLength, nonce, tagLength: GCM_TAG_BYTES };
  }
  const iv = randomFillSync(new Uint8Array(spec.family === 'aes' ? AES_BLOCK : DES_BLOCK));
  return { kind: 'cbc', family: spec.family as 'aes' | 'des-ede3', name: cipher, oid: spec.oid, keyLength: spec.keyLength, iv };
}

function issuerAndSerialNumber(identity: CertificateIdentity): w.Der {
  return w.sequence(w.encoded(identity.issuer), w.encoded(identity.serialNumber));
}

/** KeyTransRecipientInfo, version 0 with issuerAndSerialNumber (RFC 5652 section 6.2.1). */
function keyTransRecipientInfo(recipient: PreparedRecipient, algorithm: KeyTransportAlgorithm, cek: Uint8Array): w.Der {
  const encryptedKey = getEngine().encryptKeyTransport({ algorithm, publicKey: recipient.publicKey, key: cek });
  return w.sequence(w.integer(0), issuerAndSerialNumber(recipient.identity), keyTransportAlgorithmDer(algorithm), w.octetString(encryptedKey));
}

/**
 * KeyAgreeRecipientInfo (RFC 5652 section 6.2.2, RFC 5753 section 3.1.1): version 3, an ephemeral originatorKey
 * (id-ecPublicKey with absent parameters, as OpenSSL writes it: the curve is the recipient's), no ukm, and the wrap
 * sized to the content key (aes256-wrap for AES-256 content, RFC 5753 section 7.1.5 / RFC 8551 section 2.7.1.2).
 */
function keyAgreeRecipientInfo(recipient: PreparedRecipient, kdf: Required<EncryptOptions>['ecdhKdf'], cek: Uint8Array): w.Der {
  const wrap = KEY_WRAPS.find((k) => k.keyLength >= cek.length) ?? KEY_WRAPS[KEY_WRAPS.length - 1]!;
  const algorithm = keyAgreementAlgorithm(kdf, wrap);
  const { ephemeralPoint, wrappedKey } = getEngine().encryptKeyAgreement({ algorithm, publicKey: recipient.publicKey, key: cek });
  const originator = w.tlv(w.contextTag(0, true), [w.tlv(w.contextTag(1, true), [w.algorithm(OID_EC_PUBLIC_KEY), w.bitString(ephemeralPoint)])]);
  const encryptedKeys = w.sequence(w.sequence(issuerAndSerialNumber(recipient.identity), w.octetString(wrappedKey)));
  return w.tlv(w.contextTag(1, true), [w.integer(3), originator, keyAgreementAlgorithmDer(algorithm), encryptedKeys]);
}

/**
 * Encrypts `content` to every recipient: one RecipientInfo each (ktri for RSA, kari for EC), a fresh random content
 * key and IV/nonce, DER out. GCM ciphers give AuthEnvelopedData. The content key is wiped before returning.
 * Throws SmimeError: CMS_INVALID_OPTIONS, CMS_TOO_LARGE, CERT_MALFORMED, CMS_UNSUPPORTED (naming the certificate).
 */
export async function encryptEnvelope(content: Uint8Array, recipients: EnvelopeRecipient[], options?: EncryptOptions): Promise<Uint8Array> {
  if (!(content instanceof Uint8Array)) {
    resolveOptions(options);
    throw new SmimeError('CMS_INVALID_OPTIONS', 'content must be bytes');
  }
  let out: Buffer | undefined;
  let at = 0;
  encryptEnvelopePieces([content], recipients, options, (length) => {
    out = Buffer.allocUnsafeSlow(length); // every byte is written below; never the shared pool
    return (chunk) => {
      out!.set(chunk, at);
      at += chunk.length;
    };
  });
  return new Uint8Array(out!.buffer, out!.byteOffset, out!.length);
}

/** Plaintext encrypted per cipher call: the cipher's output buffers stay small and are reused, not fresh memory. */
const ENCRYPT_SLICE_BYTES = 64 * 1024;

/**
 * encryptEnvelope over content in pieces (joined in order), written out as it is made (issue 6): `open` is called
 * once with the length of the whole DER and returns the sink that then receives every byte of it in order, the
 * ciphertext as the cipher produces it. Neither the joined content nor the whole ciphertext ever exists in memory
 * here, so the caller can write the DER straight into its output (as base64, in outgoing.ts). Returns the content
 * type: 'enveloped' (EnvelopedData) or 'auth-enveloped' (AuthEnvelopedData, the GCM ciphers). Throws as
 * encryptEnvelope, before `open` is called, except for a failure of the cipher itself (CMS_UNSUPPORTED).
 */
export function encryptEnvelopePieces(
  content: readonly Uint8Array[],
  recipients: EnvelopeRecipient[],
  options: EncryptOptions | undefined,
  open: (length: number) => (chunk: Uint8Array) => void,
): 'enveloped' | 'auth-enveloped' {
  const settings = resolveOptions(options);
  if (!content.every((piece) => piece instanceof Uint8Array)) throw new SmimeError('CMS_INVALID_OPTIONS', 'content must be bytes');
  let contentLength = 0;
  for (const piece of content) contentLength += piece.length;
  if (contentLength > MAX_PLAINTEXT_BYTES) throw new SmimeError('CMS_TOO_LARGE', `The content is larger than ${MAX_PLAINTEXT_BYTES} bytes`);
  if (!Array.isArray(recipients) || recipients.length === 0) throw new SmimeError('CMS_INVALID_OPTIONS', 'At least one recipient is needed');
  if (recipients.length > MAX_ENCRYPT_RECIPIENTS) throw new SmimeError('CMS_TOO_LARGE', `More than ${MAX_ENCRYPT_RECIPIENTS} recipients`);
  const prepared = recipients.map(prepareRecipient);

  const algorithm = contentAlgorithmFor(settings.cipher);
  const oaep = oaepAlgorithm(settings.oaepHash);
  const cek = generateContentKey(algorithm);
  try {
    const recipientInfos = prepared.map((r) =>
      r.kind === 'rsa' ? keyTransRecipientInfo(r, r.keyTransport === 'rsa-oaep' ? oaep : RSA_PKCS1, cek) : keyAgreeRecipientInfo(r, settings.ecdhKdf, cek),
    );
    const cipher = getEngine().cmsContentEncryptor(algorithm, cek);
    const encryptedLength = ciphertextLength(algorithm, contentLength);

    // The DER around the ciphertext, written with a placeholder of the ciphertext's length: the writer only needs
    // lengths, so the encoding splits into what comes before the ciphertext and what comes after it.
    const placeholder = new Uint8Array(0);
    const ciphertextSlot: w.Der = { length: encryptedLength, parts: [placeholder] };
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT }
    const encryptedContentInfo = w.sequence(w.objectIdentifier(OID_DATA), contentAlgorithmDer(algorithm), w.tlv(w.contextTag(0, false), [ciphertextSlot]));
    const tagSlot: w.Der = { length: GCM_TAG_BYTES + 2, parts: [] };
    let body: w.Der;
    if (algorithm.kind === 'gcm') {
      // RFC 5083 section 2.1: version is always 0; no authenticated attributes, so no AAD.
      body = w.sequence(w.integer(0), w.setOf(recipientInfos), encryptedContentInfo, tagSlot);
    } else {
      // RFC 5652 section 6.1: version 0 when every RecipientInfo is version 0 (ktri with issuerAndSerialNumber) and
      // there is no originatorInfo or unprotectedAttrs; a kari (version 3) makes it 2.
      const version = prepared.every((r) => r.kind === 'rsa') ? 0 : 2;
      body = w.sequence(w.integer(version), w.setOf(recipientInfos), encryptedContentInfo);
    }
    const contentType = algorithm.kind === 'gcm' ? OID_AUTH_ENVELOPED_DATA : OID_ENVELOPED_DATA;
    const der = w.sequence(w.objectIdentifier(contentType), w.tlv(w.contextTag(0, true), [body]));
    const slot = der.parts.indexOf(placeholder);
    const before = der.parts.slice(0, slot);
    const prefix = w.toBytes({ length: before.reduce((n, p) => n + p.length, 0), parts: before });

    const sink = open(der.length);
    sink(prefix);
    let written = 0;
    const feed = (data: Uint8Array) => {
      const chunk = cipher.update(data);
      written += chunk.length;
      if (chunk.length > 0) sink(chunk);
    };
    // Small pieces (delimiters, header lines) are gathered into one slice first: a cipher call costs more than the
    // few bytes it would encrypt. Large pieces go to the cipher directly, a slice at a time.
    const gather = Buffer.allocUnsafeSlow(Math.min(ENCRYPT_SLICE_BYTES, Math.max(contentLength, 1)));
    let gathered = 0;
    try {
      for (const piece of content) {
        let at = 0;
        while (at < piece.length) {
          if (gathered === 0 && piece.length - at >= gather.length) {
            feed(piece.subarray(at, at + ENCRYPT_SLICE_BYTES));
            at += ENCRYPT_SLICE_BYTES;
            continue;
          }
          const take = Math.min(gather.length - gathered, piece.length - at);
          gather.set(piece.subarray(at, at + take), gathered);
          gathered += take;
          at += take;
          if (gathered === gather.length) {
            feed(gather);
            gathered = 0;
          }
        }
      }
      if (gathered > 0) feed(gather.subarray(0, gathered));
    } finally {
      gather.fill(0); // plaintext
    }
    const last = cipher.final();
    written += last.length;
    if (last.length > 0) sink(last);
    if (written !== encryptedLength) throw new SmimeError('CMS_UNSUPPORTED', `The cipher wrote ${written} bytes, not ${encryptedLength}`);
    // After the ciphertext: the GCM tag, an OCTET STRING (RFC 5083 section 2.1 mac), for AuthEnvelopedData.
    if (algorithm.kind === 'gcm') sink(w.toBytes(w.octetString(cipher.tag()!)));
    return algorithm.kind === 'gcm' ? 'auth-enveloped' : 'enveloped';
  } finally {
    cek.fill(0);
  }
}

/** The curves encryptEnvelope accepts for EC recipients, for callers that filter certificates up front. */
export const SUPPORTED_EC_CURVES: readonly string[] = CURVES.map((c) => c.name);
