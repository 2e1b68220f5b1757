// Small, strict accessors over asn1js nodes. asn1js decodes BER into a tree without checking it against any schema;
// these helpers check each node's tag before using it and throw DerError, which the public modules turn into their
// own typed error (P12_MALFORMED, CERT_MALFORMED). Nothing here throws anything else on bad input.
//
// Why asn1js trees at all, beside the offset reader (reader.ts): pkijs does not need them (only crypto/engine.ts
// uses pkijs, and not with these nodes). They remain because the PKCS#12 parser, x509/name.ts, extensions.ts,
// describe.ts, raw.ts and the RecipientInfos of cms/enveloped-data.ts were written against them. Every decode is
// checked by the one reader (checkNesting), every OID is decoded by its decoder, and DerError is its error type, so
// the two cannot disagree on what a byte string means; moving those callers to reader.ts would remove this file.

import * as asn1js from 'asn1js';
import {
  BerError,
  children as berChildren,
  concatBytes,
  oid as readOid,
  readOne,
  UNIVERSAL,
  type Tlv,
} from './reader.ts';
import { MAX_ASN1_NODES, MAX_BER_DEPTH, MAX_P12_BYTES } from '../limits.ts';

/**
 * The reader's one error type, under the name the callers of these accessors (pkcs12/, x509/name.ts and
 * extensions.ts, the RecipientInfos) have always caught.
 */
export { BerError as DerError };

export type Node = asn1js.AsnType;

const TAG_CLASS_UNIVERSAL = 1;
const TAG_CLASS_CONTEXT = 3;

/** Universal tag numbers: the reader's table (X.680 section 8.4). */
export const TAG = UNIVERSAL;

// asn1js reports its own limits with these messages (parser.ts). Depth and node count are resource limits; a
// declared content length over the limit cannot be backed by an input that is itself under it, so that one is a
// format error (a damaged length byte), not "too large".
const ASN1JS_LIMIT_ERROR = /^Maximum ASN\.1 (nesting depth|node count) exceeded/;

/**
 * Decodes one complete BER/DER value. Trailing bytes are an error: a PKCS#12 or a certificate is exactly one value,
 * and accepting junk after it would let two different byte strings mean the same thing.
 */
export function decode(bytes: Uint8Array, what: string): Node {
  if (bytes.length === 0) throw new BerError(`${what}: empty input`);
  let result: ReturnType<typeof asn1js.fromBER>;
  try {
    result = asn1js.fromBER(bytes, {
      maxDepth: MAX_BER_DEPTH,
      maxNodes: MAX_ASN1_NODES,
      maxContentLength: MAX_P12_BYTES,
      // asn1js would otherwise try to decode every OCTET STRING and BIT STRING as nested ASN.1 (ciphertext
      // included), which costs nodes and time and yields nothing we use.
      parseEmbedded: false,
    });
  } catch (cause) {
    throw new BerError(`${what}: undecodable`, { cause });
  }
  if (result.offset === -1 || result.result.error) {
    const reason = result.result.error || 'undecodable';
    throw new BerError(`${what}: ${reason}`, { limit: ASN1JS_LIMIT_ERROR.test(reason) });
  }
  if (result.offset !== bytes.length)
    throw new BerError(`${what}: ${bytes.length - result.offset} bytes after the end`);
  checkNesting(bytes, what);
  return result.result;
}

/**
 * asn1js reads a value whose length runs past the end of the constructed value holding it (30 03 04 05 ...: a
 * three-byte SEQUENCE holding a five-byte OCTET STRING) as if the parent were longer, so two readers of the same
 * bytes could see different fields. Found by test/fuzz (a certificate describeCertificate read and the verifier's
 * reader refused). Every value must end within its parent, and an indefinite length must end with end-of-contents.
 */
