// PKCS#12 import (RFC 7292): the private key, its certificate and the chain from a .p12/.pfx file.
//
// Reads what real exporters write: OpenSSL 3 defaults (PBES2/AES, SHA-256 MAC), NSS, Java, and the legacy files of
// Windows, AD CS and `openssl pkcs12 -legacy` (3DES key bag, RC2-40 certificate bag, SHA-1 MAC). The steps, one
// module each: container.ts (the PFX and its MAC), bags.ts (the AuthenticatedSafe and its bags),
// password-decrypt.ts (password-based decryption and the MAC primitive), key-match.ts (which certificate belongs to
// the key, and the chain order). state.ts holds what one parse shares.
//
// Every failure is a SmimeError with a P12_* code. A message never contains the password or key material.

import { SmimeError } from '../errors.ts';
import { copyBytes } from '../asn1/reader.ts';
import { KdfBudget } from './kdf-budget.ts';
import { MAX_P12_BYTES } from '../limits.ts';
import type { PbeCipherName } from '../crypto/content-cipher.ts';
import { pkcs12PasswordCandidates, type Pkcs12PasswordEncoding } from './kdf.ts';
import { readAuthenticatedSafe } from './bags.ts';
import { checkMac, readPfx, unwrapBase64, type MacData } from './container.ts';
import { loadCertificate, loadKey, orderChain, sameBytes, selectPair, type LoadedKey } from './key-match.ts';
import { malformed, type ParseState } from './state.ts';
import type { HashName } from '../asn1/oids.ts';

/** What protected the file, for the record. Cipher names follow OpenSSL ('aes-256-cbc', 'des-ede3-cbc', 'rc2-40-cbc'). */
export interface Pkcs12Protection {
  /** 'mac': a password MAC covered the contents and verified. 'none': the file has no MAC; nothing vouches for it. */
  integrity: 'mac' | 'none';
  /** MAC digest, null without a MAC. */
  mac: HashName | null;
  macIterations: number | null;
  /** Cipher that protected the returned private key ('none' if it was stored unencrypted). */
  keyCipher: PbeCipherName | 'none';
  /** Key derivation for keyCipher, e.g. 'pbkdf2-hmac-sha256' or 'pkcs12-kdf-sha1'; null if unencrypted. */
  keyKdf: string | null;
  /** Cipher that protected the returned certificate ('none' if it was stored unencrypted). */
  certCipher: PbeCipherName | 'none';
  certKdf: string | null;
  /**
   * True when the file relies on legacy protection: an RFC 7292 appendix C scheme (pbeWithSHAAnd3-KeyTripleDES-CBC,
   * pbeWithSHAAnd40BitRC2-CBC, ...) anywhere in the file, or a SHA-1 MAC.
   */
  legacy: boolean;
  /**
   * How the password was encoded for the PKCS#12 KDF (MAC and legacy schemes), as found by the MAC: 'bmp' per RFC 7292;
   * 'bmp-empty-without-terminator' or 'bmp-of-utf8-bytes' for files from writers that got it wrong (see
   * pkcs12/kdf.ts). Without a MAC it is always 'bmp'.
   */
  passwordEncoding: Pkcs12PasswordEncoding;
}

export interface Pkcs12Contents {
  /** PKCS#8 PrivateKeyInfo DER of the key that matches `certificate` (re-encoded by node:crypto, attributes dropped). */
  privateKey: Uint8Array;
  /** DER of the end-entity certificate (the one whose public key matches the private key). */
  certificate: Uint8Array;
  /** DER of the other certificates in the file: issuer order from the end entity up where names chain, then the rest. */
  chain: Uint8Array[];
  protection: Pkcs12Protection;
}

function checkInput(der: Uint8Array, password: string): void {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  if (!(der instanceof Uint8Array)) throw malformed('The file is not a PKCS#12 file (no bytes given)');
  if (der.length > MAX_P12_BYTES) {
    throw new SmimeError(
      'P12_TOO_LARGE',
      `The file is too large for a PKCS#12 key file (${der.length} bytes; the limit is ${MAX_P12_BYTES})`,
    );
  }
  if (der.length === 0) throw malformed('The file is empty');
}

