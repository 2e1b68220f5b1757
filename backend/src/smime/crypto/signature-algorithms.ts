// Digest and signature algorithms of CMS SignerInfos, certificates, CRLs and OCSP responses (RFC 5754, RFC 4055,
// RFC 5758, RFC 8419), verified with node:crypto (OpenSSL). One table maps each OID to a scheme; anything not in it is
// UnsupportedAlgorithmError, which verification reports as 'unsupported' rather than as a bad signature.

import { constants, createHash, createPublicKey, verify, type Hash, type KeyObject } from 'node:crypto';
import {
  algorithm as readAlgorithm,
  BerError,
  explicit,
  isContext,
  sequence,
  smallInteger,
  type Tlv,
} from '../asn1/reader.ts';
import { verifyOnThread } from './verify-thread.ts';
import {
  type HashName,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_WITH_SHA1,
  OID_ECDSA_WITH_SHA224,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_ED25519,
  OID_MD2,
  OID_MD2_WITH_RSA,
  OID_MD5,
  OID_MD5_WITH_RSA,
  OID_MGF1,
  OID_RSA_ENCRYPTION,
  OID_RSASSA_PSS,
  OID_SHA1_WITH_RSA,
  OID_SHA1_WITH_RSA_OIW,
  OID_SHA224_WITH_RSA,
  OID_SHA256_WITH_RSA,
  OID_SHA384_WITH_RSA,
  OID_SHA512_WITH_RSA,
  fullLengthHashOf,
} from '../asn1/oids.ts';

export class UnsupportedAlgorithmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedAlgorithmError';
  }
}

/** Digests known to be broken for signatures; named so the 'unsupported' detail says why. */
const BROKEN_DIGESTS: Readonly<Record<string, string>> = {
  [OID_MD5]: 'MD5',
  [OID_MD2]: 'MD2',
  [OID_MD5_WITH_RSA]: 'MD5 with RSA',
  [OID_MD2_WITH_RSA]: 'MD2 with RSA',
};

export type SchemeName = 'rsa-pkcs1-v1_5' | 'rsa-pss' | 'ecdsa' | 'ed25519';

export interface SignatureScheme {
  name: SchemeName;
  /** The hash the signature is computed with (undefined for Ed25519, which hashes internally). */
  hash?: HashName;
  /** RSA-PSS salt length in bytes. */
  saltLength?: number;
}

/** Signature OIDs that fix their hash (RFC 4055 section 5, RFC 5758 section 3.2). */
const SIGNATURES: Readonly<Record<string, { name: SchemeName; hash?: HashName }>> = {
  [OID_SHA1_WITH_RSA]: { name: 'rsa-pkcs1-v1_5', hash: 'sha1' },
  [OID_SHA1_WITH_RSA_OIW]: { name: 'rsa-pkcs1-v1_5', hash: 'sha1' },
  [OID_SHA224_WITH_RSA]: { name: 'rsa-pkcs1-v1_5', hash: 'sha224' },
  [OID_SHA256_WITH_RSA]: { name: 'rsa-pkcs1-v1_5', hash: 'sha256' },
  [OID_SHA384_WITH_RSA]: { name: 'rsa-pkcs1-v1_5', hash: 'sha384' },
  [OID_SHA512_WITH_RSA]: { name: 'rsa-pkcs1-v1_5', hash: 'sha512' },
  [OID_ECDSA_WITH_SHA1]: { name: 'ecdsa', hash: 'sha1' },
  [OID_ECDSA_WITH_SHA224]: { name: 'ecdsa', hash: 'sha224' },
  [OID_ECDSA_WITH_SHA256]: { name: 'ecdsa', hash: 'sha256' },
  [OID_ECDSA_WITH_SHA384]: { name: 'ecdsa', hash: 'sha384' },
  [OID_ECDSA_WITH_SHA512]: { name: 'ecdsa', hash: 'sha512' },
  [OID_ED25519]: { name: 'ed25519' },
};

