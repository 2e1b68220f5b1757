/**
 * Encrypting content to recipients (issue 3, issue 6): EnvelopedData (RFC 5652 section 6) for the CBC ciphers and
 * AuthEnvelopedData (RFC 5083) for AES-GCM (RFC 5084) and ChaCha20-Poly1305 (RFC 8103, issue 14), written as DER
 * straight into the caller's output while the cipher runs, so that neither the joined content nor the whole
 * ciphertext ever exists in memory here.
 */
import { randomFillSync } from 'node:crypto';
import * as w from '../../asn1/writer.ts';
import { ciphertextLength, generateContentKey } from '../../crypto/content-cipher.ts';
import { CIPHER_SLICE_BYTES } from '../../crypto/cipher-slices.ts';
import { cmsCrypto } from './primitives.ts';
import { SmimeError } from '../../errors.ts';
import { contentAlgorithmDer, CURVES, isAead, type ContentAlgorithm } from './algorithms.ts';
import {
  OID_AES128_CBC,
  OID_AES128_GCM,
  OID_AES192_CBC,
  OID_AES256_CBC,
  OID_AES256_GCM,
  OID_AUTH_ENVELOPED_DATA,
  OID_CHACHA20_POLY1305,
  OID_DATA,
  OID_DES_EDE3_CBC,
  OID_ENVELOPED_DATA,
} from '../../asn1/oids.ts';
import {
  prepareRecipient,
  recipientInfos,
  type EnvelopeRecipient,
  type PreparedRecipient,
} from './encrypt-recipients.ts';
import { MAX_ENCRYPT_RECIPIENTS, MAX_ENCRYPTED_CONTENT_BYTES } from '../../limits.ts';

export type ContentCipher =
  'aes-256-cbc' | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'des-ede3-cbc';

export interface EncryptOptions {
  /** Content cipher; default aes-256-cbc. The AEAD ciphers (GCM, ChaCha20-Poly1305) produce AuthEnvelopedData. */
  cipher?: ContentCipher;
  /** RSAES-OAEP digest (for OAEP and MGF1 alike, RFC 4055 section 4.1); default sha256. */
  oaepHash?: 'sha256' | 'sha1';
  /** X9.63 KDF digest of ECDH (dhSinglePass-stdDH-<hash>kdf-scheme, RFC 5753 section 7.1.4); default sha256. */
  ecdhKdf?: 'sha256' | 'sha384' | 'sha512';
}

const DEFAULT_OPTIONS: Required<EncryptOptions> = { cipher: 'aes-256-cbc', oaepHash: 'sha256', ecdhKdf: 'sha256' };
const CIPHERS: Readonly<
  Record<
    ContentCipher,
    {
      oid: string;
      kind: 'cbc' | 'gcm' | 'chacha20-poly1305';
      family: 'aes' | 'des-ede3' | 'chacha20';
      keyLength: number;
    }
  >
> = {
  'aes-128-cbc': { oid: OID_AES128_CBC, kind: 'cbc', family: 'aes', keyLength: 16 },
  'aes-192-cbc': { oid: OID_AES192_CBC, kind: 'cbc', family: 'aes', keyLength: 24 },
  'aes-256-cbc': { oid: OID_AES256_CBC, kind: 'cbc', family: 'aes', keyLength: 32 },
  'aes-128-gcm': { oid: OID_AES128_GCM, kind: 'gcm', family: 'aes', keyLength: 16 },
  'aes-256-gcm': { oid: OID_AES256_GCM, kind: 'gcm', family: 'aes', keyLength: 32 },
  // RFC 8103 section 3: a 256-bit key only.
  'chacha20-poly1305': { oid: OID_CHACHA20_POLY1305, kind: 'chacha20-poly1305', family: 'chacha20', keyLength: 32 },
  'des-ede3-cbc': { oid: OID_DES_EDE3_CBC, kind: 'cbc', family: 'des-ede3', keyLength: 24 },
};
const OPTION_VALUES: Readonly<Record<keyof EncryptOptions, readonly string[]>> = {
  cipher: Object.keys(CIPHERS),
  oaepHash: ['sha256', 'sha1'],
  ecdhKdf: ['sha256', 'sha384', 'sha512'],
};
/** RFC 5084 section 3.2 / NIST SP 800-38D section 8.2: 12-byte nonces, and we write the full 16-byte tag. */
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
/** RFC 8103 section 3: AEADChaCha20Poly1305Nonce is 12 octets, and the tag always 16. */
const CHACHA20_POLY1305_NONCE_BYTES = 12;
const POLY1305_TAG_BYTES = 16;
const AES_BLOCK = 16;
const DES_BLOCK = 8;
/** The largest plaintext we encrypt: the ciphertext (plus one block of padding) must stay within what we read back. */
const MAX_PLAINTEXT_BYTES = MAX_ENCRYPTED_CONTENT_BYTES - AES_BLOCK;