/** The key and certificate that belong together, and the rest of the chain in order. */
function pairAndChain(
  state: ParseState,
  loadedKeys: LoadedKey[],
): { pair: ReturnType<typeof selectPair>; contents: Omit<Pkcs12Contents, 'protection'> } {
  // The same certificate is sometimes stored twice (once with the key's localKeyId, once in the chain).
  const unique = state.certificates.filter((c, i, all) => all.findIndex((o) => sameBytes(o.der, c.der)) === i);
  const certificates = unique.map(loadCertificate);
  const pair = selectPair(loadedKeys, certificates);
  const exported = pair.key.key.export({ type: 'pkcs8', format: 'der' });
  const privateKey = new Uint8Array(exported);
  exported.fill(0);
  const certificate = copyBytes(pair.certificate.found.der);
  const chain = orderChain(
    pair.certificate,
    certificates.filter((c) => c !== pair.certificate),
  );
  return { pair, contents: { privateKey, certificate, chain } };
}

/**
 * Reads a PKCS#12 file: returns the private key, the certificate whose public key matches it, the other
 * certificates, and what protected the file. `der` may also be whole-file base64 (some tools export that).
 *
 * Throws SmimeError: P12_TOO_LARGE (over MAX_P12_BYTES or another limit), P12_MALFORMED, P12_BAD_PASSWORD (MAC
 * mismatch; without a MAC, undecryptable content), P12_UNSUPPORTED_ALGORITHM, P12_NO_KEY, P12_NO_CERTIFICATE,
 * P12_KEY_MISMATCH.
 */
export async function parsePkcs12(der: Uint8Array, password: string): Promise<Pkcs12Contents> {
  checkInput(der, password);
  const candidates = pkcs12PasswordCandidates(password);
  const state: ParseState = {
    utf8Password: Buffer.from(password, 'utf8'),
    bmpPassword: candidates[0]?.bytes ?? new Uint8Array(2),
    passwordEncoding: 'bmp',
    integrity: 'none',
    budget: new KdfBudget(),
    bags: 0,
    keys: [],
    certificates: [],
    legacy: false,
    secrets: [],
  };
  let loadedKeys: LoadedKey[] = [];
  try {
    // A private copy: the caller's buffer is never wiped or aliased, and views into it are never Buffers.
    const input = copyBytes(unwrapBase64(der));
    state.secrets.push(input);
    const pfx = readPfx(input);
    let mac: MacData | undefined;
    if (pfx.mac) mac = await checkMac(state, pfx.mac, pfx.authSafe, candidates);

    await readAuthenticatedSafe(state, pfx.authSafe);

    if (state.keys.length === 0) throw new SmimeError('P12_NO_KEY', 'The file contains no private key');
    if (state.certificates.length === 0)
      throw new SmimeError('P12_NO_CERTIFICATE', 'The file contains a private key but no certificate');

    loadedKeys = state.keys.map(loadKey);
    const { pair, contents } = pairAndChain(state, loadedKeys);
    return {
      ...contents,
      protection: {
        integrity: state.integrity,
        mac: mac?.hash ?? null,
        macIterations: mac?.iterations ?? null,
        keyCipher: pair.key.found.protection.cipher,
        keyKdf: pair.key.found.protection.kdf,
        certCipher: pair.certificate.found.protection.cipher,
        certKdf: pair.certificate.found.protection.kdf,
        legacy: state.legacy,
        passwordEncoding: state.passwordEncoding,
      },
    };
  } catch (error) {
    if (error instanceof SmimeError) throw error;
    // Anything else is a bug or a library surprise; it still leaves as a typed error.
    throw malformed('The file is damaged or not a PKCS#12 file', error);
  } finally {
    for (const secret of state.secrets) secret.fill(0);
    state.utf8Password.fill(0);
    for (const candidate of candidates) candidate.bytes.fill(0);
    loadedKeys.length = 0;
  }
}
