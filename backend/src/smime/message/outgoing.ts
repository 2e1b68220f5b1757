/**
 * Composing an outgoing S/MIME message (issue 3, RFC 8551 section 3): the host's whole RFC 5322 message in, the whole
 * protected message out.
 *
 * S/MIME protects a MIME entity, not a message (RFC 8551 section 3.1): the Content-* fields and the body move inside
 * the protection, the transport fields (From, To, Cc, Subject, Date, Message-ID, ...) stay outside where relays and
 * readers expect them. Bcc and Resent-Bcc are dropped: the protected message goes to every recipient, and a Bcc field
 * in it would show each blind recipient to all the others. Before signing, the entity is brought to the canonical
 * 7-bit form (RFC 8551 section 3.1.1, mime toSignable) so that no relay has a reason to alter it, and the bytes signed
 * are exactly the bytes placed in the message. Signing and encrypting: sign, then encrypt (RFC 8551 section 3.7).
 *
 * Pure: bytes and options in, bytes out. Encryption is cms/enveloped's, either called here on the entity's pieces
 * (`encrypt.recipients`) or injected (`encrypt.encryptFn`).
 *
 * Memory and time (issue 6): the entity is kept as a list of views of the input (mime signablePieces), and the result
 * is written into one buffer allocated once its length is known; the signed content, the ciphertext and their base64
 * go into it directly. A 25 MB message thus costs its input, its output, and small change.
 */
import {
  encryptEnvelopePieces,
  givesAuthEnveloped,
  type EncryptOptions,
  type EnvelopeRecipient,
} from '../cms/enveloped/index.ts';
import { SmimeError } from '../errors.ts';
import {
  joinMessagePieces,
  joinPieces,
  parseEntity,
  signablePieces,
  splitMessageHeaders,
  toSignable,
  type MimeEntity,
} from '../mime/index.ts';
import { Base64LineWriter, base64LinesLength } from '../mime/lib/base64-lines.ts';
import { micalgOf, signingDigest, signPieces, type Signer, type SignOptions } from '../cms/signed/sign.ts';
import { checkMessage, checkOptions, fromMimeError } from './outgoing-checks.ts';
import {
  assemble,
  BASE64_LINE_LENGTH,
  multipartSigned,
  newOutput,
  pkcs7MimeHead,
  type Entity,
  type Segment,
} from './output.ts';
import { baselineOuterFields, payloadFields } from './header-protection.ts';
import { OID_AUTH_ENVELOPED_DATA, OID_ENVELOPED_DATA } from '../asn1/oids.ts';
import { contentInfoType } from '../asn1/reader.ts';

export interface ProtectOptions {
  sign?: {
    signer: Signer;
    /** Passed to signContent; `detached` follows from `format` and may only agree with it. */
    options?: SignOptions;
    /** 'multipart-signed' (default, RFC 8551 section 3.5.3) or 'opaque' (application/pkcs7-mime, section 3.5.2). */
    format?: 'multipart-signed' | 'opaque';
  };
  /**
   * Either `recipients` (and `options`): encrypted here with cms/enveloped, streamed from the entity's pieces into the
   * output (issue 6: no joined entity, no whole ciphertext, no DER, no base64 string in memory); or `encryptFn`, an
   * injected encryption that gets the joined entity and returns DER.
   */
  encrypt?:
    | {
        /** The recipients, as for encryptEnvelope (cms/enveloped). */
        recipients: EnvelopeRecipient[];
        /** As for encryptEnvelope; an AEAD cipher (GCM, ChaCha20-Poly1305) gives smime-type=authEnveloped-data. */
        options?: EncryptOptions;
      }
    | {
        /** Encrypts the (signed) entity: returns the DER ContentInfo of an EnvelopedData, or AuthEnvelopedData. */
        encryptFn: (content: Uint8Array) => Promise<Uint8Array>;
        /**
         * true when encryptFn makes AuthEnvelopedData (AES-GCM, ChaCha20-Poly1305): smime-type=authEnveloped-data
         * (RFC 8551 section 3.4).
         */
        authEnveloped?: boolean;
      };
  /**
   * Header protection (RFC 9788, message/header-protection.ts): the message's fields go inside the protection too,
   * with `hp="cipher"` when encrypting (and the outer Subject "[...]") or `hp="clear"` when only signing.
   */
  protectHeaders?: boolean;
}

