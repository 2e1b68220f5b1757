// Every object identifier the engine uses, named, with the RFC that assigns it. No other file of the engine writes an
// OID as a string literal: a typo in one copy of an OID fails silently (an algorithm "unsupported", an attribute
// ignored), so each one is spelled once, here.

/** RFC 5652 section 4 and RFC 7292 section 4: ContentInfo content types. */
export const OID_DATA = '1.2.840.113549.1.7.1';
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
export const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
/** RFC 5083 section 1: id-ct-authEnvelopedData. */
export const OID_AUTH_ENVELOPED_DATA = '1.2.840.113549.1.9.16.1.23';

/** RFC 5652 section 11 and RFC 8551 section 2.5: signed attributes. */
export const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
export const OID_SMIME_CAPABILITIES = '1.2.840.113549.1.9.15';
/** RFC 8551 section 2.5.3, id-aa-encrypKeyPref. */
export const OID_ENCRYPTION_KEY_PREFERENCE = '1.2.840.113549.1.9.16.2.11';
/**
 * Microsoft's own encryption-key-preference attribute (szOID_MICROSOFT_Encryption_Key_Preference, no RFC), whose value
 * is a bare IssuerAndSerialNumber. Outlook reads this one to pick the certificate to encrypt a reply to; NSS
 * (Thunderbird) writes it beside the RFC 8551 attribute for that reason, and so do we.
 */
export const OID_MS_ENCRYPTION_KEY_PREFERENCE = '1.3.6.1.4.1.311.16.4';

/** RFC 7292 section 4.2: SafeBag types. */
export const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
export const OID_PKCS8_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
export const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
export const OID_CRL_BAG = '1.2.840.113549.1.12.10.1.4';
export const OID_SECRET_BAG = '1.2.840.113549.1.12.10.1.5';
export const OID_SAFE_CONTENTS_BAG = '1.2.840.113549.1.12.10.1.6';

/** RFC 7292 section 4.2.3: CertBag certId. */
export const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';

/** RFC 2985 section 5.5: PKCS#9 bag attributes. */
export const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
export const OID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';

/** RFC 7292 appendix C: PKCS#12 password-based encryption. */
export const OID_PBE_SHA1_RC4_128 = '1.2.840.113549.1.12.1.1';
export const OID_PBE_SHA1_RC4_40 = '1.2.840.113549.1.12.1.2';
export const OID_PBE_SHA1_3DES = '1.2.840.113549.1.12.1.3';
export const OID_PBE_SHA1_2DES = '1.2.840.113549.1.12.1.4';
export const OID_PBE_SHA1_RC2_128 = '1.2.840.113549.1.12.1.5';
export const OID_PBE_SHA1_RC2_40 = '1.2.840.113549.1.12.1.6';

/** RFC 8018: PBES2, PBKDF2 and PBMAC1. */
export const OID_PBES2 = '1.2.840.113549.1.5.13';
export const OID_PBKDF2 = '1.2.840.113549.1.5.12';
export const OID_PBMAC1 = '1.2.840.113549.1.5.14';

/** RFC 8018 appendix B.1: PBKDF2 pseudo-random functions. */
export const OID_HMAC_WITH_SHA1 = '1.2.840.113549.2.7';
export const OID_HMAC_WITH_SHA224 = '1.2.840.113549.2.8';
export const OID_HMAC_WITH_SHA256 = '1.2.840.113549.2.9';
export const OID_HMAC_WITH_SHA384 = '1.2.840.113549.2.10';
export const OID_HMAC_WITH_SHA512 = '1.2.840.113549.2.11';
export const OID_HMAC_WITH_SHA512_224 = '1.2.840.113549.2.12';
export const OID_HMAC_WITH_SHA512_256 = '1.2.840.113549.2.13';

/** RFC 8018 appendix B.2 and RFC 3565: encryption schemes under PBES2. */
export const OID_DES_EDE3_CBC = '1.2.840.113549.3.7';
export const OID_RC2_CBC = '1.2.840.113549.3.2';
export const OID_AES128_CBC = '2.16.840.1.101.3.4.1.2';
export const OID_AES192_CBC = '2.16.840.1.101.3.4.1.22';
export const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

