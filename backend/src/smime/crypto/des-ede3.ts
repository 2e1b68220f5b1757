/**
 * Content-encryption ciphers of CMS EnvelopedData and AuthEnvelopedData (RFC 5652 section 6.3, RFC 5083):
 * DES-EDE3-CBC (RFC 3370 section 5.1, still what older Outlook and Thunderbird profiles send), AES-CBC
 * (RFC 3565) and AES-GCM (RFC 5084). Thin, pure wrappers over node:crypto with one error discipline:
 *
 * - every decryption failure is `CipherError` with code `DECRYPT_FAILED` and the same message, whatever the
 *   cause (wrong key, wrong key length, bad IV length, truncated data, bad PKCS #7 padding, bad GCM tag). A
 *   caller that could tell these apart would hand an attacker a padding oracle (Vaudenay 2002) or, for a
 *   content-encryption key that came out of RSA PKCS #1 v1.5 key transport, a Bleichenbacher oracle through
 *   the symmetric layer. No `cause` is attached for the same reason: OpenSSL's reason text differs by cause.
 * - `UNSUPPORTED_CIPHER` only says something about this runtime or the caller's request (the OpenSSL build
 *   lacks the cipher, or an encryption asked for a key size that does not exist), never about the data.
 *
 * The CBC padding is removed here, not by OpenSSL, so that the check reads every padding byte with masks
 * and has a single branch at its end (see `pkcs7PadLength`).
 */
import { createCipheriv, createDecipheriv, getCiphers, type CipherGCMTypes } from 'node:crypto';

export type CipherErrorCode = 'DECRYPT_FAILED' | 'UNSUPPORTED_CIPHER';

export class CipherError extends Error {
  readonly code: CipherErrorCode;

  constructor(code: CipherErrorCode, message: string) {
    super(message);
    this.name = 'CipherError';
    this.code = code;
  }
}

/** DES and AES block sizes in bytes (FIPS 46-3, FIPS 197). */
const DES_BLOCK_SIZE = 8;
const AES_BLOCK_SIZE = 16;
/** Three independent 56-bit keys with parity bits: keying option 1 of NIST SP 800-67 section 3.3. */
const DES_EDE3_KEY_LENGTH = 24;
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

const EMPTY = new Uint8Array(0);

function decryptFailed(): CipherError {
  // One message for every cause: see the module comment.
  return new CipherError('DECRYPT_FAILED', 'decryption failed');
}

function assertAvailable(name: string): void {
  if (!getCiphers().includes(name)) {
    throw new CipherError('UNSUPPORTED_CIPHER', `cipher ${name} is not available in this OpenSSL build`);
  }
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
 * PKCS #7 padding length (RFC 5652 section 6.3) of a decrypted buffer whose length is a non-zero multiple of
 * blockSize, or 0 when the padding is malformed (0 is never a valid padding length). Reads the last
 * blockSize bytes whatever the padding byte says, accumulating the verdict in a mask.
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
 * Encryption in steps, for content that arrives in pieces or is written out as it is encrypted (issue 6): update()
 * for each piece in order, then final(), then tag() (GCM only). Each returns a new buffer of ciphertext.
 */
export interface StreamEncryptor {
  update(data: Uint8Array): Buffer;
  final(): Buffer;
  tag(): Uint8Array | undefined;
}

function cbcEncryptor(name: string, key: Uint8Array, iv: Uint8Array): StreamEncryptor {
  assertAvailable(name);
  const cipher = createCipheriv(name, key, iv); // PKCS #7 padding is OpenSSL's default for encryption
  return { update: (data) => cipher.update(data), final: () => cipher.final(), tag: () => undefined };
}

function cbcDecrypt(name: string, blockSize: number, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  assertAvailable(name);
  if (iv.length !== blockSize || data.length === 0 || data.length % blockSize !== 0) throw decryptFailed();
  let padded: Buffer;
  try {
    const decipher = createDecipheriv(name, key, iv);
    decipher.setAutoPadding(false);
    padded = collect([decipher.update(data), decipher.final()]);
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

/** DES-EDE3-CBC decryption with PKCS #7 unpadding (RFC 3370 section 5.1). key: 24 bytes, iv: 8 bytes. */
export function desEde3CbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== DES_EDE3_KEY_LENGTH) throw decryptFailed();
  return cbcDecrypt('des-ede3-cbc', DES_BLOCK_SIZE, key, iv, data);
}

/** DES-EDE3-CBC encryption with PKCS #7 padding. Kept for interoperability tests and legacy recipients. */
export function desEde3CbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = desEde3CbcEncryptor(key, iv);
  return collect([cipher.update(data), cipher.final()]);
}

