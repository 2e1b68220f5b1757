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
import type { DecryptionKey } from '../cms/enveloped/index.ts';
import type { VerifyOptions } from '../cms/signed/verify.ts';
import { SmimeError } from '../errors.ts';
import { decodeBody, getHeader, isMimeError, parseEntity, plainSender, type MimeEntity } from '../mime/index.ts';
import {
  isMultipartSigned,
  isSmime,
  malformedSigned,
  openEnveloped,
  openMultipartSigned,
  openOpaqueSigned,
  type EncryptedLayer,
  type Layer,
  type Step,
} from './open-layer.ts';

import { hideLegacyDisplay, readHeaderProtection } from './header-protection.ts';
import type { HeaderProtection } from '../types.ts';
import { MAX_NESTED_SMIME_PARTS, MAX_SMIME_LAYERS } from '../limits.ts';
import { OID_AUTH_ENVELOPED_DATA, OID_ENVELOPED_DATA, OID_SIGNED_DATA } from '../asn1/oids.ts';
import { contentInfoType } from '../asn1/reader.ts';

export type { EncryptedLayer, Layer, SignedLayer } from './open-layer.ts';

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
  /**
   * Header protection (RFC 9788) of the innermost protected entity, when it declares `hp`: the protected fields to
   * show in place of the outer ones, and the outer fields that are not what the sender protected.
   */
  headerProtection?: HeaderProtection;
}

/**
 * The user's keys, asked for only when a layer is encrypted: the keys that can be used now (`keys`), and the
 * certificates of the user's keys that cannot be used until they are unlocked or taken over (`locked`). An envelope
 * none of the usable keys opens is `locked` when it names one of the locked keys' certificates, else `no-key`
 * (issue 14: "unlock first" and "this was never for a key of yours" are different answers). A bare array is `keys`.
 */
export type KeyProvider = () => Promise<DecryptionKey[] | { keys?: DecryptionKey[]; locked: readonly Uint8Array[] }>;

export interface AnalyzeOptions {
  verify: Omit<VerifyOptions, 'fromAddresses'>;
  keys: KeyProvider;
}

/** The CMS ContentInfo type of a DER/BER blob, read from its first bytes without parsing the rest. */
export function cmsContentType(der: Uint8Array): string | undefined {
  return contentInfoType(der);
}

/** The encrypted layer's format for a CMS content type, or undefined when the type is not encryption. */
function envelopedFormat(type: string | undefined): EncryptedLayer['format'] | undefined {
  return type === OID_ENVELOPED_DATA ? 'enveloped' : type === OID_AUTH_ENVELOPED_DATA ? 'auth-enveloped' : undefined;
}

/**
 * Whether a parsed top-level entity is an Internet message: it has header fields (RFC 5322 section 2.1). The parser
 * reads anything as an entity (a body part may have no header at all), so text or a file of another kind would
 * otherwise read as an unprotected message.
 */
