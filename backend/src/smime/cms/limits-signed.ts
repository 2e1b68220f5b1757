// Resource limits of signature verification, chain building and revocation checking (issue 3). Each one is far
// above what real mail needs and far below what lets a crafted message pin a CPU, exhaust memory or turn the server
// into a fetch amplifier. Exceeding a parsing limit makes the signature 'malformed' (or CMS_TOO_LARGE for the whole
// blob); exceeding a chain or fetch limit makes the chain incomplete ('untrusted').

/**
 * Largest SignedData accepted. The API accepts messages up to 64 MiB of base64 (README, SMIME_MAX_MESSAGE_BYTES),
 * which decodes to 48 MiB; a 25 MB attachment signed opaquely is about 34 MB. asn1js and pkijs refuse values over
 * 16 MiB by default, which is why the SignedData envelope is walked by lib/cms-signed-ber.ts instead.
 */
export const MAX_SIGNED_DATA_BYTES = 64 * 1024 * 1024;

/** BER nesting followed at most. SignedData with certificates and attributes is about 15 deep. */
export const MAX_BER_DEPTH = 48;

/**
 * Elements enumerated inside one constructed value. A 25 MB eContent in 1000-byte BER chunks (what NSS and Outlook
 * write) is 25,000 segments; a 1-byte-chunk encoding of 48 MiB would be 16 million, which this refuses.
 */
export const MAX_BER_CHILDREN = 1_000_000;

/** SignerInfos per SignedData: mail has one, sometimes two (RSA + EC); more is crafted. */
export const MAX_SIGNER_INFOS = 16;

/** Certificates carried in one SignedData: a signer and its chain, maybe an encryption certificate; a few dozen at most. */
export const MAX_MESSAGE_CERTIFICATES = 64;

/** One certificate: a few KiB normally; very long SAN lists stay well under this. */
export const MAX_CERTIFICATE_BYTES = 256 * 1024;

/** Signed attributes of one SignerInfo (count and encoded size): real ones have 4 to 8, a few hundred bytes. */
export const MAX_SIGNED_ATTRIBUTES = 64;
export const MAX_SIGNED_ATTRIBUTES_BYTES = 256 * 1024;

/** Certificates in a path, leaf and anchor included. Public S/MIME hierarchies are 3 or 4 long. */
export const MAX_CHAIN_LENGTH = 8;

/** Candidate issuers tried by one chain build (backtracking over cross-certificates and look-alike names). */
export const MAX_PATH_SEARCH_STEPS = 64;

/** AIA caIssuers downloads per chain build: enough for two missing intermediates and a retry each. */
export const MAX_AIA_FETCHES = 4;

/** Certificates a caller may add to the pool (options.intermediates) for one verification. */
export const MAX_POOL_CERTIFICATES = 1024;

/** Certificates in one AIA caIssuers answer (a certs-only PKCS#7 may carry a bundle). */
export const MAX_AIA_CERTIFICATES = 16;
