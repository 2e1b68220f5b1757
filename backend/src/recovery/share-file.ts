/**
 * Custodian share files for organisational key recovery (issue 17): one Shamir share (shamir.ts) per custodian,
 * encrypted under the custodian's own password, as a small versioned JSON file the custodian keeps offline.
 *
 *   { format: 'smime-recovery-share', version: 1, setId, index, threshold, shares, custodian,
 *     kdf: { name: 'argon2id', memoryKiB, iterations, parallelism, salt }, iv, ciphertext }
 *
 * - setId: hex SHA-256 of the recovery certificate's DER: which key the shares rebuild, and what ties them together.
 * - key: Argon2id (RFC 9106) of the password (Unicode NFC, as the vault does), 32 bytes, with the salt and cost stored.
 * - ciphertext: AES-256-GCM of the share's y bytes, the 16-byte tag appended, under a random 96-bit IV. The associated
 *   data is the canonical JSON of every other field, so a change to any header field (index, threshold, custodian,
 *   kdf cost, setId) fails authentication just as a change to the ciphertext does.
 *
 * Every way a file can fail to open (wrong password, an altered byte anywhere, not a share file at all) gives the same
 * RECOVERY_SHARE_REJECTED with the same message, so the answer does not help anyone guess which it was.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { canonicalJson } from '../canonical-json.ts';
import { AppError } from '../errors.ts';
import { passphraseBytes } from '../vault/kdf.ts';
import { combine, MAX_SHARES, MIN_THRESHOLD, type Share } from './shamir.ts';

export const SHARE_FORMAT = 'smime-recovery-share';
export const SHARE_VERSION = 1;

export interface ShareKdfCost {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/**
 * Default Argon2id cost of a share file: 256 MiB, 3 passes, 4 lanes (RFC 9106 section 4's second recommended option
 * uses 64 MiB; a share is opened a handful of times in its life, on an administrator's machine, so it can afford four
 * times that against an offline attack on a stolen file).
 */
export const DEFAULT_SHARE_KDF: ShareKdfCost = { memoryKiB: 256 * 1024, iterations: 3, parallelism: 4 };
/**
 * The most a file may ask for: the cost is read from the file before anything is authenticated, and a file edited to
 * ask for terabytes must not take the machine down. 2 GiB, 16 passes, 16 lanes is above any cost we write.
 */
export const MAX_SHARE_KDF: ShareKdfCost = { memoryKiB: 2 * 1024 * 1024, iterations: 16, parallelism: 16 };
/** A share file holds one share the size of the secret (a PKCS#8 key: a few KiB); anything far larger is not one. */
export const MAX_SHARE_FILE_CHARS = 256 * 1024;
/** A label that names a person or role, not a document. */
export const MAX_CUSTODIAN_CHARS = 200;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface ShareKdf extends ShareKdfCost {
  name: 'argon2id';
  /** base64 */
  salt: string;
}

/** Everything but the ciphertext: public, and authenticated as the associated data. */
export interface ShareHeader {
  format: typeof SHARE_FORMAT;
  version: typeof SHARE_VERSION;
  setId: string;
  index: number;
  threshold: number;
  shares: number;
  custodian: string;
  kdf: ShareKdf;
  /** base64 */
  iv: string;
}

export interface ShareFile extends ShareHeader {
  /** base64 of the AES-256-GCM ciphertext of the share's y, the tag appended. */
  ciphertext: string;
}

export interface WriteShareInput {
  setId: string;
  share: Share;
  threshold: number;
  shares: number;
  custodian: string;
  password: string;
}

export interface ShareFileOptions {
  /** Argon2id cost; tests lower it. Merged over DEFAULT_SHARE_KDF. */
  kdf?: Partial<ShareKdfCost>;
}

const HEADER_KEYS = ['format', 'version', 'setId', 'index', 'threshold', 'shares', 'custodian', 'kdf', 'iv'] as const;
const KDF_KEYS = ['name', 'memoryKiB', 'iterations', 'parallelism', 'salt'] as const;
const SET_ID = /^[0-9a-f]{64}$/;

function rejected(): AppError {
  return new AppError('RECOVERY_SHARE_REJECTED');
}

function aad(header: ShareHeader): Buffer {
  return Buffer.from(canonicalJson(header), 'utf8');
}