export function isInternetMessage(message: MimeEntity): boolean {
  return message.headers.length > 0;
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

/**
 * Opens one S/MIME layer: verified or decrypted as its kind asks, reported when it cannot be read. A `nested` part (an
 * S/MIME part inside a message that is not itself protected, see nestedParts) is verified if signed, but an encrypted
 * one is not opened, and says so (`not-opened`): it is neither damaged nor failed.
 */
async function openLayer(
  entity: MimeEntity,
  options: AnalyzeOptions,
  from: string[],
  fromProblem?: string,
  nested = false,
): Promise<Step> {
  const verifyOptions: VerifyOptions = {
    ...options.verify,
    fromAddresses: from,
    ...(fromProblem ? { fromProblem } : {}),
  };
  if (isMultipartSigned(entity)) return openMultipartSigned(entity, verifyOptions);
  let der: Uint8Array;
  try {
    der = decodeBody(entity);
  } catch {
    return { layer: unreadable(entity, 'the application/pkcs7-mime body cannot be decoded') };
  }
  const type = cmsContentType(der);
  if (type === OID_SIGNED_DATA) return openOpaqueSigned(der, verifyOptions);
  const format = envelopedFormat(type);
  if (!format) return { layer: unreadable(entity, 'application/pkcs7-mime holds no signed or enveloped data') };
  if (!nested) return openEnveloped(der, format, options.keys);
  const detail = 'not opened: an encrypted part inside a message that is not itself encrypted';
  return { layer: { kind: 'encrypted', format, status: 'not-opened', detail } };
}

/**
 * A pkcs7-mime layer whose CMS cannot be read, reported as what it says it is (RFC 8551 section 3.2.2, smime-type):
 * an encrypted layer that failed when it says enveloped-data or authEnveloped-data, else a malformed signature.
 * Calling damaged encrypted mail "signed" would be untrue (issue 14).
 */
function unreadable(entity: MimeEntity, detail: string): Layer {
  const smimeType = entity.contentType.params['smime-type']?.toLowerCase();
  if (smimeType === 'enveloped-data' || smimeType === 'authenveloped-data') {
    const format = smimeType === 'enveloped-data' ? 'enveloped' : 'auth-enveloped';
    return { kind: 'encrypted', format, status: 'failed', detail };
  }
  return malformedSigned('opaque', detail);
}

/** Media types whose one child is a whole message with its own header (RFC 2046 section 5.2.1, RFC 6532 3.7). */
const EMBEDDED_MESSAGE_TYPES: ReadonlySet<string> = new Set(['message/rfc822', 'message/global']);

interface FoundPart {
  entity: MimeEntity;
  path: number[];
  /** The innermost embedded message the part belongs to (a forwarded message): its From is the sender. */
  message: MimeEntity | undefined;
}

/** S/MIME entities below `entity` (not entity itself), depth-first, with their child-index paths. */
function findNested(entity: MimeEntity, path: number[] = [], out: FoundPart[] = [], message?: MimeEntity) {
  const embeds = EMBEDDED_MESSAGE_TYPES.has(entity.contentType.mediaType);
  entity.children.forEach((child, i) => {
    if (out.length >= MAX_NESTED_SMIME_PARTS) return;
    const within = embeds ? child : message;
    if (isSmime(child)) out.push({ entity: child, path: [...path, i], message: within });
    else findNested(child, [...path, i], out, within);
  });
  return out;
}

/**
 * Opens the chain of S/MIME layers that starts at the message itself, outermost first, and reports the S/MIME parts
 * below the innermost one. Throws SmimeError MIME_NOT_A_MESSAGE (no header fields), MIME_MALFORMED or SMIME_TOO_DEEP; a layer that cannot
 * be read is a layer with its status, not an error.
 */
export async function analyzeMessage(raw: Uint8Array, options: AnalyzeOptions): Promise<MessageAnalysis> {
  const message = tryParse(raw);
  if (!message) throw new SmimeError('MIME_MALFORMED', 'The message cannot be parsed as MIME.');
  if (!isInternetMessage(message)) throw new SmimeError('MIME_NOT_A_MESSAGE');
  const { from, fromProblem } = senderOf(message);

  const layers: Layer[] = [];
  let current = message;
  let content: Uint8Array = message.raw;
  while (isSmime(current)) {
    if (layers.length >= MAX_SMIME_LAYERS)
      throw new SmimeError('SMIME_TOO_DEEP', `More than ${MAX_SMIME_LAYERS} S/MIME layers.`);
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

  const parts = await nestedParts(current, options, from, fromProblem);
  const unwrapped = layers.length > 0 && content !== message.raw;
  // Only an entity a layer protects can protect headers: the same fields in an unprotected message prove nothing.
  const opened = layers.some((l) => l.kind === 'encrypted' && l.status === 'decrypted');
  const headerProtection =
    unwrapped && current !== message ? readHeaderProtection(message, current, opened) : undefined;
  if (headerProtection && headerProtection.legacyDisplay.length > 0)
    content = hideLegacyDisplay(content, current, headerProtection.legacyDisplay);
  return { layers, content, unwrapped, parts, from, ...(headerProtection ? { headerProtection } : {}) };
}

/**
 * The sender a signer is checked against: exactly one plain address. A From that names several, hides one behind
 * a route or a display name that reads as another address, or cannot be read, is a mismatch for every signer
 * (issue 12); a message with no From at all names nobody, and the check is skipped.
 */
function senderOf(message: MimeEntity): { from: string[]; fromProblem: string | undefined } {
  const fromHeader = getHeader(message, 'from');
  const sender = plainSender(fromHeader);
  const from: string[] = 'address' in sender ? [sender.address] : [];
  const fromProblem =
    'problem' in sender && fromHeader !== undefined && fromHeader.trim() !== '' ? sender.problem : undefined;
  return { from, fromProblem };
}

/**
 * The S/MIME parts below the innermost protected entity, each reported on its own (see the module comment). A signed
 * part is verified against the From of the message it belongs to: a forwarded message (message/rfc822) has its own
 * sender, and judging its signature against the forwarder's address would call every forward a mismatch.
 */
async function nestedParts(
  current: MimeEntity,
  options: AnalyzeOptions,
  from: string[],
  fromProblem?: string,
): Promise<NestedPart[]> {
  const parts: NestedPart[] = [];
  for (const n of findNested(current)) {
    const sender = n.message ? senderOf(n.message) : { from, fromProblem };
    const step = await openLayer(n.entity, options, sender.from, sender.fromProblem, true);
    parts.push({ path: n.path, layer: step.layer });
  }
  return parts;
}
