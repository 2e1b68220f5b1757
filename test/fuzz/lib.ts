/**
 * Seeded, reproducible mutators for the fuzz harness (issue 6, "Fuzzing"). Every input is a pure function of
 * (run seed, target name, input index): `inputRng` gives the generator, the mutators only draw from it, so any input
 * a run reports can be made again from those three values (`FUZZ_SEED=... FUZZ_TARGETS=... FUZZ_FROM=...`).
 *
 * Three families, picked per target by the kind of bytes it reads:
 *  - generic byte mutations (bit flips, interesting byte values, insert/delete/duplicate/overwrite ranges, splice
 *    with another seed, truncate, append),
 *  - ASN.1-aware mutations on a lenient TLV tree (BER definite and indefinite lengths; OCTET/BIT STRINGs whose
 *    content is itself DER are opened, so extensions, eContent and signed attributes are reached): change a tag,
 *    delete/duplicate/swap/graft a node, replace a value by interesting integers or OIDs seen in the seeds, nest a
 *    node deeper, then re-encode with correct lengths and optionally break one length (0x80 indefinite, long form,
 *    non-minimal, off by one, huge),
 *  - MIME-aware mutations on the text (line ends CRLF/LF/CR, header lines deleted/duplicated/replaced/huge/many,
 *    Content-Type and transfer-encoding values, boundary lines removed/duplicated/misplaced/renamed, base64 bodies
 *    decoded, mutated as ASN.1 and re-encoded, or corrupted as text, deep wrapping).
 */
import { joinPieces } from '../../backend/src/smime/mime/index.ts';
import { Rng } from '../helpers/rng.ts';