/** RFC 5084 section 3.2: AES-GCM content encryption (AuthEnvelopedData). */
export const OID_AES128_GCM = '2.16.840.1.101.3.4.1.6';
export const OID_AES192_GCM = '2.16.840.1.101.3.4.1.26';
export const OID_AES256_GCM = '2.16.840.1.101.3.4.1.46';

/** RFC 8103 section 3: id-alg-AEADChaCha20Poly1305, ChaCha20-Poly1305 content encryption (AuthEnvelopedData). */
export const OID_CHACHA20_POLY1305 = '1.2.840.113549.1.9.16.3.18';

/** RFC 3565 section 2.3.2 and RFC 3370 section 4.3.1: key wrap algorithms. */
export const OID_AES128_WRAP = '2.16.840.1.101.3.4.1.5';
export const OID_AES192_WRAP = '2.16.840.1.101.3.4.1.25';
export const OID_AES256_WRAP = '2.16.840.1.101.3.4.1.45';
export const OID_CMS3DES_WRAP = '1.2.840.113549.1.9.16.3.6';

/**
 * The one name of a hash function across the engine (signature and digest checks, the PKCS#12 KDF and MAC, PBKDF2,
 * the X9.63 KDF of ECDH, OAEP): node:crypto's, so that a name is handed to createHash as it is.
 */
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'sha512-224' | 'sha512-256';

/** RFC 3279 / RFC 5758 / FIPS 180-4: digest algorithms (PKCS#12 MAC digestAlgorithm). */
export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SHA224 = '2.16.840.1.101.3.4.2.4';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
export const OID_SHA512 = '2.16.840.1.101.3.4.2.3';
export const OID_SHA512_224 = '2.16.840.1.101.3.4.2.5';
export const OID_SHA512_256 = '2.16.840.1.101.3.4.2.6';
/** RFC 3279 section 2.2.1 / RFC 6151: broken digests, named only to be reported and refused. */
export const OID_MD2 = '1.2.840.113549.2.2';
export const OID_MD5 = '1.2.840.113549.2.5';

/** RFC 8017 appendix C, RFC 4055 and RFC 3279: RSA signature and encryption schemes and their parameters. */
export const OID_MD2_WITH_RSA = '1.2.840.113549.1.1.2';
export const OID_MD5_WITH_RSA = '1.2.840.113549.1.1.4';
export const OID_SHA1_WITH_RSA = '1.2.840.113549.1.1.5';
/** The OIW sha1WithRSASignature some old Windows signers write for sha1WithRSAEncryption. */
export const OID_SHA1_WITH_RSA_OIW = '1.3.14.3.2.29';
export const OID_SHA224_WITH_RSA = '1.2.840.113549.1.1.14';
export const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
export const OID_SHA384_WITH_RSA = '1.2.840.113549.1.1.12';
export const OID_SHA512_WITH_RSA = '1.2.840.113549.1.1.13';
export const OID_RSAES_OAEP = '1.2.840.113549.1.1.7';
export const OID_MGF1 = '1.2.840.113549.1.1.8';
export const OID_P_SPECIFIED = '1.2.840.113549.1.1.9';

/** RFC 3279 section 2.2.3 and RFC 5758 section 3.2: ECDSA signatures. */
export const OID_ECDSA_WITH_SHA1 = '1.2.840.10045.4.1';
export const OID_ECDSA_WITH_SHA224 = '1.2.840.10045.4.3.1';
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
export const OID_ECDSA_WITH_SHA512 = '1.2.840.10045.4.3.4';

