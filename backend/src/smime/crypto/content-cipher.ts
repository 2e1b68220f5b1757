/**
 * The content ciphers of the engine, one stack for CMS EnvelopedData / AuthEnvelopedData (RFC 5652 section 6.3,
 * RFC 5083) and for PKCS#12 password-based encryption (RFC 7292 appendix C, RFC 8018 PBES2) alike:
 * AES-CBC (RFC 3565), DES-EDE3-CBC (RFC 3370 section 5.1, still what older Outlook and Thunderbird profiles send),
 * AES-GCM (RFC 5084) and ChaCha20-Poly1305 (RFC 8103) through node:crypto, and RC2-CBC (RFC 3370 section 5.2)
 * through rc2.ts (node's OpenSSL 3 has RC2 only in the legacy provider, which we do not load). One error discipline:
 *
 * - every decryption failure is `CipherError` with code `DECRYPT_FAILED` and the same message, whatever the
 *   cause (wrong key, wrong key length, bad IV or nonce length, truncated data, bad PKCS #7 padding, bad GCM or
 *   Poly1305 tag). A caller that could tell these apart would hand an attacker a padding oracle (Vaudenay 2002) or,
 *   for a content-encryption key that came out of RSA PKCS #1 v1.5 key transport, a Bleichenbacher oracle through
 *   the symmetric layer. No `cause` is attached for the same reason: OpenSSL's reason text differs by cause.
 *   With a password-derived key (PKCS#12) it almost always means a wrong password.
 * - `UNSUPPORTED_CIPHER` only says something about this runtime or the caller's request (the OpenSSL build
 *   lacks the cipher, or an encryption asked for a key size that does not exist), never about the data.
 *
 * The CBC padding is removed here, not by OpenSSL, so that the check reads every padding byte with masks
 * and has a single branch at its end (see `pkcs7PadLength`).
 */
import {
  createCipheriv,
  createDecipheriv,
  getCiphers,
  randomFillSync,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type CipherGCMTypes,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
} from 'node:crypto';
import type { ContentAlgorithm } from '../cms/enveloped/algorithms.ts';
import {
  CIPHER_SLICE_BYTES,
  decryptSliced,
  inputLength,
  joinInput,
  streamEncryptor,
  type CipherInput,
  type StreamEncryptor,
} from './cipher-slices.ts';
import { rc2CbcDecrypt, RC2_BLOCK_SIZE } from './rc2.ts';

export type CipherErrorCode = 'DECRYPT_FAILED' | 'UNSUPPORTED_CIPHER';

export class CipherError extends Error {
  readonly code: CipherErrorCode;

  constructor(code: CipherErrorCode, message: string) {
    super(message);
    this.name = 'CipherError';
    this.code = code;
  }
}

/** The CBC block ciphers, by family: what CMS content algorithms and PKCS#12 PBE schemes name alike. */
export type CbcFamily = 'aes' | 'des-ede3' | 'rc2';

/** DES and AES block sizes in bytes (FIPS 46-3, FIPS 197). */
const DES_BLOCK_SIZE = 8;
const AES_BLOCK_SIZE = 16;
/** Three independent 56-bit keys with parity bits: keying option 1 of NIST SP 800-67 section 3.3. */
const DES_EDE3_KEY_LENGTH = 24;
/** Two-key 3DES (K1, K2, K1): keying option 2 of NIST SP 800-67 section 3.3. */
const DES_EDE_KEY_LENGTH = 16;
/** AES key length in bytes -> OpenSSL cipher names (FIPS 197: AES-128, AES-192, AES-256). */
const AES_CBC_NAMES: ReadonlyMap<number, string> = new Map([
  [16, 'aes-128-cbc'],
  [24, 'aes-192-cbc'],
  [32, 'aes-256-cbc'],
]);
const AES_GCM_NAMES: ReadonlyMap<number, CipherGCMTypes> = new Map([
  [16, 'aes-128-gcm'],
  [24, 'aes-192-gcm'],
  [32, 'aes-256-gcm'],
]);
/**
 * RFC 5084 section 3.2: the GCM ICV (tag) is 12, 13, 14, 15 or 16 octets; shorter tags are not allowed in CMS.
 */
