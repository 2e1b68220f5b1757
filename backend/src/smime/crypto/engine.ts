// The pkijs crypto engine of the S/MIME engine: pkijs' WebCrypto-backed CryptoEngine plus what WebCrypto lacks and
// what must not be left to pkijs' defaults on untrusted input. Why a pkijs subclass and not only plain functions:
//
// - pkijs' own PKCS#12 entry points (EncryptedData.decrypt, PKCS8ShroudedKeyBag.parseInternalValues,
//   PFX.parseInternalValues) call the engine, and WebCrypto has neither the legacy schemes of RFC 7292 appendix C
//   (3DES, RC2) nor PBES2 with des-ede3-cbc or RC2, and pkijs bounds no iteration count. The two overrides below serve
//   those entry points with pkcs12/password-decrypt.ts, and installEngine() makes this pkijs' global engine. Our own
//   reader (pkcs12/pkcs12.ts) calls password-decrypt.ts directly; test/smime/pkcs12.test.ts checks the pkijs paths.
// - CMS enveloping (issue 3): the methods that cms/enveloped/ calls turn every failure of the content ciphers
//   (content-cipher.ts), RSA key transport (rsa-pkcs1v15.ts, cms/enveloped/key-transport.ts) and ECDH key agreement
//   (cms/enveloped/key-agreement.ts) into one SmimeError each, without a padding oracle. They are plain wrappers; they
//   sit here because cms/enveloped/ reaches its cryptography through getEngine(), where tests can observe it (the key
//   wiping test of test/smime/envelope.test.ts).
//
// Every failure leaves this class as a SmimeError.

