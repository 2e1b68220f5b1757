/**
 * Header protection (RFC 9788): the message's header fields travel inside the cryptographic payload, so a signature
 * covers them and encryption hides them, and a reader shows the protected copies in place of the outer ones.
 *
 * Writing (section 2): the cryptographic payload (the innermost signed or encrypted entity) carries a copy of every
 * non-structural header field, and its Content-Type gets `hp="cipher"` when the message is encrypted, `hp="clear"`
 * when it is only signed. An encrypted message also lists, in `HP-Outer` fields inside the payload, the outer fields
 * as they were sent, and its outer fields follow the baseline Header Confidentiality Policy (section 3.2.1,
 * hcp_baseline): Subject becomes "[...]", Keywords and Comments are left out, everything else stays, since relays
 * and the recipient's mailbox need From, To, Cc, Date and Message-ID. No Legacy Display Element is written: it is
 * meant for readers without header protection, and those show the "[...]" subject whatever the body says.
 *
 * Reading (section 4): a payload with `hp` is read as protected headers. A field a reader relies on (From, To, Cc,
 * Reply-To, Subject, Date, Message-ID) that differs outside is flagged: for `hp="clear"` against the protected copy
 * (someone changed a signed field on the way), for `hp="cipher"` against the HP-Outer copy (the outside is not what
 * the sender sent; an obscured Subject is what it should be). A Legacy Display Element (a text part marked
 * `hp-legacy-display="1"` whose first lines repeat the headers) is reported so a host can leave those lines out.
 */
import { SmimeError } from '../errors.ts';
import {
  decodeBody,
  decodeEncodedWords,
  encodeBase64Lines,
  encodeQuotedPrintable,
  formatContentType,
  formatHeaderField,
  joinPieces,
  type MimeEntity,
  type MimeHeader,
} from '../mime/index.ts';
import type { HeaderMismatch, HeaderProtection, HeaderProtectionMode, ProtectedField } from '../types.ts';

/** The Subject an encrypted message shows outside under hcp_baseline (RFC 9788 section 3.2.1). */
export const OBSCURED_SUBJECT = '[...]';

/** Fields hcp_baseline leaves out of an encrypted message's outer header. */
const BASELINE_REMOVED: ReadonlySet<string> = new Set(['keywords', 'comments']);

/** The fields a reader shows and relies on: a difference in one of them between outside and inside is flagged. */
export const USER_FACING_FIELDS: readonly string[] = ['from', 'to', 'cc', 'reply-to', 'subject', 'date', 'message-id'];

/** A field that is not part of the entity's structure: the fields that describe the message, not its body. */
function isMessageField(h: MimeHeader): boolean {
  const name = h.name.toLowerCase();
  return !name.startsWith('content-') && name !== 'mime-version';
}

function field(name: string, value: string): MimeHeader {
  const line = `${formatHeaderField(name, value)}\r\n`;
  return { name, value, raw: Buffer.from(line, 'latin1') };
}

/** hcp_baseline (RFC 9788 section 3.2.1) applied to an encrypted message's outer fields. */
export function baselineOuterFields(fields: readonly MimeHeader[]): MimeHeader[] {
  const out: MimeHeader[] = [];
  for (const h of fields) {
    const name = h.name.toLowerCase();
    if (BASELINE_REMOVED.has(name)) continue;
    out.push(name === 'subject' ? field(h.name, OBSCURED_SUBJECT) : h);
  }
  return out;
}

/**
 * The header fields of the cryptographic payload (RFC 9788 section 2.1): the protected copies of the message's fields
 * (`protectedFields`), for `cipher` one HP-Outer field per outer field as sent (`outerFields`), then the entity's own
 * Content-* fields, its Content-Type carrying `hp`. The caller canonicalises these with the entity.
 */
export function payloadFields(
  message: MimeEntity,
  protectedFields: readonly MimeHeader[],
  mode: HeaderProtectionMode,
  outerFields: readonly MimeHeader[],
): MimeHeader[] {
  if (message.contentType.mediaType === 'multipart/signed') {
    // Its bytes are copied verbatim (a signature inside): no parameter can be added to its Content-Type.
    throw new SmimeError(
      'OUTGOING_INVALID_OPTION',
      'header protection cannot be added to a message whose body is already multipart/signed',
    );
  }
  const contentType = field(
    'Content-Type',
    formatContentType(message.contentType.mediaType, { ...message.contentType.params, hp: mode }),
  );
  const content = message.headers.filter((h) => h.name.toLowerCase().startsWith('content-'));
  const typed = content.some((h) => h.name.toLowerCase() === 'content-type');
  // HP-Outer's value is the field as it is written outside (its non-ASCII text already in encoded words), unfolded.
  const hpOuter =
    mode === 'cipher'
      ? outerFields.map((h) => field('HP-Outer', formatHeaderField(h.name, h.value).replace(/\r?\n[ \t]/g, ' ')))
      : ([] as MimeHeader[]);
  let replaced = false;
  return [
    ...protectedFields,
    ...hpOuter,
    ...(typed ? [] : [contentType]),
    ...content.flatMap((h) => {
      if (h.name.toLowerCase() !== 'content-type') return [h];
      // Only the first Content-Type counts (and is the only one emitted, mime canonical.ts).
      if (replaced) return [];
      replaced = true;
      return [contentType];
    }),
  ];
}

// ---- reading ---------------------------------------------------------------------------------------------------

function decode(value: string): string {
  try {
    return decodeEncodedWords(value);
  } catch {
    return value;
  }
}

function valuesOf(fields: readonly ProtectedField[], name: string): string | undefined {
  const found = fields.filter((f) => f.name.toLowerCase() === name).map((f) => f.value);
  return found.length === 0 ? undefined : found.join(', ');
}

