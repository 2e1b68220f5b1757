// Resource limits for reading and writing CMS EnvelopedData / AuthEnvelopedData (cms/enveloped/). Each one is far above
// what real mail needs and far below what would let a crafted message pin a CPU or exhaust memory. Exceeding one is
// SmimeError CMS_TOO_LARGE.

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
 * BER nesting depth of the envelope skeleton. ContentInfo > [0] > EnvelopedData > EncryptedContentInfo > [0] is 5
 * deep and a BER constructed OCTET STRING adds one or two levels (NSS and OpenSSL use one); 32 leaves room for
 * exotic encoders while keeping the recursive reader's stack bounded.
 */
export const MAX_BER_DEPTH = 32;

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
