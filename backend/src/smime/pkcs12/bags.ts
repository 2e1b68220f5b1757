// The contents of a PKCS#12 file (RFC 7292 sections 4.1 and 4.2): the AuthenticatedSafe, its SafeContents (plain or
// password-encrypted), and the bags in them: keys, shrouded keys, certificates and nested SafeContents. The ASN.1 is
// walked here with strict accessors rather than pkijs' PFX classes: pkijs' SafeBag rejects a whole file for one
// unknown bag type, parses CRL and SDSI bags eagerly, recurses without bound into nested SafeContents and throws
// plain Errors.

import { SmimeError, type SmimeErrorCode } from '../errors.ts';
import {
  algorithm,
  BerError,
  bigInteger,
  copyBytes,
  encoding,
  explicit,
  oid,
  readTree,
  sequence,
  setOf,
  type Tlv,
} from '../asn1/reader.ts';
import { MAX_BAGS, MAX_CERTIFICATES, MAX_SAFE_CONTENTS_DEPTH } from '../limits.ts';
import {
  OID_CERT_BAG,
  OID_DATA,
  OID_ENCRYPTED_DATA,
  OID_ENVELOPED_DATA,
  OID_KEY_BAG,
  OID_LOCAL_KEY_ID,
  OID_PKCS8_SHROUDED_KEY_BAG,
  OID_SAFE_CONTENTS_BAG,
  OID_X509_CERTIFICATE,
} from '../asn1/oids.ts';
import { contentInfo } from './container.ts';
import { octetString } from './fields.ts';
import { decryptWithPassword, type PasswordDecryptResult } from './password-decrypt.ts';
import { malformed, shape, UNPROTECTED, type ParseState, type Protection } from './state.ts';

/** Where the bags being read came from: how they were protected, how deep they nest, how to name a decode error. */
interface BagContext {
  protection: Protection;
  depth: number;
  fromDecryption: boolean;
  badDecode: SmimeErrorCode;
}

async function decrypt(
  state: ParseState,
  encryptionAlgorithm: Tlv | undefined,
  data: Uint8Array,
  what: string,
): Promise<PasswordDecryptResult> {
  const alg = shape(what, () => algorithm(encryptionAlgorithm, `${what} algorithm`));
  let result: PasswordDecryptResult;
  try {
    result = await decryptWithPassword({
      algorithm: alg,
      data,
      password: state.utf8Password,
      bmpPassword: state.bmpPassword,
      budget: state.budget,
    });
  } catch (error) {
    if (error instanceof SmimeError && error.code === 'P12_BAD_PASSWORD' && state.integrity === 'mac') {
      // The MAC verified with this password, so the password is right for the MAC; the content was encrypted with a
      // different one (openssl -twopass) or by a broken writer.
      throw new SmimeError(
        'P12_BAD_PASSWORD',
        `The file's integrity check passed but its ${what} could not be decrypted with this password (it may use a separate encryption password)`,
        { cause: error },
      );
    }
    throw error;
  }
  state.secrets.push(result.plaintext);
  if (result.scheme === 'pkcs12-pbe') state.legacy = true;
  return result;
}

function bagAttributes(node: Tlv | undefined): { localKeyId: Uint8Array | undefined } {
  if (!node) return { localKeyId: undefined };
  let localKeyId: Uint8Array | undefined;
  // PKCS12Attribute ::= SEQUENCE { attrId OBJECT IDENTIFIER, attrValues SET OF ANY } (RFC 7292 section 4.2)
  for (const attribute of setOf(node, 'bagAttributes')) {
    const [id, values, ...rest] = sequence(attribute, 'PKCS12Attribute');
    if (rest.length > 0) throw new BerError('PKCS12Attribute: too many fields');
    const attrId = oid(id, 'PKCS12Attribute attrId');
    const attrValues = setOf(values, 'PKCS12Attribute attrValues');
    // A copy: what the parse keeps never aliases the input or a decrypted buffer, which it wipes.
    if (attrId === OID_LOCAL_KEY_ID && attrValues.length === 1)
      localKeyId = copyBytes(octetString(attrValues[0], 'localKeyId'));
  }
  return { localKeyId };
}

