// Every resource limit of the engine, grouped by what it bounds. Each one is far above what real mail needs and far
// below what would let a crafted message pin a CPU, exhaust memory or turn the server into a fetch amplifier. What
// exceeding one does depends on the area: a MimeError for MIME, 'malformed' or CMS_TOO_LARGE for SignedData (a chain
// or fetch limit makes the chain incomplete, 'untrusted'), CMS_TOO_LARGE for EnvelopedData, P12_TOO_LARGE for PKCS#12.

// ---- ASN.1 (asn1/reader.ts) ------------------------------------------------------------------------------------

/**
 * BER nesting followed at most, by every reader. SignedData with certificates and attributes is about 15 deep, the
 * envelope skeleton (ContentInfo > [0] > EnvelopedData > EncryptedContentInfo > [0]) 5 plus one or two levels of a
 * BER constructed OCTET STRING, PKCS#12 at most about 12. 48 leaves room for exotic encoders while keeping the
 * recursive reader's stack bounded; the envelope (32) and PKCS#12 (64) once had limits of their own.
 */
export const MAX_BER_DEPTH = 48;

/**
 * Elements enumerated inside one constructed value. A 25 MB eContent in 1000-byte BER chunks (what NSS and Outlook
 * write) is 25,000 segments; a 1-byte-chunk encoding of 48 MiB would be 16 million, which this refuses.
 */
export const MAX_BER_CHILDREN = 1_000_000;

/**
 * Values one readTree (asn1/reader.ts) walks up front (the outer PFX, one SafeContents, one certificate). A SafeContents
 * with a key and a dozen certificates is a few hundred values; the contents of OCTET and BIT STRINGs are not walked.
 */
export const MAX_ASN1_NODES = 10_000;

// ---- S/MIME layers (incoming.ts) -------------------------------------------------------------------------------

/** Nested S/MIME layers followed at most: a triple wrap is 3; more is a crafted message. */
export const MAX_SMIME_LAYERS = 8;

/** S/MIME parts reported inside an unprotected multipart at most. */
export const MAX_NESTED_SMIME_PARTS = 16;

// ---- MIME (mime/): exceeding one throws a MimeError with its own code; parseEntity(raw, limits) may change one

/**
 * Multiparts and message/rfc822 bodies nested inside each other. Each level rescans its body for its own boundary, so
 * work grows with depth times size; real mail rarely goes past 6 (a forwarded signed, encrypted message).
 * A small crafted message can exhaust the stack and memory.
 */
export const MAX_NESTING_DEPTH = 32;

/**
 * Body parts in the whole tree. Each part costs an object, a header parse and a string or two; 100,000 empty parts fit
 * in 1.5 MB of input. Real messages with thousands of attachments do not exist.
 */
export const MAX_PARTS = 10_000;

/**
 * Physical header lines of one entity (fields plus continuation lines). A large real header block (long Received and
 * ARC chains) has a few hundred; the limit stops a header block from turning into millions of small strings.
 */
export const MAX_HEADER_LINES = 5_000;

/**
 * Bytes of one header field, unfolded: its first line and all its continuation lines. Header values are decoded into
 * strings and scanned by the parameter and address parsers. Same ceiling as Postfix's header_size_limit (102400).
 */
export const MAX_HEADER_FIELD_LENGTH = 102_400;

/**
 * Length of a multipart boundary. RFC 2046 section 5.1.1 allows 70 characters; some generators exceed that a little.
 * The boundary is the needle of every search through the body, and string search degrades with very long needles.
 */
export const MAX_BOUNDARY_LENGTH = 256;

// ---- SignedData, chain building and revocation (cms/signed/verify.ts, x509/chain.ts; issue 3) -----------------------

/**
 * Largest SignedData accepted. The API accepts messages up to 64 MiB of base64 (README, SMIME_MAX_MESSAGE_BYTES),
 * which decodes to 48 MiB; a 25 MB attachment signed opaquely is about 34 MB. asn1js and pkijs refuse values over
 * 16 MiB by default, which is why the SignedData envelope is walked by asn1/reader.ts instead.
 */
export const MAX_SIGNED_DATA_BYTES = 64 * 1024 * 1024;

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

