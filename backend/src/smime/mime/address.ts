// Address lists in From, To, Cc, Bcc, Reply-To, Sender (RFC 5322 section 3.4, with the obsolete forms of section 4.4
// that real mail still carries). Strict where it matters for S/MIME: an entry without a usable addr-spec throws
// MIME_INVALID_ADDRESS instead of being skipped, because a silently dropped recipient or sender is worse than a
// refusal (an unencrypted copy, or a signer check against the wrong address).
import { domainToASCII } from 'node:url';
import { encodePhrase, decodeEncodedWords } from './encoded-word.ts';
import { MimeError } from './errors.ts';

export interface EmailAddress {
  /** The display name, RFC 2047 encoded words decoded; absent when there is none. */
  name?: string;
  /** `local@domain`: the local part as written (unquoted when it can be), the domain lowercased and in ASCII (IDNA). */
  address: string;
  /** The group (RFC 5322 section 3.4 `name: members;`) this address was listed in. */
  group?: string;
  /** An obsolete source route (`<@relay:user@domain>`, RFC 5322 section 4.4) preceded the address and was dropped. */
  route?: true;
}

type TokenKind = 'atom' | 'quoted' | 'comment' | 'literal' | 'special';

interface Token {
  kind: TokenKind;
  text: string;
  /** Whitespace or a comment precedes this token. */
  spaced: boolean;
}

const SPECIALS = '<>,:;@.';

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let spaced = false;
  let i = 0;
  while (i < s.length) {
    const c = s.charAt(i);
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      spaced = true;
      i++;
    } else if (c === '"') {
      let text = '';
      i++;
      while (i < s.length && s.charAt(i) !== '"') {
        if (s.charAt(i) === '\\' && i + 1 < s.length) i++;
        text += s.charAt(i++);
      }
      i++;
      tokens.push({ kind: 'quoted', text, spaced });
      spaced = false;
    } else if (c === '(') {
      let depth = 0;
      let text = '';
      while (i < s.length) {
        const d = s.charAt(i++);
        if (d === '\\' && i < s.length) {
          text += s.charAt(i++);
          continue;
        }
        if (d === '(' && depth++ === 0) continue;
        if (d === ')' && --depth === 0) break;
        text += d;
      }
      tokens.push({ kind: 'comment', text, spaced });
      spaced = true;
    } else if (c === '[') {
      const close = s.indexOf(']', i);
      const end = close === -1 ? s.length : close + 1;
      tokens.push({ kind: 'literal', text: s.slice(i, end), spaced });
      spaced = false;
      i = end;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ kind: 'special', text: c, spaced });
      spaced = false;
      i++;
    } else {
      const start = i;
      while (i < s.length && !' \t\r\n"(['.includes(s.charAt(i)) && !SPECIALS.includes(s.charAt(i))) i++;
      tokens.push({ kind: 'atom', text: s.slice(start, i), spaced });
      spaced = false;
    }
  }
  return tokens;
}

const isSpecial = (t: Token, c: string): boolean => t.kind === 'special' && t.text === c;

/**
 * Parses an address-list header value. Groups are flattened (each member carries `group`); an empty group such as
 * `undisclosed-recipients:;` contributes nothing. Throws MIME_INVALID_ADDRESS on an entry that is not a mailbox.
 */
export function parseAddressList(headerValue: string): EmailAddress[] {
  const out: EmailAddress[] = [];
  let group: string | undefined;
  let current: Token[] = [];
  let angle = 0;
  const finish = (): void => {
    const meaningful = current.filter((t) => t.kind !== 'comment');
    if (meaningful.length > 0) out.push(parseMailbox(current, group));
    current = [];
  };
  for (const token of tokenize(headerValue)) {
    if (token.kind === 'special' && angle === 0) {
      if (token.text === ',') {
        finish();
        continue;
      }
      if (token.text === ':' && group === undefined && !current.some((t) => isSpecial(t, '@'))) {
        group = phrase(current.filter((t) => t.kind !== 'comment')) || '';
        current = [];
        continue;
      }
      if (token.text === ';' && group !== undefined) {
        finish();
        group = undefined;
        continue;
      }
    }
    if (isSpecial(token, '<')) angle++;
    else if (isSpecial(token, '>')) angle = Math.max(0, angle - 1);
    current.push(token);
  }
  finish();
  return out;
}

