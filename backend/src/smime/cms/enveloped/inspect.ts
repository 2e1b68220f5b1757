/**
 * S/MIME encryption and decryption (issue 3): CMS EnvelopedData (RFC 5652 section 6) for CBC ciphers and
 * AuthEnvelopedData (RFC 5083) for AES-GCM (RFC 5084), to and from RSA (key transport) and EC (key agreement,
 * RFC 5753) recipients. Pure: bytes, keys and options in; a DER ContentInfo or a DecryptOutcome out.
 *
 *   read.ts              the structures read: ContentInfo, (Auth)EnvelopedData, RecipientInfos
 *   algorithms.ts        the algorithms' identifiers and parameters, read and written
 *   inspect.ts (here)    a caller's input read under the limits, and who it is for, without keys
 *   decrypt.ts           the caller's keys matched to RecipientInfos, then tried
 *   encrypt.ts           the content encrypted to the recipients, streamed into the caller's output
 *   encrypt-recipients.ts  the recipients checked and written as RecipientInfos (key transport, key agreement)
 *   primitives.ts        the cryptography, every failure one SmimeError (no padding oracle)
 *   recipient-id.ts, key-transport.ts, key-agreement.ts  what they say
 *
 * How it is built, and why:
 * - ASN.1: the outer structure and the ciphertext are read with our own offset-based BER reader
 *   (asn1/reader.ts), so indefinite lengths and chunked OCTET STRINGs as NSS and OpenSSL stream them cost no
 *   tree and no copies beyond one join, and 64 MiB of content is no different from 64 bytes. Each RecipientInfo is
 *   read whole up front (readTree) by the same reader. Output is written by the one DER writer (asn1/writer.ts),
 *   which copies the ciphertext once. pkijs' EnvelopedData is not used: it
 *   parses the whole message as one asn1js tree (16 MiB content and 10,000-node defaults), has no AuthEnvelopedData,
 *   and decrypts through WebCrypto, which has no RSA PKCS #1 v1.5 decryption.
 * - Cryptography: through primitives.ts (cmsCrypto): content ciphers (AES-CBC, AES-GCM, DES-EDE3-CBC,
 *   RC2-CBC), RSA key transport (PKCS #1 v1.5 always with implicit rejection; OAEP), ECDH.
 */
import { BerError } from '../../asn1/reader.ts';
import { SmimeError } from '../../errors.ts';
import { MAX_ENVELOPE_BYTES } from '../../limits.ts';
import { serialHex } from './recipient-id.ts';
import { parseEnvelope, UnsupportedContentType, type ParsedEnvelope, type RecipientId } from './read.ts';

export interface EnvelopeInfo {
  format: 'enveloped' | 'auth-enveloped';
  /** 'aes-256-cbc', 'aes-128-gcm', 'des-ede3-cbc', 'rc2-40-cbc', ..., or the OID of an unknown cipher. */
  contentCipher: string;
  recipients: {
    type: 'ktri' | 'kari' | 'other';
    /** RFC 4514 text of the issuer, with serialNumber (lowercase hex), or subjectKeyIdentifier (lowercase hex). */
    issuer?: string;
    serialNumber?: string;
    subjectKeyIdentifier?: string;
    /** 'rsa-pkcs1-v1_5', 'rsa-oaep-sha256', 'ecdh-sha256kdf-aes128-wrap', ..., 'kekri'/'pwri'/'ori' for other. */
    keyEncryption: string;
  }[];
}

function toCmsError(error: unknown): SmimeError {
  if (error instanceof SmimeError) return error;
  if (error instanceof UnsupportedContentType) {
    return new SmimeError(
      'CMS_UNSUPPORTED',
      `The CMS content is not enveloped data (content type ${error.contentType})`,
    );
  }
  if (error instanceof BerError) {
    return error.limit
      ? new SmimeError('CMS_TOO_LARGE', `The encrypted message exceeds a parsing limit (${error.message})`)
      : new SmimeError('CMS_MALFORMED', `The encrypted message is damaged (${error.message})`);
  }
  return new SmimeError('CMS_MALFORMED', 'The encrypted message is damaged', { cause: error });
}

/** Reads a caller's envelope: SmimeError CMS_MALFORMED / CMS_TOO_LARGE / CMS_UNSUPPORTED on anything wrong. */
export function readEnvelope(der: unknown): ParsedEnvelope {
  if (!(der instanceof Uint8Array)) throw new SmimeError('CMS_MALFORMED', 'The encrypted message must be bytes');
  if (der.length === 0) throw new SmimeError('CMS_MALFORMED', 'The encrypted message is empty');
  if (der.length > MAX_ENVELOPE_BYTES) {
    throw new SmimeError('CMS_TOO_LARGE', `The encrypted message is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  }
  try {
    return parseEnvelope(der);
  } catch (error) {
    throw toCmsError(error);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function describeRid(
  rid: RecipientId,
): Pick<EnvelopeInfo['recipients'][number], 'issuer' | 'serialNumber' | 'subjectKeyIdentifier'> {
  return rid.kind === 'issuerAndSerialNumber'
    ? { issuer: rid.issuerText, serialNumber: serialHex(rid.serial) }
    : { subjectKeyIdentifier: hex(rid.ski) };
}

/** Who the envelope is for and how it is encrypted, as the caller sees it. */
export function envelopeInfo(envelope: ParsedEnvelope): EnvelopeInfo {
  const recipients: EnvelopeInfo['recipients'] = [];
  for (const ri of envelope.recipients) {
    if (ri.type === 'ktri') recipients.push({ type: 'ktri', ...describeRid(ri.rid), keyEncryption: ri.algorithm.name });
    else if (ri.type === 'kari')
      for (const k of ri.keys)
        recipients.push({ type: 'kari', ...describeRid(k.rid), keyEncryption: ri.algorithm.name });
    else recipients.push({ type: 'other', keyEncryption: ri.kind });
  }
  return { format: envelope.format, contentCipher: envelope.contentAlgorithm.name, recipients };
}

/** Reads who a message is for and how it is encrypted, without keys. Throws SmimeError CMS_*. */
export function inspectEnvelope(der: Uint8Array): EnvelopeInfo {
  return envelopeInfo(readEnvelope(der));
}
