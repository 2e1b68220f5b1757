// Distinguished names (RFC 5280 section 4.1.2.4) as text: RFC 4514 order (last RDN first) and escaping, with the
// short names people know (CN, O, E, ...). Attribute values are decoded from the string type they were written in.

import { BerError, CLASS, content, encoding, oid, sequence, setOf, type Tlv } from '../asn1/reader.ts';
import {
  OID_AT_COMMON_NAME,
  OID_AT_COUNTRY,
  OID_AT_DN_QUALIFIER,
  OID_AT_DOMAIN_COMPONENT,
  OID_AT_GENERATION_QUALIFIER,
  OID_AT_GIVEN_NAME,
  OID_AT_INITIALS,
  OID_AT_LOCALITY,
  OID_AT_ORGANIZATION,
  OID_AT_ORGANIZATION_IDENTIFIER,
  OID_AT_ORGANIZATIONAL_UNIT,
  OID_AT_PSEUDONYM,
  OID_AT_SERIAL_NUMBER,
  OID_AT_STATE,
  OID_AT_STREET,
  OID_AT_SURNAME,
  OID_AT_TITLE,
  OID_AT_UID,
  OID_EMAIL_ADDRESS,
} from '../asn1/oids.ts';

/** RFC 4514 section 3 short names, plus the common extras OpenSSL and Windows print. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  [OID_AT_COMMON_NAME]: 'CN',
  [OID_AT_SURNAME]: 'SN',
  [OID_AT_SERIAL_NUMBER]: 'SERIALNUMBER',
  [OID_AT_COUNTRY]: 'C',
  [OID_AT_LOCALITY]: 'L',
  [OID_AT_STATE]: 'ST',
  [OID_AT_STREET]: 'STREET',
  [OID_AT_ORGANIZATION]: 'O',
  [OID_AT_ORGANIZATIONAL_UNIT]: 'OU',
  [OID_AT_TITLE]: 'T',
  [OID_AT_GIVEN_NAME]: 'GN',
  [OID_AT_INITIALS]: 'initials',
  [OID_AT_GENERATION_QUALIFIER]: 'generationQualifier',
  [OID_AT_DN_QUALIFIER]: 'dnQualifier',
  [OID_AT_PSEUDONYM]: 'pseudonym',
  [OID_AT_ORGANIZATION_IDENTIFIER]: 'organizationIdentifier',
  [OID_AT_UID]: 'UID',
  [OID_AT_DOMAIN_COMPONENT]: 'DC',
  [OID_EMAIL_ADDRESS]: 'E',
};

// Universal tags of the string types a DirectoryString or emailAddress can use (X.680 section 8.4).
const UTF8_STRING = 12;
const NUMERIC_STRING = 18;
const PRINTABLE_STRING = 19;
const TELETEX_STRING = 20;
const IA5_STRING = 22;
const VISIBLE_STRING = 26;
const UNIVERSAL_STRING = 28;
const BMP_STRING = 30;

/** The text of a string-typed value, or undefined if the value is not one of the string types. */
export function stringValue(node: Tlv): string | undefined {
  if (node.cls !== CLASS.UNIVERSAL || node.constructed) return undefined;
  const bytes = content(node);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  switch (node.tag) {
    case UTF8_STRING:
      return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    case NUMERIC_STRING:
    case PRINTABLE_STRING:
    case IA5_STRING:
    case VISIBLE_STRING:
    case TELETEX_STRING: // T.61 in theory; in practice writers put Latin-1 there
      return buffer.toString('latin1');
    case BMP_STRING:
      if (bytes.length % 2 !== 0) throw new BerError('BMPString: odd length');
      return Buffer.from(buffer).swap16().toString('utf16le');
    case UNIVERSAL_STRING: {
      if (bytes.length % 4 !== 0) throw new BerError('UniversalString: length not a multiple of 4');
      let text = '';
      for (let i = 0; i < bytes.length; i += 4) {
        const codePoint = buffer.readUInt32BE(i);
        text += codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\ufffd';
      }
      return text;
    }
    default:
      return undefined;
  }
}

/** RFC 4514 section 2.4 escaping. */
function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if ('\\,+"<>;'.includes(c)) out += `\\${c}`;
    else if (c === '\0') out += '\\00';
    else if ((c === ' ' && (i === 0 || i === value.length - 1)) || (c === '#' && i === 0)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

export interface NameAttribute {
  oid: string;
  /** Decoded text, or undefined if the value is not a string type. */
  value: string | undefined;
  node: Tlv;
}

/** The attributes of a Name in encoding order (first RDN first). */
export function nameAttributes(name: Tlv, what: string): NameAttribute[][] {
  // Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET OF AttributeTypeAndValue
  return sequence(name, what).map((rdn) =>
    setOf(rdn, `${what} RDN`).map((atv) => {
      const fields = sequence(atv, `${what} AttributeTypeAndValue`);
      if (fields.length !== 2 || !fields[1]) throw new BerError(`${what}: AttributeTypeAndValue needs type and value`);
      return { oid: oid(fields[0], `${what} attribute type`), value: stringValue(fields[1]), node: fields[1] };
    }),
  );
}

/** RFC 4514 string: RDNs last-first, comma-separated, multi-valued RDNs joined with '+'. */
export function formatName(name: Tlv, what: string): string {
  return nameAttributes(name, what)
    .reverse()
    .map((rdn) =>
      rdn
        .map((a) => {
          const type = SHORT_NAMES[a.oid] ?? a.oid;
          // RFC 4514 section 2.4: a value that is not a string is written as '#' and the hex of its BER.
          const value =
            a.value === undefined ? `#${Buffer.from(encoding(a.node)).toString('hex')}` : escapeValue(a.value);
          return `${type}=${value}`;
        })
        .join('+'),
    )
    .join(',');
}
