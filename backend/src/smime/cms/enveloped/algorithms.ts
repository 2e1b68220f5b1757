// The algorithms of CMS enveloping, their object identifiers, and their parameters read into typed descriptions before
// any key is used (so that a malformed parameter is CMS_MALFORMED and an unknown algorithm is named, never a crypto
// failure), and written back for the envelopes we produce.
//
//   content encryption   AES-CBC (RFC 3565), AES-GCM (RFC 5084), ChaCha20-Poly1305 (RFC 8103), DES-EDE3-CBC and
//                        RC2-CBC (RFC 3370 section 5)
//   key transport        rsaEncryption (RFC 3370 section 4.2.1), RSAES-OAEP (RFC 3560, RFC 4055, RFC 8017)
//   key agreement        dhSinglePass-stdDH-*kdf and -cofactorDH-*kdf with AES key wrap (RFC 5753, RFC 3394), and
//                        dhSinglePass-stdDH-hkdf-* for X25519 (RFC 8418)

import {
  algorithm as algorithmIdentifier,
  BerError,
  encoding,
  explicit,
  isContext,
  isUniversal,
  ownedOctets,
  sequence,
  smallInteger,
  type Tlv,
  UNIVERSAL,
} from '../../asn1/reader.ts';
import * as w from '../../asn1/writer.ts';
import { rc2EffectiveBitsFromVersion } from '../../crypto/rc2.ts';
import {
  type HashName,
  OID_AES128_CBC,
  OID_AES128_GCM,
  OID_AES128_WRAP,
  OID_AES192_CBC,
  OID_AES192_GCM,
  OID_AES192_WRAP,
  OID_AES256_CBC,
  OID_AES256_GCM,
  OID_AES256_WRAP,
  OID_CHACHA20_POLY1305,
  OID_CMS3DES_WRAP,
  OID_DES_EDE3_CBC,
  OID_DH_SINGLE_PASS_COFACTOR_DH_SHA1_KDF,
  OID_DH_SINGLE_PASS_COFACTOR_DH_SHA224_KDF,
  OID_DH_SINGLE_PASS_COFACTOR_DH_SHA256_KDF,
  OID_DH_SINGLE_PASS_COFACTOR_DH_SHA384_KDF,
  OID_DH_SINGLE_PASS_COFACTOR_DH_SHA512_KDF,
  OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA256,
  OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA384,
  OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA512,
  OID_DH_SINGLE_PASS_STD_DH_SHA1_KDF,
  OID_DH_SINGLE_PASS_STD_DH_SHA224_KDF,
  OID_DH_SINGLE_PASS_STD_DH_SHA256_KDF,
  OID_DH_SINGLE_PASS_STD_DH_SHA384_KDF,
  OID_DH_SINGLE_PASS_STD_DH_SHA512_KDF,
  OID_MGF1,
  OID_P256,
  OID_P384,
  OID_P521,
  OID_P_SPECIFIED,
  OID_RC2_CBC,
  OID_RSA_ENCRYPTION,
  OID_RSAES_OAEP,
  fullLengthHashOf,
  HASH_OID,
} from '../../asn1/oids.ts';

export { HASH_OID };

/** The key derivation of a key-agreement scheme: the ANSI X9.63 KDF (RFC 5753) or HKDF (RFC 8418 section 2.2). */
export type KdfName = 'x963' | 'hkdf';

/**
 * RFC 5753 section 7.1.4 (and SEC 1 for the sha1 arc), RFC 8418 section 5: key-agreement scheme -> KDF and its digest,
 * cofactor or not. RFC 8418 section 2 allows X25519 with either family, so neither is tied to a key type here.
 */