export function digestName(alg: { oid: string; params?: Tlv | undefined }): HashName {
  const name = fullLengthHashOf(alg.oid);
  // RFC 5754 section 2: parameters absent or NULL (the reader maps NULL to absent); anything else is not this algorithm.
  if (name && alg.params) throw new BerError(`${name}: unexpected parameters`);
  if (name) return name;
  const broken = BROKEN_DIGESTS[alg.oid];
  throw new UnsupportedAlgorithmError(
    broken ? `${broken} is broken and not accepted` : `unsupported digest algorithm ${alg.oid}`,
  );
}

export function digest(name: HashName, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const h: Hash = createHash(name);
  if (data instanceof Uint8Array) h.update(data);
  else for (const part of data) h.update(part);
  return new Uint8Array(h.digest());
}

/** RSASSA-PSS-params (RFC 4055 section 3.1); defaults SHA-1, MGF1-SHA-1, salt 20, trailer 1. */
function pssParams(params: Tlv | undefined): SignatureScheme {
  let hash: HashName = 'sha1';
  let mgfHash: HashName = 'sha1';
  let saltLength = 20;
  if (params) {
    for (const field of sequence(params, 'RSASSA-PSS-params')) {
      if (isContext(field, 0)) hash = digestName(readAlgorithm(explicit(field, 0, 'hashAlgorithm'), 'hashAlgorithm'));
      else if (isContext(field, 1)) {
        const mgf = readAlgorithm(explicit(field, 1, 'maskGenAlgorithm'), 'maskGenAlgorithm');
        if (mgf.oid !== OID_MGF1) throw new UnsupportedAlgorithmError(`unsupported PSS mask generation ${mgf.oid}`);
        mgfHash = digestName(readAlgorithm(mgf.params, 'MGF1 hash'));
      } else if (isContext(field, 2))
        saltLength = smallInteger(explicit(field, 2, 'saltLength'), 'saltLength', 0, 1024);
      else if (isContext(field, 3)) {
        if (smallInteger(explicit(field, 3, 'trailerField'), 'trailerField', 0, 255) !== 1)
          throw new UnsupportedAlgorithmError('unsupported PSS trailer field');
      } else throw new BerError('RSASSA-PSS-params: unexpected field');
    }
  }
  // node:crypto (OpenSSL's EVP_PKEY_verify) uses the signature hash for MGF1 too; a different MGF1 hash is legal but
  // nobody sends it.
  if (mgfHash !== hash)
    throw new UnsupportedAlgorithmError(`RSA-PSS with MGF1-${mgfHash} and ${hash} is not supported`);
  return { name: 'rsa-pss', hash, saltLength };
}

/**
 * The scheme of a signatureAlgorithm. `digestHint` is the SignerInfo's digestAlgorithm, used when the OID names only
 * the key type (rsaEncryption and id-ecPublicKey in SignerInfo.signatureAlgorithm, RFC 3370 section 3.2 and RFC 5753
 * section 2.1.1 compatibility).
 */
export function signatureScheme(alg: { oid: string; params: Tlv | undefined }, digestHint?: HashName): SignatureScheme {
  const known = SIGNATURES[alg.oid];
  // RFC 4055 section 5, RFC 5758 section 3.2, RFC 8410 section 3: parameters absent (or NULL for RSA); anything else
  // would let one signature have several encodings.
  if (known && alg.params) throw new BerError(`${alg.oid}: unexpected parameters`);
  if (known) return { ...known };
  if (alg.oid === OID_RSASSA_PSS) return pssParams(alg.params);
  if (alg.oid === OID_RSA_ENCRYPTION || alg.oid === OID_EC_PUBLIC_KEY) {
    if (alg.params) throw new BerError(`${alg.oid}: unexpected parameters`);
    if (!digestHint) throw new UnsupportedAlgorithmError(`${alg.oid} without a digest algorithm`);
    return { name: alg.oid === OID_RSA_ENCRYPTION ? 'rsa-pkcs1-v1_5' : 'ecdsa', hash: digestHint };
  }
  const broken = BROKEN_DIGESTS[alg.oid];
  throw new UnsupportedAlgorithmError(
    broken ? `${broken} is broken and not accepted` : `unsupported signature algorithm ${alg.oid}`,
  );
}

export interface PublicKeyFacts {
  key: KeyObject;
  type: 'RSA' | 'EC' | 'Ed25519' | 'other';
  /** RSA modulus bits; EC curve bits as far as node reports them (0 otherwise). */
  bits: number;
}