async function readSafeContents(
  state: ParseState,
  bytes: Uint8Array,
  protection: Protection,
  fromDecryption: boolean,
): Promise<void> {
  // Garbage that decrypted with valid padding under a wrong password (about 1 in 256 for 8-byte blocks) only shows up
  // here; without a MAC to say otherwise, that is a wrong password rather than a damaged file.
  const badDecode: SmimeErrorCode = fromDecryption && state.integrity === 'none' ? 'P12_BAD_PASSWORD' : 'P12_MALFORMED';
  const root = shape('SafeContents', () => readTree(bytes, 'SafeContents'), badDecode);
  await readSafeBags(state, root, { protection, depth: 0, fromDecryption, badDecode });
}

async function readSafeBags(state: ParseState, root: Tlv, context: BagContext): Promise<void> {
  // SafeContents ::= SEQUENCE OF SafeBag; SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OPTIONAL }
  const bags = shape('SafeContents', () => sequence(root, 'SafeContents'), context.badDecode);
  for (const bag of bags) {
    state.bags += 1;
    if (state.bags > MAX_BAGS) throw new SmimeError('P12_TOO_LARGE', `The file holds more than ${MAX_BAGS} items`);
    await readSafeBag(state, bag, context);
  }
}

async function readSafeBag(state: ParseState, bag: Tlv, context: BagContext): Promise<void> {
  const { bagId, value, attributes } = shape(
    'SafeBag',
    () => {
      const fields = sequence(bag, 'SafeBag');
      if (fields.length < 2 || fields.length > 3)
        throw new BerError('SafeBag: expected bagId, bagValue [, bagAttributes]');
      return {
        bagId: oid(fields[0], 'bagId'),
        value: explicit(fields[1], 0, 'bagValue'),
        attributes: bagAttributes(fields[2]),
      };
    },
    context.badDecode,
  );
  switch (bagId) {
    case OID_KEY_BAG:
      shape('keyBag', () => sequence(value, 'PrivateKeyInfo'), context.badDecode);
      state.keys.push({
        pkcs8: encoding(value),
        localKeyId: attributes.localKeyId,
        protection: context.protection,
        unverifiedDecryption: context.fromDecryption && state.integrity === 'none',
      });
      break;
    case OID_PKCS8_SHROUDED_KEY_BAG:
      await readShroudedKeyBag(state, value, attributes.localKeyId, context);
      break;
    case OID_CERT_BAG:
      readCertBag(state, value, attributes.localKeyId, context);
      break;
    case OID_SAFE_CONTENTS_BAG:
      if (context.depth >= MAX_SAFE_CONTENTS_DEPTH) {
        throw new SmimeError(
          'P12_TOO_LARGE',
          `The file nests its contents more than ${MAX_SAFE_CONTENTS_DEPTH} levels deep`,
        );
      }
      await readSafeBags(state, value, { ...context, depth: context.depth + 1 });
      break;
    default:
      // crlBag, secretBag and private extensions: nothing to import. RFC 7292 section 4.2 allows unknown bag types.
      break;
  }
}

async function readShroudedKeyBag(
  state: ParseState,
  value: Tlv,
  localKeyId: Uint8Array | undefined,
  context: BagContext,
): Promise<void> {
  // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
  const { encryptionAlgorithm, data } = shape(
    'pkcs8ShroudedKeyBag',
    () => {
      const fields = sequence(value, 'EncryptedPrivateKeyInfo');
      if (fields.length !== 2) throw new BerError('EncryptedPrivateKeyInfo: expected algorithm and data');
      return { encryptionAlgorithm: fields[0], data: octetString(fields[1], 'encryptedData') };
    },
    context.badDecode,
  );
  const result = await decrypt(state, encryptionAlgorithm, data, 'private key');
  state.keys.push({
    pkcs8: result.plaintext,
    localKeyId,
    protection: { cipher: result.cipher, kdf: result.kdf },
    unverifiedDecryption: state.integrity === 'none',
  });
}