const GCM_MIN_TAG_LENGTH = 12;
const GCM_MAX_TAG_LENGTH = 16;
/** RFC 5084 section 3.2 and NIST SP 800-38D section 8.2: a 12-octet nonce is the recommended (and only
 * interoperable) length; we produce only that, and accept any non-empty nonce when decrypting. */
const GCM_NONCE_LENGTH = 12;
/**
 * RFC 8103 section 3 (and RFC 8439 section 2.8): a 256-bit key, a 12-octet nonce, and a 16-octet tag, no other
 * sizes. OpenSSL's name for it is the one node takes.
 */
const CHACHA20_POLY1305 = 'chacha20-poly1305';
const CHACHA20_KEY_LENGTH = 32;
const CHACHA20_POLY1305_NONCE_LENGTH = 12;
const POLY1305_TAG_LENGTH = 16;

const EMPTY = new Uint8Array(0);

function decryptFailed(): CipherError {
  // One message for every cause: see the module comment.
  return new CipherError('DECRYPT_FAILED', 'decryption failed');
}

function unsupported(message: string): CipherError {
  return new CipherError('UNSUPPORTED_CIPHER', message);
}

function assertAvailable(name: string): void {
  if (!getCiphers().includes(name)) throw unsupported(`cipher ${name} is not available in this OpenSSL build`);
}

function blockSizeOf(family: CbcFamily): number {
  return family === 'aes' ? AES_BLOCK_SIZE : family === 'rc2' ? RC2_BLOCK_SIZE : DES_BLOCK_SIZE;
}

/** OpenSSL's name for the node:crypto CBC cipher of `family` with a key of `keyLength` bytes; undefined for RC2. */
function nodeCbcName(family: CbcFamily, keyLength: number): string | undefined {
  if (family === 'aes') return AES_CBC_NAMES.get(keyLength);
  return family === 'des-ede3' && keyLength === DES_EDE3_KEY_LENGTH ? 'des-ede3-cbc' : undefined;
}

// Constant-time helpers on small non-negative integers (< 2^30): every result is a mask, -1 (all ones) for
// true and 0 for false, so that conditions combine with & and | instead of branches.
function ctIsZero(x: number): number {
  return ~(x | -x) >> 31;
}
function ctEq(a: number, b: number): number {
  return ctIsZero(a ^ b);
}
function ctLe(a: number, b: number): number {
  return ~((b - a) >> 31);
}

/**
 * PKCS #7 padding length (RFC 5652 section 6.3; PKCS #5 padding of RFC 8018 section 6.1.1 is the same) of a
 * decrypted buffer whose length is a non-zero multiple of blockSize, or 0 when the padding is malformed (0 is never a
 * valid padding length). Reads the last blockSize bytes whatever the padding byte says, accumulating the verdict in a
 * mask.
 */
export function pkcs7PadLength(data: Uint8Array, blockSize: number): number {
  const n = data.length;
  const pad = data[n - 1]!;
  let good = ~ctIsZero(pad) & ctLe(pad, blockSize);
  for (let i = 1; i <= blockSize; i++) {
    const inPadding = ctLe(i, pad);
    good &= ~inPadding | ctEq(data[n - i]!, pad);
  }
  return pad & good;
}

/** Joins the cipher's output into one buffer this module owns (not Node's shared pool) and wipes the parts. */
function collect(parts: Buffer[]): Buffer {
  // One part with data (CBC decryption without auto-padding ends with an empty final()): it is already a buffer of
  // its own, and copying 25 MB only to wipe the original would double the memory (issue 6).
  const filled = parts.filter((part) => part.length > 0);
  if (filled.length === 1 && filled[0]!.buffer.byteLength === filled[0]!.length) return filled[0]!;
  let total = 0;
  for (const part of parts) total += part.length;
  const out = Buffer.alloc(total);
  let offset = 0;
  for (const part of parts) {
    part.copy(out, offset);
    offset += part.length;
    part.fill(0);
  }
  return out;
}

/**
 * CBC decryption with PKCS #7 unpadding, the one path of CMS content and PKCS#12 PBE. `rc2EffectiveBits` is RC2's
 * effective key length (RFC 2268 section 2), the key length by default. Throws CipherError DECRYPT_FAILED for any
 * failure of the data or key, UNSUPPORTED_CIPHER only when this OpenSSL build lacks the cipher.
 */
