// The certificate extensions S/MIME cares about (RFC 5280 section 4.2, RFC 8550 section 4.4): subjectAltName,
// keyUsage, extendedKeyUsage, basicConstraints. Each is decoded from its extnValue with strict accessors; a
// malformed known extension is a malformed certificate. Unknown extensions are ignored (a verifier will have to
// refuse unknown *critical* ones; that is path validation, not description).

import { keyUsageBits } from './certificate-extensions.ts';
import {
  BerError,
  bitString,
  boolean as readBoolean,
  isContext,
  isUniversal,
  octets,
  oid,
  readTree,
  sequence,
  type Tlv,
  UNIVERSAL,
} from '../asn1/reader.ts';
import {
  OID_ANY_EXTENDED_KEY_USAGE,
  OID_BASIC_CONSTRAINTS,
  OID_EXTENDED_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_CODE_SIGNING,
  OID_KP_DOCUMENT_SIGNING,
  OID_KP_EMAIL_PROTECTION,
  OID_KP_OCSP_SIGNING,
  OID_KP_SERVER_AUTH,
  OID_KP_TIME_STAMPING,
  OID_SUBJECT_ALT_NAME,
} from '../asn1/oids.ts';

/** RFC 5280 section 4.2.1.12 and RFC 9336: key purposes, by name. */
const KEY_PURPOSES: Readonly<Record<string, string>> = {
  [OID_ANY_EXTENDED_KEY_USAGE]: 'anyExtendedKeyUsage',
  [OID_KP_SERVER_AUTH]: 'serverAuth',
  [OID_KP_CLIENT_AUTH]: 'clientAuth',
  [OID_KP_CODE_SIGNING]: 'codeSigning',
  [OID_KP_EMAIL_PROTECTION]: 'emailProtection',
  [OID_KP_TIME_STAMPING]: 'timeStamping',
  [OID_KP_OCSP_SIGNING]: 'OCSPSigning',
  [OID_KP_DOCUMENT_SIGNING]: 'documentSigning',
};

export interface DescribedExtensions {
  /** rfc822Name entries of subjectAltName, as written. */
  sanEmails: string[];
  keyUsage: string[];
  extendedKeyUsage: string[];
  isCA: boolean;
}

function keyUsage(value: Tlv): string[] {
  const { bytes, unusedBits } = bitString(value, 'keyUsage');
  return keyUsageBits(bytes, unusedBits);
}

function extendedKeyUsage(value: Tlv): string[] {
  return sequence(value, 'extendedKeyUsage').map((purpose) => {
    const id = oid(purpose, 'KeyPurposeId');
    return KEY_PURPOSES[id] ?? id;
  });
}

function basicConstraintsCA(value: Tlv): boolean {
  // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
  const [first] = sequence(value, 'basicConstraints');
  if (!first || !isUniversal(first, UNIVERSAL.BOOLEAN)) return false;
  return readBoolean(first, 'basicConstraints cA');
}

function sanEmails(value: Tlv): string[] {
  // GeneralNames ::= SEQUENCE OF GeneralName; rfc822Name is [1] IMPLICIT IA5String
  const emails: string[] = [];
  for (const name of sequence(value, 'subjectAltName')) {
    if (!name.constructed && isContext(name, 1)) {
      emails.push(Buffer.from(octets(name, 'rfc822Name', 1)).toString('latin1'));
    }
  }
  return emails;
}

interface Reader {
  /** The extension's name, for errors. */
  what: string;
  read: (value: Tlv, out: DescribedExtensions) => void;
}

/** The extensions described, each read from its decoded extnValue. */
const READERS: Readonly<Record<string, Reader>> = {
  [OID_SUBJECT_ALT_NAME]: { what: 'subjectAltName', read: (v, out) => (out.sanEmails = sanEmails(v)) },
  [OID_KEY_USAGE]: { what: 'keyUsage', read: (v, out) => (out.keyUsage = keyUsage(v)) },
  [OID_EXTENDED_KEY_USAGE]: {
    what: 'extendedKeyUsage',
    read: (v, out) => (out.extendedKeyUsage = extendedKeyUsage(v)),
  },
  [OID_BASIC_CONSTRAINTS]: { what: 'basicConstraints', read: (v, out) => (out.isCA = basicConstraintsCA(v)) },
};

/** Decodes the extensions of interest from `extensions` (the SEQUENCE OF Extension of the TBSCertificate). */
export function describeExtensions(extensions: Tlv | undefined): DescribedExtensions {
  const out: DescribedExtensions = { sanEmails: [], keyUsage: [], extendedKeyUsage: [], isCA: false };
  if (!extensions) return out;
  const seen = new Set<string>();
  for (const extension of sequence(extensions, 'Extensions')) {
    // Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const fields = sequence(extension, 'Extension');
    if (fields.length < 2 || fields.length > 3)
      throw new BerError('Extension: expected extnID [, critical], extnValue');
    const id = oid(fields[0], 'extnID');
    // RFC 5280 section 4.2: "A certificate MUST NOT include more than one instance of a particular extension."
    if (seen.has(id)) throw new BerError(`extension ${id} appears twice`);
    seen.add(id);
    const extnValue = octets(fields[fields.length - 1], 'extnValue');
    const reader = Object.hasOwn(READERS, id) ? READERS[id] : undefined;
    if (reader) reader.read(readTree(extnValue, reader.what), out);
  }
  return out;
}