const ECDH_SCHEMES: Readonly<Record<string, { kdf: KdfName; hash: HashName; cofactor: boolean }>> = {
  [OID_DH_SINGLE_PASS_STD_DH_SHA1_KDF]: { kdf: 'x963', hash: 'sha1', cofactor: false },
  [OID_DH_SINGLE_PASS_STD_DH_SHA224_KDF]: { kdf: 'x963', hash: 'sha224', cofactor: false },
  [OID_DH_SINGLE_PASS_STD_DH_SHA256_KDF]: { kdf: 'x963', hash: 'sha256', cofactor: false },
  [OID_DH_SINGLE_PASS_STD_DH_SHA384_KDF]: { kdf: 'x963', hash: 'sha384', cofactor: false },
  [OID_DH_SINGLE_PASS_STD_DH_SHA512_KDF]: { kdf: 'x963', hash: 'sha512', cofactor: false },
  // Cofactor ECDH is the same computation on curves of cofactor 1, which every curve we accept (P-256/384/521) is.
  [OID_DH_SINGLE_PASS_COFACTOR_DH_SHA1_KDF]: { kdf: 'x963', hash: 'sha1', cofactor: true },
  [OID_DH_SINGLE_PASS_COFACTOR_DH_SHA224_KDF]: { kdf: 'x963', hash: 'sha224', cofactor: true },
  [OID_DH_SINGLE_PASS_COFACTOR_DH_SHA256_KDF]: { kdf: 'x963', hash: 'sha256', cofactor: true },
  [OID_DH_SINGLE_PASS_COFACTOR_DH_SHA384_KDF]: { kdf: 'x963', hash: 'sha384', cofactor: true },
  [OID_DH_SINGLE_PASS_COFACTOR_DH_SHA512_KDF]: { kdf: 'x963', hash: 'sha512', cofactor: true },
  [OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA256]: { kdf: 'hkdf', hash: 'sha256', cofactor: false },
  [OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA384]: { kdf: 'hkdf', hash: 'sha384', cofactor: false },
  [OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA512]: { kdf: 'hkdf', hash: 'sha512', cofactor: false },
};
export const ECDH_STD_SCHEME_OID: Readonly<Record<'sha256' | 'sha384' | 'sha512', string>> = {
  sha256: OID_DH_SINGLE_PASS_STD_DH_SHA256_KDF,
  sha384: OID_DH_SINGLE_PASS_STD_DH_SHA384_KDF,
  sha512: OID_DH_SINGLE_PASS_STD_DH_SHA512_KDF,
};
/** RFC 8418 section 5: the HKDF schemes we write. */
export const ECDH_HKDF_SCHEME_OID: Readonly<Record<'sha256' | 'sha384' | 'sha512', string>> = {
  sha256: OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA256,
  sha384: OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA384,
  sha512: OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA512,
};

/** RFC 5480 section 2.1.1.1: the curves we encrypt to and decrypt with, by OID and by node:crypto name. */
export const CURVES: readonly {
  oid: string;
  name: 'P-256' | 'P-384' | 'P-521';
  nodeName: string;
  coordinateBytes: number;
}[] = [
  { oid: OID_P256, name: 'P-256', nodeName: 'prime256v1', coordinateBytes: 32 },
  { oid: OID_P384, name: 'P-384', nodeName: 'secp384r1', coordinateBytes: 48 },
  { oid: OID_P521, name: 'P-521', nodeName: 'secp521r1', coordinateBytes: 66 },
];

// ---------------------------------------------------------------------------------------------------------------
// Content encryption
// ---------------------------------------------------------------------------------------------------------------

export type ContentAlgorithm =
  | { kind: 'cbc'; family: 'aes' | 'des-ede3'; name: string; oid: string; keyLength: number; iv: Uint8Array }
  | {
      kind: 'cbc';
      family: 'rc2';
      name: string;
      oid: string;
      keyLength: number;
      iv: Uint8Array;
      rc2EffectiveBits: number;
    }
  | { kind: 'gcm'; family: 'aes'; name: string; oid: string; keyLength: number; nonce: Uint8Array; tagLength: number }
  | {
      kind: 'chacha20-poly1305';
      family: 'chacha20';
      name: string;
      oid: string;
      keyLength: number;
      nonce: Uint8Array;
      tagLength: number;
    }
  | { kind: 'unsupported'; name: string; oid: string };

/** The authenticated-encryption (AEAD) content ciphers: AES-GCM and ChaCha20-Poly1305. */
export type AeadContentAlgorithm = Extract<ContentAlgorithm, { kind: 'gcm' | 'chacha20-poly1305' }>;

/**
 * Whether the cipher authenticates: it then belongs in AuthEnvelopedData and only there, with its tag in the mac field
 * (RFC 5083 section 2.1, RFC 5084 section 3.2, RFC 8103 section 3).
 */
export function isAead(algorithm: ContentAlgorithm): algorithm is AeadContentAlgorithm {
  return algorithm.kind === 'gcm' || algorithm.kind === 'chacha20-poly1305';
}