/** Inputs never grow past this: a mutation that would is cut back (the limits tests cover the huge cases). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------------------------

export { Rng };

/** FNV-1a over the run seed, the target and the index: the seed of one input's generator. */
export function inputSeed(seed: number, target: string, index: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const text = `${target}#${index}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function inputRng(seed: number, target: string, index: number): Rng {
  return new Rng(inputSeed(seed, target, index));
}

// ---------------------------------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------------------------------

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
const fromLatin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function cap(b: Uint8Array): Uint8Array {
  return b.length > MAX_INPUT_BYTES ? b.subarray(0, MAX_INPUT_BYTES) : b;
}

const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x0a, 0x0d, 0x10, 0x1f, 0x20, 0x2d, 0x30, 0x31, 0x3d, 0x7f, 0x80, 0x81, 0x82,
  0x83, 0x84, 0x88, 0xa0, 0xa1, 0xfe, 0xff,
];

// ---------------------------------------------------------------------------------------------------------------
// Generic byte mutations
// ---------------------------------------------------------------------------------------------------------------

export type Mutator = (input: Uint8Array, rng: Rng, pool: readonly Uint8Array[]) => Uint8Array;

function range(input: Uint8Array, rng: Rng): [number, number] {
  const start = rng.int(input.length + 1);
  const len = rng.small(Math.max(1, Math.min(input.length - start, 4096)));
  return [start, Math.min(input.length, start + len)];
}

export const BYTE_MUTATORS: Record<string, Mutator> = {
  bitFlip(input, rng) {
    const b = new Uint8Array(input);
    if (b.length === 0) return b;
    for (let n = rng.small(8); n > 0; n--) {
      const at = rng.int(b.length);
      b[at]! ^= 1 << rng.int(8);
    }
    return b;
  },
  interestingByte(input, rng) {
    const b = new Uint8Array(input);
    if (b.length === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
    b[rng.int(b.length)] = rng.chance(0.8) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    return b;
  },
  insertBytes(input, rng) {
    const at = rng.int(input.length + 1);
    const insert = rng.chance(0.5)
      ? rng.bytes(rng.small(32))
      : new Uint8Array(rng.small(64)).fill(rng.pick(INTERESTING_BYTES));
    return joinPieces([input.subarray(0, at), insert, input.subarray(at)]);
  },
  deleteRange(input, rng) {
    const [s, e] = range(input, rng);
    return joinPieces([input.subarray(0, s), input.subarray(e)]);
  },
  duplicateRange(input, rng) {
    const [s, e] = range(input, rng);
    const copies = rng.chance(0.1) ? rng.small(64) : 1;
    const parts = [input.subarray(0, e)];
    for (let i = 0; i < copies; i++) parts.push(input.subarray(s, e));
    parts.push(input.subarray(e));
    return cap(joinPieces(parts));
  },
  overwriteRange(input, rng) {
    const b = new Uint8Array(input);
    const [s, e] = range(input, rng);
    const to = rng.int(Math.max(1, b.length - (e - s)));
    b.copyWithin(to, s, e);
    return b;
  },
  zeroRange(input, rng) {
    const b = new Uint8Array(input);
    const [s, e] = range(input, rng);
    b.fill(rng.chance(0.5) ? 0 : 0xff, s, e);
    return b;
  },
  truncate(input, rng) {
    return input.subarray(0, rng.int(input.length + 1));
  },
  append(input, rng) {
    return joinPieces([
      input,
      rng.chance(0.5) ? rng.bytes(rng.small(64)) : input.subarray(0, rng.int(input.length + 1)),
    ]);
  },
  splice(input, rng, pool) {
    const other = pool.length ? rng.pick(pool) : input;
    return cap(joinPieces([input.subarray(0, rng.int(input.length + 1)), other.subarray(rng.int(other.length + 1))]));
  },
};

// ---------------------------------------------------------------------------------------------------------------
// ASN.1: a lenient TLV tree, re-encoded with correct lengths
// ---------------------------------------------------------------------------------------------------------------

export interface Tlv {
  /** Identifier octets as read (one, or several for high tag numbers). */
  tag: Uint8Array;
  /** Constructed (or an OCTET/BIT STRING opened because its content is DER). */
  children?: Tlv[];
  /** Primitive content. */
  value?: Uint8Array;
  /** BER indefinite length: written back as 0x80 ... 00 00. */
  indefinite?: boolean;
  /** An opened BIT STRING keeps its unused-bits octet here. */
  bitPrefix?: number;
}

const MAX_TREE_DEPTH = 64;
const MAX_TREE_NODES = 20_000;

interface ParseState {
  nodes: number;
}

function readHeader(
  b: Uint8Array,
  at: number,
): { tag: Uint8Array; constructed: boolean; len: number | 'indefinite'; headerEnd: number } | undefined {
  const start = at;
  if (at >= b.length) return undefined;
  const first = b[at++]!;
  if ((first & 0x1f) === 0x1f) {
    let n = 0;
    while (at < b.length && b[at]! & 0x80) {
      at++;
      if (++n > 4) return undefined;
    }
    if (at >= b.length) return undefined;
    at++;
  }
  const tag = b.subarray(start, at);
  if (at >= b.length) return undefined;
  const l = b[at++]!;
  let len: number | 'indefinite';
  if (l < 0x80) len = l;
  else if (l === 0x80) len = 'indefinite';
  else {
    const n = l & 0x7f;
    if (n > 4 || at + n > b.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at++]!;
  }
  return { tag, constructed: (first & 0x20) !== 0, len, headerEnd: at };
}

/** TLVs filling b[from, to) exactly (or up to an end-of-contents when `untilEoc`), or undefined. */
function parseSeq(
  b: Uint8Array,
  from: number,
  to: number,
  depth: number,
  state: ParseState,
  untilEoc: boolean,
): { nodes: Tlv[]; end: number } | undefined {
  const nodes: Tlv[] = [];
  let at = from;
  while (at < to) {
    if (untilEoc && b[at] === 0 && b[at + 1] === 0) return { nodes, end: at + 2 };
    const r = parseOne(b, at, to, depth, state);
    if (!r) return undefined;
    nodes.push(r.node);
    at = r.end;
  }
  if (untilEoc) return undefined;
  return { nodes, end: at };
}

function parseOne(
  b: Uint8Array,
  at: number,
  to: number,
  depth: number,
  state: ParseState,
): { node: Tlv; end: number } | undefined {
  if (depth > MAX_TREE_DEPTH || ++state.nodes > MAX_TREE_NODES) return undefined;
  const h = readHeader(b, at);
  if (!h) return undefined;
  if (h.len === 'indefinite') {
    if (!h.constructed) return undefined;
    const inner = parseSeq(b, h.headerEnd, to, depth + 1, state, true);
    if (!inner) return undefined;
    return { node: { tag: h.tag, children: inner.nodes, indefinite: true }, end: inner.end };
  }
  const end = h.headerEnd + h.len;
  if (end > to) return undefined;
  if (h.constructed) {
    const inner = parseSeq(b, h.headerEnd, end, depth + 1, state, false);
    if (!inner) return { node: { tag: h.tag, value: b.subarray(h.headerEnd, end) }, end };
    return { node: { tag: h.tag, children: inner.nodes }, end };
  }
  const value = b.subarray(h.headerEnd, end);
  // OCTET STRING (0x04) or BIT STRING (0x03) holding DER: open it (extensions, eContent, signed attributes, keys).
  const t = h.tag.length === 1 ? h.tag[0]! : -1;
  if ((t === 0x04 || t === 0x80 || t === 0x81) && value.length >= 2 && (value[0] === 0x30 || value[0] === 0x31)) {
    const inner = parseSeq(b, h.headerEnd, end, depth + 1, state, false);
    if (inner && inner.nodes.length > 0) return { node: { tag: h.tag, children: inner.nodes }, end };
  }
  if (t === 0x03 && value.length >= 3 && value[0] === 0 && value[1] === 0x30) {
    const inner = parseSeq(b, h.headerEnd + 1, end, depth + 1, state, false);
    if (inner && inner.nodes.length > 0) return { node: { tag: h.tag, children: inner.nodes, bitPrefix: 0 }, end };
  }
  return { node: { tag: h.tag, value }, end };
}

/** The TLV tree of `b`, or undefined when it is not (BER) TLVs all the way. */
export function parseTlvTree(b: Uint8Array): Tlv[] | undefined {
  const r = parseSeq(b, 0, b.length, 0, { nodes: 0 }, false);
  return r && r.nodes.length > 0 ? r.nodes : undefined;
}

function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Uint8Array.of(0x80 | out.length, ...out);
}

/** Where each length field was written: the mutation that breaks one length needs to find them. */
export interface LengthField {
  offset: number;
  size: number;
}

export function encodeTlvs(nodes: readonly Tlv[], fields?: LengthField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (p: Uint8Array) => {
    parts.push(p);
    offset += p.length;
  };
  const write = (node: Tlv) => {
    push(node.tag);
    if (node.children) {
      // Encode the content first to know its length; fields inside are shifted afterwards.
      const innerFields: LengthField[] = [];
      const content = encodeTlvs(node.children, fields ? innerFields : undefined);
      const body = node.bitPrefix !== undefined ? joinPieces([Uint8Array.of(node.bitPrefix), content]) : content;
      const shift = node.bitPrefix !== undefined ? 1 : 0;
      if (node.indefinite) {
        fields?.push({ offset, size: 1 });
        push(Uint8Array.of(0x80));
        for (const f of innerFields) fields?.push({ offset: offset + shift + f.offset, size: f.size });
        push(body);
        push(Uint8Array.of(0, 0));
      } else {
        const len = lengthBytes(body.length);
        fields?.push({ offset, size: len.length });
        push(len);
        for (const f of innerFields) fields?.push({ offset: offset + shift + f.offset, size: f.size });
        push(body);
      }
    } else {
      const value = node.value ?? new Uint8Array(0);
      const len = lengthBytes(value.length);
      fields?.push({ offset, size: len.length });
      push(len);
      push(value);
    }
  };
  for (const n of nodes) write(n);
  return joinPieces(parts);
}

interface Located {
  node: Tlv;
  parent: Tlv[];
  index: number;
  depth: number;
}

function flatten(nodes: Tlv[], out: Located[] = [], depth = 0): Located[] {
  nodes.forEach((node, index) => {
    out.push({ node, parent: nodes, index, depth });
    if (node.children) flatten(node.children, out, depth + 1);
  });
  return out;
}

function cloneTree(nodes: readonly Tlv[]): Tlv[] {
  return nodes.map((n) => ({ ...n, ...(n.children ? { children: cloneTree(n.children) } : {}) }));
}

const INTERESTING_TAGS = [
  0x30, 0x31, 0x02, 0x03, 0x04, 0x24, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4,
  0x80, 0x81, 0x82, 0x86, 0x01, 0x00,
];
const INTERESTING_INTEGERS: Uint8Array[] = [
  Uint8Array.of(),
  Uint8Array.of(0),
  Uint8Array.of(1),
  Uint8Array.of(2),
  Uint8Array.of(3),
  Uint8Array.of(4),
  Uint8Array.of(5),
  Uint8Array.of(0x7f),
  Uint8Array.of(0x80),
  Uint8Array.of(0xff),
  Uint8Array.of(0x00, 0x80),
  Uint8Array.of(0x00, 0x00, 0x01),
  Uint8Array.of(0x7f, 0xff, 0xff, 0xff),
  Uint8Array.of(0x80, 0x00, 0x00, 0x00),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x0f, 0x42, 0x40), // 1,000,000 iterations
  Uint8Array.of(0x0f, 0x42, 0x41),
  Uint8Array.of(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
  new Uint8Array(600).fill(0x7f),
];

/** Values of every OID and small INTEGER in the seeds: a dictionary to swap them with each other. */
export interface AsnDictionary {
  oids: Uint8Array[];
  trees: Tlv[][];
}

export function asnDictionary(seeds: readonly Uint8Array[]): AsnDictionary {
  const oids = new Map<string, Uint8Array>();
  const trees: Tlv[][] = [];
  for (const s of seeds) {
    const tree = parseTlvTree(s);
    if (!tree) continue;
    trees.push(tree);
    for (const { node } of flatten(tree)) {
      if (node.tag.length === 1 && node.tag[0] === 0x06 && node.value)
        oids.set(Buffer.from(node.value).toString('hex'), node.value);
    }
  }
  return { oids: [...oids.values()], trees };
}

function mutateTree(tree: Tlv[], rng: Rng, dict: AsnDictionary): void {
  const all = flatten(tree);
  if (all.length === 0) return;
  const at = rng.pick(all);
  const { node, parent, index } = at;
  switch (rng.int(11)) {
    case 0: {
      // change a tag (keeping the content), or flip its constructed bit
      if (rng.chance(0.2)) node.tag = Uint8Array.of(node.tag[0]! ^ 0x20, ...node.tag.subarray(1));
      else if (rng.chance(0.1)) node.tag = Uint8Array.of(0x1f | (node.tag[0]! & 0xe0), 0x81, rng.int(128));
      else
        node.tag = Uint8Array.of(
          (rng.pick(INTERESTING_TAGS) & ~0x20) | (node.children ? 0x20 : 0) | (rng.chance(0.1) ? 0x20 : 0),
        );
      return;
    }
    case 1:
      parent.splice(index, 1);
      return;
    case 2: {
      const copies = rng.chance(0.15) ? rng.small(200) : 1;
      for (let i = 0; i < copies; i++) parent.splice(index + 1, 0, cloneTree([node])[0]!);
      return;
    }
    case 3: {
      const j = rng.int(parent.length);
      [parent[index], parent[j]] = [parent[j]!, parent[index]!];
      return;
    }
    case 4: {
      // replace a primitive value
      if (node.children) {
        node.children = undefined;
        node.bitPrefix = undefined;
        node.indefinite = undefined;
      }
      const t = node.tag[0]!;
      if (t === 0x06 && dict.oids.length && rng.chance(0.7)) node.value = rng.pick(dict.oids);
      else if ((t === 0x02 || t === 0x0a) && rng.chance(0.8)) node.value = rng.pick(INTERESTING_INTEGERS);
      else if (rng.chance(0.5)) node.value = rng.bytes(rng.small(64));
      else if (node.value && node.value.length > 0) node.value = node.value.subarray(0, rng.int(node.value.length));
      else node.value = new Uint8Array(0);
      return;
    }
    case 5: {
      // nest deeper: wrap the node in SEQUENCEs, SETs or explicit [0]s
      const levels = rng.chance(0.2) ? rng.small(300) : 1 + rng.int(3);
      let wrapped: Tlv = node;
      for (let i = 0; i < levels; i++)
        wrapped = {
          tag: Uint8Array.of(rng.pick([0x30, 0x31, 0xa0, 0x24])),
          children: [wrapped],
          ...(rng.chance(0.1) ? { indefinite: true } : {}),
        };
      parent[index] = wrapped;
      return;
    }
    case 6: {
      // graft a subtree from another seed (or this one) in place of this node
      const donor = dict.trees.length ? flatten(rng.pick(dict.trees)) : all;
      if (donor.length) parent[index] = cloneTree([rng.pick(donor).node])[0]!;
      return;
    }
    case 7: {
      // a value swapped for another OID of the dictionary
      const oidNodes = all.filter((l) => l.node.tag[0] === 0x06);
      if (oidNodes.length && dict.oids.length) rng.pick(oidNodes).node.value = rng.pick(dict.oids);
      return;
    }
    case 8: {
      // an INTEGER (version, iteration count, key length) set to an interesting value
      const ints = all.filter((l) => l.node.tag[0] === 0x02 && l.node.value && l.node.value.length <= 4);
      if (ints.length) rng.pick(ints).node.value = rng.pick(INTERESTING_INTEGERS);
      return;
    }
    case 9: {
      // switch between definite and indefinite length on a constructed node
      const cons = all.filter((l) => l.node.children);
      if (cons.length) {
        const c = rng.pick(cons).node;
        c.indefinite = !c.indefinite;
        if (c.indefinite) c.tag = Uint8Array.of(c.tag[0]! | 0x20, ...c.tag.subarray(1));
      }
      return;
    }
    default: {
      // a primitive value's bytes bit-flipped or truncated (values of OCTET STRINGs, BIT STRINGs, INTEGERs)
      const prims = all.filter((l) => l.node.value && l.node.value.length > 0);
      if (!prims.length) return;
      const p = rng.pick(prims).node;
      p.value = BYTE_MUTATORS[rng.pick(['bitFlip', 'interestingByte', 'truncate', 'insertBytes'])]!(p.value!, rng, []);
      return;
    }
  }
}

/** Breaks one length field of a re-encoded tree: indefinite, long form, non-minimal, off by one, huge. */
function breakLength(bytes: Uint8Array, fields: readonly LengthField[], rng: Rng): Uint8Array {
  if (!fields.length) return bytes;
  const f = rng.pick(fields);
  const current = bytes.subarray(f.offset, f.offset + f.size);
  let len = 0;
  if (current[0]! < 0x80) len = current[0]!;
  else for (const b of current.subarray(1)) len = len * 256 + b;
  const choices: Uint8Array[] = [
    Uint8Array.of(0x80),
    Uint8Array.of(0x81, Math.max(0, len - 1) & 0xff),
    Uint8Array.of(0x82, (len >> 8) & 0xff, len & 0xff),
    Uint8Array.of(0x84, 0, 0, (len >> 8) & 0xff, len & 0xff),
    Uint8Array.of(0x84, 0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0xff),
    Uint8Array.of(0x00),
    lengthBytes(len + 1),
    lengthBytes(Math.max(0, len - 1)),
    lengthBytes(len + 1 + rng.int(1000)),
  ];
  return joinPieces([bytes.subarray(0, f.offset), rng.pick(choices), bytes.subarray(f.offset + f.size)]);
}

/** One ASN.1-aware mutation (a few tree edits, then possibly a broken length), or undefined if `input` is no TLV. */
export function mutateAsn1(input: Uint8Array, rng: Rng, dict: AsnDictionary): Uint8Array | undefined {
  const tree = parseTlvTree(input);
  if (!tree) return undefined;
  const edits = rng.small(4);
  for (let i = 0; i < edits; i++) mutateTree(tree, rng, dict);
  const fields: LengthField[] = [];
  let out = encodeTlvs(tree, fields);
  if (rng.chance(0.2)) out = breakLength(out, fields, rng);
  return cap(out);
}

/** A binary input: mostly ASN.1-aware edits, sometimes raw bytes, stacked 1 to a few times. */
export function mutateDer(input: Uint8Array, rng: Rng, pool: readonly Uint8Array[], dict: AsnDictionary): Uint8Array {
  let out = input;
  const rounds = rng.small(4);
  for (let i = 0; i < rounds; i++) {
    let next: Uint8Array | undefined;
    // Tree edits keep every length right, so they reach deeper than raw bytes, which mostly break the outer shape.
    if (rng.chance(0.8)) next = mutateAsn1(out, rng, dict);
    out = next ?? BYTE_MUTATORS[rng.pick(Object.keys(BYTE_MUTATORS))]!(out, rng, pool);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// MIME
// ---------------------------------------------------------------------------------------------------------------

const CONTENT_TYPES = [
  'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b1"',
  'multipart/signed; protocol="application/x-pkcs7-signature"; boundary=',
  'multipart/signed; boundary="b1"',
  'multipart/mixed; boundary="b1"',
  'multipart/mixed',
  'multipart/alternative; boundary=""',
  `multipart/mixed; boundary="${'x'.repeat(300)}"`,
  'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m',
  'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m',
  'application/x-pkcs7-mime; smime-type=authEnveloped-data',
  'application/pkcs7-mime; smime-type=certs-only',
  'application/octet-stream; name="smime.p7m"',
  'application/pkcs7-signature; name=smime.p7s',
  'message/rfc822',
  'text/plain; charset=utf-8',
  "text/plain; charset*0*=utf-8''%C3; charset*1*=%A9",
  'text/plain; charset="',
  ';;;',
  '',
  '/',
  'multipart/',
];
const TRANSFER_ENCODINGS = [
  'base64',
  'quoted-printable',
  '7bit',
  '8bit',
  'binary',
  'x-uuencode',
  'BASE64',
  'base64 ; x',
  '',
  'quoted-printable=?',
];
const HEADER_NAMES = [
  'Content-Type',
  'Content-Transfer-Encoding',
  'From',
  'To',
  'Subject',
  'MIME-Version',
  'Content-Disposition',
  'X-Junk',
];
const ADDRESSES = [
  '"A, B" <a@b.c>, (c) d@e.f',
  '<>',
  'undisclosed-recipients:;',
  '=?utf-8?b?w6k=?= <x@y.z>',
  '@@@',
  '"unterminated <a@b.c>',
  'a@b.c'.repeat(200),
  'group: a@b.c, ; x@y',
];

const BASE64_LINE = /^[A-Za-z0-9+/=]{8,}\r?$/;

function lineEnd(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function boundariesOf(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))/gi)) out.add(m[1] ?? m[2] ?? '');
  return [...out].filter((b) => b !== '');
}

/** [start, end) of each run of base64 lines (a base64 body). */
function base64Blocks(lines: string[]): [number, number][] {
  const blocks: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= lines.length; i++) {
    const ok = i < lines.length && BASE64_LINE.test(lines[i]!);
    if (ok && start < 0) start = i;
    if (!ok && start >= 0) {
      if (i - start >= 1) blocks.push([start, i]);
      start = -1;
    }
  }
  return blocks;
}

function headerLineIndexes(lines: string[]): number[] {
  const out: number[] = [];
  lines.forEach((l, i) => {
    if (/^[A-Za-z][A-Za-z0-9-]*:/.test(l)) out.push(i);
  });
  return out;
}

export const MIME_MUTATORS: Record<
  string,
  (text: string, rng: Rng, dict: AsnDictionary, pool: readonly Uint8Array[]) => string
> = {
  lineEnds(text, rng) {
    switch (rng.int(4)) {
      case 0:
        return text.replace(/\r\n/g, '\n');
      case 1:
        return text.replace(/\r?\n/g, '\r\n');
      case 2:
        return text.replace(/\r?\n/g, (m) => (rng.chance(0.05) ? rng.pick(['\r', '\n', '\r\r\n', '\n\r']) : m));
      default:
        return text.replace(/\r\n/g, (m) => (rng.chance(0.5) ? '\n' : m));
    }
  },
  headerLine(text, rng) {
    const nl = lineEnd(text);
    const lines = text.split(/\r?\n/);
    const headers = headerLineIndexes(lines);
    if (!headers.length) return text;
    const i = rng.pick(headers);
    const [name] = lines[i]!.split(':');
    switch (rng.int(7)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[i]!);
        break;
      case 2:
        lines[i] =
          `${name}: ${name!.toLowerCase() === 'content-type' ? rng.pick(CONTENT_TYPES) : name!.toLowerCase() === 'content-transfer-encoding' ? rng.pick(TRANSFER_ENCODINGS) : rng.pick(ADDRESSES)}`;
        break;
      case 3:
        lines[i] = `${lines[i]}${'A'.repeat(rng.chance(0.5) ? 110_000 : 2000)}`;
        break;
      case 4: {
        const many = Array.from({ length: rng.chance(0.3) ? 5100 : 50 }, (_, k) => `X-H${k}: v`);
        lines.splice(i, 0, ...many);
        break;
      }
      case 5:
        // fold it oddly: continuation lines, an empty continuation, a NUL or 8-bit byte
        lines[i] =
          `${lines[i]}${nl}${rng.pick([' ', '\t', ' \t', ''])}${rng.pick(['x', '', '\0', '\u00ff\u00fe', '=?utf-8?q?=FF?='])}`;
        break;
      default:
        lines.splice(
          i,
          0,
          `${rng.pick(HEADER_NAMES)}:${rng.pick([...CONTENT_TYPES, ...TRANSFER_ENCODINGS, ...ADDRESSES])}`,
        );
    }
    return lines.join(nl);
  },
  contentType(text, rng) {
    const re = /^Content-Type:[^\r\n]*(\r?\n[ \t][^\r\n]*)*/gim;
    const found = [...text.matchAll(re)];
    if (!found.length) return `Content-Type: ${rng.pick(CONTENT_TYPES)}\r\n${text}`;
    const m = rng.pick(found);
    const keepBoundary = boundariesOf(m[0])[0];
    let ct = rng.pick(CONTENT_TYPES);
    if (keepBoundary && rng.chance(0.6)) ct = ct.replace(/boundary=("[^"]*"|[^;\s]*)/, `boundary="${keepBoundary}"`);
    return text.slice(0, m.index!) + `Content-Type: ${ct}` + text.slice(m.index! + m[0].length);
  },
  boundary(text, rng) {
    const boundaries = boundariesOf(text);
    if (!boundaries.length) return text;
    const b = rng.pick(boundaries);
    const nl = lineEnd(text);
    const lines = text.split(/\r?\n/);
    const delims = lines.map((l, i) => (l.startsWith(`--${b}`) ? i : -1)).filter((i) => i >= 0);
    switch (rng.int(6)) {
      case 0:
        if (delims.length) lines.splice(rng.pick(delims), 1);
        break;
      case 1:
        if (delims.length) {
          const i = rng.pick(delims);
          lines.splice(i, 0, lines[i]!);
        }
        break;
      case 2:
        if (delims.length) {
          const i = rng.pick(delims);
          lines[i] = lines[i]!.endsWith('--') ? lines[i]!.slice(0, -2) : `${lines[i]}--`;
        }
        break;
      case 3:
        lines.splice(rng.int(lines.length + 1), 0, `--${b}${rng.pick(['', '--', ' ', '\t', 'x'])}`);
        break;
      case 4:
        // rename the boundary in the header only: no delimiter matches any more
        return text.replace(
          new RegExp(`boundary\\s*=\\s*"?${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?`, 'i'),
          `boundary="${rng.pick(['', 'z', b.slice(0, -1), b + b, 'q'.repeat(257)])}"`,
        );
      default:
        // a part whose first line is the boundary of its parent (a part that ends at once) or of a sibling
        if (delims.length) lines.splice(rng.pick(delims) + 1, 0, `--${rng.pick(boundaries)}`);
    }
    return lines.join(nl);
  },
  base64Body(text, rng, dict, pool) {
    const nl = lineEnd(text);
    const lines = text.split(/\r?\n/);
    const blocks = base64Blocks(lines);
    if (!blocks.length) return text;
    const [s, e] = rng.pick(blocks);
    const encoded = lines.slice(s, e).join('');
    if (rng.chance(0.25)) {
      // corrupt the base64 text itself
      const chars = encoded.split('');
      for (let n = rng.small(6); n > 0; n--)
        chars.splice(
          rng.int(chars.length + 1),
          rng.int(2),
          rng.pick(['=', '==', '!', '-', '_', '\u00e9', ' ', '.', 'A']),
        );
      const redone = chars.join('').match(/.{1,76}/g) ?? [''];
      lines.splice(s, e - s, ...redone);
      return lines.join(nl);
    }
    const decoded = new Uint8Array(Buffer.from(encoded, 'base64'));
    const mutated = mutateDer(decoded, rng, pool, dict);
    const width = rng.pick([64, 76, 76, 1000, 0]);
    const b64 = Buffer.from(mutated).toString('base64');
    const redone = width === 0 ? [b64] : (b64.match(new RegExp(`.{1,${width}}`, 'g')) ?? ['']);
    lines.splice(s, e - s, ...redone);
    return lines.join(nl);
  },
  wrap(text, rng) {
    const nl = lineEnd(text);
    const levels = rng.chance(0.2) ? rng.small(60) : 1;
    let out = text;
    for (let i = 0; i < levels; i++) {
      switch (rng.int(3)) {
        case 0:
          out = `Content-Type: multipart/mixed; boundary="w${i}"${nl}${nl}--w${i}${nl}${out}${nl}--w${i}--${nl}`;
          break;
        case 1:
          out = `Content-Type: message/rfc822${nl}${nl}${out}`;
          break;
        default:
          out = `Content-Type: application/pkcs7-mime; smime-type=signed-data${nl}Content-Transfer-Encoding: base64${nl}${nl}${Buffer.from(out, 'latin1').toString('base64')}${nl}`;
      }
    }
    return out;
  },
  spliceMessages(text, rng, _dict, pool) {
    const other = pool.length ? latin1(rng.pick(pool)) : text;
    const cut = (t: string) => {
      const i = t.search(/\r?\n\r?\n/);
      return i < 0 ? t.length : i;
    };
    return rng.chance(0.5)
      ? text.slice(0, cut(text)) + other.slice(cut(other))
      : text.slice(0, rng.int(text.length + 1)) + other.slice(rng.int(other.length + 1));
  },
};

