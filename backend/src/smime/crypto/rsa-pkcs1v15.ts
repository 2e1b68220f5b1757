/**
 * RSAES-PKCS1-v1_5 (RFC 8017 section 7.2) for CMS key transport (KeyTransRecipientInfo with rsaEncryption,
 * RFC 3370 section 4.2.1), which is what Outlook and Thunderbird send almost always.
 *
 * Why this exists: Node 20 refuses `crypto.privateDecrypt` with RSA_PKCS1_PADDING (the Marvin attack fix,
 * CVE-2023-46809) unless its OpenSSL does implicit rejection, and the OpenSSL 3.0 bundled with Node 20 does
 * not; the only other way is `--security-revert=CVE-2023-46809`, which we do not use. Raw RSA
 * (RSA_NO_PADDING) is still allowed, so decryption is done raw here and the padding is checked with the
 * implicit-rejection algorithm of draft-irtf-cfrg-rsa-guidance (section "Implicit rejection", the algorithm
 * of OpenSSL 3.2's `ossl_rsa_padding_check_PKCS1_type_2` and NSS): a malformed padding yields a
 * pseudo-random "synthetic" message derived from the private key and the ciphertext instead of an error, so
 * neither an error code nor a branch tells an attacker which ciphertexts were well formed (Bleichenbacher
 * 1998, ROBOT 2017, Marvin 2023).
 *
 * CMS adds one rule on top (`expectedLength`): the transported content-encryption key has a length known
 * from the content-encryption algorithm, so a message of any other length is replaced by a synthetic one of
 * the expected length. OpenSSL CMS and NSS do the same (with a random key) so that the symmetric layer does
 * not become the oracle. The caller then sees a wrong key, which fails like any other wrong key.
 *
 * Side channels: JavaScript gives no constant-time guarantee, but the depadding below is written without
 * data-dependent branches, early returns, indexOf or table lookups on secret indices: every byte of EM is
 * read, conditions are folded into all-ones/all-zero masks, and the result is selected with masks. The
 * synthetic message is always computed, whether or not it is used. The raw RSA operation is OpenSSL's
 * (blinded, constant-time modular exponentiation).
 */
import { constants, createHash, createHmac, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';

import { CipherError } from './content-cipher.ts';

/** RFC 8017 section 7.2.1: EM = 0x00 || 0x02 || PS || 0x00 || M, with PS at least eight nonzero octets. */
const MIN_PS_LENGTH = 8;
/** 0x00 0x02 before PS and the 0x00 separator after it. */
const PADDING_OVERHEAD = MIN_PS_LENGTH + 3;
/**
 * draft-irtf-cfrg-rsa-guidance, implicit rejection, steps "CL" and "AM": the synthetic length is picked from
 * 128 big-endian 16-bit candidates masked to the bit length of the largest allowed length; a candidate at or
 * above that is skipped, and the chance that all 128 are is below 2^-128, so 0 is the fallback. Choosing
 * without division keeps the choice free of data-dependent timing and of bias.
 */
const LENGTH_CANDIDATES = 128;
/** The PRF's output length is encoded in 16 bits (draft: I2OSP(bitLength, 2)); 8191 bytes is the most it can ask. */
const MAX_PRF_BYTES = 0xffff >> 3;
const SHA256_LENGTH = 32;
const LABEL_LENGTH = Buffer.from('length', 'latin1');
const LABEL_MESSAGE = Buffer.from('message', 'latin1');

// Constant-time helpers on non-negative integers below 2^30: every condition is a mask, -1 (all ones) for
// true and 0 for false, combined with & | ~ rather than with branches.
function ctIsZero(x: number): number {
  return ~(x | -x) >> 31;
}
function ctEq(a: number, b: number): number {
  return ctIsZero(a ^ b);
}
function ctLt(a: number, b: number): number {
  return (a - b) >> 31;
}
function ctSelect(mask: number, a: number, b: number): number {
  return (a & mask) | (b & ~mask);
}

/** Modulus length k in bytes of an RSA KeyObject, or a CipherError for any other key. */
function modulusBytes(key: KeyObject, wantPrivate: boolean): number {
  const bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  if (bits === undefined || (wantPrivate && key.type !== 'private')) {
    throw new CipherError('UNSUPPORTED_CIPHER', `rsaEncryption needs an RSA ${wantPrivate ? 'private ' : ''}key`);
  }
  return Math.ceil(bits / 8);
}

/** Reads one DER TLV header at offset; returns where its value starts and ends. */
function derValue(der: Uint8Array, offset: number, tag: number): { start: number; end: number } {
  if (der[offset] !== tag) throw new CipherError('UNSUPPORTED_CIPHER', 'unexpected RSAPrivateKey encoding');
  let pos = offset + 1;
  let length = der[pos++]!;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3) throw new CipherError('UNSUPPORTED_CIPHER', 'unexpected RSAPrivateKey encoding');
    length = 0;
    for (let i = 0; i < octets; i++) length = (length << 8) | der[pos++]!;
  }
  if (pos + length > der.length) throw new CipherError('UNSUPPORTED_CIPHER', 'unexpected RSAPrivateKey encoding');
  return { start: pos, end: pos + length };
}

