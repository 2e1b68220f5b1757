// The cryptography of CMS enveloping (issue 3): the content-encryption, key-transport and key-agreement primitives of
// EnvelopedData and AuthEnvelopedData, on algorithm descriptions already read from the message (algorithms.ts). The
// rest of cms/enveloped/ does the ASN.1 and the choice of keys; every failure here leaves as one SmimeError, without
// a padding oracle: every decryption failure is the same CMS_DECRYPT_FAILED with the same message and no cause
// (Bleichenbacher, Vaudenay).
//
// One object rather than loose functions: encrypt.ts, encrypt-recipients.ts and decrypt.ts call it through
// `cmsCrypto.<name>`, which is where a test observes what reaches the ciphers (the key-wiping test of
// test/smime/envelope.test.ts).

import type { KeyObject } from 'node:crypto';
import { SmimeError } from '../../errors.ts';
import type { ContentAlgorithm, KeyAgreementAlgorithm, KeyTransportAlgorithm } from './algorithms.ts';
import {
  CipherError,
  contentEncryptor as cmsStreamEncryptor,
  decryptContent as decryptCmsContent,
  encryptContent as encryptCmsContent,
  type ContentDecryptInput,
  type ContentEncryptResult,
} from '../../crypto/content-cipher.ts';
import type { StreamEncryptor } from '../../crypto/cipher-slices.ts';
import {
  decryptKeyAgreement as ecdhDecryptKeyAgreement,
  encryptKeyAgreement as ecdhEncryptKeyAgreement,
  type KeyAgreementDecryptInput,
  type KeyAgreementEncryptResult,
} from './key-agreement.ts';
import {
  decryptKeyTransport as rsaDecryptKeyTransport,
  encryptKeyTransport as rsaEncryptKeyTransport,
} from './key-transport.ts';

/**
 * CMS decryption failures: one SmimeError CMS_DECRYPT_FAILED with one message whatever the cause (wrong key, bad
 * PKCS #1 or PKCS #7 padding, bad GCM tag, bad key-wrap check), and no `cause`, so that nothing downstream can tell a
 * padding error from a wrong key (Bleichenbacher, Vaudenay). CMS_UNSUPPORTED only for what the algorithm or key type
 * says, which the message shows anyway.
 */
function cmsDecryptError(error: unknown): SmimeError {
  if (error instanceof SmimeError) return error;
  if (error instanceof CipherError && error.code === 'UNSUPPORTED_CIPHER')
    return new SmimeError('CMS_UNSUPPORTED', error.message);
  return new SmimeError('CMS_DECRYPT_FAILED');
}

/** CMS encryption failures: the recipient's key or the requested algorithm cannot be used. */
function cmsEncryptError(error: unknown, context: string): SmimeError {
  if (error instanceof SmimeError) return error;
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new SmimeError('CMS_UNSUPPORTED', `${context} is not possible${detail}`, { cause: error });
}

export const cmsCrypto = {
  /**
   * Decrypts (and for AES-GCM authenticates) CMS content: AES-128/192/256-CBC, DES-EDE3-CBC, RC2-CBC (RFC 3370
   * section 5.2, 40/64/128 effective bits), AES-GCM with the tag and the authenticated attributes as AAD (RFC 5083,
   * RFC 5084). Throws SmimeError CMS_DECRYPT_FAILED (one message for every cause) or CMS_UNSUPPORTED.
   */
  decryptContent(input: ContentDecryptInput): Uint8Array {
    try {
      return decryptCmsContent(input);
    } catch (error) {
      throw cmsDecryptError(error);
    }
  },

  /** Encrypts CMS content with AES-CBC, DES-EDE3-CBC or AES-GCM. Throws SmimeError CMS_UNSUPPORTED. */
  encryptContent(
    algorithm: ContentAlgorithm,
    key: Uint8Array,
    plaintext: Uint8Array,
    aad?: Uint8Array,
  ): ContentEncryptResult {
    try {
      return encryptCmsContent(algorithm, key, plaintext, aad);
    } catch (error) {
      throw cmsEncryptError(error, `Encryption with ${algorithm.name}`);
    }
  },

  /**
   * encryptContent in steps, for content in pieces (issue 6): errors of every step are mapped as there. Throws
   * SmimeError CMS_UNSUPPORTED.
   */
  contentEncryptor(algorithm: ContentAlgorithm, key: Uint8Array, aad?: Uint8Array): StreamEncryptor {
    const context = `Encryption with ${algorithm.name}`;
    const step = <T>(run: () => T): T => {
      try {
        return run();
      } catch (error) {
        throw cmsEncryptError(error, context);
      }
    };
    const cipher = step(() => cmsStreamEncryptor(algorithm, key, aad));
    return {
      update: (data) => step(() => cipher.update(data)),
      final: () => step(() => cipher.final()),
      tag: () => step(() => cipher.tag()),
    };
  },

  /**
   * RSA key transport (KeyTransRecipientInfo): PKCS #1 v1.5 always with implicit rejection and the content cipher's key
   * length (crypto/rsa-pkcs1v15.ts: node refuses RSA_PKCS1_PADDING private decryption, CVE-2023-46809, and we do not
   * use --security-revert), or RSAES-OAEP with any SHA-1/SHA-2 digest, MGF1 digest and label. Returns the
   * content-encryption key; throws SmimeError CMS_DECRYPT_FAILED or CMS_UNSUPPORTED.
   */
  decryptKeyTransport(input: {
    algorithm: KeyTransportAlgorithm;
    privateKey: KeyObject;
    encryptedKey: Uint8Array;
    expectedLength: number;
  }): Uint8Array {
    try {
      return rsaDecryptKeyTransport(input.algorithm, input.privateKey, input.encryptedKey, input.expectedLength);
    } catch (error) {
      throw cmsDecryptError(error);
    }
  },

  /** Encrypts a content-encryption key to an RSA recipient (PKCS #1 v1.5 or OAEP). Throws SmimeError CMS_UNSUPPORTED. */
  encryptKeyTransport(input: { algorithm: KeyTransportAlgorithm; publicKey: KeyObject; key: Uint8Array }): Uint8Array {
    try {
      return rsaEncryptKeyTransport(input.algorithm, input.publicKey, input.key);
    } catch (error) {
      throw cmsEncryptError(error, `Key transport with ${input.algorithm.name}`);
    }
  },

  /**
   * ECDH key agreement (KeyAgreeRecipientInfo, RFC 5753, RFC 8418): ephemeral-static ECDH on P-256/384/521 or X25519,
   * X9.63 KDF or HKDF over ECC-CMS-SharedInfo, AES key unwrap. Returns the content-encryption key; throws SmimeError CMS_DECRYPT_FAILED or
   * CMS_UNSUPPORTED.
   */
  decryptKeyAgreement(input: KeyAgreementDecryptInput): Uint8Array {
    try {
      return ecdhDecryptKeyAgreement(input);
    } catch (error) {
      throw cmsDecryptError(error);
    }
  },

  /** Wraps a content-encryption key for an EC or X25519 recipient under a fresh ephemeral key. Throws SmimeError CMS_UNSUPPORTED. */
  encryptKeyAgreement(input: {
    algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' };
    publicKey: KeyObject;
    key: Uint8Array;
  }): KeyAgreementEncryptResult {
    try {
      return ecdhEncryptKeyAgreement(input.algorithm, input.publicKey, input.key);
    } catch (error) {
      throw cmsEncryptError(error, `Key agreement with ${input.algorithm.name}`);
    }
  },
};
