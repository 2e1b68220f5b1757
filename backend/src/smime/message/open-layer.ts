// Opening one S/MIME layer of a received message (issue 3): a multipart/signed entity, or an application/pkcs7-mime
// one holding signed data (opaque), enveloped data or authEnveloped data. Each is verified or decrypted into its
// layer's status and evidence, and the entity inside it when it could be opened. A layer that cannot be read is
// reported, never thrown: only a failure that is not the message's (a bug, a key provider's error) propagates.

import {
  decryptEnvelope,
  inspectEnvelope,
  namesAnyOf,
  NO_KEY_DETAIL,
  type DecryptOutcome,
  type EnvelopeInfo,
} from '../cms/enveloped/index.ts';

const LOCKED_DETAIL = 'The message is encrypted to one of your keys, which is locked: unlock it to read.';
import { verifySignedData, type VerifyOptions } from '../cms/signed/verify.ts';
import { isSmimeError } from '../errors.ts';
import { canonicalizeLineEndings, decodeBody, type MimeEntity } from '../mime/index.ts';
import type { DecryptionStatus, SignatureEvidence, SignatureStatus } from '../types.ts';
import { SIGNATURE_STATUSES } from '../types.ts';
import type { KeyProvider } from './incoming.ts';

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

export interface Step {
  layer: Layer;
  /** The entity inside this layer, when it could be opened. */
  inner?: Uint8Array;
}

function worst(statuses: SignatureStatus[]): SignatureStatus {
  if (statuses.length === 0) return 'malformed';
  return statuses.reduce((a, b) => (SIGNATURE_STATUSES.indexOf(a) <= SIGNATURE_STATUSES.indexOf(b) ? a : b));
}

export function isPkcs7Mime(e: MimeEntity): boolean {
  const t = e.contentType.mediaType;
  if (t === 'application/pkcs7-mime' || t === 'application/x-pkcs7-mime') return true;
  // Some clients label S/MIME as octet-stream with a .p7m name (RFC 8551 section 3.2.2 lists the file names).
  const name = (e.contentType.params.name ?? '').toLowerCase();
  return t === 'application/octet-stream' && name.endsWith('.p7m');
}

export function isMultipartSigned(e: MimeEntity): boolean {
  if (e.contentType.mediaType !== 'multipart/signed') return false;
  const protocol = (e.contentType.params.protocol ?? '').toLowerCase();
  return protocol === 'application/pkcs7-signature' || protocol === 'application/x-pkcs7-signature';
}

export function isSmime(e: MimeEntity): boolean {
  return isMultipartSigned(e) || isPkcs7Mime(e);
}

export function malformedSigned(format: SignedLayer['format'], detail: string): SignedLayer {
  return {
    kind: 'signed',
    format,
    status: 'malformed',
    signatures: [{ status: 'malformed', chain: [], checks: [{ name: 'structure', outcome: 'fail', detail }] }],
  };
}

/**
 * A signed layer from its verification: every signature and the worst status, or malformed when the CMS cannot be
 * read. `detachedInner` is the signed part of a multipart/signed, what is inside the layer whatever the outcome; an
 * opaque layer's inside is the content the signature carries, and there is none when it cannot be read.
 */
async function verifiedStep(
  format: SignedLayer['format'],
  signature: Uint8Array,
  detachedContent: Uint8Array | undefined,
  options: VerifyOptions,
  detachedInner?: Uint8Array,
): Promise<Step> {
  try {
    const result = await verifySignedData(signature, detachedContent, options);
    const layer: SignedLayer = {
      kind: 'signed',
      format,
      status: worst(result.signatures.map((s) => s.status)),
      signatures: result.signatures,
    };
    return { layer, inner: detachedInner ?? result.content };
  } catch (e) {
    if (!isSmimeError(e)) throw e;
    const layer = malformedSigned(format, e.message);
    return detachedInner ? { layer, inner: detachedInner } : { layer };
  }
}

/** RFC 8551 section 3.5.3: multipart/signed, the signed part first and the detached signature second. */
export async function openMultipartSigned(entity: MimeEntity, options: VerifyOptions): Promise<Step> {
  const [signed, signature] = entity.children;
  if (!signed || !signature || entity.children.length !== 2 || entity.truncated)
    return { layer: malformedSigned('multipart-signed', 'multipart/signed needs exactly two complete parts') };
  let p7s: Uint8Array;
  try {
    p7s = decodeBody(signature);
  } catch {
    return { layer: malformedSigned('multipart-signed', 'the signature part cannot be decoded') };
  }
  // RFC 8551 section 3.1.1: the signature covers the canonical form (CRLF line ends). A signed part that
  // arrived inside a decrypted or opaque-signed layer keeps whatever line ends its sender's MIME writer used;
  // bare LF becomes CRLF here, as OpenSSL and NSS do. Already canonical bytes are unchanged.
  return verifiedStep('multipart-signed', p7s, canonicalizeLineEndings(signed.raw), options, signed.raw);
}

/** RFC 8551 section 3.5.2: application/pkcs7-mime signed-data, the content inside the signature. */
export function openOpaqueSigned(der: Uint8Array, options: VerifyOptions): Promise<Step> {
  return verifiedStep('opaque', der, undefined, options);
}

/** RFC 8551 sections 3.3 and 3.4: enveloped-data and authEnveloped-data, opened with the keys the provider gives. */
export async function openEnveloped(
  der: Uint8Array,
  format: EncryptedLayer['format'],
  provider: KeyProvider,
): Promise<Step> {
  let info: EnvelopeInfo | undefined;
  try {
    info = inspectEnvelope(der);
  } catch (e) {
    if (!isSmimeError(e)) throw e;
    return { layer: { kind: 'encrypted', format, status: 'failed', detail: e.message } };
  }
  const given = await provider();
  const keys = Array.isArray(given) ? given : (given.keys ?? []);
  const locked = Array.isArray(given) ? [] : given.locked;
  let out: DecryptOutcome | { status: 'locked'; info: EnvelopeInfo; detail: string };
  try {
    out = keys.length > 0 ? await decryptEnvelope(der, keys) : { status: 'no-key', info, detail: NO_KEY_DETAIL };
    // One of the user's other keys is a recipient: unlocking (or taking the key over) will open it.
    if (out.status === 'no-key' && locked.length > 0 && namesAnyOf(der, locked))
      out = { status: 'locked', info, detail: LOCKED_DETAIL };
  } catch (e) {
    if (isSmimeError(e))
      return {
        layer: { kind: 'encrypted', format, status: 'failed', contentCipher: info.contentCipher, detail: e.message },
      };
    throw e;
  }
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
}
