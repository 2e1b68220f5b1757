/**
 * Wrapping private keys to the organisation's recovery certificate, and opening those copies again (issue 17).
 *
 * A copy is CMS AuthEnvelopedData (RFC 5083) of the key's PKCS#8 DER: AES-256-GCM content encryption, the content key
 * transported with RSAES-OAEP-SHA256 (RFC 8017, RFC 4055) to the recovery certificate. It is the engine's own
 * encryptEnvelope, and `openssl cms -decrypt -inform DER -inkey recovery.key` opens it too, so the copies do not
 * depend on this software surviving.
 *
 * Opening checks what came out: it must be the private key of the certificate stored with it. A copy moved from one
 * key's row to another's (by someone with write access to the database) is refused rather than handed out under the
 * wrong certificate.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import { decryptEnvelope, encryptEnvelope, parsedCertificate } from '../smime/index.ts';

export interface RecoveryTarget {
  /** DER of the recovery certificate. */
  certificate: Uint8Array;
  /** Hex SHA-256 of `certificate` (recovery-key.ts recoverySetId). */
  setId: string;
  subject: string;
}

/** The envelope of a key's PKCS#8 for the recovery certificate. */
export async function wrapForRecovery(pkcs8: Uint8Array, target: RecoveryTarget): Promise<Uint8Array> {
  return encryptEnvelope(pkcs8, [{ certificate: target.certificate, keyTransport: 'rsa-oaep' }], {
    cipher: 'aes-256-gcm',
    oaepHash: 'sha256',
  });
}

/** Whether `pkcs8` is the private key whose public key `certificate` carries. */
export function privateKeyMatches(pkcs8: Uint8Array, certificate: Uint8Array): boolean {
  const spki = parsedCertificate(certificate)?.spki;
  if (!spki) return false;
  try {
    const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    return Buffer.from(spki).equals(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

/**
 * Open one copy with the rebuilt recovery key; the PKCS#8 of the key whose certificate is `keyCertificate`, which the
 * caller wipes. RECOVERY_WRAP_INVALID when the copy does not open or holds another key.
 */
export async function openRecoveryWrap(
  envelope: Uint8Array,
  recovery: { certificate: Uint8Array; privateKey: KeyObject },
  keyCertificate: Uint8Array,
): Promise<Uint8Array> {
  const out = await decryptEnvelope(envelope, [{ keyId: 'recovery', ...recovery }]).catch(() => undefined);
  if (out?.status !== 'decrypted') throw new AppError('RECOVERY_WRAP_INVALID');
  if (!privateKeyMatches(out.content, keyCertificate)) {
    out.content.fill(0);
    throw new AppError('RECOVERY_WRAP_INVALID');
  }
  return out.content;
}