import type { KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { SmimeError } from '../errors.ts';
import type { ContentAlgorithm, KeyAgreementAlgorithm, KeyTransportAlgorithm } from '../cms/enveloped/algorithms.ts';
import {
  CipherError,
  contentEncryptor,
  decryptContent,
  encryptContent,
  type ContentDecryptInput,
  type ContentEncryptResult,
  type StreamEncryptor,
} from './content-cipher.ts';
import {
  decryptKeyAgreement,
  encryptKeyAgreement,
  type KeyAgreementDecryptInput,
  type KeyAgreementEncryptResult,
} from '../cms/enveloped/key-agreement.ts';
import { decryptKeyTransport, encryptKeyTransport } from '../cms/enveloped/key-transport.ts';
import type { Node } from '../asn1/asn1js-nodes.ts';
import { bmpPassword } from '../pkcs12/kdf.ts';
import type { Pkcs12MacInput } from '../pkcs12/mac.ts';
import {
  checkPkcs12Mac,
  decryptWithPassword,
  passwordText,
  toSmimeError,
  type PasswordDecryptInput,
} from '../pkcs12/password-decrypt.ts';

export const ENGINE_NAME = 'smime-webmail';

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

const PKIJS_HASH_NAMES: Readonly<Record<string, Pkcs12MacInput['hash']>> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

export class SmimeCryptoEngine extends pkijs.CryptoEngine {
  constructor(crypto: Crypto = globalThis.crypto) {
    super({ name: ENGINE_NAME, crypto });
  }

  /**
   * pkijs' entry point (EncryptedData.decrypt, PKCS8ShroudedKeyBag.parseInternalValues): `password` is the UTF-8
   * password. Unlike the base class this also reads the legacy schemes, and throws SmimeError.
   */
  override async decryptEncryptedContentInfo(parameters: pkijs.CryptoEngineDecryptParams): Promise<ArrayBuffer> {
    let algorithm: PasswordDecryptInput['algorithm'];
    let data: Uint8Array;
    try {
      const info = parameters.encryptedContentInfo;
      algorithm = {
        oid: info.contentEncryptionAlgorithm.algorithmId,
        params: info.contentEncryptionAlgorithm.algorithmParams as Node | undefined,
      };
      data = new Uint8Array(info.getEncryptedContent());
    } catch (error) {
      throw toSmimeError(error, 'EncryptedContentInfo');
    }
    const result = await decryptWithPassword({ algorithm, data, password: new Uint8Array(parameters.password) });
    return result.plaintext.buffer.slice(
      result.plaintext.byteOffset,
      result.plaintext.byteOffset + result.plaintext.length,
    ) as ArrayBuffer;
  }

  /** pkijs' entry point (PFX.parseInternalValues): the PKCS#12 MAC with bounded work. */
  override async verifyDataStampedWithPassword(
    parameters: pkijs.CryptoEngineVerifyDataStampedWithPasswordParams,
  ): Promise<boolean> {
    const hash = PKIJS_HASH_NAMES[parameters.hashAlgorithm.toUpperCase()];
    if (!hash) throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `Unsupported MAC digest ${parameters.hashAlgorithm}`);
    const bmp = bmpPassword(passwordText(new Uint8Array(parameters.password)));
    try {
      return await checkPkcs12Mac({
        hash,
        bmpPassword: bmp,
        salt: new Uint8Array(parameters.salt),
        iterations: parameters.iterationCount,
        content: new Uint8Array(parameters.contentToVerify),
        expected: new Uint8Array(parameters.signatureToVerify),
      });
    } finally {
      bmp.fill(0);
    }
  }
  // ---------------------------------------------------------------------------------------------------------------
  // CMS enveloping (issue 3): the content-encryption, key-transport and key-agreement primitives of EnvelopedData and
  // AuthEnvelopedData, on algorithm descriptions already read from the message (cms/enveloped/algorithms.ts).
  // cms/enveloped/ does the ASN.1 and the choice of keys; the cryptography happens here, and every failure is a
  // SmimeError.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Decrypts (and for AES-GCM authenticates) CMS content: AES-128/192/256-CBC, DES-EDE3-CBC, RC2-CBC (RFC 3370
   * section 5.2, 40/64/128 effective bits), AES-GCM with the tag and the authenticated attributes as AAD (RFC 5083,
   * RFC 5084). Throws SmimeError CMS_DECRYPT_FAILED (one message for every cause) or CMS_UNSUPPORTED.
   */
  decryptCmsContent(input: ContentDecryptInput): Uint8Array {
    try {
      return decryptContent(input);
    } catch (error) {
      throw cmsDecryptError(error);
    }
  }

  /** Encrypts CMS content with AES-CBC, DES-EDE3-CBC or AES-GCM. Throws SmimeError CMS_UNSUPPORTED. */
  encryptCmsContent(
    algorithm: ContentAlgorithm,
    key: Uint8Array,
    plaintext: Uint8Array,
    aad?: Uint8Array,
  ): ContentEncryptResult {
    try {
      return encryptContent(algorithm, key, plaintext, aad);
    } catch (error) {
      throw cmsEncryptError(error, `Encryption with ${algorithm.name}`);
    }
  }

  /**
   * encryptCmsContent in steps, for content in pieces (issue 6): errors of every step are mapped as there. Throws
   * SmimeError CMS_UNSUPPORTED.
   */
  cmsContentEncryptor(algorithm: ContentAlgorithm, key: Uint8Array, aad?: Uint8Array): StreamEncryptor {
    const context = `Encryption with ${algorithm.name}`;
    const step = <T>(run: () => T): T => {
      try {
        return run();
      } catch (error) {
        throw cmsEncryptError(error, context);
      }
    };
    const cipher = step(() => contentEncryptor(algorithm, key, aad));
    return {
      update: (data) => step(() => cipher.update(data)),
      final: () => step(() => cipher.final()),
      tag: () => step(() => cipher.tag()),
    };
  }

  /**
   * RSA key transport (KeyTransRecipientInfo): PKCS #1 v1.5 always with implicit rejection and the content cipher's key
   * length (lib/rsa-pkcs1v15.ts: node refuses RSA_PKCS1_PADDING private decryption, CVE-2023-46809, and we do not
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
      return decryptKeyTransport(input.algorithm, input.privateKey, input.encryptedKey, input.expectedLength);
    } catch (error) {
      throw cmsDecryptError(error);
    }
  }

  /** Encrypts a content-encryption key to an RSA recipient (PKCS #1 v1.5 or OAEP). Throws SmimeError CMS_UNSUPPORTED. */
  encryptKeyTransport(input: { algorithm: KeyTransportAlgorithm; publicKey: KeyObject; key: Uint8Array }): Uint8Array {
    try {
      return encryptKeyTransport(input.algorithm, input.publicKey, input.key);
    } catch (error) {
      throw cmsEncryptError(error, `Key transport with ${input.algorithm.name}`);
    }
  }

  /**
   * ECDH key agreement (KeyAgreeRecipientInfo, RFC 5753): ephemeral-static ECDH on P-256/384/521, X9.63 KDF over
   * ECC-CMS-SharedInfo, AES key unwrap. Returns the content-encryption key; throws SmimeError CMS_DECRYPT_FAILED or
   * CMS_UNSUPPORTED.
   */
  decryptKeyAgreement(input: KeyAgreementDecryptInput): Uint8Array {
    try {
      return decryptKeyAgreement(input);
    } catch (error) {
      throw cmsDecryptError(error);
    }
  }

  /** Wraps a content-encryption key for an EC recipient under a fresh ephemeral key. Throws SmimeError CMS_UNSUPPORTED. */
  encryptKeyAgreement(input: {
    algorithm: KeyAgreementAlgorithm & { kind: 'ecdh' };
    publicKey: KeyObject;
    key: Uint8Array;
  }): KeyAgreementEncryptResult {
    try {
      return encryptKeyAgreement(input.algorithm, input.publicKey, input.key);
    } catch (error) {
      throw cmsEncryptError(error, `Key agreement with ${input.algorithm.name}`);
    }
  }
}

let installed: SmimeCryptoEngine | undefined;

/**
 * Creates the engine on first call and makes it pkijs' global engine (pkijs.setEngine). Idempotent. Code in this
 * engine still passes the engine explicitly to pkijs calls, so a later setEngine elsewhere cannot change what it uses.
 */
export function installEngine(): SmimeCryptoEngine {
  if (!installed) {
    installed = new SmimeCryptoEngine();
    pkijs.setEngine(ENGINE_NAME, installed);
  }
  return installed;
}

/** The installed engine, installing it if needed. */
export function getEngine(): SmimeCryptoEngine {
  return installed ?? installEngine();
}