/** desEde3CbcEncrypt in steps. */
export function desEde3CbcEncryptor(key: Uint8Array, iv: Uint8Array): StreamEncryptor {
  if (key.length !== DES_EDE3_KEY_LENGTH) {
    throw new CipherError('UNSUPPORTED_CIPHER', `DES-EDE3 needs a ${DES_EDE3_KEY_LENGTH}-byte key`);
  }
  if (iv.length !== DES_BLOCK_SIZE) throw new RangeError(`DES-EDE3-CBC needs an ${DES_BLOCK_SIZE}-byte IV`);
  return cbcEncryptor('des-ede3-cbc', key, iv);
}

/** AES-CBC decryption with PKCS #7 unpadding (RFC 3565); the key length (16, 24, 32) selects AES-128/192/256. */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const name = AES_CBC_NAMES.get(key.length);
  if (name === undefined) throw decryptFailed();
  return cbcDecrypt(name, AES_BLOCK_SIZE, key, iv, data);
}

/** AES-CBC encryption with PKCS #7 padding (RFC 3565). */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = aesCbcEncryptor(key, iv);
  return collect([cipher.update(data), cipher.final()]);
}

/** aesCbcEncrypt in steps. */
export function aesCbcEncryptor(key: Uint8Array, iv: Uint8Array): StreamEncryptor {
  const name = AES_CBC_NAMES.get(key.length);
  if (name === undefined) throw new CipherError('UNSUPPORTED_CIPHER', `AES has no ${key.length * 8}-bit key size`);
  if (iv.length !== AES_BLOCK_SIZE) throw new RangeError(`AES-CBC needs a ${AES_BLOCK_SIZE}-byte IV`);
  return cbcEncryptor(name, key, iv);
}

/**
 * AES-GCM authenticated decryption (RFC 5084). The tag travels apart from the ciphertext in CMS
 * (AuthEnvelopedData.mac, RFC 5083 section 2.1), so it is a separate argument here. Nothing is returned unless
 * the tag verifies; the unauthenticated plaintext produced on the way is wiped.
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  const name = AES_GCM_NAMES.get(key.length);
  if (name === undefined) throw decryptFailed();
  assertAvailable(name);
  if (nonce.length === 0 || tag.length < GCM_MIN_TAG_LENGTH || tag.length > GCM_MAX_TAG_LENGTH) {
    throw decryptFailed();
  }
  const parts: Buffer[] = [];
  try {
    const decipher = createDecipheriv(name, key, nonce, { authTagLength: tag.length });
    decipher.setAuthTag(tag);
    if (aad.length > 0) decipher.setAAD(aad);
    parts.push(decipher.update(ciphertext));
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
export function aesGcmEncryptor(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array = EMPTY, tagLength: number = GCM_MAX_TAG_LENGTH): StreamEncryptor {
  const name = AES_GCM_NAMES.get(key.length);
  if (name === undefined) throw new CipherError('UNSUPPORTED_CIPHER', `AES has no ${key.length * 8}-bit key size`);
  if (nonce.length !== GCM_NONCE_LENGTH) throw new RangeError(`AES-GCM needs a ${GCM_NONCE_LENGTH}-byte nonce`);
  if (!Number.isInteger(tagLength) || tagLength < GCM_MIN_TAG_LENGTH || tagLength > GCM_MAX_TAG_LENGTH) {
    throw new RangeError(`AES-GCM tag length must be ${GCM_MIN_TAG_LENGTH}..${GCM_MAX_TAG_LENGTH} bytes`);
  }
  assertAvailable(name);
  const cipher = createCipheriv(name, key, nonce, { authTagLength: tagLength });
  if (aad.length > 0) cipher.setAAD(aad);
  return { update: (data) => cipher.update(data), final: () => cipher.final(), tag: () => new Uint8Array(cipher.getAuthTag()) };
}
