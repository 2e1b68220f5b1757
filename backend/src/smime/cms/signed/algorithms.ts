// AlgorithmIdentifiers written into SignedData: digests, signature algorithms, and the SMIMECapability entries of the
// SMIMECapabilities attribute. Each encoding choice cites the RFC that fixes it, because a verifier that is strict
// about parameters (absent versus NULL) fails on exactly these bytes.

import { encoded, NULL, objectIdentifier, sequence, explicit, integer, toBytes, type Der } from '../../asn1/writer.ts';
import {
  CONTENT_CIPHER_OID,
  type HashName,
  OID_AES256_WRAP,
  OID_DH_SINGLE_PASS_STD_DH_SHA256_KDF,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_ED25519,
  OID_MGF1,
  OID_RSA_ENCRYPTION,
  OID_RSAES_OAEP,
  OID_RSASSA_PSS,
  OID_SHA256,
  OID_SHA384,
  OID_SHA512,
} from '../../asn1/oids.ts';

/** The digests we sign with (RFC 8551 section 2.1: SHA-256 is the MUST, SHA-384 and SHA-512 SHOULD). */
export type DigestName = Extract<HashName, 'sha256' | 'sha384' | 'sha512'>;

interface DigestInfo {
  oid: string;
  /** RFC 8551 section 3.5.3.2 micalg value. */
  micalg: string;
  /** Output length in bytes, also the RSASSA-PSS salt length (RFC 4055 section 3.1: salt as long as the hash). */
  bytes: number;
  /** ecdsa-with-SHA* (RFC 5758 section 3.2). */
  ecdsaOid: string;
}

export const DIGESTS: Readonly<Record<DigestName, DigestInfo>> = {
  sha256: { oid: OID_SHA256, micalg: 'sha-256', bytes: 32, ecdsaOid: OID_ECDSA_WITH_SHA256 },
  sha384: { oid: OID_SHA384, micalg: 'sha-384', bytes: 48, ecdsaOid: OID_ECDSA_WITH_SHA384 },
  sha512: { oid: OID_SHA512, micalg: 'sha-512', bytes: 64, ecdsaOid: OID_ECDSA_WITH_SHA512 },
};

export function isDigestName(value: unknown): value is DigestName {
  return typeof value === 'string' && Object.hasOwn(DIGESTS, value);
}

/**
 * digestAlgorithm in SignedData and SignerInfo: parameters absent. RFC 5754 section 2: implementations "MUST generate
 * SHA2 AlgorithmIdentifiers with absent parameters" (and accept NULL).
 */
export function digestAlgorithm(digest: DigestName): Der {
  return sequence(objectIdentifier(DIGESTS[digest].oid));
}

/**
 * The hash AlgorithmIdentifier inside RSASSA-PSS-params and RSAES-OAEP-params: with NULL parameters. RFC 4055
 * section 2.1 defines sha256Identifier and friends with NULL "when RSASSA-PSS and RSAES-OAEP were defined", and OpenSSL
 * writes them so; both forms MUST be accepted.
 */
function hashIdentifierWithNull(digest: DigestName): Der {
  return sequence(objectIdentifier(DIGESTS[digest].oid), NULL);
}

function mgf1(digest: DigestName): Der {
  return sequence(objectIdentifier(OID_MGF1), hashIdentifierWithNull(digest));
}

export type SignatureScheme = 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'ed25519';

/**
 * signatureAlgorithm of the SignerInfo.
 * - RSA PKCS#1 v1.5: rsaEncryption with NULL parameters. RFC 3370 section 3.2 makes rsaEncryption the identifier every
 *   CMS verifier MUST accept (the combined sha256WithRSAEncryption ones are a MAY), and it is what NSS (Thunderbird),
 *   OpenSSL and Windows CryptMsg (Outlook) write; RFC 8551 section 2.2 allows both.
 * - RSASSA-PSS: id-RSASSA-PSS with RSASSA-PSS-params { hashAlgorithm, maskGenAlgorithm MGF1 with the same hash,
 *   saltLength = hash length }, trailerField left at its DEFAULT (RFC 4056 section 3, RFC 4055 section 3.1). The
 *   SHA-1 defaults never apply since only SHA-2 is offered, so every field is written.
 * - ECDSA: ecdsa-with-SHA256/384/512 with parameters absent (RFC 5758 section 3.2, RFC 5753 section 2.1.1).
 * - Ed25519: id-Ed25519 with parameters absent (RFC 8419 section 3.1, RFC 8410 section 3); the digest is SHA-512.
 */
export function signatureAlgorithm(scheme: SignatureScheme, digest: DigestName): Der {
  switch (scheme) {
    case 'rsa-pkcs1':
      return sequence(objectIdentifier(OID_RSA_ENCRYPTION), NULL);
    case 'rsa-pss':
      return sequence(
        objectIdentifier(OID_RSASSA_PSS),
        sequence(
          explicit(0, hashIdentifierWithNull(digest)),
          explicit(1, mgf1(digest)),
          explicit(2, integer(DIGESTS[digest].bytes)),
        ),
      );
    case 'ecdsa':
      return sequence(objectIdentifier(DIGESTS[digest].ecdsaOid));
    case 'ed25519':
      return sequence(objectIdentifier(OID_ED25519));
  }
}

