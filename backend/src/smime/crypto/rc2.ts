// RC2 block cipher (RFC 2268), decryption and encryption of single blocks and CBC.
//
// Why it exists: legacy PKCS#12 files (Windows, AD CS, `openssl pkcs12 -legacy`) encrypt their certificate bags with
// pbeWithSHAAnd40BitRC2-CBC (RFC 7292 appendix C). Node's OpenSSL 3 ships RC2 only in the "legacy" provider, which is
// not loaded by default and which we do not load process-wide. RC2 is used here to read old files, never to protect
// new data.

export const RC2_BLOCK_SIZE = 8;
/** RFC 2268 section 2: the key is 1 to 128 bytes. */
export const RC2_MAX_KEY_BYTES = 128;
/** RFC 2268 section 2: the effective key length T1 is 1 to 1024 bits. */
export const RC2_MAX_EFFECTIVE_BITS = 1024;

// RFC 2268 section 2: PITABLE, a permutation of 0..255 based on the digits of pi.
// prettier-ignore
const PITABLE = new Uint8Array([
  0xd9, 0x78, 0xf9, 0xc4, 0x19, 0xdd, 0xb5, 0xed, 0x28, 0xe9, 0xfd, 0x79, 0x4a, 0xa0, 0xd8, 0x9d,
  0xc6, 0x7e, 0x37, 0x83, 0x2b, 0x76, 0x53, 0x8e, 0x62, 0x4c, 0x64, 0x88, 0x44, 0x8b, 0xfb, 0xa2,
  0x17, 0x9a, 0x59, 0xf5, 0x87, 0xb3, 0x4f, 0x13, 0x61, 0x45, 0x6d, 0x8d, 0x09, 0x81, 0x7d, 0x32,
  0xbd, 0x8f, 0x40, 0xeb, 0x86, 0xb7, 0x7b, 0x0b, 0xf0, 0x95, 0x21, 0x22, 0x5c, 0x6b, 0x4e, 0x82,
  0x54, 0xd6, 0x65, 0x93, 0xce, 0x60, 0xb2, 0x1c, 0x73, 0x56, 0xc0, 0x14, 0xa7, 0x8c, 0xf1, 0xdc,
  0x12, 0x75, 0xca, 0x1f, 0x3b, 0xbe, 0xe4, 0xd1, 0x42, 0x3d, 0xd4, 0x30, 0xa3, 0x3c, 0xb6, 0x26,
  0x6f, 0xbf, 0x0e, 0xda, 0x46, 0x69, 0x07, 0x57, 0x27, 0xf2, 0x1d, 0x9b, 0xbc, 0x94, 0x43, 0x03,
  0xf8, 0x11, 0xc7, 0xf6, 0x90, 0xef, 0x3e, 0xe7, 0x06, 0xc3, 0xd5, 0x2f, 0xc8, 0x66, 0x1e, 0xd7,
  0x08, 0xe8, 0xea, 0xde, 0x80, 0x52, 0xee, 0xf7, 0x84, 0xaa, 0x72, 0xac, 0x35, 0x4d, 0x6a, 0x2a,
  0x96, 0x1a, 0xd2, 0x71, 0x5a, 0x15, 0x49, 0x74, 0x4b, 0x9f, 0xd0, 0x5e, 0x04, 0x18, 0xa4, 0xec,
  0xc2, 0xe0, 0x41, 0x6e, 0x0f, 0x51, 0xcb, 0xcc, 0x24, 0x91, 0xaf, 0x50, 0xa1, 0xf4, 0x70, 0x39,
  0x99, 0x7c, 0x3a, 0x85, 0x23, 0xb8, 0xb4, 0x7a, 0xfc, 0x02, 0x36, 0x5b, 0x25, 0x55, 0x97, 0x31,
  0x2d, 0x5d, 0xfa, 0x98, 0xe3, 0x8a, 0x92, 0xae, 0x05, 0xdf, 0x29, 0x10, 0x67, 0x6c, 0xba, 0xc9,
  0xd3, 0x00, 0xe6, 0xcf, 0xe1, 0x9e, 0xa8, 0x2c, 0x63, 0x16, 0x01, 0x3f, 0x58, 0xe2, 0x89, 0xa9,
  0x0d, 0x38, 0x34, 0x1b, 0xab, 0x33, 0xff, 0xb0, 0xbb, 0x48, 0x0c, 0x5f, 0xb9, 0xb1, 0xcd, 0x2e,
  0xc5, 0xf3, 0xdb, 0x47, 0xe5, 0xa5, 0x9c, 0x77, 0x0a, 0xa6, 0x20, 0x68, 0xfe, 0x7f, 0xc1, 0xad,
]);