const CURVE_BITS: Readonly<Record<string, number>> = {
  prime256v1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp256k1: 256,
};

/**
 * Imported keys by SPKI. OpenSSL 3 takes about half a millisecond to import an RSA key, and one verification needs the
 * signer's, each CA's and the anchor's, mostly the same few keys every time. KeyObjects are immutable, so sharing is safe.
 */
const KEY_CACHE_ENTRIES = 512;
const keyCache = new Map<string, PublicKeyFacts>();

/** Imports a SubjectPublicKeyInfo. Keys node cannot import are UnsupportedAlgorithmError. */
export function publicKey(spki: Uint8Array): PublicKeyFacts {
  const cacheKey = Buffer.from(spki.buffer, spki.byteOffset, spki.length).toString('base64');
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const facts = importKey(spki);
  keyCache.set(cacheKey, facts);
  if (keyCache.size > KEY_CACHE_ENTRIES) keyCache.delete(keyCache.keys().next().value!);
  return facts;
}

function importKey(spki: Uint8Array): PublicKeyFacts {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.length), format: 'der', type: 'spki' });
  } catch {
    throw new UnsupportedAlgorithmError('public key not supported or malformed');
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return { key, type: 'RSA', bits: details.modulusLength ?? 0 };
    case 'ec':
      return { key, type: 'EC', bits: CURVE_BITS[details.namedCurve ?? ''] ?? 0 };
    case 'ed25519':
      return { key, type: 'Ed25519', bits: 256 };
    default:
      return { key, type: 'other', bits: 0 };
  }
}

const KEY_TYPES: Readonly<Record<SchemeName, PublicKeyFacts['type']>> = {
  'rsa-pkcs1-v1_5': 'RSA',
  'rsa-pss': 'RSA',
  ecdsa: 'EC',
  ed25519: 'Ed25519',
};

/**
 * Checks `signature` over `data` (the signer hashes `data` with scheme.hash). False for a wrong signature and for a
 * key that does not fit the scheme; never throws on bad input.
 */
export function verifySignature(
  scheme: SignatureScheme,
  key: PublicKeyFacts,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (KEY_TYPES[scheme.name] !== key.type) return false;
  // An RSA-PSS key (id-RSASSA-PSS SubjectPublicKeyInfo) may only make PSS signatures (RFC 4055 section 1.2).
  if (key.key.asymmetricKeyType === 'rsa-pss' && scheme.name !== 'rsa-pss') return false;
  try {
    if (scheme.name === 'ed25519') return verify(null, data, key.key, signature);
    if (scheme.name === 'rsa-pss') {
      return verify(
        scheme.hash!,
        data,
        { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength ?? 20 },
        signature,
      );
    }
    if (scheme.name === 'rsa-pkcs1-v1_5')
      return verify(scheme.hash!, data, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return verify(scheme.hash!, data, { key: key.key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/**
 * verifySignature on the verification thread (verify-thread.ts, issue 16), off the main thread: the same answers, false
 * for a wrong signature, a key that does not fit the scheme, or input OpenSSL refuses; never rejects on bad input.
 */
export async function verifySignatureAsync(
  scheme: SignatureScheme,
  key: PublicKeyFacts,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (KEY_TYPES[scheme.name] !== key.type) return false;
  // An RSA-PSS key (id-RSASSA-PSS SubjectPublicKeyInfo) may only make PSS signatures (RFC 4055 section 1.2).
  if (key.key.asymmetricKeyType === 'rsa-pss' && scheme.name !== 'rsa-pss') return false;
  const job = { data, signature, key: key.key };
  if (scheme.name === 'ed25519') return verifyOnThread({ ...job, algorithm: null });
  if (scheme.name === 'rsa-pss')
    return verifyOnThread({
      ...job,
      algorithm: scheme.hash!,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: scheme.saltLength ?? 20,
    });
  if (scheme.name === 'rsa-pkcs1-v1_5')
    return verifyOnThread({ ...job, algorithm: scheme.hash!, padding: constants.RSA_PKCS1_PADDING });
  return verifyOnThread({ ...job, algorithm: scheme.hash!, dsaEncoding: 'der' });
}
