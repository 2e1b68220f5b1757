/**
 * The key that signs audit checkpoints (issue 12). It lives in a file the server reads at start-up
 * (SMIME_AUDIT_CHECKPOINT_KEY_FILE), never in the database: whoever owns the database can rewrite the audit table,
 * but cannot sign a checkpoint that vouches for the rewrite. Ed25519 (RFC 8032), or ECDSA P-256 with SHA-256 for
 * deployments whose key tooling knows no Ed25519. An auditor needs only the public half.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

export type CheckpointAlgorithm = 'Ed25519' | 'ES256';

/** The algorithm a key signs with, or an explanation of why it cannot sign checkpoints. */
function algorithmOf(key: KeyObject): CheckpointAlgorithm | string {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return `a ${key.asymmetricKeyType ?? 'symmetric'} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''} (use Ed25519 or ECDSA P-256)`;
}

export class CheckpointKeyError extends Error {
  override name = 'CheckpointKeyError';
}

/** A key read by `read` that can sign or verify checkpoints (Ed25519 or ECDSA P-256), else CheckpointKeyError. */
function checkpointKey(read: () => KeyObject, unreadable: string, use: 'sign' | 'verify'): KeyObject {
  let key: KeyObject;
  try {
    key = read();
  } catch {
    throw new CheckpointKeyError(unreadable);
  }
  const alg = algorithmOf(key);
  if (alg !== 'Ed25519' && alg !== 'ES256') throw new CheckpointKeyError(`cannot ${use} checkpoints with ${alg}`);
  return key;
}

/** A PEM private key (PKCS#8, or SEC1 for EC) that can sign checkpoints. */
export function parseSigningKey(pem: string): KeyObject {
  return checkpointKey(() => createPrivateKey(pem), 'not a PEM private key', 'sign');
}

/**
 * Every PEM public key in `pem`. Several are allowed so that checkpoints signed before a key rotation still verify:
 * keep the retired public key beside the current one.
 */
export function parseVerifyingKeys(pem: string): KeyObject[] {
  const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new CheckpointKeyError('no PEM public key (-----BEGIN PUBLIC KEY-----) found');
  return blocks.map((b) => checkpointKey(() => createPublicKey(b), 'a PEM public key cannot be read', 'verify'));
}

/** A fresh Ed25519 key as PKCS#8 PEM (the development key generated into SMIME_DATA_DIR/secrets). */
export function generateSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

export function publicKeyPem(key: KeyObject): string {
  return publicKeyOf(key).export({ type: 'spki', format: 'pem' }).toString();
}

/** SHA-256 of the SubjectPublicKeyInfo, first 128 bits in hex: names the key a checkpoint was signed with. */
export function keyId(key: KeyObject): string {
  const spki = publicKeyOf(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex').slice(0, 32);
}

export function checkpointAlgorithm(key: KeyObject): CheckpointAlgorithm {
  const alg = algorithmOf(key);
  if (alg !== 'Ed25519' && alg !== 'ES256') throw new CheckpointKeyError(`cannot use ${alg}`);
  return alg;
}

// ECDSA signatures as r || s (IEEE P1363, as in JWS, RFC 7518 section 3.4): fixed length, one encoding only.
export function signBytes(key: KeyObject, data: Uint8Array): Buffer {
  return checkpointAlgorithm(key) === 'Ed25519'
    ? sign(null, data, key)
    : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

export function verifyBytes(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return checkpointAlgorithm(key) === 'Ed25519'
      ? verify(null, data, key, signature)
      : verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
