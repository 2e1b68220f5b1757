// Name constraints (RFC 5280 section 4.2.1.10, processed as in section 6.1.3 (b), (c) and 6.1.4 (g)): the names a CA
// may certify. A CA constrained to rfc822Name "demo.example" has certified nothing for anyone@other.example, whoever
// holds its key. Checked here: rfc822Name (subjectAltName rfc822Name and the subject's emailAddress attributes),
// dNSName and directoryName. A constraint of any other form (URI, iPAddress, otherName, ...) cannot be checked, so a
// certificate below that holds a name of that form fails the path (fail closed); names of a form no constraint
// mentions are not restricted, as RFC 5280 says.

import {
  BerError,
  CLASS,
  children,
  content,
  encoding,
  isContext,
  oid,
  sequence,
  setOf,
  UNIVERSAL,
  type Tlv,
} from '../asn1/reader.ts';
import { OID_EMAIL_ADDRESS } from '../asn1/oids.ts';

/** emailAddress is an IA5String; some writers use UTF8String or PrintableString, which read the same here. */
const EMAIL_STRING_TAGS: ReadonlySet<number> = new Set([22, UNIVERSAL.UTF8_STRING, 19]);

/** GeneralName CHOICE tags (RFC 5280 section 4.2.1.6). */
export const GENERAL_NAME = {
  otherName: 0,
  rfc822Name: 1,
  dNSName: 2,
  x400Address: 3,
  directoryName: 4,
  ediPartyName: 5,
  uri: 6,
  iPAddress: 7,
  registeredID: 8,
} as const;
const FORM_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GENERAL_NAME).map(([k, v]) => [v, k]));

export type GeneralSubtree =
  | { form: typeof GENERAL_NAME.rfc822Name | typeof GENERAL_NAME.dNSName; value: string }
  /** The RDNs of the subtree's base, each as its exact DER (names are compared RDN by RDN, byte for byte). */
  | { form: typeof GENERAL_NAME.directoryName; value: Uint8Array[] }
  /** A form this module does not check: only its presence matters. */
  | { form: number; value: undefined };

export interface NameConstraints {
  permitted: GeneralSubtree[];
  excluded: GeneralSubtree[];
}

/** The names of one certificate that name constraints apply to. */
export interface CertificateNames {
  /** subjectAltName rfc822Name entries and subject emailAddress attribute values, as written. */
  emails: string[];
  dnsNames: string[];
  /** The subject (when not empty) and subjectAltName directoryName entries, each as its list of RDN encodings. */
  directoryNames: Uint8Array[][];
  /** GeneralName tags present in subjectAltName. */
  altNameForms: Set<number>;
  /** The subjectAltName or the subject could not be read: no constraint can be checked against this certificate. */
  unreadable: boolean;
}

function text(t: Tlv): string {
  return Buffer.from(content(t)).toString('latin1');
}

function rdns(name: Tlv, what: string): Uint8Array[] {
  return sequence(name, what).map((rdn) => {
    setOf(rdn, `${what} RDN`);
    return encoding(rdn);
  });
}

function generalSubtree(t: Tlv): GeneralSubtree {
  // GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0, maximum [1] BaseDistance OPTIONAL }
  const fields = sequence(t, 'GeneralSubtree');
  const base = fields[0];
  // RFC 5280 section 4.2.1.10: "minimum MUST be zero, and maximum MUST be absent". Anything else is a profile we do
  // not implement: refusing the certificate is the safe reading.
  if (!base || fields.length !== 1) throw new BerError('GeneralSubtree: minimum and maximum are not used in RFC 5280');
  if (base.cls !== CLASS.CONTEXT) throw new BerError('GeneralSubtree: base is not a GeneralName');
  switch (base.tag) {
    case GENERAL_NAME.rfc822Name:
    case GENERAL_NAME.dNSName:
      return { form: base.tag, value: text(base) };
    case GENERAL_NAME.directoryName: {
      // directoryName [4] Name: explicit, because Name is a CHOICE.
      const inner = children(base);
      if (inner.length !== 1) throw new BerError('GeneralSubtree: directoryName must hold one Name');
      return { form: GENERAL_NAME.directoryName, value: rdns(inner[0]!, 'nameConstraints directoryName') };
    }
    default:
      return { form: base.tag, value: undefined };
  }
}

/** Parses the extnValue of nameConstraints (2.5.29.30). Throws BerError when it is not one. */
export function parseNameConstraints(value: Tlv): NameConstraints {
  // NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees [1] GeneralSubtrees OPTIONAL }
  const out: NameConstraints = { permitted: [], excluded: [] };
  for (const field of sequence(value, 'nameConstraints')) {
    const list = isContext(field, 0) ? out.permitted : isContext(field, 1) ? out.excluded : undefined;
    if (!list || !field.constructed) throw new BerError('nameConstraints: unexpected field');
    list.push(...children(field).map(generalSubtree));
  }
  // RFC 5280 section 4.2.1.10: "Conforming CAs MUST NOT issue certificates where name constraints is an empty sequence."
  if (out.permitted.length === 0 && out.excluded.length === 0) throw new BerError('nameConstraints: empty');
  return out;
}