/** RFC 5753 section 7.1.4 (and SEC 1): ECDH key agreement schemes with their X9.63 KDF hash. */
export const OID_DH_SINGLE_PASS_STD_DH_SHA1_KDF = '1.3.133.16.840.63.0.2';
export const OID_DH_SINGLE_PASS_STD_DH_SHA224_KDF = '1.3.132.1.11.0';
export const OID_DH_SINGLE_PASS_STD_DH_SHA256_KDF = '1.3.132.1.11.1';
export const OID_DH_SINGLE_PASS_STD_DH_SHA384_KDF = '1.3.132.1.11.2';
export const OID_DH_SINGLE_PASS_STD_DH_SHA512_KDF = '1.3.132.1.11.3';
export const OID_DH_SINGLE_PASS_COFACTOR_DH_SHA1_KDF = '1.3.133.16.840.63.0.3';
export const OID_DH_SINGLE_PASS_COFACTOR_DH_SHA224_KDF = '1.3.132.1.14.0';
export const OID_DH_SINGLE_PASS_COFACTOR_DH_SHA256_KDF = '1.3.132.1.14.1';
export const OID_DH_SINGLE_PASS_COFACTOR_DH_SHA384_KDF = '1.3.132.1.14.2';
export const OID_DH_SINGLE_PASS_COFACTOR_DH_SHA512_KDF = '1.3.132.1.14.3';
/** RFC 8418 section 5: ECDH schemes with HKDF (RFC 5869) as the KDF, for X25519 and X448. */
export const OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA256 = '1.2.840.113549.1.9.16.3.19';
export const OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA384 = '1.2.840.113549.1.9.16.3.20';
export const OID_DH_SINGLE_PASS_STD_DH_HKDF_SHA512 = '1.2.840.113549.1.9.16.3.21';

/** RFC 3279, RFC 5480, RFC 8410, RFC 4055: public key algorithms. */
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_DSA = '1.2.840.10040.4.1';
export const OID_X25519 = '1.3.101.110';
export const OID_X448 = '1.3.101.111';
export const OID_ED25519 = '1.3.101.112';
export const OID_ED448 = '1.3.101.113';

/** RFC 5480 section 2.1.1.1: the NIST curves mail uses. */
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_P384 = '1.3.132.0.34';
export const OID_P521 = '1.3.132.0.35';