// ---- EnvelopedData and AuthEnvelopedData (cms/enveloped/) -------------------------------------------------------

/**
 * Largest encrypted content (the ciphertext, after joining a BER constructed OCTET STRING). The API accepts messages
 * up to 64 MiB (SMIME_MAX_MESSAGE_BYTES); other callers (an IMAP fetch, the CLI) may hand over a decoded body of the
 * same order, so twice that. Decryption holds the input, a copy of a chunked ciphertext and the plaintext at once:
 * about 3 x this limit at worst.
 */
export const MAX_ENCRYPTED_CONTENT_BYTES = 128 * 1024 * 1024;

/** Everything but the ciphertext (recipient infos, attributes, headers): a few KiB per recipient. */
export const MAX_ENVELOPE_OVERHEAD_BYTES = 8 * 1024 * 1024;

/** Largest CMS blob accepted by inspectEnvelope/decryptEnvelope. */
export const MAX_ENVELOPE_BYTES = MAX_ENCRYPTED_CONTENT_BYTES + MAX_ENVELOPE_OVERHEAD_BYTES;

/**
 * RecipientInfos in one message (and RecipientEncryptedKeys in one KeyAgreeRecipientInfo). A message to a large
 * mailing list carries one per member; beyond a thousand the list server should be re-encrypting, not the sender.
 */
export const MAX_RECIPIENT_INFOS = 1000;

/** Recipients of one encryptEnvelope call: the same bound as what we accept. */
export const MAX_ENCRYPT_RECIPIENTS = MAX_RECIPIENT_INFOS;

/**
 * Private-key operations spent on trial decryption when no RecipientInfo names any of the caller's keys (some senders
 * write wrong identifiers). Each trial may also decrypt the whole content, so this bounds the cost of a crafted
 * message with hundreds of RecipientInfos to a few dozen RSA/ECDH operations and content decryptions.
 */
export const MAX_TRIAL_DECRYPTIONS = 32;

/**
 * Private-key operations spent on RecipientInfos that name one of the caller's keys. A key normally appears once; a
 * crafted message could repeat one identifier a thousand times.
 */
export const MAX_MATCHED_DECRYPTIONS = 16;

/** Authenticated attributes of an AuthEnvelopedData (RFC 5083): none are defined for mail; 64 KiB is plenty. */
export const MAX_AUTH_ATTRIBUTES_BYTES = 64 * 1024;

/**
 * Smallest RSA key we encrypt to. RFC 8551 section 4.3 asks for 2048 to 4096 bits; smaller keys are refused with
 * CMS_UNSUPPORTED rather than silently used. (Decryption accepts any size the user's own key has.)
 */
export const MIN_RSA_ENCRYPTION_BITS = 2048;

// ---- PKCS#12 (pkcs12/) -------------------------------------------------------------------------------------------

/** A PKCS#12 with a key and a chain is a few KiB; 1 MiB leaves room for long chains and still bounds parsing work. */
export const MAX_P12_BYTES = 1024 * 1024;

/** SafeBags in the whole file, nested ones included. Windows may export a full chain plus CRLs; a few dozen at most. */
export const MAX_BAGS = 256;

/** Certificates in the whole file. A chain is rarely longer than 5; stores exported whole stay well under 100. */
export const MAX_CERTIFICATES = 100;

/** safeContentsBag inside safeContentsBag (RFC 7292 section 4.2.6): real files never nest; recursion must end. */
export const MAX_SAFE_CONTENTS_DEPTH = 4;

/**
 * Iteration count of one key derivation (PBKDF2, or the PKCS#12 KDF of RFC 7292 appendix B). Real files use 2,000
 * (Windows), 2,048 (OpenSSL), 10,000 (NSS, Java 12+) or 100,000 (Java's MAC); a crafted 2^31 would take hours.
 */
export const MAX_KDF_ITERATIONS = 1_000_000;

/**
 * Sum of the iteration counts of every derivation one file may ask for (MAC plus each encrypted item). Bounds the
 * cost of a file that repeats an expensive encrypted bag many times; a Java keystore needs about 200,000.
 */
export const MAX_TOTAL_KDF_ITERATIONS = 3_000_000;