const AES_CBC: Readonly<Record<string, number>> = { [OID_AES128_CBC]: 16, [OID_AES192_CBC]: 24, [OID_AES256_CBC]: 32 };
const AES_GCM: Readonly<Record<string, number>> = { [OID_AES128_GCM]: 16, [OID_AES192_GCM]: 24, [OID_AES256_GCM]: 32 };
const AES_BLOCK = 16;
const DES_BLOCK = 8;
const DES_EDE3_KEY = 24;
/** RFC 5084 section 3.2: GCMParameters aes-ICVlen is 12..16 and defaults to 12. */
const GCM_DEFAULT_ICV = 12;
const GCM_MIN_ICV = 12;
const GCM_MAX_ICV = 16;
/** RFC 5084 recommends 12-octet nonces; GCM takes any length, but nothing legitimate sends more than a block or two. */
const GCM_MAX_NONCE = 64;
/** RFC 8103 section 3: ChaCha20-Poly1305 takes a 256-bit key and always writes a 16-octet tag into mac. */
const CHACHA20_KEY = 32;
const POLY1305_TAG = 16;
/** RFC 2268 section 6: an RC2 IV without rc2ParameterVersion means 32 effective key bits. */
const RC2_DEFAULT_EFFECTIVE_BITS = 32;
/** Longest RC2 key (RFC 2268 section 2). */
const RC2_MAX_KEY_BYTES = 128;

function ivOf(node: Tlv | undefined, length: number, what: string): Uint8Array {
  const iv = ownedOctets(node, what);
  if (iv.length !== length) throw new BerError(`${what}: expected ${length} bytes, got ${iv.length}`);
  return iv;
}

/** RFC 8103 section 3: the parameters of id-alg-AEADChaCha20Poly1305 are the nonce. */
function chacha20Poly1305Of(params: Tlv | undefined): ContentAlgorithm {
  // AEADChaCha20Poly1305Nonce ::= OCTET STRING (SIZE(12)). A nonce of another size is read here within the GCM bound
  // and refused where the key is used (crypto/content-cipher.ts), as a GCM tag of the wrong length is: it is then the
  // one decryption failure, and the envelope can still be described.
  const nonce = ownedOctets(params, 'ChaCha20-Poly1305 nonce');
  if (nonce.length === 0 || nonce.length > GCM_MAX_NONCE) throw new BerError('ChaCha20-Poly1305 nonce: bad length');
  return {
    kind: 'chacha20-poly1305',
    family: 'chacha20',
    name: 'chacha20-poly1305',
    oid: OID_CHACHA20_POLY1305,
    keyLength: CHACHA20_KEY,
    nonce,
    tagLength: POLY1305_TAG,
  };
}

/** Reads contentEncryptionAlgorithm. Unknown algorithms come back as `unsupported`; bad parameters throw BerError. */
export function parseContentAlgorithm(node: Tlv | undefined): ContentAlgorithm {
  const { oid: id, params } = algorithmIdentifier(node, 'contentEncryptionAlgorithm');
  const aesCbc = AES_CBC[id];
  if (aesCbc !== undefined) {
    return {
      kind: 'cbc',
      family: 'aes',
      name: `aes-${aesCbc * 8}-cbc`,
      oid: id,
      keyLength: aesCbc,
      iv: ivOf(params, AES_BLOCK, 'AES-CBC IV'),
    };
  }
  if (id === OID_DES_EDE3_CBC) {
    return {
      kind: 'cbc',
      family: 'des-ede3',
      name: 'des-ede3-cbc',
      oid: id,
      keyLength: DES_EDE3_KEY,
      iv: ivOf(params, DES_BLOCK, 'DES-EDE3-CBC IV'),
    };
  }
  const aesGcm = AES_GCM[id];
  if (aesGcm !== undefined) {
    // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }
    const [nonceNode, icvNode, ...rest] = sequence(params, 'GCMParameters');
    if (rest.length > 0) throw new BerError('GCMParameters: too many fields');
    const nonce = ownedOctets(nonceNode, 'GCM nonce');
    if (nonce.length === 0 || nonce.length > GCM_MAX_NONCE) throw new BerError('GCM nonce: bad length');
    const tagLength = icvNode ? smallInteger(icvNode, 'GCM ICV length', GCM_MIN_ICV, GCM_MAX_ICV) : GCM_DEFAULT_ICV;
    return { kind: 'gcm', family: 'aes', name: `aes-${aesGcm * 8}-gcm`, oid: id, keyLength: aesGcm, nonce, tagLength };
  }
  if (id === OID_CHACHA20_POLY1305) return chacha20Poly1305Of(params);
  if (id === OID_RC2_CBC) {
    // RFC 3370 section 5.2: RC2CBCParameter ::= SEQUENCE { rc2ParameterVersion INTEGER, iv OCTET STRING (8) };
    // the older form (RFC 2268 section 6) is the bare IV.
    let bits = RC2_DEFAULT_EFFECTIVE_BITS;
    let ivNode: Tlv | undefined = params;
    if (params && isUniversal(params, UNIVERSAL.SEQUENCE)) {
      const [versionNode, iv, ...rest] = sequence(params, 'RC2CBCParameter');
      if (rest.length > 0) throw new BerError('RC2CBCParameter: too many fields');
      const version = smallInteger(versionNode, 'rc2ParameterVersion', 0, 1024);
      const mapped = rc2EffectiveBitsFromVersion(version);
      if (mapped === undefined) return { kind: 'unsupported', name: `rc2-cbc(version ${version})`, oid: id };
      bits = mapped;
      ivNode = iv;
    }
    const keyLength = Math.min(Math.ceil(bits / 8), RC2_MAX_KEY_BYTES);
    return {
      kind: 'cbc',
      family: 'rc2',
      name: `rc2-${bits}-cbc`,
      oid: id,
      keyLength,
      iv: ivOf(ivNode, DES_BLOCK, 'RC2-CBC IV'),
      rc2EffectiveBits: bits,
    };
  }
  return { kind: 'unsupported', name: id, oid: id };
}