/** RFC 5480 section 2.1.1.1 and RFC 5639: named curves, with their size in bits. */
export const NAMED_CURVES: Readonly<Record<string, { name: string; bits: number }>> = {
  [OID_P256]: { name: 'P-256', bits: 256 },
  [OID_P384]: { name: 'P-384', bits: 384 },
  [OID_P521]: { name: 'P-521', bits: 521 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
  '1.2.840.10045.3.1.1': { name: 'P-192', bits: 192 },
  '1.3.132.0.33': { name: 'P-224', bits: 224 },
  '1.3.36.3.3.2.8.1.1.7': { name: 'brainpoolP256r1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.11': { name: 'brainpoolP384r1', bits: 384 },
  '1.3.36.3.3.2.8.1.1.13': { name: 'brainpoolP512r1', bits: 512 },
};

/** RFC 5280 section 4.2.1 (and 5.2 for CRLs): certificate and CRL extensions. */
export const OID_SUBJECT_DIRECTORY_ATTRIBUTES = '2.5.29.9';
export const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_ISSUER_ALT_NAME = '2.5.29.18';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_CRL_NUMBER = '2.5.29.20';
export const OID_CRL_REASON = '2.5.29.21';
export const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
export const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
export const OID_NAME_CONSTRAINTS = '2.5.29.30';
export const OID_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
export const OID_CERTIFICATE_POLICIES = '2.5.29.32';
export const OID_POLICY_MAPPINGS = '2.5.29.33';
export const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
export const OID_POLICY_CONSTRAINTS = '2.5.29.36';
export const OID_EXTENDED_KEY_USAGE = '2.5.29.37';
export const OID_FRESHEST_CRL = '2.5.29.46';
export const OID_INHIBIT_ANY_POLICY = '2.5.29.54';
export const OID_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
export const OID_SUBJECT_INFO_ACCESS = '1.3.6.1.5.5.7.1.11';
/** RFC 6962 section 3.3: the embedded Certificate Transparency SCT list. */
export const OID_CT_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';

/** RFC 5280 section 4.2.2.1 and RFC 6960 section 4.2.1 / 4.4: access methods and OCSP. */
export const OID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
export const OID_AD_CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
export const OID_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
export const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
/** RFC 6960 section 4.2.2.2.1: id-pkix-ocsp-nocheck. */
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/** RFC 5280 section 4.2.1.12 and RFC 9336: extended key usages. */
export const OID_ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
export const OID_KP_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const OID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const OID_KP_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const OID_KP_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
export const OID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
export const OID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const OID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';

/** RFC 5280 appendix A.1 (X.520), RFC 4519 and RFC 2985: attribute types of a distinguished name. */
export const OID_AT_COMMON_NAME = '2.5.4.3';
export const OID_AT_SURNAME = '2.5.4.4';
export const OID_AT_SERIAL_NUMBER = '2.5.4.5';
export const OID_AT_COUNTRY = '2.5.4.6';
export const OID_AT_LOCALITY = '2.5.4.7';
export const OID_AT_STATE = '2.5.4.8';
export const OID_AT_STREET = '2.5.4.9';
export const OID_AT_ORGANIZATION = '2.5.4.10';
export const OID_AT_ORGANIZATIONAL_UNIT = '2.5.4.11';
export const OID_AT_TITLE = '2.5.4.12';
export const OID_AT_GIVEN_NAME = '2.5.4.42';
export const OID_AT_INITIALS = '2.5.4.43';
export const OID_AT_GENERATION_QUALIFIER = '2.5.4.44';
export const OID_AT_DN_QUALIFIER = '2.5.4.46';
export const OID_AT_PSEUDONYM = '2.5.4.65';
export const OID_AT_ORGANIZATION_IDENTIFIER = '2.5.4.97';
export const OID_AT_UID = '0.9.2342.19200300.100.1.1';
export const OID_AT_DOMAIN_COMPONENT = '0.9.2342.19200300.100.1.25';
/** RFC 2985 section 5.2.1: PKCS#9 emailAddress, the legacy place for an S/MIME address (RFC 8550 section 3). */
export const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

/** Each hash's OID (RFC 3279, RFC 5754, FIPS 180-4): one table for every reader and writer of the engine. */
export const HASH_OID: Readonly<Record<HashName, string>> = {
  sha1: OID_SHA1,
  sha224: OID_SHA224,
  sha256: OID_SHA256,
  sha384: OID_SHA384,
  sha512: OID_SHA512,
  'sha512-224': OID_SHA512_224,
  'sha512-256': OID_SHA512_256,
};

/** The hash an OID names. Each reader decides which hashes it accepts (see FULL_LENGTH_HASHES). */
export const HASH_BY_OID: Readonly<Record<string, HashName>> = Object.fromEntries(
  Object.entries(HASH_OID).map(([name, oid]) => [oid, name as HashName]),
);

/** SHA-1 and the full-length SHA-2 hashes: what CMS digests, signatures and key derivations here accept. */
export function fullLengthHashOf(oid: string): HashName | undefined {
  const hash = HASH_BY_OID[oid];
  return hash === 'sha512-224' || hash === 'sha512-256' ? undefined : hash;
}

/**
 * The content ciphers by the names the engine gives them (RFC 3565 AES-CBC, RFC 5084 AES-GCM, RFC 8103
 * ChaCha20-Poly1305, RFC 3370 3DES): one table for the SMIMECapabilities we announce and the ones we read.
 */
export const CONTENT_CIPHER_OID = {
  'aes-128-cbc': OID_AES128_CBC,
  'aes-192-cbc': OID_AES192_CBC,
  'aes-256-cbc': OID_AES256_CBC,
  'aes-128-gcm': OID_AES128_GCM,
  'aes-192-gcm': OID_AES192_GCM,
  'aes-256-gcm': OID_AES256_GCM,
  'chacha20-poly1305': OID_CHACHA20_POLY1305,
  'des-ede3-cbc': OID_DES_EDE3_CBC,
} as const;
