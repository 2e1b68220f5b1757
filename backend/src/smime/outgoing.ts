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
 * Pure: bytes and options in, bytes out. Encryption is injected (`encryptFn`, see envelope.ts), so this module only
 * composes.
 */
import { SmimeError } from './errors.ts';
import {
  buildEntity,
  buildMultipart,
  formatContentType,
  isMimeError,
  joinMessage,
  parseEntity,
  splitMessageHeaders,
  toSignable,
  type MimeEntity,
  type MimeHeader,
} from './mime/index.ts';
import { micalgOf, signContent, type Signer, type SignOptions } from './sign.ts';

export interface ProtectOptions {
  sign?: {
    signer: Signer;
    /** Passed to signContent; `detached` follows from `format` and may only agree with it. */
    options?: SignOptions;
    /** 'multipart-signed' (default, RFC 8551 section 3.5.3) or 'opaque' (application/pkcs7-mime, section 3.5.2). */
    format?: 'multipart-signed' | 'opaque';
  };
  encrypt?: {
    /** Encrypts the (signed) entity: returns the DER ContentInfo of an EnvelopedData, or AuthEnvelopedData. */
    encryptFn: (content: Uint8Array) => Promise<Uint8Array>;
    /** true when encryptFn makes AuthEnvelopedData (AES-GCM): smime-type=authEnveloped-data (RFC 8551 section 3.4). */
    authEnveloped?: boolean;
  };
}

/** Transport fields never written to the protected message (see the module comment). */
const DROPPED_HEADERS: ReadonlySet<string> = new Set(['bcc', 'resent-bcc']);

const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const OID_AUTH_ENVELOPED_DATA = '1.2.840.113549.1.9.16.1.23';

/** MIME defects of the top-level header block that mean the input is not a message at all. */
const FATAL_DEFECTS = new Set(['INVALID_HEADER_LINE', 'MISSING_HEADER_BODY_SEPARATOR']);

/** MIME limit errors, reported as OUTGOING_TOO_LARGE; any other MIME error on input is a format problem. */
const MIME_LIMIT_CODES: ReadonlySet<string> = new Set(['MIME_TOO_DEEP', 'MIME_TOO_MANY_PARTS', 'MIME_HEADER_TOO_LARGE']);

function invalid(message: string): SmimeError {
  return new SmimeError('OUTGOING_INVALID_OPTION', message);
}

function checkOptions(options: ProtectOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  for (const key of Object.keys(options)) if (key !== 'sign' && key !== 'encrypt') throw invalid(`unknown option: ${key}`);
  const { sign, encrypt } = options;
  if (sign === undefined && encrypt === undefined) throw invalid('ask for sign, encrypt or both');
  if (sign !== undefined) {
    if (typeof sign !== 'object' || sign === null) throw invalid('sign must be an object');
    for (const key of Object.keys(sign)) if (!['signer', 'options', 'format'].includes(key)) throw invalid(`unknown sign option: ${key}`);
    if (sign.format !== undefined && sign.format !== 'multipart-signed' && sign.format !== 'opaque') {
      throw invalid("sign.format must be 'multipart-signed' or 'opaque'");
    }
    const detached = sign.options?.detached;
    if (detached !== undefined && detached !== ((sign.format ?? 'multipart-signed') === 'multipart-signed')) {
      throw invalid(`sign.options.detached=${String(detached)} contradicts format ${sign.format ?? 'multipart-signed'}`);
    }
  }
  if (encrypt !== undefined) {
    if (typeof encrypt !== 'object' || encrypt === null) throw invalid('encrypt must be an object');
    for (const key of Object.keys(encrypt)) {
      if (key !== 'encryptFn' && key !== 'authEnveloped') throw invalid(`unknown encrypt option: ${key}`);
    }
    if (typeof encrypt.encryptFn !== 'function') throw invalid('encrypt.encryptFn must be a function');
    if (encrypt.authEnveloped !== undefined && typeof encrypt.authEnveloped !== 'boolean') {
      throw invalid('encrypt.authEnveloped must be a boolean');
    }
  }
}

/** MIME errors on the host's input become OUTGOING_* errors that name the problem. */
function fromMimeError(error: unknown, code: 'OUTGOING_NOT_RFC5322' | 'OUTGOING_CANNOT_CANONICALIZE'): unknown {
  if (!isMimeError(error)) return error;
  if (MIME_LIMIT_CODES.has(error.code)) return new SmimeError('OUTGOING_TOO_LARGE', error.message, { cause: error });
  return new SmimeError(code, error.message, { cause: error });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * NUL or a CR not followed by LF: a reader could end the field or the header block somewhere else. 8-bit bytes: kept
 * when they are UTF-8 (RFC 6532 internationalised headers, the host's choice), refused otherwise, since nothing says
 * which charset they are in.
 */
function checkHeaderBytes(header: MimeHeader): void {
  const raw = header.raw;
  let eightBit = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0 || (b === 13 && raw[i + 1] !== 10)) {
      throw new SmimeError('OUTGOING_INVALID_HEADER', `The ${header.name} header field holds a NUL or a lone CR`);
    }
    if (b >= 0x80) eightBit = true;
  }
  if (!eightBit) return;
  try {
    UTF8.decode(raw);
  } catch {
    throw new SmimeError('OUTGOING_8BIT_HEADER', `The ${header.name} header field holds 8-bit bytes that are not UTF-8`);
  }
}

