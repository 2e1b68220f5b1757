/**
 * Reading a received message (issue 3): recognise every S/MIME layer from the outside in — multipart/signed,
 * application/(x-)pkcs7-mime signed-data, enveloped-data and authEnveloped-data, in any nesting (signed inside
 * encrypted, encrypted inside signed, triple wrap) — verify or decrypt each, and return every layer with its status
 * and evidence, plus the innermost MIME entity for the host to render.
 *
 * Only the chain of S/MIME wrappers that starts at the message itself protects the message. S/MIME parts found
 * deeper inside an unprotected multipart (a signed part with a mailing-list footer beside it, two separately encrypted
 * alternatives) are reported as `parts`, verified but never merged into the message's status, and encrypted ones are
 * not decrypted into the rendered content: showing attacker-chosen plaintext beside decrypted text as one "encrypted
 * message" is the EFAIL / bait-and-prey trick (Thunderbird's multipart-alternative test).
 *
 * Pure: bytes and callbacks in, evidence out. Keys are asked for lazily (only an encrypted layer needs them), and
 * the caller decides what "locked" means.
 */
import { decryptEnvelope, inspectEnvelope, type DecryptionKey, type EnvelopeInfo } from './cms/envelope.ts';
import { isSmimeError, SmimeError } from './errors.ts';
import {
  canonicalizeLineEndings,
  decodeBody,
  getHeader,
  isMimeError,
  parseEntity,
  plainSender,
  type MimeEntity,
} from './mime/index.ts';
import type { DecryptionStatus, SignatureEvidence, SignatureStatus } from './types.ts';
import { SIGNATURE_STATUSES } from './types.ts';
import { verifySignedData, type VerifyOptions } from './cms/verify.ts';

import { MAX_NESTED_SMIME_PARTS, MAX_SMIME_LAYERS } from './limits.ts';
import { OID_AUTH_ENVELOPED_DATA, OID_ENVELOPED_DATA, OID_SIGNED_DATA } from './asn1/oids.ts';
import { contentInfoType } from './asn1/reader.ts';

export interface SignedLayer {
  kind: 'signed';
  format: 'multipart-signed' | 'opaque';
  /** The worst status among the signatures (a layer without any SignerInfo is 'malformed'). */
  status: SignatureStatus;
  signatures: SignatureEvidence[];
}

export interface EncryptedLayer {
  kind: 'encrypted';
  format: 'enveloped' | 'auth-enveloped';
  status: DecryptionStatus;
  contentCipher?: string;
  /** Which of the user's keys opened it. */
  keyId?: string;
  recipients?: EnvelopeInfo['recipients'];
  detail?: string;
}

export type Layer = SignedLayer | EncryptedLayer;

export interface NestedPart {
  /** Path of child indexes from the innermost protected entity, e.g. [1] = its second part. */
  path: number[];
  layer: Layer;
}

export interface MessageAnalysis {
  /** Outermost first. Empty for a message without S/MIME. */
  layers: Layer[];
  /** The innermost MIME entity (headers + body), what the host renders. */
  content: Uint8Array;
  /** True when content is the decrypted/verified inner entity rather than the message itself. */
  unwrapped: boolean;
  /** S/MIME parts inside an unprotected multipart: reported, never merged into the message's protection. */
  parts: NestedPart[];
  /** Addresses of the From header, lowercased. */
  from: string[];
}

export type KeyProvider = () => Promise<DecryptionKey[] | 'locked'>;

export interface AnalyzeOptions {
  verify: Omit<VerifyOptions, 'fromAddresses'>;
  keys: KeyProvider;
}

/** The CMS ContentInfo type of a DER/BER blob, read from its first bytes without parsing the rest. */
export function cmsContentType(der: Uint8Array): string | undefined {
  return contentInfoType(der);
}

function worst(statuses: SignatureStatus[]): SignatureStatus {
  if (statuses.length === 0) return 'malformed';
  return statuses.reduce((a, b) => (SIGNATURE_STATUSES.indexOf(a) <= SIGNATURE_STATUSES.indexOf(b) ? a : b));
}