/**
 * Writes the private exponent d as a big-endian k-byte string (the draft's D = I2OSP(d, k)) into out. It is read
 * from the key's own PKCS #1 DER export (RSAPrivateKey, RFC 8017 appendix A.1.2: version, n, e, d, ...) rather
 * than from a JWK, because a JWK would leave d in immutable strings that cannot be wiped.
 */
function writePrivateExponent(key: KeyObject, out: Buffer): void {
  const der = key.export({ type: 'pkcs1', format: 'der' });
  try {
    const seq = derValue(der, 0, 0x30);
    let pos = seq.start;
    for (let field = 0; field < 3; field++) pos = derValue(der, pos, 0x02).end; // version, n, e
    const d = derValue(der, pos, 0x02);
    // d < n < 256^k, so anything before the last k octets can only be DER's one sign octet (0x00).
    if (d.end - d.start > out.length + 1) {
      throw new CipherError('UNSUPPORTED_CIPHER', 'unexpected RSAPrivateKey encoding');
    }
    const length = Math.min(d.end - d.start, out.length);
    der.copy(out, out.length - length, d.end - length, d.end);
  } finally {
    der.fill(0);
  }
}

/**
 * The draft's IRPRF(KDK, label, length): HMAC-SHA256(KDK, I2OSP(i, 2) || label || I2OSP(length * 8, 2)) for
 * i = 0, 1, ..., concatenated and cut to length bytes.
 */
function prf(kdk: Buffer, label: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  const bitLength = Buffer.from([(length * 8) >> 8, (length * 8) & 0xff]);
  for (let i = 0, pos = 0; pos < length; i++, pos += SHA256_LENGTH) {
    const block = createHmac('sha256', kdk)
      .update(Buffer.from([i >> 8, i & 0xff]))
      .update(label)
      .update(bitLength)
      .digest();
    block.copy(out, pos, 0, Math.min(SHA256_LENGTH, length - pos));
    block.fill(0);
  }
  return out;
}

/**
 * The synthetic message length from the "length" PRF output: the last of the 128 16-bit candidates, masked
 * to the bit length of maxLength, that is below maxLength (k - 10, so at most k - 11 bytes). Branch-free.
 *
 * @internal exported for the tests only.
 */
export function syntheticLength(candidates: Uint8Array, maxLength: number): number {
  let mask = maxLength;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  let length = 0;
  for (let i = 0; i < candidates.length; i += 2) {
    const candidate = ((candidates[i]! << 8) | candidates[i + 1]!) & mask;
    length = ctSelect(ctLt(candidate, maxLength), candidate, length);
  }
  return length;
}

/**
 * Implicit-rejection depadding of EM (k bytes, the raw RSA output) against a synthetic message of the same
 * length whose last syntheticLen bytes are the replacement. Returns M when EM is 0x00 0x02 PS(>= 8 nonzero)
 * 0x00 M and, if expectedLengths is not empty, M's length is one of them; otherwise the last syntheticLen
 * bytes of synthetic.
 *
 * Written branch-free on purpose: no early return, no data-dependent condition, loop bound or index other
 * than the final output length (which is pseudo-random when the padding is bad, so it tells nothing). The
 * test suite checks this function's source for branches; keep it that way.
 *
 * @internal exported for the tests only.
 */
export function depadImplicit(
  em: Uint8Array,
  synthetic: Uint8Array,
  syntheticLen: number,
  expectedLengths: readonly number[],
): Uint8Array {
  const k = em.length;
  let good = ctIsZero(em[0]!) & ctEq(em[1]!, 2);
  let found = 0;
  let zeroIndex = 0;
  for (let i = 2; i < k; i++) {
    const isZero = ctIsZero(em[i]!);
    zeroIndex = ctSelect(~found & isZero, i, zeroIndex);
    found |= isZero;
  }
  // PS spans indices 2 .. zeroIndex - 1; no zero at all leaves zeroIndex at 0, which fails here too.
  good &= ~ctLt(zeroIndex, 2 + MIN_PS_LENGTH);
  const realLen = k - zeroIndex - 1;
  let lengthOk = ctIsZero(expectedLengths.length); // no expectation: any length is fine
  for (const expected of expectedLengths) lengthOk |= ctEq(realLen, expected);
  good &= lengthOk;
  const outLen = ctSelect(good, realLen, syntheticLen);
  const out = new Uint8Array(outLen);
  const start = k - outLen; // both M and the synthetic message are suffixes of their k-byte buffers
  for (let i = 0; i < outLen; i++) out[i] = ctSelect(good, em[start + i]!, synthetic[start + i]!);
  return out;
}