/** RFC 2268 section 3: the rotation amounts s[0..3] of the mixing rounds. */
const ROTATIONS = [1, 2, 3, 5] as const;

/**
 * RC2 parameter version (RC2-CBC-Parameter, RFC 8018 appendix B.2.3 and RFC 2268 section 6) to effective key bits.
 * Versions 160, 120 and 58 stand for 40, 64 and 128 bits; a version of 256 or more is the bit count itself.
 */
export function rc2EffectiveBitsFromVersion(version: number): number | undefined {
  switch (version) {
    case 160:
      return 40;
    case 120:
      return 64;
    case 58:
      return 128;
    default:
      return version >= 256 && version <= RC2_MAX_EFFECTIVE_BITS ? version : undefined;
  }
}

export class Rc2 {
  /** The expanded key K[0..63] (RFC 2268 section 2). */
  readonly #k = new Uint16Array(64);

  /**
   * @param key 1 to 128 bytes.
   * @param effectiveBits T1 of RFC 2268 section 2, 1 to 1024. For pbeWithSHAAnd40BitRC2-CBC this is 40 with a 5-byte key;
   *   for pbeWithSHAAnd128BitRC2-CBC, 128 with a 16-byte key (RFC 7292 appendix C).
   */
  constructor(key: Uint8Array, effectiveBits: number = key.length * 8) {
    const t = key.length;
    if (t < 1 || t > RC2_MAX_KEY_BYTES) throw new RangeError('RC2 key must be 1 to 128 bytes');
    if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > RC2_MAX_EFFECTIVE_BITS) {
      throw new RangeError('RC2 effective key bits must be 1 to 1024');
    }
    const l = new Uint8Array(128);
    try {
      l.set(key);
      for (let i = t; i < 128; i++) l[i] = PITABLE[((l[i - 1] ?? 0) + (l[i - t] ?? 0)) & 0xff] ?? 0;
      // Reduce the effective key to T1 bits: T8 bytes, the top one masked with TM.
      const t8 = Math.ceil(effectiveBits / 8);
      const tm = 0xff >> (8 * t8 - effectiveBits);
      l[128 - t8] = PITABLE[(l[128 - t8] ?? 0) & tm] ?? 0;
      for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[(l[i + 1] ?? 0) ^ (l[i + t8] ?? 0)] ?? 0;
      for (let i = 0; i < 64; i++) this.#k[i] = (l[2 * i] ?? 0) | ((l[2 * i + 1] ?? 0) << 8);
    } finally {
      l.fill(0);
    }
  }

  /** Encrypts one 8-byte block of `input` at `inOffset` into `output` at `outOffset` (RFC 2268 section 3). */
  encryptBlock(input: Uint8Array, inOffset: number, output: Uint8Array, outOffset: number): void {
    const k = this.#k;
    const r = readWords(input, inOffset);
    let j = 0;
    const mixRound = (): void => {
      for (let i = 0; i < 4; i++) {
        const r1 = r[(i + 3) & 3] ?? 0;
        const r2 = r[(i + 2) & 3] ?? 0;
        const r3 = r[(i + 1) & 3] ?? 0;
        const sum = ((r[i] ?? 0) + (k[j++] ?? 0) + (r1 & r2) + (~r1 & r3)) & 0xffff;
        const s = ROTATIONS[i] ?? 0;
        r[i] = ((sum << s) | (sum >>> (16 - s))) & 0xffff;
      }
    };
    const mashRound = (): void => {
      for (let i = 0; i < 4; i++) r[i] = ((r[i] ?? 0) + (k[(r[(i + 3) & 3] ?? 0) & 63] ?? 0)) & 0xffff;
    };
    runRounds(mixRound, mashRound);
    writeWords(r, output, outOffset);
  }

  /** Decrypts one 8-byte block (RFC 2268 section 4). */
  decryptBlock(input: Uint8Array, inOffset: number, output: Uint8Array, outOffset: number): void {
    const k = this.#k;
    const r = readWords(input, inOffset);
    let j = 63;
    const rMixRound = (): void => {
      for (let i = 3; i >= 0; i--) {
        const s = ROTATIONS[i] ?? 0;
        const v = r[i] ?? 0;
        const rotated = ((v >>> s) | (v << (16 - s))) & 0xffff;
        const r1 = r[(i + 3) & 3] ?? 0;
        const r2 = r[(i + 2) & 3] ?? 0;
        const r3 = r[(i + 1) & 3] ?? 0;
        r[i] = (rotated - (k[j--] ?? 0) - (r1 & r2) - (~r1 & r3)) & 0xffff;
      }
    };
    const rMashRound = (): void => {
      for (let i = 3; i >= 0; i--) r[i] = ((r[i] ?? 0) - (k[(r[(i + 3) & 3] ?? 0) & 63] ?? 0)) & 0xffff;
    };
    runRounds(rMixRound, rMashRound);
    writeWords(r, output, outOffset);
  }

  /** Clears the expanded key. The instance is unusable afterwards. */
  wipe(): void {
    this.#k.fill(0);
  }
}