// ---- SMIMECapabilities (RFC 8551 section 2.5.2) ----------------------------------------------------------------

/** Capabilities this engine can name. Content ciphers first, then key encipherment, as in the default list. */
export type SmimeCapabilityName =
  | 'aes-256-gcm'
  | 'aes-192-gcm'
  | 'aes-128-gcm'
  | 'chacha20-poly1305'
  | 'aes-256-cbc'
  | 'aes-192-cbc'
  | 'aes-128-cbc'
  | 'rsaes-oaep-sha256'
  | 'rsa-encryption'
  | 'ecdh-sha256kdf-aes256-wrap';

/** A capability the table below does not know: its OID and, if it needs them, the DER of its parameters. */
export interface CustomCapability {
  oid: string;
  parameters?: Uint8Array;
}

export type SmimeCapability = SmimeCapabilityName | CustomCapability;

/**
 * RFC 8551 section 2.5.2: "In the event that there are no differentiating parameters for a particular OID, the
 * parameters MUST be omitted and MUST NOT be encoded as NULL." So:
 * - AES-CBC: absent (RFC 3565 section 5 gives exactly `30 0B 06 09 60 86 48 01 65 03 04 01 2A` for AES-256).
 * - AES-GCM (RFC 5084 OIDs): absent. GCMParameters carry a per-message nonce, which is not a capability, and the ICV
 *   length at its DEFAULT of 12 is what every implementation uses.
 * - ChaCha20-Poly1305: absent (RFC 8103 section 4); its only parameter is the per-message nonce.
 * - rsaEncryption as a key-encipherment capability: absent, by the same rule.
 * - RSAES-OAEP: the parameters differentiate (which hash), so RSAES-OAEP-params with SHA-256 for the hash and for
 *   MGF1, pSourceAlgorithm at its DEFAULT (RFC 4055 section 4.1, rSAES-OAEP-SHA256-Params; RFC 3560 section 5).
 * - ECDH (RFC 5753 section 7.2): dhSinglePass-stdDH-sha256kdf-scheme with its KeyWrapAlgorithm as parameters,
 *   aes256-wrap (parameters absent, RFC 3565 section 2.3.2): what cms/enveloped/encrypt.ts uses for AES-256 content.
 */
const CAPABILITY_ENCODINGS: Readonly<Record<SmimeCapabilityName, () => Der>> = {
  'aes-256-gcm': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['aes-256-gcm'])),
  'aes-192-gcm': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['aes-192-gcm'])),
  'aes-128-gcm': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['aes-128-gcm'])),
  'chacha20-poly1305': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['chacha20-poly1305'])),
  'aes-256-cbc': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['aes-256-cbc'])),
  'aes-192-cbc': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['aes-192-cbc'])),
  'aes-128-cbc': () => sequence(objectIdentifier(CONTENT_CIPHER_OID['aes-128-cbc'])),
  'rsaes-oaep-sha256': () =>
    sequence(
      objectIdentifier(OID_RSAES_OAEP),
      sequence(explicit(0, hashIdentifierWithNull('sha256')), explicit(1, mgf1('sha256'))),
    ),
  'rsa-encryption': () => sequence(objectIdentifier(OID_RSA_ENCRYPTION)),
  'ecdh-sha256kdf-aes256-wrap': () =>
    sequence(objectIdentifier(OID_DH_SINGLE_PASS_STD_DH_SHA256_KDF), sequence(objectIdentifier(OID_AES256_WRAP))),
};

export function isCapabilityName(value: unknown): value is SmimeCapabilityName {
  return typeof value === 'string' && Object.hasOwn(CAPABILITY_ENCODINGS, value);
}

/** One SMIMECapability ::= SEQUENCE { capabilityID OBJECT IDENTIFIER, parameters ANY OPTIONAL }. */
/** Encodings of the named capabilities, made once (issue 6: the same list is signed into every message). */
const capabilityCache = new Map<SmimeCapabilityName, Der>();

export function capability(cap: SmimeCapability): Der {
  if (typeof cap === 'string') {
    let der = capabilityCache.get(cap);
    if (der === undefined) {
      der = CAPABILITY_ENCODINGS[cap]();
      capabilityCache.set(cap, der);
    }
    return der;
  }
  const id = objectIdentifier(cap.oid);
  return cap.parameters === undefined ? sequence(id) : sequence(id, encoded(cap.parameters));
}

/** DER of one capability, for tests and for callers comparing lists. */
export function capabilityBytes(cap: SmimeCapability): Uint8Array {
  return toBytes(capability(cap));
}
