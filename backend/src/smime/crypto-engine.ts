// The pkijs crypto engine of the S/MIME engine. pkijs does its cryptography through an injected engine
// (pkijs.setEngine); ours is pkijs' WebCrypto-backed CryptoEngine plus what WebCrypto lacks and what must not be
// left to pkijs' defaults on untrusted input:
//
// - password-based decryption of PKCS#12 content: the legacy schemes of RFC 7292 appendix C (3DES, RC2) and PBES2
//   with des-ede3-cbc or RC2, none of which WebCrypto has; PBES2/AES too, with bounded iteration counts;
// - the PKCS#12 MAC, with bounded iteration counts and the password encodings real files use.
//
// Every failure leaves this class as a SmimeError. The internals live in lib/, one concern per file; later work
// (CMS content decryption, RSA PKCS#1 v1.5 with implicit rejection) extends this same class.

import * as pkijs from 'pkijs';
import { SmimeError } from './errors.ts';
import { DerError, type Node } from './lib/der.ts';
import { KdfBudget } from './lib/limits.ts';
import { OID_PBES2 } from './lib/oids.ts';
import { BadDecryptError, type PbeCipherName } from './lib/pbe-ciphers.ts';
import { pbes2Decrypt } from './lib/pbes2.ts';
import { bmpPassword } from './lib/pkcs12-kdf.ts';
import { verifyPkcs12Mac, type Pkcs12MacInput } from './lib/pkcs12-mac.ts';
import { isPkcs12PbeOid, pkcs12PbeDecrypt } from './lib/pkcs12-pbe.ts';

export const ENGINE_NAME = 'smime-webmail';

export interface PasswordDecryptInput {
  /** contentEncryptionAlgorithm / encryptionAlgorithm: the OID and its parameters node. */
  algorithm: { oid: string; params: Node | undefined };
  data: Uint8Array;
  /** The password as UTF-8 bytes: what PBES2 uses (RFC 8018 section 6.2). */
  password: Uint8Array;
  /** The password as the PKCS#12 KDF wants it (RFC 7292 appendix B.1). Defaults to the BMPString of `password`. */
  bmpPassword?: Uint8Array;
  /** Shared key-derivation budget of one operation. Defaults to a fresh budget for this call alone. */
  budget?: KdfBudget;
}

export interface PasswordDecryptResult {
  plaintext: Uint8Array;
  /** 'pbes2' (RFC 8018) or 'pkcs12-pbe' (RFC 7292 appendix C, the legacy schemes). */
  scheme: 'pbes2' | 'pkcs12-pbe';
  cipher: PbeCipherName;
  /** e.g. 'pbkdf2-hmac-sha256' or 'pkcs12-kdf-sha1'. */
  kdf: string;
  iterations: number;
}

/** Turns whatever the internals threw into the one error type the engine exposes. */
function toSmimeError(error: unknown, context: string): SmimeError {
  if (error instanceof SmimeError) return error;
  if (error instanceof BadDecryptError) {
    return new SmimeError('P12_BAD_PASSWORD', `The password is wrong or the file is damaged (${context} could not be decrypted)`);
  }
  if (error instanceof DerError) {
    return error.limit
      ? new SmimeError('P12_TOO_LARGE', `The file exceeds a parsing limit (${context})`, { cause: error })
      : new SmimeError('P12_MALFORMED', `The file is damaged or not a PKCS#12 file (${context}: ${error.message})`, { cause: error });
  }
  return new SmimeError('P12_MALFORMED', `The file is damaged or not a PKCS#12 file (${context})`, { cause: error });
}

/** UTF-8 bytes back to text; bytes that are not UTF-8 are read as Latin-1, as pkijs does. */
function passwordText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
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
   * Password-based decryption of PKCS#12 content (EncryptedData, PKCS8ShroudedKeyBag). Supports PBES2 (PBKDF2 with
   * any HMAC-SHA PRF; AES-CBC, des-ede3-cbc, RC2-CBC) and RFC 7292 appendix C (3-key and 2-key 3DES, 128- and 40-bit
   * RC2). Throws SmimeError: P12_BAD_PASSWORD when nothing validly padded comes out, P12_UNSUPPORTED_ALGORITHM,
   * P12_MALFORMED, P12_TOO_LARGE.
   */
  async decryptWithPassword(input: PasswordDecryptInput): Promise<PasswordDecryptResult> {
    const budget = input.budget ?? new KdfBudget();
    const { oid, params } = input.algorithm;
    try {
      if (oid === OID_PBES2) {
        const result = await pbes2Decrypt(params, input.password, input.data, budget);
        return {
          plaintext: result.plaintext,
          scheme: 'pbes2',
          cipher: result.cipher.name,
          kdf: `pbkdf2-hmac-${result.prf}`,
          iterations: result.iterations,
        };
      }
      if (isPkcs12PbeOid(oid)) {
        const bmp = input.bmpPassword ?? bmpPassword(passwordText(input.password));
        try {
          const result = await pkcs12PbeDecrypt(oid, params, bmp, input.data, budget);
          return {
            plaintext: result.plaintext,
            scheme: 'pkcs12-pbe',
            cipher: result.cipher.name,
            kdf: 'pkcs12-kdf-sha1',
            iterations: result.iterations,
          };
        } finally {
          if (bmp !== input.bmpPassword) bmp.fill(0);
        }
      }
    } catch (error) {
      throw toSmimeError(error, 'encrypted content');
    }
    throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `The file is encrypted with an unsupported algorithm (${oid})`);
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
    const result = await this.decryptWithPassword({ algorithm, data, password: new Uint8Array(parameters.password) });
    return result.plaintext.buffer.slice(result.plaintext.byteOffset, result.plaintext.byteOffset + result.plaintext.length) as ArrayBuffer;
  }

  /**
   * Checks a PKCS#12 MAC (RFC 7292 section 5). Resolves false on mismatch; rejects with SmimeError P12_TOO_LARGE or
   * P12_MALFORMED when the iteration count is out of bounds.
   */
  async checkPkcs12Mac(input: Pkcs12MacInput & { budget?: KdfBudget }): Promise<boolean> {
    (input.budget ?? new KdfBudget()).spend(input.iterations);
    try {
      return await verifyPkcs12Mac(input);
    } catch (error) {
      throw toSmimeError(error, 'MAC');
    }
  }

  /** pkijs' entry point (PFX.parseInternalValues): the PKCS#12 MAC with bounded work. */
  override async verifyDataStampedWithPassword(parameters: pkijs.CryptoEngineVerifyDataStampedWithPasswordParams): Promise<boolean> {
    const hash = PKIJS_HASH_NAMES[parameters.hashAlgorithm.toUpperCase()];
    if (!hash) throw new SmimeError('P12_UNSUPPORTED_ALGORITHM', `Unsupported MAC digest ${parameters.hashAlgorithm}`);
    const bmp = bmpPassword(passwordText(new Uint8Array(parameters.password)));
    try {
      return await this.checkPkcs12Mac({
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