/** The names of a certificate from its subject and its subjectAltName extnValue (if any). Never throws. */
export function certificateNames(subject: Tlv, subjectAltName: Tlv | undefined): CertificateNames {
  const names: CertificateNames = {
    emails: [],
    dnsNames: [],
    directoryNames: [],
    altNameForms: new Set(),
    unreadable: false,
  };
  try {
    const subjectRdns = rdns(subject, 'subject');
    if (subjectRdns.length) names.directoryNames.push(subjectRdns);
    for (const rdn of sequence(subject, 'subject'))
      for (const atv of setOf(rdn, 'subject RDN')) {
        const [type, v] = sequence(atv, 'AttributeTypeAndValue');
        if (
          oid(type, 'attribute type') === OID_EMAIL_ADDRESS &&
          v &&
          !v.constructed &&
          v.cls === CLASS.UNIVERSAL &&
          EMAIL_STRING_TAGS.has(v.tag)
        )
          names.emails.push(text(v));
      }
    if (subjectAltName)
      for (const gn of sequence(subjectAltName, 'subjectAltName')) {
        if (gn.cls !== CLASS.CONTEXT) throw new BerError('subjectAltName: not a GeneralName');
        names.altNameForms.add(gn.tag);
        if (gn.tag === GENERAL_NAME.rfc822Name) names.emails.push(text(gn));
        else if (gn.tag === GENERAL_NAME.dNSName) names.dnsNames.push(text(gn));
        else if (gn.tag === GENERAL_NAME.directoryName) {
          const inner = children(gn);
          if (inner.length !== 1) throw new BerError('subjectAltName: directoryName must hold one Name');
          names.directoryNames.push(rdns(inner[0]!, 'subjectAltName directoryName'));
        }
      }
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
    names.unreadable = true;
  }
  return names;
}

/**
 * RFC 5280 section 4.2.1.10, rfc822Name: "user@host" is that mailbox, "host" every mailbox at that host, ".domain"
 * every mailbox at a host inside the domain (not at the domain itself). Host parts compare case-insensitively; the
 * local part is compared exactly (RFC 5321 section 2.4 leaves its case to the receiving host).
 */
export function emailMatches(constraint: string, address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0) return false;
  const host = address.slice(at + 1).toLowerCase();
  const c = constraint.toLowerCase();
  if (constraint.includes('@')) {
    const cat = constraint.lastIndexOf('@');
    return constraint.slice(0, cat) === address.slice(0, at) && c.slice(cat + 1) === host;
  }
  if (c.startsWith('.')) return host.endsWith(c) && host.length > c.length;
  return host === c;
}

/** RFC 5280 section 4.2.1.10, dNSName: the name itself and every name below it, by whole labels. */
export function dnsMatches(constraint: string, name: string): boolean {
  const c = constraint.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase().replace(/\.$/, '');
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}

/** RFC 5280 section 7.1: a directoryName subtree holds every name whose first RDNs are the base's. */
export function directoryMatches(constraint: Uint8Array[], name: Uint8Array[]): boolean {
  return constraint.length <= name.length && constraint.every((rdn, i) => Buffer.compare(rdn, name[i]!) === 0);
}

function describeSubtree(s: GeneralSubtree): string {
  if (typeof s.value === 'string') return `${FORM_NAMES[s.form]}:${s.value || '(any)'}`;
  if (s.form === GENERAL_NAME.directoryName) return 'directoryName subtree';
  return FORM_NAMES[s.form] ?? `GeneralName [${s.form}]`;
}

function describeName(form: number, name: string | Uint8Array[]): string {
  return typeof name === 'string' ? `${FORM_NAMES[form]} ${name}` : 'the directory name';
}

function namesOf(names: CertificateNames, form: number): (string | Uint8Array[])[] {
  if (form === GENERAL_NAME.rfc822Name) return names.emails;
  if (form === GENERAL_NAME.dNSName) return names.dnsNames;
  if (form === GENERAL_NAME.directoryName) return names.directoryNames;
  return [];
}

function matches(s: GeneralSubtree, name: string | Uint8Array[]): boolean {
  if (s.form === GENERAL_NAME.rfc822Name) return emailMatches(s.value as string, name as string);
  if (s.form === GENERAL_NAME.dNSName) return dnsMatches(s.value as string, name as string);
  if (s.form === GENERAL_NAME.directoryName) return directoryMatches(s.value as Uint8Array[], name as Uint8Array[]);
  return false;
}

const CHECKED_FORMS: ReadonlySet<number> = new Set([
  GENERAL_NAME.rfc822Name,
  GENERAL_NAME.dNSName,
  GENERAL_NAME.directoryName,
]);

/**
 * Why `names` break `nc`, or undefined when they do not. Each form with permitted subtrees restricts the names of that
 * form to those subtrees; no name may fall in an excluded subtree of its form.
 */
export function nameConstraintViolation(nc: NameConstraints, names: CertificateNames): string | undefined {
  if (names.unreadable) return 'its names cannot be read, so the name constraints above it cannot be checked';
  for (const s of [...nc.permitted, ...nc.excluded]) {
    if (!CHECKED_FORMS.has(s.form) && names.altNameForms.has(s.form))
      return `it holds a ${FORM_NAMES[s.form] ?? `GeneralName [${s.form}]`} name, a form whose name constraints are not checked here`;
  }
  for (const form of new Set(nc.permitted.map((s) => s.form))) {
    if (!CHECKED_FORMS.has(form)) continue;
    const allowed = nc.permitted.filter((s) => s.form === form);
    for (const name of namesOf(names, form))
      if (!allowed.some((s) => matches(s, name)))
        return `${describeName(form, name)} is outside the permitted subtrees (${allowed.map(describeSubtree).join(', ')})`;
  }
  for (const s of nc.excluded) {
    if (!CHECKED_FORMS.has(s.form)) continue;
    for (const name of namesOf(names, s.form))
      if (matches(s, name)) return `${describeName(s.form, name)} is in the excluded subtree ${describeSubtree(s)}`;
  }
  return undefined;
}