/**
 * Whether encrypting with `cipher` gives AuthEnvelopedData (an AEAD cipher, RFC 5083) rather than EnvelopedData: for
 * a caller that writes the smime-type before the envelope exists. Anything but a known cipher name is false.
 */
export function givesAuthEnveloped(cipher: unknown): boolean {
  return (
    typeof cipher === 'string' && Object.hasOwn(CIPHERS, cipher) && CIPHERS[cipher as ContentCipher].kind !== 'cbc'
  );
}

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
      throw new SmimeError(
        'CMS_INVALID_OPTIONS',
        `Invalid value for "${name}": expected one of ${OPTION_VALUES[name as keyof EncryptOptions].join(', ')}`,
      );
    }
    merged[name] = value;
  }
  return merged as Required<EncryptOptions>;
}

function contentAlgorithmFor(cipher: ContentCipher): ContentAlgorithm {
  const spec = CIPHERS[cipher];
  if (spec.kind === 'gcm') {
    const nonce = randomFillSync(new Uint8Array(GCM_NONCE_BYTES));
    return {
      kind: 'gcm',
      family: 'aes',
      name: cipher,
      oid: spec.oid,
      keyLength: spec.keyLength,
      nonce,
      tagLength: GCM_TAG_BYTES,
    };
  }
  if (spec.kind === 'chacha20-poly1305') {
    // A fresh random nonce under a fresh random key: RFC 8103 section 3 requires only that a nonce never repeats
    // under one key, and each key here encrypts one message.
    const nonce = randomFillSync(new Uint8Array(CHACHA20_POLY1305_NONCE_BYTES));
    return {
      kind: 'chacha20-poly1305',
      family: 'chacha20',
      name: cipher,
      oid: spec.oid,
      keyLength: spec.keyLength,
      nonce,
      tagLength: POLY1305_TAG_BYTES,
    };
  }
  const iv = randomFillSync(new Uint8Array(spec.family === 'aes' ? AES_BLOCK : DES_BLOCK));
  return {
    kind: 'cbc',
    family: spec.family as 'aes' | 'des-ede3',
    name: cipher,
    oid: spec.oid,
    keyLength: spec.keyLength,
    iv,
  };
}

/**
 * Encrypts `content` to every recipient: one RecipientInfo each (ktri for RSA, kari for EC), a fresh random content
 * key and IV/nonce, DER out. The AEAD ciphers (GCM, ChaCha20-Poly1305) give AuthEnvelopedData. The content key is
 * wiped before returning. Throws SmimeError: CMS_INVALID_OPTIONS, CMS_TOO_LARGE, CERT_MALFORMED, CMS_UNSUPPORTED
 * (naming the certificate).
 */