/** Whitespace-insensitive comparison: folding and relays' re-spacing are no change of meaning. */
function same(a: string | undefined, b: string | undefined): boolean {
  const norm = (s: string | undefined) => s?.replace(/\s+/g, ' ').trim();
  return norm(a) === norm(b);
}

/** `Name: value` of an HP-Outer field, or undefined when it is not one. */
function hpOuterField(value: string): ProtectedField | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const name = value.slice(0, colon).trim();
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) return undefined;
  return { name, value: decode(value.slice(colon + 1).trim()) };
}

function legacyDisplayParts(entity: MimeEntity, path: number[] = [], out: number[][] = []): number[][] {
  if (entity.contentType.type === 'text' && entity.contentType.params['hp-legacy-display'] === '1') out.push(path);
  // Not into embedded messages: a forwarded message's parts belong to that message.
  if (entity.contentType.type === 'multipart')
    entity.children.forEach((child, i) => legacyDisplayParts(child, [...path, i], out));
  return out;
}

/**
 * The header protection of an opened message: `outer` is the message as received, `payload` the innermost entity the
 * layers protect, `encrypted` whether an encrypted layer was opened on the way. Undefined when the payload declares
 * no `hp` (a message without header protection).
 */
export function readHeaderProtection(
  outer: MimeEntity,
  payload: MimeEntity,
  encrypted: boolean,
): HeaderProtection | undefined {
  const hp = payload.contentType.params['hp']?.toLowerCase();
  if (hp !== 'cipher' && hp !== 'clear') return undefined;
  const mode: HeaderProtectionMode = hp === 'cipher' && encrypted ? 'cipher' : 'clear';
  const fields: ProtectedField[] = [];
  const hpOuter: ProtectedField[] = [];
  for (const h of payload.headers) {
    if (!isMessageField(h)) continue;
    if (h.name.toLowerCase() === 'hp-outer') {
      const f = hpOuterField(h.value);
      if (f) hpOuter.push(f);
      continue;
    }
    fields.push({ name: h.name, value: decode(h.value) });
  }
  const outside: ProtectedField[] = outer.headers
    .filter(isMessageField)
    .map((h) => ({ name: h.name, value: decode(h.value) }));
  // What the outside should be: for cipher what the sender says it sent (HP-Outer), for clear the protected copy.
  // An encrypted payload without HP-Outer (RFC 9788 requires it, section 2.2) is held to its protected copy, but
  // with the Subject an HCP may have obscured.
  const withHpOuter = mode === 'cipher' && hpOuter.length > 0;
  const expectedFields = withHpOuter ? hpOuter : fields;
  const mismatches: HeaderMismatch[] = [];
  for (const name of USER_FACING_FIELDS) {
    const seen = valuesOf(outside, name);
    const expected = valuesOf(expectedFields, name);
    if (same(seen, expected)) continue;
    if (mode === 'cipher' && !withHpOuter && name === 'subject' && same(seen, OBSCURED_SUBJECT)) continue;
    mismatches.push({ field: name, outer: seen, expected });
  }
  return {
    mode,
    fields,
    ...(mode === 'cipher' ? { outer: hpOuter } : {}),
    mismatches,
    legacyDisplay: legacyDisplayParts(payload),
  };
}

/** The entity at `path` below `root`. */
function at(root: MimeEntity, path: readonly number[]): MimeEntity | undefined {
  let e: MimeEntity | undefined = root;
  for (const i of path) e = e?.children[i];
  return e;
}

/** A text/plain Legacy Display Element: the body's first lines through the first empty line (RFC 9788 4.5.3.2). */
const LEGACY_TEXT = /^(?:[^\r\n]*\r?\n)*?\r?\n/;
/** A text/html one: the first element of class header-protection-legacy-display (RFC 9788 section 4.5.3.3). */
const LEGACY_HTML = /<div\s[^>]*class\s*=\s*["']?header-protection-legacy-display["']?[^>]*>[\s\S]*?<\/div>\s*/i;

/**
 * `content` (the bytes `payload` was parsed from) without the Legacy Display Elements of the parts at `paths`: shown
 * beside the protected headers, they would say everything twice (RFC 9788 section 4.5.3). Each part keeps its
 * transfer encoding and header; a part whose element cannot be found or whose body cannot be decoded stays as it is.
 */
export function hideLegacyDisplay(content: Uint8Array, payload: MimeEntity, paths: readonly number[][]): Uint8Array {
  const edits: { start: number; end: number; bytes: Uint8Array }[] = [];
  for (const path of paths) {
    const part = at(payload, path);
    if (!part || part.children.length > 0) continue;
    let text: string;
    try {
      text = Buffer.from(decodeBody(part)).toString('latin1');
    } catch {
      continue;
    }
    const pattern = part.contentType.subtype === 'html' ? LEGACY_HTML : LEGACY_TEXT;
    const stripped = text.replace(pattern, '');
    if (stripped === text) continue;
    const plain = Buffer.from(stripped, 'latin1');
    const bytes =
      part.transferEncoding === 'base64'
        ? encodeBase64Lines(plain)
        : part.transferEncoding === 'quoted-printable'
          ? encodeQuotedPrintable(plain)
          : plain;
    const end = part.offset - payload.offset + part.raw.length;
    edits.push({ start: end - part.body.length, end, bytes });
  }
  if (edits.length === 0) return content;
  edits.sort((a, b) => a.start - b.start);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const e of edits) {
    pieces.push(content.subarray(from, e.start), e.bytes);
    from = e.end;
  }
  pieces.push(content.subarray(from));
  return joinPieces(pieces);
}