export function cbcDecrypt(
  family: CbcFamily,
  key: Uint8Array,
  iv: Uint8Array,
  data: CipherInput,
  rc2EffectiveBits: number = key.length * 8,
): Uint8Array {
  const blockSize = blockSizeOf(family);
  const name = nodeCbcName(family, key.length);
  if (family !== 'rc2') {
    if (name === undefined) throw decryptFailed();
    assertAvailable(name);
  }
  const length = inputLength(data);
  if (iv.length !== blockSize || length === 0 || length % blockSize !== 0) throw decryptFailed();
  let padded: Uint8Array;
  try {
    if (name === undefined) {
      padded = rc2CbcDecrypt(key, rc2EffectiveBits, iv, joinInput(data));
    } else {
      const decipher = createDecipheriv(name, key, iv);
      decipher.setAutoPadding(false);
      padded =
        length > CIPHER_SLICE_BYTES
          ? decryptSliced(decipher, data)
          : collect([decipher.update(joinInput(data)), decipher.final()]);
    }
  } catch {
    throw decryptFailed();
  }
  const padLength = pkcs7PadLength(padded, blockSize);
  if (padLength === 0) {
    padded.fill(0);
    throw decryptFailed();
  }
  return padded.subarray(0, padded.length - padLength);
}

/** CBC encryption with PKCS #7 padding in steps. RC2 is read-only: legacy files are read, never written. */
export function cbcEncryptor(family: CbcFamily, key: Uint8Array, iv: Uint8Array): StreamEncryptor {
  const name = nodeCbcName(family, key.length);
  if (name === undefined) {
    if (family === 'aes') throw unsupported(`AES has no ${key.length * 8}-bit key size`);
    if (family === 'des-ede3') throw unsupported(`DES-EDE3 needs a ${DES_EDE3_KEY_LENGTH}-byte key`);
    throw unsupported('encryption with RC2 is not offered');
  }
  const blockSize = blockSizeOf(family);
  if (iv.length !== blockSize) {
    throw new RangeError(family === 'aes' ? 'AES-CBC needs a 16-byte IV' : 'DES-EDE3-CBC needs an 8-byte IV');
  }
  assertAvailable(name);
  const cipher = createCipheriv(name, key, iv); // PKCS #7 padding is OpenSSL's default for encryption
  return streamEncryptor(cipher, () => undefined);
}

/** CBC encryption with PKCS #7 padding in one step. */
export function cbcEncrypt(family: CbcFamily, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = cbcEncryptor(family, key, iv);
  return collect([cipher.update(data), cipher.final()]);
}

/** DES-EDE3-CBC decryption with PKCS #7 unpadding (RFC 3370 section 5.1). key: 24 bytes, iv: 8 bytes. */
export function desEde3CbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  return cbcDecrypt('des-ede3', key, iv, data);
}

/** DES-EDE3-CBC encryption with PKCS #7 padding. Kept for interoperability tests and legacy recipients. */
export function desEde3CbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  return cbcEncrypt('des-ede3', key, iv, data);
}

/** AES-CBC decryption with PKCS #7 unpadding (RFC 3565); the key length (16, 24, 32) selects AES-128/192/256. */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  return cbcDecrypt('aes', key, iv, data);
}

/** AES-CBC encryption with PKCS #7 padding (RFC 3565). */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  return cbcEncrypt('aes', key, iv, data);
}

/**
 * AES-GCM authenticated decryption (RFC 5084). The tag travels apart from the ciphertext in CMS
 * (AuthEnvelopedData.mac, RFC 5083 section 2.1), so it is a separate argument here. Nothing is returned unless
 * the tag verifies; the unauthenticated plaintext produced on the way is wiped.
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: CipherInput,
  tag: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  const name = AES_GCM_NAMES.get(key.length);
  if (name === undefined) throw decryptFailed();
  assertAvailable(name);
  if (nonce.length === 0 || tag.length < GCM_MIN_TAG_LENGTH || tag.length > GCM_MAX_TAG_LENGTH) {
    throw decryptFailed();
  }
  return aeadDecrypt(name, key, nonce, ciphertext, tag, aad);
}

/**
 * Sets the AAD of either AEAD mode (none when empty). @types/node declares ChaCha20-Poly1305's setAAD with a required
 * plaintextLength, which node reads only in CCM mode (node's documentation of cipher.setAAD), so it is called by the
 * GCM signature.
 */
