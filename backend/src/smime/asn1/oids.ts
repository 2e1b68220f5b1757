// Object identifiers used by the PKCS#12 and certificate code, with the RFC that assigns each.

/** RFC 5652 section 4 and RFC 7292 section 4: ContentInfo content types. */
export const OID_DATA = '1.2.840.113549.1.7.1';
export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
export const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
export const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';

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

/** RFC 3279 / RFC 5758 / FIPS 180-4: digest algorithms (PKCS#12 MAC digestAlgorithm). */
export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SHA224 = '2.16.840.1.101.3.4.2.4';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
export const OID_SHA512 = '2.16.840.1.101.3.4.2.3';
export const OID_SHA512_224 = '2.16.840.1.101.3.4.2.5';
export const OID_SHA512_256 = '2.16.840.1.101.3.4.2.6';

/** RFC 3279, RFC 5480, RFC 8410, RFC 4055: public key algorithms. */
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_DSA = '1.2.840.10040.4.1';
export const OID_X25519 = '1.3.101.110';
export const OID_X448 = '1.3.101.111';
export const OID_ED25519 = '1.3.101.112';
export const OID_ED448 = '1.3.101.113';

/** RFC 5480 section 2.1.1.1 and RFC 5639: named curves, with their size in bits. */
export const NAMED_CURVES: Readonly<Record<string, { name: string; bits: number }>> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bits: 256 },
  '1.3.132.0.34': { name: 'P-384', bits: 384 },
  '1.3.132.0.35': { name: 'P-521', bits: 521 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
  '1.2.840.10045.3.1.1': { name: 'P-192', bits: 192 },
  '1.3.132.0.33': { name: 'P-224', bits: 224 },
  '1.3.36.3.3.2.8.1.1.7': { name: 'brainpoolP256r1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.11': { name: 'brainpoolP384r1', bits: 384 },
  '1.3.36.3.3.2.8.1.1.13': { name: 'brainpoolP512r1', bits: 512 },
};