async function deriveKey(password: string, salt: Buffer, cost: ShareKdfCost): Promise<Buffer> {
  const pw = passphraseBytes(password);
  try {
    return await argon2.hash(pw, {
      type: argon2.argon2id,
      raw: true,
      salt,
      memoryCost: cost.memoryKiB,
      timeCost: cost.iterations,
      parallelism: cost.parallelism,
      hashLength: KEY_BYTES,
    });
  } finally {
    pw.fill(0);
  }
}

function isCount(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function checkSetParameters(setId: string, index: number, threshold: number, shares: number): boolean {
  return (
    SET_ID.test(setId) &&
    isCount(shares, MIN_THRESHOLD, MAX_SHARES) &&
    isCount(threshold, MIN_THRESHOLD, shares) &&
    isCount(index, 1, shares)
  );
}

function mergeCost(options: ShareFileOptions): ShareKdfCost {
  const unknown = Object.keys(options).filter((k) => k !== 'kdf');
  const cost = { ...DEFAULT_SHARE_KDF, ...options.kdf };
  const known = Object.keys(cost).every((k) => k in DEFAULT_SHARE_KDF);
  const inRange = (Object.keys(DEFAULT_SHARE_KDF) as (keyof ShareKdfCost)[]).every((k) =>
    isCount(cost[k], 1, MAX_SHARE_KDF[k]),
  );
  if (unknown.length > 0 || !known || !inRange)
    throw new AppError('RECOVERY_SHARES_INVALID', 'Invalid share file options.', { unknown });
  return cost;
}

/** Encrypt one custodian's share under their password; returns the file's JSON text. */
export async function writeShareFile(input: WriteShareInput, options: ShareFileOptions = {}): Promise<string> {
  const cost = mergeCost(options);
  const { setId, share, threshold, shares, custodian, password } = input;
  if (!checkSetParameters(setId, share.x, threshold, shares))
    throw new AppError('RECOVERY_SHARES_INVALID', 'The set id, index, threshold or share count is invalid.');
  if (typeof custodian !== 'string' || custodian.length === 0 || custodian.length > MAX_CUSTODIAN_CHARS)
    throw new AppError(
      'RECOVERY_SHARES_INVALID',
      `The custodian label must have 1 to ${MAX_CUSTODIAN_CHARS} characters.`,
    );
  if (typeof password !== 'string' || password.length === 0)
    throw new AppError('RECOVERY_SHARES_INVALID', 'The custodian password is empty.');
  if (!(share.y instanceof Uint8Array) || share.y.length === 0)
    throw new AppError('RECOVERY_SHARES_INVALID', 'The share is empty.');
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const header: ShareHeader = {
    format: SHARE_FORMAT,
    version: SHARE_VERSION,
    setId,
    index: share.x,
    threshold,
    shares,
    custodian,
    kdf: { name: 'argon2id', ...cost, salt: salt.toString('base64') },
    iv: iv.toString('base64'),
  };
  const key = await deriveKey(password, salt, cost);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(header));
    const ct = Buffer.concat([cipher.update(share.y), cipher.final(), cipher.getAuthTag()]);
    const file: ShareFile = { ...header, ciphertext: ct.toString('base64') };
    return `${JSON.stringify(file, null, 2)}\n`;
  } finally {
    key.fill(0);
  }
}

/** Strict base64: decoding and encoding again gives the same text, so no two spellings carry the same bytes. */
function base64(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  const bytes = Buffer.from(v, 'base64');
  return bytes.toString('base64') === v ? bytes : undefined;
}