function setAad(
  cipher: CipherGCM | DecipherGCM | CipherChaCha20Poly1305 | DecipherChaCha20Poly1305,
  aad: Uint8Array,
): void {
  if (aad.length > 0) (cipher as CipherGCM | DecipherGCM).setAAD(aad);
}

/**
 * The AEAD decryption both AES-GCM and ChaCha20-Poly1305 share once their sizes are checked: nothing is returned
 * unless the tag verifies, and the unauthenticated plaintext produced on the way is wiped.
 */
function aeadDecrypt(
  name: CipherGCMTypes | typeof CHACHA20_POLY1305,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: CipherInput,
  tag: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const parts: Buffer[] = [];
  try {
    const decipher =
      name === CHACHA20_POLY1305
        ? createDecipheriv(name, key, nonce, { authTagLength: tag.length })
        : createDecipheriv(name, key, nonce, { authTagLength: tag.length });
    decipher.setAuthTag(tag);
    setAad(decipher, aad);
    if (inputLength(ciphertext) > CIPHER_SLICE_BYTES) return decryptSliced(decipher, ciphertext); // wipes on failure
    parts.push(decipher.update(joinInput(ciphertext)));
    parts.push(decipher.final()); // throws when the tag does not verify
  } catch {
    for (const part of parts) part.fill(0);
    throw decryptFailed();
  }
  return collect(parts);
}

/** AES-GCM authenticated encryption (RFC 5084) with a 12-byte nonce; tagLength 12..16, 16 by default. */
export function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
  tagLength: number = GCM_MAX_TAG_LENGTH,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  const cipher = aesGcmEncryptor(key, nonce, aad, tagLength);
  const ciphertext = collect([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.tag()! };
}

/** aesGcmEncrypt in steps; tag() after final(). */
export function aesGcmEncryptor(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array = EMPTY,
  tagLength: number = GCM_MAX_TAG_LENGTH,
): StreamEncryptor {
  const name = AES_GCM_NAMES.get(key.length);
  if (name === undefined) throw new CipherError('UNSUPPORTED_CIPHER', `AES has no ${key.length * 8}-bit key size`);
  if (nonce.length !== GCM_NONCE_LENGTH) throw new RangeError(`AES-GCM needs a ${GCM_NONCE_LENGTH}-byte nonce`);
  if (!Number.isInteger(tagLength) || tagLength < GCM_MIN_TAG_LENGTH || tagLength > GCM_MAX_TAG_LENGTH) {
    throw new RangeError(`AES-GCM tag length must be ${GCM_MIN_TAG_LENGTH}..${GCM_MAX_TAG_LENGTH} bytes`);
  }
  assertAvailable(name);
  const cipher = createCipheriv(name, key, nonce, { authTagLength: tagLength });
  if (aad.length > 0) cipher.setAAD(aad);
  return streamEncryptor(cipher, () => new Uint8Array(cipher.getAuthTag()));
}

/**
 * ChaCha20-Poly1305 authenticated decryption (RFC 8103, RFC 8439 section 2.8). As with AES-GCM the tag is the
 * AuthEnvelopedData mac, apart from the ciphertext, and the AAD is the DER of the authenticated attributes (RFC 5083
 * section 2.2). A key, nonce or tag of any size but RFC 8103's fails like a wrong tag: one error for every cause.
 */
export function chacha20Poly1305Decrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: CipherInput,
  tag: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  assertAvailable(CHACHA20_POLY1305);
  if (
    key.length !== CHACHA20_KEY_LENGTH ||
    nonce.length !== CHACHA20_POLY1305_NONCE_LENGTH ||
    tag.length !== POLY1305_TAG_LENGTH
  ) {
    throw decryptFailed();
  }
  return aeadDecrypt(CHACHA20_POLY1305, key, nonce, ciphertext, tag, aad);
}

/** ChaCha20-Poly1305 authenticated encryption (RFC 8103) in steps, with the 16-octet tag; tag() after final(). */
export function chacha20Poly1305Encryptor(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array = EMPTY,
): StreamEncryptor {
  if (key.length !== CHACHA20_KEY_LENGTH) throw unsupported(`ChaCha20 has no ${key.length * 8}-bit key size`);
  if (nonce.length !== CHACHA20_POLY1305_NONCE_LENGTH) {
    throw new RangeError(`ChaCha20-Poly1305 needs a ${CHACHA20_POLY1305_NONCE_LENGTH}-byte nonce`);
  }
  assertAvailable(CHACHA20_POLY1305);
  const cipher = createCipheriv(CHACHA20_POLY1305, key, nonce, { authTagLength: POLY1305_TAG_LENGTH });
  setAad(cipher, aad);
  return streamEncryptor(cipher, () => new Uint8Array(cipher.getAuthTag()));
}