export async function encryptEnvelope(
  content: Uint8Array,
  recipients: EnvelopeRecipient[],
  options?: EncryptOptions,
): Promise<Uint8Array> {
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

/**
 * Plaintext encrypted per cipher call. Each call's output is a new buffer that only a garbage collection frees; written
 * as base64 (message/outgoing.ts), the strings of the encoding bring about the scavenges that take them. Issue 16:
 * writing the output through one reused buffer instead, as decryption does (crypto/cipher-slices.ts), measured no
 * better: 5 MiB more and a little slower over six alternating runs of sign+encrypt at 25 MB.
 */
const ENCRYPT_SLICE_BYTES = CIPHER_SLICE_BYTES;

/**
 * encryptEnvelope over content in pieces (joined in order), written out as it is made (issue 6): `open` is called
 * once with the length of the whole DER and returns the sink that then receives every byte of it in order, the
 * ciphertext as the cipher produces it. Neither the joined content nor the whole ciphertext ever exists in memory
 * here, so the caller can write the DER straight into its output (as base64, in message/outgoing.ts). Returns the content
 * type: 'enveloped' (EnvelopedData) or 'auth-enveloped' (AuthEnvelopedData, the AEAD ciphers). Throws as
 * encryptEnvelope, before `open` is called, except for a failure of the cipher itself (CMS_UNSUPPORTED).
 */
export function encryptEnvelopePieces(
  content: readonly Uint8Array[],
  recipients: EnvelopeRecipient[],
  options: EncryptOptions | undefined,
  open: (length: number) => (chunk: Uint8Array) => void,
): 'enveloped' | 'auth-enveloped' {
  const settings = resolveOptions(options);
  const contentLength = checkedContentLength(content);
  if (!Array.isArray(recipients) || recipients.length === 0)
    throw new SmimeError('CMS_INVALID_OPTIONS', 'At least one recipient is needed');
  if (recipients.length > MAX_ENCRYPT_RECIPIENTS)
    throw new SmimeError('CMS_TOO_LARGE', `More than ${MAX_ENCRYPT_RECIPIENTS} recipients`);
  const prepared = recipients.map(prepareRecipient);

  const algorithm = contentAlgorithmFor(settings.cipher);
  const cek = generateContentKey(algorithm);
  try {
    const infos = recipientInfos(prepared, settings, cek);
    const cipher = cmsCrypto.contentEncryptor(algorithm, cek);
    const encryptedLength = ciphertextLength(algorithm, contentLength);
    const { length, prefix } = envelopeAround(algorithm, infos, prepared, encryptedLength);

    const sink = open(length);
    sink(prefix);
    const written = streamCiphertext(content, contentLength, cipher, sink);
    if (written !== encryptedLength) {
      throw new SmimeError('CMS_UNSUPPORTED', `The cipher wrote ${written} bytes, not ${encryptedLength}`);
    }
    // After the ciphertext: the GCM or Poly1305 tag, an OCTET STRING (RFC 5083 section 2.1 mac), for AuthEnvelopedData.
    if (isAead(algorithm)) sink(w.toBytes(w.octetString(cipher.tag()!)));
    return isAead(algorithm) ? 'auth-enveloped' : 'enveloped';
  } finally {
    cek.fill(0);
  }
}

/** The length of content in pieces, checked to be bytes and within what we read back; throws SmimeError. */
function checkedContentLength(content: readonly Uint8Array[]): number {
  if (!content.every((piece) => piece instanceof Uint8Array)) {
    throw new SmimeError('CMS_INVALID_OPTIONS', 'content must be bytes');
  }
  let contentLength = 0;
  for (const piece of content) contentLength += piece.length;
  if (contentLength > MAX_PLAINTEXT_BYTES)
    throw new SmimeError('CMS_TOO_LARGE', `The content is larger than ${MAX_PLAINTEXT_BYTES} bytes`);
  return contentLength;
}

/**
 * The ContentInfo's DER around the ciphertext: its whole length and the bytes before the ciphertext. It is written with
 * a placeholder of the ciphertext's length: the writer only needs lengths, so the encoding splits into what comes
 * before the ciphertext and what comes after it (nothing, or the AEAD tag).
 */
function envelopeAround(
  algorithm: ContentAlgorithm,
  infos: w.Der[],
  prepared: readonly PreparedRecipient[],
  encryptedLength: number,
): { length: number; prefix: Uint8Array } {
  const placeholder = new Uint8Array(0);
  const ciphertextSlot: w.Der = { length: encryptedLength, parts: [placeholder] };
  // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT }
  const encryptedContent = w.tlv(w.contextTag(0, false), [ciphertextSlot]);
  const encryptedContentInfo = w.sequence(
    w.objectIdentifier(OID_DATA),
    contentAlgorithmDer(algorithm),
    encryptedContent,
  );
  let body: w.Der;
  if (isAead(algorithm)) {
    // The mac OCTET STRING: a 2-byte header (short-form length) and the tag, written after the ciphertext.
    const tagSlot: w.Der = { length: algorithm.tagLength + 2, parts: [] };
    // RFC 5083 section 2.1: version is always 0; no authenticated attributes, so no AAD.
    body = w.sequence(w.integer(0), w.setOf(infos), encryptedContentInfo, tagSlot);
  } else {
    // RFC 5652 section 6.1: version 0 when every RecipientInfo is version 0 (ktri with issuerAndSerialNumber) and
    // there is no originatorInfo or unprotectedAttrs; a kari (version 3) makes it 2.
    const version = prepared.every((r) => r.kind === 'rsa') ? 0 : 2;
    body = w.sequence(w.integer(version), w.setOf(infos), encryptedContentInfo);
  }
  const contentType = isAead(algorithm) ? OID_AUTH_ENVELOPED_DATA : OID_ENVELOPED_DATA;
  const der = w.sequence(w.objectIdentifier(contentType), w.tlv(w.contextTag(0, true), [body]));
  const before = der.parts.slice(0, der.parts.indexOf(placeholder));
  return { length: der.length, prefix: w.toBytes({ length: before.reduce((n, p) => n + p.length, 0), parts: before }) };
}

/** What the engine encrypts content with: update, final, and the AEAD tag. */
type ContentEncryptor = ReturnType<typeof cmsCrypto.contentEncryptor>;

/** The content through the cipher into the sink, a slice at a time; returns the ciphertext bytes written. */
function streamCiphertext(
  content: readonly Uint8Array[],
  contentLength: number,
  cipher: ContentEncryptor,
  sink: (chunk: Uint8Array) => void,
): number {
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
  return written;
}

/** The curves encryptEnvelope accepts for EC recipients, for callers that filter certificates up front. */
export const SUPPORTED_EC_CURVES: readonly string[] = CURVES.map((c) => c.name);