type EncryptWithRecipients = Extract<NonNullable<ProtectOptions['encrypt']>, { recipients: EnvelopeRecipient[] }>;
type EncryptWithFunction = Extract<NonNullable<ProtectOptions['encrypt']>, { encryptFn: unknown }>;

/** Transport fields never written to the protected message (see the module comment). */
const DROPPED_HEADERS: ReadonlySet<string> = new Set(['bcc', 'resent-bcc']);

/** The bytes of an entity made of plain byte segments (before encryption nothing is base64 yet but the p7m body). */
function entityPieces(entity: Entity): Uint8Array[] {
  return entity.some((s) => !(s instanceof Uint8Array)) ? [assemble(entity)] : (entity as Uint8Array[]);
}

/** encryptFn: the joined entity in, DER out, checked, then written as base64 into the output. */
async function encryptWithFunction(entity: Entity, encrypt: EncryptWithFunction): Promise<Entity> {
  const der = await encrypt.encryptFn(joinPieces(entityPieces(entity)));
  const expected = encrypt.authEnveloped ? OID_AUTH_ENVELOPED_DATA : OID_ENVELOPED_DATA;
  // The smime-type written around the bytes must say what they are: a reader picks its decoder by it.
  if (!(der instanceof Uint8Array) || contentInfoType(der, true) !== expected) {
    throw new SmimeError(
      'OUTGOING_ENCRYPT_RESULT_INVALID',
      `The encryption step did not return a ContentInfo of ${encrypt.authEnveloped ? 'AuthEnvelopedData' : 'EnvelopedData'}`,
    );
  }
  const smimeType = encrypt.authEnveloped ? 'authEnveloped-data' : 'enveloped-data';
  return [pkcs7MimeHead(smimeType, 'S/MIME Encrypted Message'), { base64: [der] }];
}

/**
 * Encrypts the entity's pieces to the recipients straight into the output: the output is allocated once the DER's
 * length is known, and the ciphertext goes from the cipher to base64 in the output, block by block.
 */
function encryptIntoMessage(outside: Uint8Array[], entity: Entity, encrypt: EncryptWithRecipients): Uint8Array {
  const cipher = encrypt.options?.cipher ?? 'aes-256-cbc';
  // Decided before anything is encrypted: the header names the content type the envelope will have.
  const smimeType = givesAuthEnveloped(cipher) ? 'authEnveloped-data' : 'enveloped-data';
  const head = joinPieces([...outside, pkcs7MimeHead(smimeType, 'S/MIME Encrypted Message')]);
  let out: Uint8Array | undefined;
  let writer: Base64LineWriter | undefined;
  const made = encryptEnvelopePieces(entityPieces(entity), encrypt.recipients, encrypt.options, (derLength) => {
    out = newOutput(head.length + base64LinesLength(derLength, BASE64_LINE_LENGTH));
    out.set(head, 0);
    writer = new Base64LineWriter(out, head.length, BASE64_LINE_LENGTH);
    return (chunk) => writer!.write(chunk);
  });
  const end = writer!.end();
  if (end !== out!.length || (made === 'auth-enveloped') !== (smimeType === 'authEnveloped-data')) {
    throw new SmimeError('OUTGOING_ENCRYPT_RESULT_INVALID', 'The encryption step did not write what was announced');
  }
  return out!;
}

/**
 * Takes a whole RFC 5322 message (the host's composed message), protects its content entity, keeps the transport
 * header fields outside, drops any Bcc field, and returns the whole protected message with CRLF line endings.
 * Sign-then-encrypt when both are asked for.
 *
 * Throws SmimeError: OUTGOING_INVALID_OPTION, OUTGOING_NOT_RFC5322, OUTGOING_NO_BODY, OUTGOING_INVALID_HEADER,
 * OUTGOING_8BIT_HEADER, OUTGOING_CANNOT_CANONICALIZE, OUTGOING_TOO_LARGE, OUTGOING_ENCRYPT_RESULT_INVALID, the
 * signing errors of signContent, the errors of encryptEnvelope (CMS_INVALID_OPTIONS, CMS_TOO_LARGE, CERT_MALFORMED,
 * CMS_UNSUPPORTED) with `encrypt.recipients`, and whatever encryptFn throws. Nothing is returned when anything fails.
 */