/**
 * The AlgorithmIdentifier we write for a content cipher (RFC 3565 section 4.1, RFC 5084 section 3.2, RFC 8103
 * section 3, RFC 3370 section 5.1).
 */
export function contentAlgorithmDer(algorithm: ContentAlgorithm): w.Der {
  switch (algorithm.kind) {
    case 'cbc':
      return w.algorithm(algorithm.oid, w.octetString(algorithm.iv));
    case 'gcm':
      return w.algorithm(algorithm.oid, w.sequence(w.octetString(algorithm.nonce), w.integer(algorithm.tagLength)));
    case 'chacha20-poly1305':
      return w.algorithm(algorithm.oid, w.octetString(algorithm.nonce));
    default:
      throw new RangeError(`cannot encode ${algorithm.name}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key transport
// ---------------------------------------------------------------------------------------------------------------

export type KeyTransportAlgorithm =
  | { kind: 'rsa-pkcs1'; name: string }
  | { kind: 'rsa-oaep'; name: string; hash: HashName; mgf1Hash: HashName; label: Uint8Array }
  | { kind: 'unsupported'; name: string };

function hashOf(node: Tlv | undefined, what: string): HashName {
  const { oid: id } = algorithmIdentifier(node, what);
  const hash = fullLengthHashOf(id);
  if (!hash) throw new UnsupportedParameter(`${what} ${id}`);
  return hash;
}

/** A parameter names an algorithm we do not implement (reported as unsupported, not as malformed). */
export class UnsupportedParameter extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'UnsupportedParameter';
  }
}

function oaepName(hash: HashName, mgf1Hash: HashName, label: Uint8Array): string {
  return `rsa-oaep-${hash}${mgf1Hash === hash ? '' : `-mgf1-${mgf1Hash}`}${label.length > 0 ? '-label' : ''}`;
}

/** Reads a KeyTransRecipientInfo keyEncryptionAlgorithm. */
export function parseKeyTransportAlgorithm(node: Tlv | undefined): KeyTransportAlgorithm {
  const { oid: id, params } = algorithmIdentifier(node, 'keyEncryptionAlgorithm');
  if (id === OID_RSA_ENCRYPTION) return { kind: 'rsa-pkcs1', name: 'rsa-pkcs1-v1_5' };
  if (id !== OID_RSAES_OAEP) return { kind: 'unsupported', name: id };
  // RFC 8017 appendix A.2.1: RSAES-OAEP-params ::= SEQUENCE { hashAlgorithm [0] DEFAULT sha1,
  //   maskGenAlgorithm [1] DEFAULT mgf1SHA1, pSourceAlgorithm [2] DEFAULT pSpecifiedEmpty }, every tag EXPLICIT.
  // Absent parameters (not allowed by RFC 4055, written by some old encoders) mean all defaults.
  let hash: HashName = 'sha1';
  let mgf1Hash: HashName = 'sha1';
  let label: Uint8Array = new Uint8Array(0);
  try {
    const fields = params ? sequence(params, 'RSAES-OAEP-params') : [];
    let next = 0;
    if (isContext(fields[next], 0)) hash = hashOf(explicit(fields[next++], 0, 'hashAlgorithm'), 'OAEP hashAlgorithm');
    if (isContext(fields[next], 1)) {
      const mgf = algorithmIdentifier(explicit(fields[next++], 1, 'maskGenAlgorithm'), 'OAEP maskGenAlgorithm');
      if (mgf.oid !== OID_MGF1) throw new UnsupportedParameter(`OAEP mask generation ${mgf.oid}`);
      mgf1Hash = hashOf(mgf.params, 'MGF1 hash');
    }
    if (isContext(fields[next], 2)) {
      const source = algorithmIdentifier(explicit(fields[next++], 2, 'pSourceAlgorithm'), 'OAEP pSourceAlgorithm');
      if (source.oid !== OID_P_SPECIFIED) throw new UnsupportedParameter(`OAEP pSource ${source.oid}`);
      label = source.params ? ownedOctets(source.params, 'OAEP label') : new Uint8Array(0);
    }
    if (next !== fields.length) throw new BerError('RSAES-OAEP-params: unexpected field');
  } catch (error) {
    if (error instanceof UnsupportedParameter) return { kind: 'unsupported', name: `rsa-oaep(${error.message})` };
    throw error;
  }
  return { kind: 'rsa-oaep', name: oaepName(hash, mgf1Hash, label), hash, mgf1Hash, label };
}

/** RSAES-OAEP with the same digest for OAEP and MGF1 and an empty label, as RFC 4055 section 4.1 writes it. */
export function oaepAlgorithm(hash: HashName): KeyTransportAlgorithm {
  return {
    kind: 'rsa-oaep',
    name: oaepName(hash, hash, new Uint8Array(0)),
    hash,
    mgf1Hash: hash,
    label: new Uint8Array(0),
  };
}

export const RSA_PKCS1: KeyTransportAlgorithm = { kind: 'rsa-pkcs1', name: 'rsa-pkcs1-v1_5' };

export function keyTransportAlgorithmDer(algorithm: KeyTransportAlgorithm): w.Der {
  if (algorithm.kind === 'rsa-pkcs1') return w.algorithm(OID_RSA_ENCRYPTION, w.NULL); // RFC 3370 section 4.2.1
  if (algorithm.kind !== 'rsa-oaep' || algorithm.label.length > 0 || algorithm.mgf1Hash !== algorithm.hash) {
    throw new RangeError(`cannot encode ${algorithm.name}`);
  }
  // RFC 4055 section 4.1: default values are omitted, so SHA-1 is the empty SEQUENCE. Digest parameters are absent,
  // as OpenSSL writes them (RFC 5754 section 2: "implementations MUST accept ... absent").
  if (algorithm.hash === 'sha1') return w.algorithm(OID_RSAES_OAEP, w.sequence());
  const digest = w.algorithm(HASH_OID[algorithm.hash]);
  return w.algorithm(
    OID_RSAES_OAEP,
    w.sequence(w.tlv(w.contextTag(0, true), [digest]), w.tlv(w.contextTag(1, true), [w.algorithm(OID_MGF1, digest)])),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Key agreement
// ---------------------------------------------------------------------------------------------------------------

export interface KeyWrapAlgorithm {
  name: 'aes128-wrap' | 'aes192-wrap' | 'aes256-wrap' | '3des-wrap';
  nodeCipher: 'id-aes128-wrap' | 'id-aes192-wrap' | 'id-aes256-wrap' | 'id-smime-alg-CMS3DESwrap';
  oid: string;
  keyLength: number;
  /** AES key wrap takes the RFC 3394 default IV; the 3DES wrap makes its own (RFC 3217) and takes none. */
  defaultIv: boolean;
}

/** The AES key wraps (RFC 3565 section 2.3.2): what we write, smallest first. */
export const KEY_WRAPS: readonly KeyWrapAlgorithm[] = [
  { name: 'aes128-wrap', nodeCipher: 'id-aes128-wrap', oid: OID_AES128_WRAP, keyLength: 16, defaultIv: true },
  { name: 'aes192-wrap', nodeCipher: 'id-aes192-wrap', oid: OID_AES192_WRAP, keyLength: 24, defaultIv: true },
  { name: 'aes256-wrap', nodeCipher: 'id-aes256-wrap', oid: OID_AES256_WRAP, keyLength: 32, defaultIv: true },
];

/** What we read: the AES wraps and the Triple-DES wrap. */
const READABLE_KEY_WRAPS: readonly KeyWrapAlgorithm[] = [
  ...KEY_WRAPS,
  { name: '3des-wrap', nodeCipher: 'id-smime-alg-CMS3DESwrap', oid: OID_CMS3DES_WRAP, keyLength: 24, defaultIv: false },
];

export type KeyAgreementAlgorithm =
  | {
      kind: 'ecdh';
      name: string;
      kdf: KdfName;
      kdfHash: HashName;
      cofactor: boolean;
      wrap: KeyWrapAlgorithm;
      /**
       * The KeyWrapAlgorithm AlgorithmIdentifier exactly as the sender encoded it: it goes into ECC-CMS-SharedInfo
       * keyInfo (RFC 5753 section 7.2), and OpenSSL hashes the sender's encoding, parameters and all.
       */
      wrapEncoding: Uint8Array;
    }
  | { kind: 'unsupported'; name: string };

/** Reads a KeyAgreeRecipientInfo keyEncryptionAlgorithm (RFC 5753 section 3.1.1: the parameters are the wrap). */
export function parseKeyAgreementAlgorithm(node: Tlv | undefined): KeyAgreementAlgorithm {
  const { oid: id, params } = algorithmIdentifier(node, 'keyEncryptionAlgorithm');
  const scheme = ECDH_SCHEMES[id];
  if (!scheme) return { kind: 'unsupported', name: id };
  const wrapId = algorithmIdentifier(params, 'KeyWrapAlgorithm');
  const wrap = READABLE_KEY_WRAPS.find((k) => k.oid === wrapId.oid);
  if (!wrap) return { kind: 'unsupported', name: `ecdh(${wrapId.oid})` };
  return {
    kind: 'ecdh',
    name: schemeName(scheme.kdf, scheme.hash, scheme.cofactor, wrap),
    kdf: scheme.kdf,
    kdfHash: scheme.hash,
    cofactor: scheme.cofactor,
    wrap,
    wrapEncoding: encoding(params!),
  };
}

/** 'ecdh-sha256kdf-aes128-wrap', 'ecdh-cofactor-sha1kdf-aes128-wrap', 'ecdh-hkdf-sha256-aes256-wrap', ... */
function schemeName(kdf: KdfName, hash: HashName, cofactor: boolean, wrap: KeyWrapAlgorithm): string {
  const derivation = kdf === 'hkdf' ? `hkdf-${hash}` : `${hash}kdf`;
  return `ecdh${cofactor ? '-cofactor' : ''}-${derivation}-${wrap.name}`;
}

/**
 * The scheme we write: dhSinglePass-stdDH-<hash>kdf-scheme (EC, RFC 5753) or dhSinglePass-stdDH-hkdf-<hash>-scheme
 * (X25519, RFC 8418), with the wrap as parameters (absent parameters).
 */
export function keyAgreementAlgorithm(
  kdfHash: 'sha256' | 'sha384' | 'sha512',
  wrap: KeyWrapAlgorithm,
  kdf: KdfName = 'x963',
): KeyAgreementAlgorithm & { kind: 'ecdh' } {
  return {
    kind: 'ecdh',
    name: schemeName(kdf, kdfHash, false, wrap),
    kdf,
    kdfHash,
    cofactor: false,
    wrap,
    wrapEncoding: w.toBytes(w.algorithm(wrap.oid)),
  };
}

export function keyAgreementAlgorithmDer(algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' }): w.Der {
  const schemes = algorithm.kdf === 'hkdf' ? ECDH_HKDF_SCHEME_OID : ECDH_STD_SCHEME_OID;
  if (algorithm.cofactor || !(algorithm.kdfHash in schemes)) throw new RangeError(`cannot encode ${algorithm.name}`);
  return w.algorithm(schemes[algorithm.kdfHash as 'sha256' | 'sha384' | 'sha512'], w.encoded(algorithm.wrapEncoding));
}
