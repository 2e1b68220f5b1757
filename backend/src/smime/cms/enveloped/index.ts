// CMS EnvelopedData and AuthEnvelopedData (see inspect.ts for how the folder is built): what the rest of the engine
// and the tests use of it.

export {
  decryptEnvelope,
  FAILED_DETAIL,
  namesAnyOf,
  NO_KEY_DETAIL,
  type DecryptionKey,
  type DecryptOutcome,
} from './decrypt.ts';
export {
  encryptEnvelope,
  encryptEnvelopePieces,
  givesAuthEnveloped,
  SUPPORTED_EC_CURVES,
  type ContentCipher,
  type EncryptOptions,
} from './encrypt.ts';
export type { EnvelopeRecipient } from './encrypt-recipients.ts';
export { inspectEnvelope, type EnvelopeInfo } from './inspect.ts';