/** A MIME message: mostly MIME-aware edits, some raw byte edits, stacked. */
export function mutateMime(input: Uint8Array, rng: Rng, pool: readonly Uint8Array[], dict: AsnDictionary): Uint8Array {
  let out = input;
  const rounds = rng.small(3);
  for (let i = 0; i < rounds; i++) {
    if (rng.chance(0.8)) {
      const name = rng.pick(Object.keys(MIME_MUTATORS));
      // base64 bodies (the CMS inside S/MIME) weigh double: that is where the hostile bytes sit.
      const pickName = rng.chance(0.3) ? 'base64Body' : name;
      out = fromLatin1(MIME_MUTATORS[pickName]!(latin1(out), rng, dict, pool));
    } else {
      out = BYTE_MUTATORS[rng.pick(Object.keys(BYTE_MUTATORS))]!(out, rng, pool);
    }
  }
  return cap(out);
}

/** PEM text: the armour lines and whitespace edited, or the base64 decoded, mutated as DER and re-armoured. */
export function mutatePem(input: Uint8Array, rng: Rng, pool: readonly Uint8Array[], dict: AsnDictionary): Uint8Array {
  let text = latin1(input);
  const rounds = rng.small(3);
  for (let i = 0; i < rounds; i++) {
    switch (rng.int(6)) {
      case 0:
        text = text.replace(/-----(BEGIN|END) ([A-Z0-9 ]+)-----/, (_m, which: string, label: string) =>
          rng.pick([
            `-----${which} ${label}----`,
            `-----${which} X509 ${label}-----`,
            `-----${which}  ${label}-----`,
            `----- ${which} ${label}-----`,
            `-----${which === 'BEGIN' ? 'END' : 'BEGIN'} ${label}-----`,
            '',
          ]),
        );
        break;
      case 1:
        text = text.replace(/\n/g, (m) => (rng.chance(0.1) ? rng.pick(['\r\n', '', ' ', '\n\n', '\t']) : m));
        break;
      case 2:
      case 3:
        text = MIME_MUTATORS.base64Body!(text, rng, dict, pool);
        break;
      case 4:
        text = text + text.slice(0, rng.int(text.length + 1));
        break;
      default:
        text = latin1(BYTE_MUTATORS[rng.pick(Object.keys(BYTE_MUTATORS))]!(fromLatin1(text), rng, pool));
    }
  }
  return cap(fromLatin1(text));
}