/**
 * RSAES-PKCS1-v1_5 decryption with implicit rejection (draft-irtf-cfrg-rsa-guidance; bit-compatible with
 * OpenSSL 3.2+). Never throws for a malformed padding: it returns a synthetic message that is deterministic
 * for the key and ciphertext. Throws CipherError DECRYPT_FAILED only for ciphertexts that are invalid on
 * public information alone (longer than the modulus, or not below it), and UNSUPPORTED_CIPHER for a key that
 * is not an RSA private key.
 *
 * expectedLength: the content-encryption key length(s) the caller can use (16/24/32 for AES, 24 for
 * DES-EDE3). A message of any other length is replaced by a synthetic one of the first expected length.
 */
export function rsaPkcs1v15DecryptImplicit(
  privateKey: KeyObject,
  ciphertext: Uint8Array,
  expectedLength?: number | number[],
): Uint8Array {
  const k = modulusBytes(privateKey, true);
  if (k < PADDING_OVERHEAD || k > MAX_PRF_BYTES) {
    throw new CipherError('UNSUPPORTED_CIPHER', `RSA modulus of ${k} bytes is outside what PKCS #1 v1.5 supports`);
  }
  const expected = typeof expectedLength === 'number' ? [expectedLength] : (expectedLength ?? []);
  if (
    (Array.isArray(expectedLength) && expected.length === 0) ||
    expected.some((length) => !Number.isInteger(length) || length < 0 || length > k - PADDING_OVERHEAD)
  ) {
    throw new RangeError(`expectedLength must be one or more integers in 0..${k - PADDING_OVERHEAD}`);
  }
  // RFC 8017 section 7.2.2 step 1 wants exactly k bytes; like OpenSSL we accept a shorter ciphertext (a sender
  // that dropped leading zero octets) and left-pad it, which is public information either way.
  if (ciphertext.length > k) throw new CipherError('DECRYPT_FAILED', 'decryption failed');

  const c = Buffer.alloc(k);
  const d = Buffer.alloc(k);
  const secrets: Buffer[] = [c, d];
  try {
    c.set(ciphertext, k - ciphertext.length);
    let raw: Buffer;
    try {
      raw = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, c);
    } catch {
      // Only a ciphertext that is not below the modulus gets here: public information, not an oracle.
      throw new CipherError('DECRYPT_FAILED', 'decryption failed');
    }
    secrets.push(raw);
    let em = raw;
    if (raw.length !== k) {
      em = Buffer.alloc(k);
      secrets.push(em);
      raw.copy(em, k - raw.length);
    }

    // KDK = HMAC-SHA256(SHA-256(I2OSP(d, k)), C), with C left-padded to k bytes.
    writePrivateExponent(privateKey, d);
    const dHash = createHash('sha256').update(d).digest();
    secrets.push(dHash);
    const kdk = createHmac('sha256', dHash).update(c).digest();
    secrets.push(kdk);

    const synthetic = prf(kdk, LABEL_MESSAGE, k);
    secrets.push(synthetic);
    let synthLen: number;
    if (expected.length > 0) {
      synthLen = expected[0]!; // public: chosen by the caller from the content-encryption algorithm
    } else {
      const candidates = prf(kdk, LABEL_LENGTH, LENGTH_CANDIDATES * 2);
      secrets.push(candidates);
      synthLen = syntheticLength(candidates, k - 2 - MIN_PS_LENGTH);
    }
    return depadImplicit(em, synthetic, synthLen, expected);
  } finally {
    for (const buffer of secrets) buffer.fill(0);
  }
}

/**
 * RSAES-PKCS1-v1_5 encryption (RFC 8017 section 7.2.1) for key transport to a recipient. Node still allows
 * public-key encryption with PKCS #1 v1.5 padding (only private decryption is restricted), so OpenSSL builds
 * the padding with random nonzero PS. Accepts a public key or a private key (its public half is used).
 */
export function rsaPkcs1v15Encrypt(publicKey: KeyObject, message: Uint8Array): Uint8Array {
  const k = modulusBytes(publicKey, false);
  if (message.length > k - PADDING_OVERHEAD) {
    throw new RangeError(`PKCS #1 v1.5 can carry at most ${k - PADDING_OVERHEAD} bytes with this key`);
  }
  return new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, message));
}