function exactKeys(o: unknown, keys: readonly string[]): o is Record<string, unknown> {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return false;
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

interface Parsed {
  header: ShareHeader;
  salt: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
}

/** The file's structure, or undefined: nothing here is trusted until the tag verifies. */
function parse(json: string): Parsed | undefined {
  if (typeof json !== 'string' || json.length > MAX_SHARE_FILE_CHARS) return undefined;
  let f: unknown;
  try {
    f = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!exactKeys(f, [...HEADER_KEYS, 'ciphertext']) || !exactKeys(f.kdf, KDF_KEYS)) return undefined;
  const k = f.kdf;
  if (f.format !== SHARE_FORMAT || f.version !== SHARE_VERSION || k.name !== 'argon2id') return undefined;
  if (
    typeof f.setId !== 'string' ||
    !checkSetParameters(f.setId, f.index as number, f.threshold as number, f.shares as number)
  )
    return undefined;
  if (typeof f.custodian !== 'string' || f.custodian.length === 0 || f.custodian.length > MAX_CUSTODIAN_CHARS)
    return undefined;
  if (
    !isCount(k.memoryKiB, 1, MAX_SHARE_KDF.memoryKiB) ||
    !isCount(k.iterations, 1, MAX_SHARE_KDF.iterations) ||
    !isCount(k.parallelism, 1, MAX_SHARE_KDF.parallelism)
  )
    return undefined;
  const salt = base64(k.salt);
  const iv = base64(f.iv);
  const ciphertext = base64(f.ciphertext);
  if (!salt || salt.length < SALT_BYTES || iv?.length !== IV_BYTES || !ciphertext || ciphertext.length <= TAG_BYTES)
    return undefined;
  const header = Object.fromEntries(HEADER_KEYS.map((key) => [key, f[key]])) as unknown as ShareHeader;
  return { header, salt, iv, ciphertext };
}

export interface OpenedShare {
  header: ShareHeader;
  /** The share; the caller wipes share.y when done. */
  share: Share;
}

/** Open one share file with its custodian's password. Any failure is RECOVERY_SHARE_REJECTED, whatever the cause. */
export async function readShareFile(json: string, password: string): Promise<OpenedShare> {
  const parsed = parse(json);
  if (!parsed || typeof password !== 'string') throw rejected();
  const { header, salt, iv, ciphertext } = parsed;
  let key: Buffer | undefined;
  try {
    key = await deriveKey(password, salt, header.kdf);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(header));
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
    const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES);
    const y = decipher.update(body);
    try {
      decipher.final();
    } catch {
      y.fill(0); // unauthenticated plaintext is never handed out
      throw rejected();
    }
    return { header, share: { x: header.index, y: new Uint8Array(y.buffer, y.byteOffset, y.byteLength) } };
  } catch {
    throw rejected(); // Argon2 refusing the parameters included: one answer for every cause
  } finally {
    key?.fill(0);
  }
}

export interface RecoveredSecret {
  setId: string;
  threshold: number;
  shares: number;
  /** The indexes used. */
  indexes: number[];
  /** The rebuilt secret; the caller wipes it when done. */
  secret: Uint8Array;
}

/** Open every file (all of them, even after a failure), then check they form one set and enough of it. */
async function openAll(files: readonly { json: string; password: string }[]): Promise<OpenedShare[]> {
  const opened: OpenedShare[] = [];
  let failures = 0;
  // One at a time: each derivation takes DEFAULT_SHARE_KDF.memoryKiB of memory.
  for (const f of files) {
    try {
      opened.push(await readShareFile(f.json, f.password));
    } catch {
      failures++;
    }
  }
  if (failures > 0) {
    for (const o of opened) o.share.y.fill(0);
    // How many, never which: the same error whichever file and whichever cause.
    throw new AppError('RECOVERY_SHARE_REJECTED', undefined, { rejected: failures });
  }
  return opened;
}

function checkOneSet(opened: readonly OpenedShare[]): void {
  const first = opened[0]!.header;
  for (const { header } of opened) {
    if (header.setId !== first.setId || header.threshold !== first.threshold || header.shares !== first.shares)
      throw new AppError('RECOVERY_SHARES_MIXED');
  }
  const indexes = opened.map((o) => o.header.index);
  if (new Set(indexes).size !== indexes.length)
    throw new AppError('RECOVERY_SHARES_INVALID', 'The same share was given more than once.', { indexes });
  if (opened.length < first.threshold)
    throw new AppError('RECOVERY_TOO_FEW_SHARES', undefined, {
      have: opened.length,
      need: first.threshold,
      missing: first.threshold - opened.length,
    });
}

/**
 * Open the custodians' files and rebuild the secret. The result is only as good as the shares: a custodian who knows
 * their password can write a file holding a wrong y, and the combination is then a wrong secret with no error here.
 * The caller checks the rebuilt key against the recovery certificate (setId) before trusting it.
 */
export async function openShares(files: readonly { json: string; password: string }[]): Promise<RecoveredSecret> {
  if (!Array.isArray(files) || files.length === 0)
    throw new AppError('RECOVERY_SHARES_INVALID', 'No share files were given.');
  const opened = await openAll(files);
  try {
    checkOneSet(opened);
    const { setId, threshold, shares } = opened[0]!.header;
    const secret = combine(opened.map((o) => o.share));
    return { setId, threshold, shares, indexes: opened.map((o) => o.header.index), secret };
  } finally {
    for (const o of opened) o.share.y.fill(0);
  }
}