function checkNesting(bytes: Uint8Array, what: string): void {
  // The engine's own offset reader (reader.ts) refuses exactly that: every child is read within its parent.
  const walk = (t: Tlv): void => {
    if (t.constructed) for (const child of berChildren(t)) walk(child);
  };
  walk(readOne(bytes, what));
}

function describe(node: Node): string {
  return `[class ${node.idBlock.tagClass} tag ${node.idBlock.tagNumber}${node.idBlock.isConstructed ? ' constructed' : ''}]`;
}

function isUniversal(node: Node, tag: number): boolean {
  return node.idBlock.tagClass === TAG_CLASS_UNIVERSAL && node.idBlock.tagNumber === tag;
}

function children(node: Node): Node[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as Node[]) : [];
}

/** The elements of a SEQUENCE (or SET when `tag` is TAG.SET). */
export function sequence(node: Node | undefined, what: string, tag: number = TAG.SEQUENCE): Node[] {
  if (!node || !isUniversal(node, tag) || !node.idBlock.isConstructed) {
    throw new BerError(
      `${what}: expected ${tag === TAG.SET ? 'SET' : 'SEQUENCE'}, got ${node ? describe(node) : 'nothing'}`,
    );
  }
  return children(node);
}

export function set(node: Node | undefined, what: string): Node[] {
  return sequence(node, what, TAG.SET);
}

export function oid(node: Node | undefined, what: string): string {
  if (!node || !isUniversal(node, TAG.OID) || node.idBlock.isConstructed) {
    throw new BerError(`${what}: expected OBJECT IDENTIFIER, got ${node ? describe(node) : 'nothing'}`);
  }
  // The reader's decoder, so that every OID of the engine is read by one function (minimal arcs, bounded size).
  return readOid(readOne(encodingOf(node), what), what);
}

export function isTag(node: Node | undefined, tag: number): boolean {
  return node !== undefined && isUniversal(node, tag);
}

/** An INTEGER as a bigint (any size, signed). */
export function bigInteger(node: Node | undefined, what: string): bigint {
  if (!node || !isUniversal(node, TAG.INTEGER) || node.idBlock.isConstructed) {
    throw new BerError(`${what}: expected INTEGER, got ${node ? describe(node) : 'nothing'}`);
  }
  if ((node as asn1js.Integer).valueBlock.valueHexView.length === 0) throw new BerError(`${what}: empty INTEGER`);
  return (node as asn1js.Integer).toBigInt();
}

/**
 * An INTEGER that must fit a safe JS number and lie in [min, max]. asn1js' own `valueDec` silently returns 0 for
 * integers wider than 6 bytes, so counts are always read through here.
 */
export function smallInteger(node: Node | undefined, what: string, min: number, max: number): number {
  const value = bigInteger(node, what);
  if (value < BigInt(min) || value > BigInt(max)) throw new BerError(`${what}: ${value} is out of range`);
  return Number(value);
}

/** INTEGER bytes as stored (two's complement, big-endian). */
export function integerBytes(node: Node | undefined, what: string): Uint8Array {
  bigInteger(node, what);
  return (node as asn1js.Integer).valueBlock.valueHexView;
}

const MAX_OCTET_STRING_SEGMENTS = 4096; // BER constructed strings: a 1 MiB file in 256-byte pieces

function collectOctets(node: Node, tag: number, out: Uint8Array[], what: string): void {
  if (!node.idBlock.isConstructed) {
    out.push((node.valueBlock as { valueHexView: Uint8Array }).valueHexView);
    return;
  }
  for (const child of children(node)) {
    if (!isUniversal(child, tag)) throw new BerError(`${what}: bad segment in constructed string`);
    if (out.length >= MAX_OCTET_STRING_SEGMENTS) throw new BerError(`${what}: too many segments`, { limit: true });
    collectOctets(child, tag, out, what);
  }
}

/**
 * A fresh, non-shared copy. (`Buffer#slice` returns a view, not a copy, and a Buffer's memory may be a shared pool;
 * anything that will be wiped or handed out goes through here.)
 */