/** The checks on the host's message that need its top-level structure. */
function checkMessage(message: MimeEntity): void {
  const fatal = message.defects.find((d) => FATAL_DEFECTS.has(d));
  if (fatal === 'INVALID_HEADER_LINE') throw new SmimeError('OUTGOING_NOT_RFC5322', 'A line in the header block is not a header field');
  if (fatal === 'MISSING_HEADER_BODY_SEPARATOR') {
    throw new SmimeError('OUTGOING_NOT_RFC5322', 'The header block ends without an empty line before the body');
  }
  if (message.headers.length === 0) throw new SmimeError('OUTGOING_NOT_RFC5322', 'The message has no header fields');
  // RFC 5322 section 3.6: exactly one From field. Without it there is no one to sign as.
  const from = message.headers.filter((h) => h.name.toLowerCase() === 'from').length;
  if (from !== 1) {
    throw new SmimeError('OUTGOING_NOT_RFC5322', from === 0 ? 'The message has no From field' : 'The message has several From fields');
  }
  for (const header of message.headers) checkHeaderBytes(header);
  if (message.body.length === 0) {
    const separated = message.raw.length > message.headerBytes.length;
    throw new SmimeError('OUTGOING_NO_BODY', separated ? 'The message body is empty' : 'The message has header fields only');
  }
}

/** RFC 2045 section 6.8: encoded lines of at most 76 characters; 57 input bytes make one full line. */
const BASE64_LINE_BYTES = 57;
/** Input bytes encoded per step: 1000 lines, so a 34 MB DER never exists as one 45 MB base64 string as well. */
const BASE64_BLOCK_BYTES = BASE64_LINE_BYTES * 1000;

/**
 * base64 in CRLF-terminated lines of 76 characters (the last one shorter), written straight into the output buffer:
 * the body of an opaque-signed 25 MB message is one allocation, not a string, its line-split copy and a third copy
 * with the final CRLF.
 */
function base64Body(der: Uint8Array): Uint8Array {
  const lines = Math.ceil(der.length / BASE64_LINE_BYTES);
  const out = Buffer.allocUnsafe(Math.ceil(der.length / 3) * 4 + lines * 2);
  const source = Buffer.from(der.buffer, der.byteOffset, der.length);
  let n = 0;
  for (let block = 0; block < der.length; block += BASE64_BLOCK_BYTES) {
    const encoded = Buffer.from(source.subarray(block, block + BASE64_BLOCK_BYTES).toString('base64'), 'latin1');
    for (let i = 0; i < encoded.length; i += 76) {
      n += encoded.copy(out, n, i, Math.min(i + 76, encoded.length));
      out[n++] = 13;
      out[n++] = 10;
    }
  }
  return out.subarray(0, n);
}

/** RFC 8551 section 3.5.3: multipart/signed with the canonical entity as its first part, the signature second. */
function multipartSigned(canonical: Uint8Array, signature: Uint8Array, micalg: string): Uint8Array {
  const p7s = buildEntity({
    headers: [
      ['Content-Type', formatContentType('application/pkcs7-signature', { name: 'smime.p7s' })],
      ['Content-Transfer-Encoding', 'base64'],
      ['Content-Disposition', 'attachment; filename=smime.p7s'],
      ['Content-Description', 'S/MIME Cryptographic Signature'],
    ],
    body: base64Body(signature),
  });
  return buildMultipart('signed', { protocol: 'application/pkcs7-signature', micalg }, [canonical, p7s]);
}

/**
 * A MIME entity in two pieces, its header block (with the blank line) and its body, joined only where one buffer is
 * needed: a large base64 body is then copied once more into the output, not twice (entity, then message).
 */
