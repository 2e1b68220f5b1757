// Matching the private key of a PKCS#12 file to its certificate, and the order of the rest of the chain. A localKeyId
// is the writer's hint; only equal public keys make a pair.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SmimeError } from '../errors.ts';
import { algorithm, copyBytes, readTree, sequence } from '../asn1/reader.ts';
import {
  OID_DSA,
  OID_EC_PUBLIC_KEY,
  OID_ED25519,
  OID_ED448,
  OID_RSA_ENCRYPTION,
  OID_RSASSA_PSS,
  OID_X25519,
  OID_X448,
} from '../asn1/oids.ts';
import { certificateParts } from '../x509/raw.ts';
import { malformed, shape, type FoundCertificate, type FoundKey } from './state.ts';

/** Public key algorithms node:crypto can load from PKCS#8; others are "unsupported" rather than "damaged". */
const KNOWN_KEY_ALGORITHMS = new Set([
  OID_RSA_ENCRYPTION,
  OID_RSASSA_PSS,
  OID_EC_PUBLIC_KEY,
  OID_DSA,
  OID_X25519,
  OID_X448,
  OID_ED25519,
  OID_ED448,
]);

export interface LoadedKey {
  found: FoundKey;
  key: KeyObject;
  publicKey: KeyObject;
}

export function loadKey(found: FoundKey): LoadedKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: Buffer.from(found.pkcs8.buffer, found.pkcs8.byteOffset, found.pkcs8.length),
      format: 'der',
      type: 'pkcs8',
    });
  } catch (cause) {
    // Tell "not a key at all" (wrong password without MAC, damage) from "a key of a type we cannot use".
    let keyAlgorithm: string | undefined;
    try {
      const fields = sequence(readTree(found.pkcs8, 'PrivateKeyInfo'), 'PrivateKeyInfo');
      keyAlgorithm = algorithm(fields[1], 'privateKeyAlgorithm').oid;
    } catch {
      keyAlgorithm = undefined;
    }
    if (keyAlgorithm === undefined && found.unverifiedDecryption) {
      throw new SmimeError(
        'P12_BAD_PASSWORD',
        'The password is wrong or the file is damaged (the private key did not decrypt to a valid key)',
        { cause },
      );
    }
    if (keyAlgorithm !== undefined && !KNOWN_KEY_ALGORITHMS.has(keyAlgorithm)) {
      throw new SmimeError(
        'P12_UNSUPPORTED_ALGORITHM',
        `The private key uses an unsupported algorithm (${keyAlgorithm})`,
        { cause },
      );
    }
    throw malformed('The file is damaged (the private key cannot be read)', cause);
  }
  try {
    return { found, key, publicKey: createPublicKey(key) };
  } catch (cause) {
    throw malformed('The file is damaged (the private key cannot be read)', cause);
  }
}

export interface CertificateCandidate {
  found: FoundCertificate;
  subject: Uint8Array;
  issuer: Uint8Array;
  publicKey: KeyObject | undefined;
}

export function loadCertificate(found: FoundCertificate): CertificateCandidate {
  const parts = shape('certificate', () => certificateParts(found.der));
  let publicKey: KeyObject | undefined;
  try {
    publicKey = createPublicKey({ key: Buffer.from(parts.subjectPublicKeyInfo), format: 'der', type: 'spki' });
  } catch {
    publicKey = undefined; // a key type node cannot load cannot match a key it loaded either
  }
  return { found, subject: parts.subject, issuer: parts.issuer, publicKey };
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function keysMatch(key: LoadedKey, certificate: CertificateCandidate): boolean {
  if (!certificate.publicKey) return false;
  // Node 20: KeyObject.equals on keys of different types leaves "different key types" on OpenSSL's error queue, and
  // the next createPrivateKey in the process then fails with it. Never compare across types.
  if (key.publicKey.asymmetricKeyType !== certificate.publicKey.asymmetricKeyType) return false;
  try {
    // KeyObject.equals compares the key material, so SPKI encoding variations (e.g. compressed EC points) still match.
    return key.publicKey.equals(certificate.publicKey);
  } catch {
    return false;
  }
}

export function selectPair(
  keys: LoadedKey[],
  certificates: CertificateCandidate[],
): { key: LoadedKey; certificate: CertificateCandidate } {
  // A localKeyId match is a hint from the writer, never proof: the public keys must also match.
  for (const key of keys) {
    if (!key.found.localKeyId) continue;
    const certificate = certificates.find(
      (c) => sameBytes(c.found.localKeyId, key.found.localKeyId) && keysMatch(key, c),
    );
    if (certificate) return { key, certificate };
  }
  for (const key of keys) {
    const certificate = certificates.find((c) => keysMatch(key, c));
    if (certificate) return { key, certificate };
  }
  throw new SmimeError('P12_KEY_MISMATCH', 'No certificate in the file matches the private key');
}

/** The end entity's issuers in order (by Name), then every remaining certificate in file order. */
export function orderChain(endEntity: CertificateCandidate, others: CertificateCandidate[]): Uint8Array[] {
  const remaining = [...others];
  const ordered: CertificateCandidate[] = [];
  let current = endEntity;
  while (!sameBytes(current.subject, current.issuer)) {
    const index = remaining.findIndex((c) => sameBytes(c.subject, current.issuer));
    if (index < 0) break;
    const [issuer] = remaining.splice(index, 1);
    if (!issuer) break;
    ordered.push(issuer);
    current = issuer;
  }
  return [...ordered, ...remaining].map((c) => copyBytes(c.found.der));
}