function isPkcs7Mime(e: MimeEntity): boolean {
  const t = e.contentType.mediaType;
  if (t === 'application/pkcs7-mime' || t === 'application/x-pkcs7-mime') return true;
  // Some clients label S/MIME as octet-stream with a .p7m name (RFC 8551 section 3.2.2 lists the file names).
  const name = (e.contentType.params.name ?? '').toLowerCase();
  return t === 'application/octet-stream' && name.endsWith('.p7m');
}

function isMultipartSigned(e: MimeEntity): boolean {
  if (e.contentType.mediaType !== 'multipart/signed') return false;
  const protocol = (e.contentType.params.protocol ?? '').toLowerCase();
  return protocol === 'application/pkcs7-signature' || protocol === 'application/x-pkcs7-signature';
}

function isSmime(e: MimeEntity): boolean {
  return isMultipartSigned(e) || isPkcs7Mime(e);
}

function malformedSigned(format: SignedLayer['format'], detail: string): SignedLayer {
  return {
    kind: 'signed',
    format,
    status: 'malformed',
    signatures: [{ status: 'malformed', chain: [], checks: [{ name: 'structure', outcome: 'fail', detail }] }],
  };
}

/** Parse bytes that should be a MIME entity; a failure is reported, not thrown. */
function tryParse(bytes: Uint8Array): MimeEntity | undefined {
  try {
    return parseEntity(bytes);
  } catch (e) {
    if (isMimeError(e)) return undefined;
    throw e;
  }
}

interface Step {
  layer: Layer;
  /** The entity inside this layer, when it could be opened. */
  inner?: Uint8Array;
}

async function openLayer(entity: MimeEntity, options: AnalyzeOptions, from: string[], fromProblem?: string): Promise<Step> {
  const verifyOptions: VerifyOptions = { ...options.verify, fromAddresses: from, ...(fromProblem ? { fromProblem } : {}) };
  if (isMultipartSigned(entity)) {
    const [signed, signature] = entity.children;
    if (!signed || !signature || entity.children.length !== 2 || entity.truncated)
      return { layer: malformedSigned('multipart-signed', 'multipart/signed needs exactly two complete parts') };
    let p7s: Uint8Array;
    try {
      p7s = decodeBody(signature);
    } catch {
      return { layer: malformedSigned('multipart-signed', 'the signature part cannot be decoded') };
    }
    try {
      // RFC 8551 section 3.1.1: the signature covers the canonical form (CRLF line ends). A signed part that
      // arrived inside a decrypted or opaque-signed layer keeps whatever line ends its sender's MIME writer used;
      // bare LF becomes CRLF here, as OpenSSL and NSS do. Already canonical bytes are unchanged.
      const result = await verifySignedData(p7s, canonicalizeLineEndings(signed.raw), verifyOptions);
      const layer: SignedLayer = {
        kind: 'signed',
        format: 'multipart-signed',
        status: worst(result.signatures.map((s) => s.status)),
        signatures: result.signatures,
      };
      return { layer, inner: signed.raw };
    } catch (e) {
      if (isSmimeError(e)) return { layer: malformedSigned('multipart-signed', e.message), inner: signed.raw };
      throw e;
    }
  }

  let der: Uint8Array;
  try {
    der = decodeBody(entity);
  } catch {
    return { layer: malformedSigned('opaque', 'the application/pkcs7-mime body cannot be decoded') };
  }
  const type = cmsContentType(der);
  if (type === OID_SIGNED_DATA) {
    try {
      const result = await verifySignedData(der, undefined, verifyOptions);
      const layer: SignedLayer = {
        kind: 'signed',
        format: 'opaque',
        status: worst(result.signatures.map((s) => s.status)),
        signatures: result.signatures,
      };
      return { layer, inner: result.content };
    } catch (e) {
      if (isSmimeError(e)) return { layer: malformedSigned('opaque', e.message) };
      throw e;
    }
  }
  if (type === OID_ENVELOPED_DATA || type === OID_AUTH_ENVELOPED_DATA) {
    const format = type === OID_ENVELOPED_DATA ? 'enveloped' : 'auth-enveloped';
    let info: EnvelopeInfo | undefined;
    try {
      info = inspectEnvelope(der);
    } catch (e) {
      if (!isSmimeError(e)) throw e;
      return { layer: { kind: 'encrypted', format, status: 'failed', detail: e.message } };
    }
    const keys = await options.keys();
    if (keys === 'locked')
      return {
        layer: { kind: 'encrypted', format, status: 'locked', contentCipher: info.contentCipher, recipients: info.recipients },
      };
    try {
      const out = await decryptEnvelope(der, keys);
      if (out.status === 'decrypted')
        return {
          layer: {
            kind: 'encrypted',
            format,
            status: 'decrypted',
            contentCipher: out.info.contentCipher,
            keyId: out.keyId,
            recipients: out.info.recipients,
          },
          inner: out.content,
        };
      return {
        layer: {
          kind: 'encrypted',
          format,
          status: out.status,
          contentCipher: info.contentCipher,
          recipients: info.recipients,
          detail: out.detail,
        },
      };
    } catch (e) {
      if (isSmimeError(e))
        return { layer: { kind: 'encrypted', format, status: 'failed', contentCipher: info.contentCipher, detail: e.message } };
      throw e;
    }
  }
  return { layer: malformedSigned('opaque', 'application/pkcs7-mime holds no signed or enveloped data') };
}