function readCertBag(state: ParseState, value: Tlv, localKeyId: Uint8Array | undefined, context: BagContext): void {
  // CertBag ::= SEQUENCE { certId OBJECT IDENTIFIER, certValue [0] EXPLICIT ANY } (RFC 7292 section 4.2.3)
  const certificate = shape(
    'certBag',
    () => {
      const fields = sequence(value, 'CertBag');
      if (fields.length !== 2) throw new BerError('CertBag: expected certId and certValue');
      const certId = oid(fields[0], 'certId');
      // A copy, as the localKeyId: the certificate is kept and may be handed out.
      return certId === OID_X509_CERTIFICATE
        ? copyBytes(octetString(explicit(fields[1], 0, 'certValue'), 'x509Certificate'))
        : undefined;
    },
    context.badDecode,
  );
  if (!certificate) return; // sdsiCertificate and others: not something S/MIME can use
  if (state.certificates.length >= MAX_CERTIFICATES) {
    throw new SmimeError('P12_TOO_LARGE', `The file holds more than ${MAX_CERTIFICATES} certificates`);
  }
  state.certificates.push({ der: certificate, localKeyId, protection: context.protection });
}

async function readEncryptedData(state: ParseState, content: Tlv | undefined): Promise<void> {
  // EncryptedData ::= SEQUENCE { version, encryptedContentInfo, unprotectedAttrs [1] IMPLICIT OPTIONAL }
  // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT }
  const { encryptionAlgorithm, data } = shape('EncryptedData', () => {
    const fields = sequence(content, 'EncryptedData');
    if (fields.length < 2 || fields.length > 3)
      throw new BerError('EncryptedData: expected version, encryptedContentInfo');
    bigInteger(fields[0], 'EncryptedData version');
    const eci = sequence(fields[1], 'EncryptedContentInfo');
    if (eci.length !== 3) throw new BerError('EncryptedContentInfo: expected contentType, algorithm, encryptedContent');
    if (oid(eci[0], 'EncryptedContentInfo contentType') !== OID_DATA)
      throw new BerError('EncryptedContentInfo: content is not data');
    return { encryptionAlgorithm: eci[1], data: octetString(eci[2], 'encryptedContent', 0) };
  });
  const result = await decrypt(state, encryptionAlgorithm, data, 'certificates');
  await readSafeContents(state, result.plaintext, { cipher: result.cipher, kdf: result.kdf }, true);
}

/** Reads every bag of the AuthenticatedSafe into `state`, decrypting what is encrypted. */
export async function readAuthenticatedSafe(state: ParseState, authSafe: Uint8Array): Promise<void> {
  // AuthenticatedSafe ::= SEQUENCE OF ContentInfo; each is data (plain SafeContents), encryptedData (password
  // privacy mode) or envelopedData (public-key privacy mode). RFC 7292 section 4.1.
  const items = shape('AuthenticatedSafe', () =>
    sequence(readTree(authSafe, 'AuthenticatedSafe'), 'AuthenticatedSafe'),
  );
  for (const [index, item] of items.entries()) {
    const info = shape('AuthenticatedSafe', () => contentInfo(item, `AuthenticatedSafe item ${index}`));
    if (info.type === OID_DATA) {
      const bytes = shape('SafeContents', () => octetString(info.content, 'data content'));
      // Unencrypted keys are read from these bytes: a view into the input (wiped anyway), or the join of a chunked
      // string, which must be wiped as well.
      state.secrets.push(bytes);
      await readSafeContents(state, bytes, UNPROTECTED, false);
    } else if (info.type === OID_ENCRYPTED_DATA) {
      await readEncryptedData(state, info.content);
    } else if (info.type === OID_ENVELOPED_DATA) {
      throw new SmimeError(
        'P12_UNSUPPORTED_ALGORITHM',
        'The file is encrypted to a certificate (public-key privacy mode), which is not supported',
      );
    } else {
      throw malformed(`The file is damaged or not a PKCS#12 file (unexpected content type ${info.type})`);
    }
  }
}