function parseMailbox(tokens: Token[], group: string | undefined): EmailAddress {
  const open = tokens.findIndex((t) => isSpecial(t, '<'));
  let nameTokens: Token[];
  let addrTokens: Token[];
  let comment: string | undefined;
  let routed = false;
  if (open !== -1) {
    const close = tokens.findIndex((t, i) => i > open && isSpecial(t, '>'));
    if (close === -1) throw invalid('an angle-addr is not closed');
    if (tokens.slice(close + 1).some((t) => t.kind !== 'comment')) throw invalid('text after an angle-addr');
    nameTokens = tokens.slice(0, open).filter((t) => t.kind !== 'comment');
    addrTokens = tokens.slice(open + 1, close).filter((t) => t.kind !== 'comment');
    // RFC 5322 section 4.4 obs-route: `<@relay1,@relay2:user@domain>`; the route is dropped.
    const colon = addrTokens.map((t) => isSpecial(t, ':')).lastIndexOf(true);
    if (colon !== -1) {
      addrTokens = addrTokens.slice(colon + 1);
      routed = true;
    }
  } else {
    nameTokens = [];
    addrTokens = tokens.filter((t) => t.kind !== 'comment');
    // `user@domain (Display Name)`: the comment is the only name there is.
    comment = tokens.filter((t) => t.kind === 'comment').pop()?.text;
  }
  const address = addrSpec(addrTokens);
  const rawName =
    nameTokens.length > 0 ? phrase(nameTokens) : comment !== undefined ? decodeEncodedWords(comment).trim() : '';
  return {
    ...(rawName === '' ? {} : { name: rawName }),
    address,
    ...(group === undefined ? {} : { group }),
    ...(routed ? { route: true as const } : {}),
  };
}

/**
 * The one address a From header names, when it names exactly one plainly: a single mailbox, not in a group, without
 * a source route, and without a display name that reads as another address. Anything else is a `problem`: a signer
 * must not be checked against an address a reader may not be the one they see (issue 12:
 * `<ceo@example.com:alice@example.com>` and `ceo@example.com <alice@example.com>` both named alice to a verifier,
 * while a reader saw the CEO).
 */
export function plainSender(headerValue: string | undefined): { address: string } | { problem: string } {
  if (headerValue === undefined || headerValue.trim() === '') return { problem: 'there is no From address' };
  let entries: EmailAddress[];
  try {
    entries = parseAddressList(headerValue);
  } catch {
    return { problem: 'the From header cannot be read as an address' };
  }
  if (entries.length !== 1) return { problem: `the From header names ${entries.length} addresses, not one` };
  const e = entries[0]!;
  if (e.group !== undefined) return { problem: 'the From address is listed in a group' };
  if (e.route) return { problem: 'the From address carries a source route' };
  if (e.name !== undefined && e.name.includes('@') && e.name.trim().toLowerCase() !== e.address.toLowerCase())
    return { problem: `the From display name "${e.name}" reads as another address than ${e.address}` };
  const address = tryCanonicalAddress(e.address);
  if (address === undefined)
    return { problem: `the From address ${e.address} is spelled with Unicode compatibility characters` };
  return { address };
}

/** A phrase (display name): words joined by single spaces where the source had whitespace; encoded words decoded. */
function phrase(tokens: readonly Token[]): string {
  let text = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    if (text !== '' && t.spaced) text += ' ';
    text += t.text;
  }
  return decodeEncodedWords(text).trim();
}

const DOT_ATOM_TEXT =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;

function addrSpec(tokens: readonly Token[]): string {
  const at = tokens.map((t) => isSpecial(t, '@')).lastIndexOf(true);
  if (at === -1) throw invalid('no @ in the address');
  const local = localPart(tokens.slice(0, at));
  const domain = domainPart(tokens.slice(at + 1));
  return `${local}@${domain}`;
}