/**
 * The round schedule of RFC 2268 sections 3 and 4: five mixing rounds, a mashing round, six mixing rounds, a mashing
 * round, five mixing rounds. Decryption runs the same schedule with the reverse rounds.
 */
function runRounds(mix: () => void, mash: () => void): void {
  for (let n = 0; n < 5; n++) mix();
  mash();
  for (let n = 0; n < 6; n++) mix();
  mash();
  for (let n = 0; n < 5; n++) mix();
}

// RFC 2268 section 3: the block is four 16-bit words, little-endian.
function readWords(input: Uint8Array, offset: number): Uint16Array {
  const r = new Uint16Array(4);
  for (let i = 0; i < 4; i++) r[i] = (input[offset + 2 * i] ?? 0) | ((input[offset + 2 * i + 1] ?? 0) << 8);
  return r;
}

function writeWords(r: Uint16Array, output: Uint8Array, offset: number): void {
  for (let i = 0; i < 4; i++) {
    const w = r[i] ?? 0;
    output[offset + 2 * i] = w & 0xff;
    output[offset + 2 * i + 1] = w >>> 8;
  }
  r.fill(0);
}

function checkCbcInput(iv: Uint8Array, data: Uint8Array): void {
  if (iv.length !== RC2_BLOCK_SIZE) throw new RangeError('RC2-CBC IV must be 8 bytes');
  if (data.length % RC2_BLOCK_SIZE !== 0) throw new RangeError('RC2-CBC data must be a whole number of blocks');
}

/** CBC decryption without padding removal: returns exactly `data.length` bytes. */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkCbcInput(iv, data);
  const cipher = new Rc2(key, effectiveBits);
  try {
    const out = new Uint8Array(data.length);
    for (let offset = 0; offset < data.length; offset += RC2_BLOCK_SIZE) {
      cipher.decryptBlock(data, offset, out, offset);
      const chain = offset === 0 ? iv : data.subarray(offset - RC2_BLOCK_SIZE, offset);
      for (let i = 0; i < RC2_BLOCK_SIZE; i++) out[offset + i] = (out[offset + i] ?? 0) ^ (chain[i] ?? 0);
    }
    return out;
  } finally {
    cipher.wipe();
  }
}

/** CBC encryption without padding: `data` must already be a whole number of blocks. For tests and tooling. */
export function rc2CbcEncrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkCbcInput(iv, data);
  const cipher = new Rc2(key, effectiveBits);
  try {
    const out = new Uint8Array(data.length);
    const block = new Uint8Array(RC2_BLOCK_SIZE);
    for (let offset = 0; offset < data.length; offset += RC2_BLOCK_SIZE) {
      const chain = offset === 0 ? iv : out.subarray(offset - RC2_BLOCK_SIZE, offset);
      for (let i = 0; i < RC2_BLOCK_SIZE; i++) block[i] = (data[offset + i] ?? 0) ^ (chain[i] ?? 0);
      cipher.encryptBlock(block, 0, out, offset);
    }
    block.fill(0);
    return out;
  } finally {
    cipher.wipe();
  }
}