interface Entity {
  head: Uint8Array;
  body: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function whole(entity: Entity): Uint8Array {
  return entity.body.length === 0 ? entity.head : Buffer.concat([entity.head, entity.body]);
}

/** RFC 8551 sections 3.2 and 3.4 to 3.5.2: an application/pkcs7-mime entity named smime.p7m. */
function pkcs7Mime(smimeType: 'signed-data' | 'enveloped-data' | 'authEnveloped-data', der: Uint8Array, description: string): Entity {
  const head = buildEntity({
    headers: [
      ['Content-Type', formatContentType('application/pkcs7-mime', { 'smime-type': smimeType, name: 'smime.p7m' })],
      ['Content-Transfer-Encoding', 'base64'],
      ['Content-Disposition', 'attachment; filename=smime.p7m'],
      ['Content-Description', description],
    ],
    body: EMPTY,
  });
  return { head, body: base64Body(der) };
}

/**
 * The content type OID of a DER ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY },
 * read from its first bytes only (the ciphertext after them may be tens of megabytes), or undefined when the bytes do
 * not start like one or their outer length does not cover exactly the input.
 */
function contentInfoType(der: Uint8Array): string | undefined {
  const length = (at: number): { value: number; next: number } | undefined => {
    const first = der[at];
    if (first === undefined) return undefined;
    if (first < 0x80) return { value: first, next: at + 1 };
    const count = first & 0x7f;
    if (count === 0 || count > 6 || at + 1 + count > der.length) return undefined;
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 256 + der[at + 1 + i]!;
    return { value, next: at + 1 + count };
  };
  if (der[0] !== 0x30) return undefined;
  const outer = length(1);
  if (!outer || outer.next + outer.value !== der.length) return undefined;
  if (der[outer.next] !== 0x06) return undefined;
  const oidLength = length(outer.next + 1);
  if (!oidLength || oidLength.value === 0 || oidLength.next + oidLength.value >= der.length) return undefined;
  if (der[oidLength.next + oidLength.value] !== 0xa0) return undefined;
  const arcs: number[] = [];
  let value = 0;
  for (let i = oidLength.next; i < oidLength.next + oidLength.value; i++) {
    value = value * 128 + (der[i]! & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if ((der[i]! & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

async function encryptEntity(entity: Entity, encrypt: NonNullable<ProtectOptions['encrypt']>): Promise<Entity> {
  const der = await encrypt.encryptFn(whole(entity));
  const expected = encrypt.authEnveloped ? OID_AUTH_ENVELOPED_DATA : OID_ENVELOPED_DATA;
  // The smime-type written around the bytes must say what they are: a reader picks its decoder by it.
  if (!(der instanceof Uint8Array) || contentInfoType(der) !== expected) {
    throw new SmimeError(
      'OUTGOING_ENCRYPT_RESULT_INVALID',
      `The encryption step did not return a ContentInfo of ${encrypt.authEnveloped ? 'AuthEnvelopedData' : 'EnvelopedData'}`,
    );
  }
  return encrypt.authEnveloped
    ? pkcs7Mime('authEnveloped-data', der, 'S/MIME Encrypted Message')
    : pkcs7Mime('enveloped-data', der, 'S/MIME Encrypted Message');
}

/**
 * Takes a whole RFC 5322 message (the host's composed message), protects its content entity, keeps the transport
 * header fields outside, drops any Bcc field, and returns the whole protected message with CRLF line endings.
 * Sign-then-encrypt when both are asked for.
 *
 * Throws SmimeError: OUTGOING_INVALID_OPTION, OUTGOING_NOT_RFC5322, OUTGOING_NO_BODY, OUTGOING_INVALID_HEADER,
 * OUTGOING_8BIT_HEADER, OUTGOING_CANNOT_CANONICALIZE, OUTGOING_TOO_LARGE, OUTGOING_ENCRYPT_RESULT_INVALID, the
 * signing errors of signContent, and whatever encryptFn throws. Nothing is returned when anything fails.
 */
export async function protectMessage(raw: Uint8Array, options: ProtectOptions): Promise<Uint8Array> {
  checkOptions(options);
  if (!(raw instanceof Uint8Array) || raw.length === 0) throw new SmimeError('OUTGOING_NOT_RFC5322', 'The message is empty');

  let message: MimeEntity;
  let split: ReturnType<typeof splitMessageHeaders>;
  try {
    message = parseEntity(raw);
    checkMessage(message);
    split = splitMessageHeaders(raw);
  } catch (error) {
    throw fromMimeError(error, 'OUTGOING_NOT_RFC5322');
  }

  let canonical: Uint8Array;
  try {
    canonical = toSignable(split.entity);
  } catch (error) {
    throw fromMimeError(error, 'OUTGOING_CANNOT_CANONICALIZE');
  }

  let entity: Entity = { head: canonical, body: EMPTY };
  if (options.sign) {
    const format = options.sign.format ?? 'multipart-signed';
    const signOptions: SignOptions = { ...options.sign.options, detached: format === 'multipart-signed' };
    const der = await signContent(canonical, options.sign.signer, signOptions);
    entity =
      format === 'multipart-signed'
        ? { head: multipartSigned(canonical, der, micalgOf(signOptions.digest ?? 'sha256')), body: EMPTY }
        : pkcs7Mime('signed-data', der, 'S/MIME Signed Message');
  }
  if (options.encrypt) entity = await encryptEntity(entity, options.encrypt);

  const outside = split.transportHeaders.filter((h) => !DROPPED_HEADERS.has(h.name.toLowerCase()));
  try {
    return whole({ head: joinMessage(outside, entity.head), body: entity.body });
  } catch (error) {
    throw fromMimeError(error, 'OUTGOING_NOT_RFC5322');
  }
}
