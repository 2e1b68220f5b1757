/**
 * Decrypting an EnvelopedData or AuthEnvelopedData with the caller's keys (RFC 5652 section 6, RFC 5083).
 *
 * Decryption outcomes and what they reveal: every cryptographic failure (wrong key, bad PKCS #1 padding, bad CBC
 * padding, bad GCM tag, bad key-wrap check) ends as status 'failed' with the one detail FAILED_DETAIL, so a sender of
 * crafted messages learns nothing from which of them failed (Bleichenbacher 1998, Vaudenay 2002, Marvin 2023).
 * Malformed input is SmimeError CMS_MALFORMED / CMS_TOO_LARGE / CMS_UNSUPPORTED, never another exception type.
 *
 * A known limit shared with OpenSSL (CMS_decrypt(3)): with RSA PKCS #1 v1.5 and a CBC cipher, a wrong key tried by
 * trial decryption (a RecipientInfo that names none of the caller's keys) yields a pseudo-random content key, and
 * about 1 time in 256 (AES) the garbage it decrypts to happens to end in valid padding. GCM and ECDH are immune (tag,
 * key-wrap check). Keys matched by identifier do not have this problem in practice: they are the right key. Where
 * OpenSSL returns the garbage, a trial here also asks for a MIME header section (entity-shape.ts).
 */
import type { KeyObject } from 'node:crypto';
import { cmsCrypto } from './primitives.ts';
import { SmimeError } from '../../errors.ts';
import { isAead, type ContentAlgorithm } from './algorithms.ts';
import { envelopeInfo, readEnvelope, type EnvelopeInfo } from './inspect.ts';
import { agreementGroupOfKey, originatorFits } from './key-agreement.ts';
import { startsWithHeaderSection } from './entity-shape.ts';
import { MAX_MATCHED_DECRYPTIONS, MAX_TRIAL_DECRYPTIONS } from '../../limits.ts';
import { certificateIdentity, identifies, type CertificateIdentity } from './recipient-id.ts';
import {
  encryptedContentSegments,
  type KeyAgreeRecipient,
  type KeyTransRecipient,
  type ParsedEnvelope,
  type RecipientId,
} from './read.ts';

export interface DecryptionKey {
  /** The caller's name for the key; returned with the outcome. */
  keyId: string;
  /** DER certificate of the key: its issuer/serial and subjectKeyIdentifier match RecipientInfos. */
  certificate: Uint8Array;
  privateKey: KeyObject;
}

export type DecryptOutcome =
  | { status: 'decrypted'; content: Uint8Array; keyId: string; info: EnvelopeInfo }
  | { status: 'no-key' | 'failed'; info?: EnvelopeInfo; detail: string };

/** The one detail of every cryptographic failure (see the module comment). */
export const FAILED_DETAIL =
  'The message could not be decrypted with the key it is addressed to: the key does not fit or the message was altered.';
/** No RecipientInfo names any of the keys, and trial decryption with each of them failed. */
export const NO_KEY_DETAIL = 'The message is not encrypted to any of the available keys.';

type Slot =
  | { type: 'ktri'; rid: RecipientId; ri: KeyTransRecipient; encryptedKey: Uint8Array }
  | { type: 'kari'; rid: RecipientId; ri: KeyAgreeRecipient; encryptedKey: Uint8Array };

interface Candidate {
  key: DecryptionKey;
  identity: CertificateIdentity | undefined;
}

/** A key matched to the RecipientInfo that names it. */
interface Match {
  slot: Slot;
  candidate: Candidate;
}

type Attempt = { ok: true; content: Uint8Array } | { ok: false; unsupported?: string };

function slotsOf(envelope: ParsedEnvelope): Slot[] {
  const slots: Slot[] = [];
  for (const ri of envelope.recipients) {
    if (ri.type === 'ktri') slots.push({ type: 'ktri', rid: ri.rid, ri, encryptedKey: ri.encryptedKey });
    else if (ri.type === 'kari')
      for (const k of ri.keys) slots.push({ type: 'kari', rid: k.rid, ri, encryptedKey: k.encryptedKey });
  }
  return slots;
}

/** Whether a key can possibly open a slot, from public facts (key type, curve or X25519). */
function compatible(slot: Slot, key: KeyObject): boolean {
  if (key.type !== 'private') return false;
  if (slot.type === 'ktri') return key.asymmetricKeyType === 'rsa';
  const group = agreementGroupOfKey(key);
  return group !== undefined && originatorFits(group, slot.ri.originator?.curveOid);
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KeyObject).asymmetricKeyType !== 'undefined' &&
    (value as KeyObject).type === 'private'
  );
}

class Decryptor {
  readonly #envelope: ParsedEnvelope;
  readonly #algorithm: ContentAlgorithm;
  #ciphertext: Uint8Array[] | undefined;

  constructor(envelope: ParsedEnvelope) {
    this.#envelope = envelope;
    this.#algorithm = envelope.contentAlgorithm;
  }