/** chacha20Poly1305Encryptor in one step. */
export function chacha20Poly1305Encrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  const cipher = chacha20Poly1305Encryptor(key, nonce, aad);
  const ciphertext = collect([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.tag()! };
}

// ---------------------------------------------------------------------------------------------------------------
// PKCS#12 password-based encryption (RFC 7292 appendix C, RFC 8018 PBES2): the ciphers by their OpenSSL names, with
// key and IV from the scheme's KDF.
// ---------------------------------------------------------------------------------------------------------------

/** Names follow OpenSSL's cipher names, so that what we record matches what `openssl pkcs12 -info` prints. */
export type PbeCipherName =
  'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc' | 'des-ede-cbc' | `rc2-${number}-cbc`;

export interface PbeCipher {
  name: PbeCipherName;
  family: CbcFamily;
  keyLength: number;
  /** The CBC IV, one block. */
  ivLength: number;
  /** RC2 only: the effective key bits of RFC 2268. */
  rc2EffectiveBits?: number;
}

export function aesCbc(keyLength: 16 | 24 | 32): PbeCipher {
  return { name: `aes-${keyLength * 8}-cbc` as PbeCipherName, family: 'aes', keyLength, ivLength: AES_BLOCK_SIZE };
}

export const DES_EDE3_CBC: PbeCipher = {
  name: 'des-ede3-cbc',
  family: 'des-ede3',
  keyLength: DES_EDE3_KEY_LENGTH,
  ivLength: DES_BLOCK_SIZE,
};
/** Two-key 3DES: K1, K2, K1 (NIST SP 800-67 keying option 2). */
export const DES_EDE_CBC: PbeCipher = {
  name: 'des-ede-cbc',
  family: 'des-ede3',
  keyLength: DES_EDE_KEY_LENGTH,
  ivLength: DES_BLOCK_SIZE,
};

export function rc2Cbc(keyLength: number, effectiveBits: number): PbeCipher {
  const name: PbeCipherName = `rc2-${effectiveBits}-cbc`;
  return { name, family: 'rc2', keyLength, ivLength: RC2_BLOCK_SIZE, rc2EffectiveBits: effectiveBits };
}

/**
 * CBC-decrypts `data` with a password-derived `key` and `iv` and removes the PKCS#5 padding (RFC 8018 section 6.1.1
 * step 4). The key and IV lengths are the caller's responsibility (they come from the KDF for the cipher); a wrong
 * length is a programming error (RangeError). Throws CipherError DECRYPT_FAILED when nothing validly padded comes
 * out: with a password-derived key almost always a wrong password. Returns a fresh buffer the caller owns.
 */