export function copyBytes(source: Uint8Array): Uint8Array {
  const out = new Uint8Array(source.length);
  out.set(source);
  return out;
}

/** A copy the caller owns, even of a single part (concatBytes hands that one back as it is). */
function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 && parts[0] ? copyBytes(parts[0]) : concatBytes(parts);
}

/**
 * The content of an OCTET STRING, primitive or BER-constructed (Windows and Java write constructed strings). With
 * `implicitTag`, accepts a context-specific [n] IMPLICIT OCTET STRING instead (EncryptedContentInfo's content).
 * Returns a copy the caller owns (and may wipe).
 */
export function octets(node: Node | undefined, what: string, implicitTag?: number): Uint8Array {
  if (!node) throw new BerError(`${what}: expected OCTET STRING, got nothing`);
  const ok =
    implicitTag === undefined
      ? isUniversal(node, TAG.OCTET_STRING)
      : node.idBlock.tagClass === TAG_CLASS_CONTEXT && node.idBlock.tagNumber === implicitTag;
  if (!ok) throw new BerError(`${what}: expected OCTET STRING, got ${describe(node)}`);
  const parts: Uint8Array[] = [];
  collectOctets(node, TAG.OCTET_STRING, parts, what);
  return concat(parts);
}

/**
 * A primitive BIT STRING: its content bytes (without the unused-bits octet, which asn1js strips) and the number of
 * unused bits in the last byte.
 */
export function bitString(node: Node | undefined, what: string): { bytes: Uint8Array; unusedBits: number } {
  if (!node || !isUniversal(node, TAG.BIT_STRING) || node.idBlock.isConstructed) {
    throw new BerError(`${what}: expected BIT STRING, got ${node ? describe(node) : 'nothing'}`);
  }
  const block = node.valueBlock as { valueHexView: Uint8Array; unusedBits: number };
  // X.690 section 8.6.2: an empty BIT STRING still has the unused-bits octet, and then it must be 0.
  if (node.lenBlock.length === 0) {
    throw new BerError(`${what}: BIT STRING without content`);
  }
  if (block.unusedBits > 7 || (block.valueHexView.length === 0 && block.unusedBits !== 0)) {
    throw new BerError(`${what}: bad unused-bits count`);
  }
  return { bytes: block.valueHexView, unusedBits: block.unusedBits };
}

/** The single element inside an EXPLICIT context-specific tag [n]. */
export function explicit(node: Node | undefined, tagNumber: number, what: string): Node {
  if (
    !node ||
    node.idBlock.tagClass !== TAG_CLASS_CONTEXT ||
    node.idBlock.tagNumber !== tagNumber ||
    !node.idBlock.isConstructed
  ) {
    throw new BerError(`${what}: expected [${tagNumber}], got ${node ? describe(node) : 'nothing'}`);
  }
  const inner = children(node);
  if (inner.length !== 1 || !inner[0]) throw new BerError(`${what}: [${tagNumber}] must hold exactly one value`);
  return inner[0];
}

/** Whether `node` is a context-specific [n] tag (either form). */
export function isContextTag(node: Node | undefined, tagNumber: number): boolean {
  return node !== undefined && node.idBlock.tagClass === TAG_CLASS_CONTEXT && node.idBlock.tagNumber === tagNumber;
}

/** The encoding of `node` exactly as it appeared in the input. */
export function encodingOf(node: Node): Uint8Array {
  return node.valueBeforeDecodeView;
}

/** An AlgorithmIdentifier: its OID and the parameters node (absent, or NULL, is `undefined`). */
export function algorithmIdentifier(node: Node | undefined, what: string): { oid: string; params: Node | undefined } {
  const [id, params, ...rest] = sequence(node, what);
  if (rest.length > 0) throw new BerError(`${what}: too many fields`);
  return { oid: oid(id, `${what} algorithm`), params: params && !isTag(params, TAG.NULL) ? params : undefined };
}
