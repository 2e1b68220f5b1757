/**
 * AES-256-GCM wrapping of PKCS#8 private keys.
 * - At rest: under an Argon2id key-encryption key; associated data binds the blob to its user and key ids, so a blob
 *   copied to another user's row (or another key's row) fails authentication.
 * - In an unlock session: under a random 256-bit session key that only the client holds; associated data binds the
 *   blob to the session, the user and the key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const WRAP_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class UnwrapError extends Error {
  override name = 'UnwrapError';
}

export function vaultAad(userId: number, keyId: string, version = WRAP_VERSION): Buffer {
  return Buffer.from(`smime-vault-v${version}\0user:${userId}\0key:${keyId}`, 'utf8');
}

export function sessionAad(sessionId: string, userId: number, keyId: string): Buffer {
  return Buffer.from(`smime-session-v1\0session:${sessionId}\0user:${userId}\0key:${keyId}`, 'utf8');
}

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { iv: Buffer; ciphertext: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { iv, ciphertext };
}

/** Throws UnwrapError on a wrong key or any alteration; the message says nothing more. */
export function open(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Buffer {
  if (ciphertext.length < TAG_BYTES || iv.length !== IV_BYTES) throw new UnwrapError('malformed wrapped key');
  const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES);
  const tag = ciphertext.subarray(ciphertext.length - TAG_BYTES);
  // The pieces the decipher hands out are copies of the key material: the caller wipes what it gets, and these are
  // wiped here (issue 12: the update() piece used to stay in memory, unreferenced, until overwritten).
  const pieces: Buffer[] = [];
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(tag);
    pieces.push(d.update(body));
    pieces.push(d.final());
    return Buffer.concat(pieces);
  } catch (e) {
    throw new UnwrapError('cannot unwrap', { cause: e });
  } finally {
    for (const p of pieces) p.fill(0);
  }
}
