/** Share sets for the key recovery tests (issue 17), at a test Argon2id cost (1 MiB, 1 pass). */
import { createHash, randomBytes } from 'node:crypto';
import { writeShareFile } from '../../backend/src/recovery/share-file.ts';
import { split } from '../../backend/src/recovery/shamir.ts';
import { ERRORS } from '../../backend/src/errors.ts';

export const TEST_KDF = { memoryKiB: 1024, iterations: 1, parallelism: 1 };
export const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];
export const password = (i: number): string => `correct horse ${CUSTODIANS[i]}`;
export const REJECTED = { code: 'RECOVERY_SHARE_REJECTED', message: ERRORS.RECOVERY_SHARE_REJECTED.message };

export interface ShareSet {
  setId: string;
  files: string[];
}

/** An N-of-M set of share files for `secret`, custodian i with password(i); setId from `certificate` bytes. */
export async function makeSet(secret: Uint8Array, n = 5, m = 3, certificate = randomBytes(64)): Promise<ShareSet> {
  const setId = createHash('sha256').update(certificate).digest('hex');
  const files = await Promise.all(
    split(secret, n, m).map((share, i) =>
      writeShareFile(
        { setId, share, threshold: m, shares: n, custodian: CUSTODIANS[i]!, password: password(i) },
        { kdf: TEST_KDF },
      ),
    ),
  );
  return { setId, files };
}

/** The files at `idx`, each with its custodian's password. */
export const pick = (files: string[], idx: number[]): { json: string; password: string }[] =>
  idx.map((i) => ({ json: files[i]!, password: password(i) }));

/** The base64 text with one bit of byte `byte` flipped. */
export function flipBit(b64: string, byte: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[byte]! ^= 0x01;
  return bytes.toString('base64');
}