  /** The ciphertext's segments (views of the message, a chunked BER string not joined), shared by every attempt. */
  #content(): Uint8Array[] {
    this.#ciphertext ??= encryptedContentSegments(this.#envelope);
    return this.#ciphertext;
  }

  #unwrap(slot: Slot, privateKey: KeyObject): Uint8Array {
    const expectedLength = this.#algorithm.kind === 'unsupported' ? 0 : this.#algorithm.keyLength;
    if (slot.type === 'ktri') {
      return cmsCrypto.decryptKeyTransport({
        algorithm: slot.ri.algorithm,
        privateKey,
        encryptedKey: slot.encryptedKey,
        expectedLength,
      });
    }
    const originator = slot.ri.originator;
    if (!originator)
      throw new SmimeError('CMS_UNSUPPORTED', 'static-static ECDH (an originator certificate) is not supported');
    if (originator.unsupported)
      throw new SmimeError('CMS_UNSUPPORTED', `ECDH with ${originator.unsupported} is not supported`);
    return cmsCrypto.decryptKeyAgreement({
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
      const content = cmsCrypto.decryptContent({
        algorithm: this.#algorithm,
        key: cek,
        ciphertext: this.#content(),
        ...(this.#envelope.mac ? { tag: this.#envelope.mac } : {}),
        ...(this.#envelope.aad ? { aad: this.#envelope.aad } : {}),
      });
      // A plain Uint8Array view (the ciphers hand back Buffers), as the type says.
      return { ok: true, content: new Uint8Array(content.buffer, content.byteOffset, content.length) };
    } catch (error) {
      if (error instanceof SmimeError && error.code === 'CMS_UNSUPPORTED')
        return { ok: false, unsupported: error.message };
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
  // a tampered message pass as authenticated. And GCM or ChaCha20-Poly1305 without AuthEnvelopedData has no tag to
  // check (RFC 5084 section 3, RFC 8103 section 3).
  if (envelope.format === 'auth-enveloped' && !isAead(algorithm)) {
    throw new SmimeError('CMS_UNSUPPORTED', `AuthEnvelopedData with a non-authenticating cipher (${algorithm.name})`);
  }
  if (envelope.format === 'enveloped' && isAead(algorithm)) {
    throw new SmimeError(
      'CMS_MALFORMED',
      `${algorithm.name} is only valid in AuthEnvelopedData (${algorithm.kind === 'gcm' ? 'RFC 5084' : 'RFC 8103'})`,
    );
  }
  if (!envelope.encryptedContent)
    throw new SmimeError('CMS_UNSUPPORTED', 'Detached encrypted content is not supported');
}

/**
 * Decrypts with the first key that opens the message. Keys whose certificate a RecipientInfo names
 * (issuerAndSerialNumber or subjectKeyIdentifier) are tried first and alone; if none is named, every key is tried
 * against every ktri/kari it could fit (some senders write wrong identifiers) before answering 'no-key'.
 * Throws SmimeError CMS_MALFORMED / CMS_TOO_LARGE / CMS_UNSUPPORTED for input that cannot be decrypted by anyone.
 */
export async function decryptEnvelope(der: Uint8Array, keys: DecryptionKey[]): Promise<DecryptOutcome> {
  const envelope = readEnvelope(der);
  const info = envelopeInfo(envelope);
  checkDecryptable(envelope);
  if (!Array.isArray(keys)) throw new SmimeError('CMS_INVALID_OPTIONS', 'keys must be an array');

  const candidates = candidatesOf(keys);
  const slots = slotsOf(envelope);
  const decryptor = new Decryptor(envelope);
  const matched: Match[] = [];
  for (const candidate of candidates) {
    for (const slot of slots) {
      if (candidate.identity && identifies(slot.rid, candidate.identity)) matched.push({ slot, candidate });
    }
  }
  if (matched.length > 0) return decryptMatched(decryptor, matched, info);
  return decryptByTrial(decryptor, candidates, slots, info);
}

/**
 * Whether a RecipientInfo of the envelope names one of `certificates` (issuerAndSerialNumber or subjectKeyIdentifier):
 * how a reader whose keys are locked tells "unlock to read" from "not encrypted to you" without any private key.
 * Certificates that cannot be read name nothing.
 */
export function namesAnyOf(der: Uint8Array, certificates: readonly Uint8Array[]): boolean {
  const slots = slotsOf(readEnvelope(der));
  return certificates.some((certificate) => {
    let identity: CertificateIdentity;
    try {
      identity = certificateIdentity(certificate);
    } catch {
      return false;
    }
    return slots.some((slot) => identifies(slot.rid, identity));
  });
}

/** The usable keys, each with the identifiers its certificate names it by. */
function candidatesOf(keys: readonly DecryptionKey[]): Candidate[] {
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
  return candidates;
}

/** The keys a RecipientInfo names, tried alone: their failure is 'failed', never a reason to try the others. */
function decryptMatched(decryptor: Decryptor, matched: readonly Match[], info: EnvelopeInfo): DecryptOutcome {
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

/** No key is named: every key against every RecipientInfo it could fit (some senders write wrong identifiers). */
function decryptByTrial(
  decryptor: Decryptor,
  candidates: readonly Candidate[],
  slots: readonly Slot[],
  info: EnvelopeInfo,
): DecryptOutcome {
  let budget = MAX_TRIAL_DECRYPTIONS;
  for (const candidate of candidates) {
    for (const slot of slots) {
      if (budget === 0 || !compatible(slot, candidate.key.privateKey)) continue;
      budget--;
      const result = decryptor.attempt(slot, candidate.key.privateKey);
      if (result.ok && (!guessable(slot, info) || startsWithHeaderSection(result.content)))
        return { status: 'decrypted', content: result.content, keyId: candidate.key.keyId, info };
    }
  }
  return { status: 'no-key', info, detail: NO_KEY_DETAIL };
}

/**
 * Whether a trial success proves nothing by itself: RSA PKCS #1 v1.5 with implicit rejection turns a wrong key into
 * a pseudo-random content key, and an unauthenticated cipher (CBC, 3DES, RC2) accepts the random plaintext whenever
 * its last byte happens to be valid padding, about once in 256 tries. Found by test/security/cross-user-access.test.ts.
 */
function guessable(slot: Slot, info: EnvelopeInfo): boolean {
  return slot.type === 'ktri' && slot.ri.algorithm.kind === 'rsa-pkcs1' && info.format !== 'auth-enveloped';
}