export async function protectMessage(raw: Uint8Array, options: ProtectOptions): Promise<Uint8Array> {
  const made = await protect(raw, options);
  return made instanceof Uint8Array ? made : assemble(made);
}

/**
 * protectMessage's result as the pieces it is made of, in order, for a caller that writes them out one after the other
 * (a socket, a file) instead of joining them: the canonical entity's pieces are views of `raw`, which the caller must
 * leave unchanged until it has written them, and only the headers, the boundaries and the base64 of the signature are
 * new bytes (issue 6: signing a 25 MB message then copies nothing of it). Encrypted output is one piece. Pieces may
 * be shared with other calls: never write into them. Same errors as protectMessage.
 */
export async function protectMessagePieces(raw: Uint8Array, options: ProtectOptions): Promise<Uint8Array[]> {
  const made = await protect(raw, options);
  if (made instanceof Uint8Array) return [made];
  return made.map((segment) => (segment instanceof Uint8Array ? segment : assemble([segment])));
}

/** The protected message: one buffer when encryption wrote it, else the segments to assemble. */
async function protect(raw: Uint8Array, options: ProtectOptions): Promise<Uint8Array | Segment[]> {
  checkOptions(options);
  if (!(raw instanceof Uint8Array) || raw.length === 0)
    throw new SmimeError('OUTGOING_NOT_RFC5322', 'The message is empty');

  let message: MimeEntity;
  try {
    message = parseEntity(raw);
    checkMessage(message);
  } catch (error) {
    throw fromMimeError(error, 'OUTGOING_NOT_RFC5322');
  }

  // Transport fields (RFC 8551 section 3.1): every field that is not Content-* or MIME-Version, as splitMessageHeaders
  // sorts them, without Bcc. With header protection they are also copied inside, and an encrypted message shows
  // only what the baseline confidentiality policy leaves outside.
  const transport = message.headers.filter((h) => {
    const name = h.name.toLowerCase();
    return !name.startsWith('content-') && name !== 'mime-version' && !DROPPED_HEADERS.has(name);
  });
  const hpMode = options.protectHeaders ? (options.encrypt ? 'cipher' : 'clear') : undefined;
  const outside = hpMode === 'cipher' ? baselineOuterFields(transport) : transport;

  // The canonical entity as pieces, mostly views of `raw` (issue 6); a multipart/signed entity is canonicalised from
  // its joined bytes, as splitMessageHeaders cuts them out.
  let canonical: Uint8Array[];
  try {
    canonical = hpMode
      ? signablePieces(message, payloadFields(message, transport, hpMode, outside))!
      : (signablePieces(message) ?? [toSignable(splitMessageHeaders(raw).entity)]);
  } catch (error) {
    throw fromMimeError(error, 'OUTGOING_CANNOT_CANONICALIZE');
  }

  let entity: Entity = canonical;
  if (options.sign) {
    const format = options.sign.format ?? 'multipart-signed';
    const signOptions: SignOptions = { ...options.sign.options, detached: format === 'multipart-signed' };
    const der = await signPieces(canonical, options.sign.signer, signOptions);
    entity =
      format === 'multipart-signed'
        ? multipartSigned(
            canonical,
            joinPieces(der.parts),
            micalgOf(signingDigest(options.sign.signer.privateKey, signOptions.digest)),
          )
        : [pkcs7MimeHead('signed-data', 'S/MIME Signed Message'), { base64: der.parts }];
  }

  let head: Uint8Array[];
  try {
    head = joinMessagePieces(outside, []);
  } catch (error) {
    throw fromMimeError(error, 'OUTGOING_NOT_RFC5322');
  }

  if (options.encrypt) {
    if ('recipients' in options.encrypt) return encryptIntoMessage(head, entity, options.encrypt);
    entity = await encryptWithFunction(entity, options.encrypt);
  }
  return [...head, ...entity];
}