/** S/MIME entities below `entity` (not entity itself), depth-first, with their child-index paths. */
function findNested(entity: MimeEntity, path: number[] = [], out: { entity: MimeEntity; path: number[] }[] = []) {
  entity.children.forEach((child, i) => {
    if (out.length >= MAX_NESTED_SMIME_PARTS) return;
    if (isSmime(child)) out.push({ entity: child, path: [...path, i] });
    else findNested(child, [...path, i], out);
  });
  return out;
}

export async function analyzeMessage(raw: Uint8Array, options: AnalyzeOptions): Promise<MessageAnalysis> {
  const message = tryParse(raw);
  if (!message) throw new SmimeError('MIME_MALFORMED', 'The message cannot be parsed as MIME.');
  // The sender a signer is checked against: exactly one plain address. A From that names several, hides one behind
  // a route or a display name that reads as another address, or cannot be read, is a mismatch for every signer
  // (issue 12); a message with no From at all names nobody, and the check is skipped.
  const fromHeader = getHeader(message, 'from');
  const sender = plainSender(fromHeader);
  const from: string[] = 'address' in sender ? [sender.address] : [];
  const fromProblem = 'problem' in sender && fromHeader !== undefined && fromHeader.trim() !== '' ? sender.problem : undefined;

  const layers: Layer[] = [];
  let current = message;
  let content: Uint8Array = message.raw;
  while (isSmime(current)) {
    if (layers.length >= MAX_SMIME_LAYERS) throw new SmimeError('SMIME_TOO_DEEP', `More than ${MAX_SMIME_LAYERS} S/MIME layers.`);
    const step = await openLayer(current, options, from, fromProblem);
    layers.push(step.layer);
    if (!step.inner) break;
    const inner = tryParse(step.inner);
    if (!inner) {
      // The layer opened but what is inside is not MIME: show it as it is (the host renders it as text).
      content = step.inner;
      break;
    }
    current = inner;
    content = inner.raw;
  }

  const parts: NestedPart[] = [];
  for (const n of findNested(current)) {
    if (isMultipartSigned(n.entity)) {
      const step = await openLayer(n.entity, { ...options, keys: async () => 'locked' }, from, fromProblem);
      parts.push({ path: n.path, layer: step.layer });
    } else {
      // Encrypted or opaque-signed parts deeper in the tree are reported, not opened into the rendered content.
      let format: EncryptedLayer['format'] | undefined;
      try {
        const type = cmsContentType(decodeBody(n.entity));
        if (type === OID_ENVELOPED_DATA) format = 'enveloped';
        else if (type === OID_AUTH_ENVELOPED_DATA) format = 'auth-enveloped';
      } catch {
        /* reported below as malformed */
      }
      parts.push({
        path: n.path,
        layer: format
          ? { kind: 'encrypted', format, status: 'failed', detail: 'not opened: an encrypted part inside an unprotected message' }
          : malformedSigned('opaque', 'not opened: an opaque S/MIME part inside an unprotected message'),
      });
    }
  }
  return { layers, content, unwrapped: layers.length > 0 && content !== message.raw, parts, from };
}
