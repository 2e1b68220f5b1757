// The checks protectMessage makes before anything is signed or encrypted: its options, and the host's message
// (RFC 5322 structure, one From, header bytes a reader cannot misread, a body). Every failure is an SmimeError
// OUTGOING_* that names the problem.

import { SmimeError } from '../errors.ts';
import { isMimeError, type MimeEntity, type MimeHeader } from '../mime/index.ts';
import type { ProtectOptions } from './outgoing.ts';

/** MIME defects of the top-level header block that mean the input is not a message at all. */
const FATAL_DEFECTS = new Set(['INVALID_HEADER_LINE', 'MISSING_HEADER_BODY_SEPARATOR']);

/** MIME limit errors, reported as OUTGOING_TOO_LARGE; any other MIME error on input is a format problem. */
const MIME_LIMIT_CODES: ReadonlySet<string> = new Set([
  'MIME_TOO_DEEP',
  'MIME_TOO_MANY_PARTS',
  'MIME_HEADER_TOO_LARGE',
]);

function invalid(message: string): SmimeError {
  return new SmimeError('OUTGOING_INVALID_OPTION', message);
}

export function checkOptions(options: ProtectOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  for (const key of Object.keys(options))
    if (key !== 'sign' && key !== 'encrypt' && key !== 'protectHeaders') throw invalid(`unknown option: ${key}`);
  const { sign, encrypt, protectHeaders } = options;
  if (protectHeaders !== undefined && typeof protectHeaders !== 'boolean')
    throw invalid('protectHeaders must be a boolean');
  if (sign === undefined && encrypt === undefined) throw invalid('ask for sign, encrypt or both');
  if (sign !== undefined) {
    if (typeof sign !== 'object' || sign === null) throw invalid('sign must be an object');
    for (const key of Object.keys(sign))
      if (!['signer', 'options', 'format'].includes(key)) throw invalid(`unknown sign option: ${key}`);
    if (sign.format !== undefined && sign.format !== 'multipart-signed' && sign.format !== 'opaque') {
      throw invalid("sign.format must be 'multipart-signed' or 'opaque'");
    }
    const detached = sign.options?.detached;
    if (detached !== undefined && detached !== ((sign.format ?? 'multipart-signed') === 'multipart-signed')) {
      throw invalid(
        `sign.options.detached=${String(detached)} contradicts format ${sign.format ?? 'multipart-signed'}`,
      );
    }
  }
  if (encrypt !== undefined) {
    if (typeof encrypt !== 'object' || encrypt === null) throw invalid('encrypt must be an object');
    if ('recipients' in encrypt) {
      for (const key of Object.keys(encrypt)) {
        if (key !== 'recipients' && key !== 'options') throw invalid(`unknown encrypt option: ${key}`);
      }
      if (!Array.isArray(encrypt.recipients)) throw invalid('encrypt.recipients must be an array');
      return;
    }
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
export function fromMimeError(error: unknown, code: 'OUTGOING_NOT_RFC5322' | 'OUTGOING_CANNOT_CANONICALIZE'): unknown {
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
    throw new SmimeError(
      'OUTGOING_8BIT_HEADER',
      `The ${header.name} header field holds 8-bit bytes that are not UTF-8`,
    );
  }
}

/** The checks on the host's message that need its top-level structure. */
export function checkMessage(message: MimeEntity): void {
  const fatal = message.defects.find((d) => FATAL_DEFECTS.has(d));
  if (fatal === 'INVALID_HEADER_LINE')
    throw new SmimeError('OUTGOING_NOT_RFC5322', 'A line in the header block is not a header field');
  if (fatal === 'MISSING_HEADER_BODY_SEPARATOR') {
    throw new SmimeError('OUTGOING_NOT_RFC5322', 'The header block ends without an empty line before the body');
  }
  if (message.headers.length === 0) throw new SmimeError('OUTGOING_NOT_RFC5322', 'The message has no header fields');
  // RFC 5322 section 3.6: exactly one From field. Without it there is no one to sign as.
  const from = message.headers.filter((h) => h.name.toLowerCase() === 'from').length;
  if (from !== 1) {
    throw new SmimeError(
      'OUTGOING_NOT_RFC5322',
      from === 0 ? 'The message has no From field' : 'The message has several From fields',
    );
  }
  for (const header of message.headers) checkHeaderBytes(header);
  if (message.body.length === 0) {
    const separated = message.raw.length > message.headerBytes.length;
    throw new SmimeError(
      'OUTGOING_NO_BODY',
      separated ? 'The message body is empty' : 'The message has header fields only',
    );
  }
}