export function pbeDecrypt(cipher: PbeCipher, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== cipher.keyLength || iv.length !== cipher.ivLength) {
    throw new RangeError(`${cipher.name}: wrong key or IV length`);
  }
  let cbcKey = key;
  if (cipher.name === 'des-ede-cbc') {
    // Expand K1 K2 to K1 K2 K1 so that only des-ede3-cbc, which every OpenSSL 3 build has, is needed.
    cbcKey = new Uint8Array(DES_EDE3_KEY_LENGTH);
    cbcKey.set(key);
    cbcKey.set(key.subarray(0, DES_BLOCK_SIZE), DES_EDE_KEY_LENGTH);
  }
  try {
    const plain = cbcDecrypt(cipher.family, cbcKey, iv, data, cipher.rc2EffectiveBits);
    try {
      return new Uint8Array(plain);
    } finally {
      plain.fill(0);
    }
  } finally {
    if (cbcKey !== key) cbcKey.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CMS content encryption by algorithm description (cms/enveloped/algorithms.ts).
// ---------------------------------------------------------------------------------------------------------------

export interface ContentDecryptInput {
  algorithm: ContentAlgorithm;
  key: Uint8Array;
  /** In one piece, or the segments of a chunked BER string (issue 16: decrypted one after the other, not joined). */
  ciphertext: CipherInput;
  /** AuthEnvelopedData only: the mac field (GCM or Poly1305 tag) and the DER of the authenticated attributes (AAD). */
  tag?: Uint8Array;
  aad?: Uint8Array;
}

/**
 * Decrypts and (GCM, ChaCha20-Poly1305) authenticates. CipherError DECRYPT_FAILED for any failure; UNSUPPORTED_CIPHER
 * for `unsupported`.
 */
export function decryptContent(input: ContentDecryptInput): Uint8Array {
  const { algorithm, key, ciphertext } = input;
  if (algorithm.kind === 'unsupported') throw unsupported(`unsupported content cipher ${algorithm.name}`);
  // A key of the wrong length (a sender's mistake, or a synthetic key after implicit rejection) fails like any other.
  if (key.length !== algorithm.keyLength) throw decryptFailed();
  if (algorithm.kind === 'gcm') {
    const tag = input.tag;
    if (!tag || tag.length !== algorithm.tagLength) throw decryptFailed();
    return aesGcmDecrypt(key, algorithm.nonce, ciphertext, tag, input.aad);
  }
  if (algorithm.kind === 'chacha20-poly1305') {
    const tag = input.tag;
    if (!tag || tag.length !== algorithm.tagLength) throw decryptFailed();
    return chacha20Poly1305Decrypt(key, algorithm.nonce, ciphertext, tag, input.aad);
  }
  const rc2Bits = algorithm.family === 'rc2' ? algorithm.rc2EffectiveBits : undefined;
  return cbcDecrypt(algorithm.family, key, algorithm.iv, ciphertext, rc2Bits);
}

export interface ContentEncryptResult {
  ciphertext: Uint8Array;
  /** The AEAD ciphers (GCM, ChaCha20-Poly1305) only. */
  tag?: Uint8Array;
}

/** Encrypts with a CBC, GCM or ChaCha20-Poly1305 algorithm (RC2 is read-only). */
export function encryptContent(
  algorithm: ContentAlgorithm,
  key: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): ContentEncryptResult {
  const cipher = contentEncryptor(algorithm, key, aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.tag();
  return tag ? { ciphertext, tag } : { ciphertext };
}

/** encryptContent in steps, for content in pieces (issue 6). */
export function contentEncryptor(algorithm: ContentAlgorithm, key: Uint8Array, aad?: Uint8Array): StreamEncryptor {
  if (algorithm.kind === 'gcm') return aesGcmEncryptor(key, algorithm.nonce, aad, algorithm.tagLength);
  if (algorithm.kind === 'chacha20-poly1305') return chacha20Poly1305Encryptor(key, algorithm.nonce, aad);
  if (algorithm.kind === 'cbc' && algorithm.family !== 'rc2') return cbcEncryptor(algorithm.family, key, algorithm.iv);
  throw unsupported(`encryption with ${algorithm.name} is not offered`);
}

/**
 * Ciphertext length for `plaintextLength` bytes: GCM and ChaCha20-Poly1305 add nothing (stream modes, and the tag
 * travels apart); CBC pads with PKCS #7 to
 * the next whole block, a full block when already aligned (RFC 5652 section 6.3).
 */
export function ciphertextLength(algorithm: ContentAlgorithm, plaintextLength: number): number {
  if (algorithm.kind === 'gcm' || algorithm.kind === 'chacha20-poly1305') return plaintextLength;
  if (algorithm.kind !== 'cbc') throw unsupported(`encryption with ${algorithm.name} is not offered`);
  const block = algorithm.iv.length;
  return (Math.floor(plaintextLength / block) + 1) * block;
}

/**
 * A fresh random content-encryption key for `algorithm`, in memory this module owns (never Node's shared pool). DES
 * keys get odd parity (FIPS 46-3 section 3.1): OpenSSL and NSS ignore the parity bits, but strict decoders reject
 * keys without it.
 */
export function generateContentKey(algorithm: ContentAlgorithm): Uint8Array {
  if (algorithm.kind === 'unsupported') throw unsupported(`unsupported content cipher ${algorithm.name}`);
  const key = randomFillSync(new Uint8Array(algorithm.keyLength));
  if (algorithm.family === 'des-ede3') {
    for (let i = 0; i < key.length; i++) {
      let b = key[i]! & 0xfe;
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      if (ones % 2 === 0) b |= 1;
      key[i] = b;
    }
  }
  return key;
}