function localPart(tokens: readonly Token[]): string {
  if (tokens.length === 0) throw invalid('empty local part');
  let text = '';
  let quoted = false;
  for (const t of tokens) {
    if (t.kind === 'atom' || isSpecial(t, '.')) text += t.text;
    else if (t.kind === 'quoted') {
      text += t.text;
      quoted = true;
    } else throw invalid('unexpected character in the local part');
  }
  if (!quoted) {
    if (!DOT_ATOM_TEXT.test(text)) throw invalid('invalid local part');
    return text;
  }
  // A quoted local part stays quoted only when it has to (RFC 5321 section 4.1.2 prefers the dot-atom form).
  return DOT_ATOM_TEXT.test(text) ? text : `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function domainPart(tokens: readonly Token[]): string {
  if (tokens.length === 1 && tokens[0]!.kind === 'literal') {
    const literal = tokens[0]!.text;
    if (!literal.endsWith(']') || /[\s[\]\\]/.test(literal.slice(1, -1))) throw invalid('invalid domain literal');
    return literal.toLowerCase();
  }
  let text = '';
  for (const t of tokens) {
    if (t.kind === 'atom' || isSpecial(t, '.')) text += t.text;
    else throw invalid('unexpected character in the domain');
  }
  return normalizeDomain(text);
}

/** Lowercase, IDNA A-labels for internationalised domains (so `BÜCHER.example` and `xn--bcher-kva.example` match). */
function normalizeDomain(domain: string): string {
  if (!DOT_ATOM_TEXT.test(domain)) throw invalid('invalid domain');
  const lower = domain.toLowerCase();
  if (/^[\x21-\x7e]*$/.test(lower)) return lower;
  const ascii = domainToASCII(lower);
  if (ascii === '') throw invalid('invalid internationalised domain');
  return ascii;
}

/**
 * One bare address (`user@example.com`, optionally in angle brackets) in the form used for comparison: the local
 * part as written (RFC 5321 section 2.4: it is case-sensitive in principle), the domain lowercased and in IDNA
 * ASCII. Throws MIME_INVALID_ADDRESS when `s` is not exactly one address.
 */
export function normalizeEmail(s: string): string {
  let text = s.trim();
  if (text.startsWith('<') && text.endsWith('>')) text = text.slice(1, -1);
  const tokens = tokenize(text);
  if (tokens.some((t) => t.kind === 'comment' || (t.kind === 'special' && t.text !== '.' && t.text !== '@'))) {
    throw invalid('not a single address');
  }
  return addrSpec(tokens);
}

/**
 * The one spelling of an address that identifies a person (issue 12), used wherever addresses are compared: token
 * subjects, user and alias rows, certificate addresses, senders, recipients, directory entries. Trimmed; refused
 * (MIME_INVALID_ADDRESS) when Unicode normalisation (NFKC) would change it, since the Kelvin sign for K, fullwidth
 * letters, ligatures or decomposed accents make a second spelling of someone's address; then lowercased
 * (local part included: mail systems treat it so), the domain in IDNA ASCII (`bücher.example` and
 * `xn--bcher-kva.example` are one domain), without white space inside. Throws unless the input is exactly one address.
 */
export function canonicalAddress(input: string): string {
  const s = input.trim();
  // Compared with the input as given: NFC alone already turns the Kelvin sign into K (a singleton decomposition).
  if (s.normalize('NFKC') !== s)
    throw invalid('an address spelled with Unicode compatibility or decomposed characters');
  // The obsolete syntax allows spaces around the dots and the @ ("john . doe @ example.com"): a second spelling too.
  if (/\s/.test(s)) throw invalid('white space inside an address');
  return normalizeEmail(s.toLowerCase());
}

/** canonicalAddress, or undefined for what is not an address in normal form. */
export function tryCanonicalAddress(input: string): string | undefined {
  try {
    return canonicalAddress(input);
  } catch {
    return undefined;
  }
}

/** `Name <user@example.com>` (or just the address), 7-bit: a non-ASCII name as RFC 2047 encoded words. */
export function formatAddress(entry: { name?: string | undefined; address: string }): string {
  const address = normalizeEmail(entry.address);
  if (!/^[\x21-\x7e]+$/.test(address)) throw invalid('a non-ASCII local part needs SMTPUTF8, not MIME');
  const name = entry.name?.trim();
  return name ? `${encodePhrase(name)} <${address}>` : address;
}

function invalid(reason: string): MimeError {
  return new MimeError('MIME_INVALID_ADDRESS', `invalid address: ${reason}`);
}

/** An address list for a header: entries joined by `, `; consecutive entries of one group as `group: a, b;`. */
export function formatAddressList(entries: readonly EmailAddress[]): string {
  const items: string[] = [];
  for (let i = 0; i < entries.length;) {
    const group = entries[i]!.group;
    if (group === undefined) {
      items.push(formatAddress(entries[i]!));
      i++;
      continue;
    }
    const members: string[] = [];
    for (; i < entries.length && entries[i]!.group === group; i++) members.push(formatAddress(entries[i]!));
    items.push(`${encodePhrase(group)}: ${members.join(', ')};`);
  }
  return items.join(', ');
}
