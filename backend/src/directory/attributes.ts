/**
 * From an LDAP entry to what the sync keeps: a stable key, the addresses (primary first) and the certificate values,
 * through the attribute map (AD defaults: mail, proxyAddresses, userCertificate;binary, userSMIMECertificate).
 */
import { tryCanonicalAddress } from '../smime/index.ts';
import type { AttributeMap } from './options.ts';
import { certificatesFromPkcs7 } from './pkcs7.ts';

/** An entry as ldapts returns it. */
export interface RawEntry {
  dn: string;
  [attribute: string]: Buffer | Buffer[] | string[] | string;
}

export interface CertificateValue {
  der: Uint8Array;
  /** The attribute's name without options: userCertificate, userSMIMECertificate. */
  attribute: string;
}

export interface MappedEntry {
  key: string;
  dn: string;
  /** Lowercase, deduplicated: mail, then the SMTP: primary, then smtp: aliases. */
  addresses: string[];
  certificates: CertificateValue[];
  modifyTimestamp: string | undefined;
  usnChanged: string | undefined;
  /** Values that could not be read (a broken PKCS#7), for the log and the rejected count. */
  problems: string[];
}

/** Attributes that identify an entry across renames: OpenLDAP's entryUUID, AD's objectGUID. */
export const IDENTITY_ATTRIBUTES = ['entryUUID', 'objectGUID'];
export const CHANGE_ATTRIBUTES = ['modifyTimestamp', 'uSNChanged'];

/** A practical address check (RFC 5321's full grammar is not the point): one @, no spaces, something on each side. */
const ADDRESS = /^[^\s@]+@[^\s@]+$/;

function baseName(attribute: string): string {
  return attribute.split(';')[0]!.toLowerCase();
}

/**
 * The values of `attribute`, matched by name case-insensitively and ignoring options, so `userCertificate;binary`
 * finds what AD returns as `userCertificate` and OpenLDAP as `userCertificate;binary`.
 */
function values(entry: RawEntry, attribute: string): (string | Buffer)[] {
  const want = baseName(attribute);
  const out: (string | Buffer)[] = [];
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'dn' || baseName(k) !== want) continue;
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

function text(v: string | Buffer): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** ldapts decodes a value as UTF-8 text when it happens to be valid UTF-8; the bytes are recovered exactly. */
function bytes(v: string | Buffer): Uint8Array {
  return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'utf8')) : new Uint8Array(v);
}

export function attributeNames(map: AttributeMap): { all: string[]; binary: string[] } {
  const binary = [map.certificate, map.smimeCertificate, 'objectGUID'];
  // Ask for the base name of the certificate attribute too: AD answers `userCertificate` either way.
  const certBase = map.certificate.split(';')[0]!;
  const all = [
    map.mail,
    map.proxyAddresses,
    map.certificate,
    map.smimeCertificate,
    ...IDENTITY_ATTRIBUTES,
    ...CHANGE_ATTRIBUTES,
  ];
  return { all: [...new Set(all)], binary: [...new Set([...binary, certBase, `${map.smimeCertificate};binary`])] };
}

export function entryKey(entry: RawEntry): string {
  const uuid = values(entry, 'entryUUID')[0];
  if (uuid !== undefined) return `uuid:${text(uuid).toLowerCase()}`;
  const guid = values(entry, 'objectGUID')[0];
  if (guid !== undefined) return `guid:${Buffer.from(bytes(guid)).toString('hex')}`;
  return `dn:${entry.dn.toLowerCase()}`;
}

/**
 * The entry's addresses: `mail`, then proxyAddresses of type SMTP (uppercase: the primary, RFC-less AD convention;
 * lowercase: aliases). Other address types (X400:, SIP:, X500:) are not email and are ignored.
 */
export function entryAddresses(entry: RawEntry, map: AttributeMap): string[] {
  const out: string[] = [];
  for (const v of values(entry, map.mail)) out.push(text(v));
  const proxies = values(entry, map.proxyAddresses).map(text);
  for (const p of proxies) if (p.startsWith('SMTP:')) out.push(p.slice(5));
  for (const p of proxies) if (p.startsWith('smtp:')) out.push(p.slice(5));
  // The canonical spelling every comparison uses; what has none is not an address anyone can be reached at.
  return [
    ...new Set(out.map((a) => tryCanonicalAddress(a)).filter((a): a is string => a !== undefined && ADDRESS.test(a))),
  ];
}

export function mapEntry(entry: RawEntry, map: AttributeMap): MappedEntry {
  const certificates: CertificateValue[] = [];
  const problems: string[] = [];
  const certName = map.certificate.split(';')[0]!;
  const smimeName = map.smimeCertificate.split(';')[0]!;
  for (const v of values(entry, map.certificate)) certificates.push({ der: bytes(v), attribute: certName });
  for (const v of values(entry, map.smimeCertificate)) {
    try {
      for (const der of certificatesFromPkcs7(bytes(v))) certificates.push({ der, attribute: smimeName });
    } catch (e) {
      problems.push(`${smimeName}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const first = (name: string) => {
    const v = values(entry, name)[0];
    return v === undefined ? undefined : text(v);
  };
  return {
    key: entryKey(entry),
    dn: entry.dn,
    addresses: entryAddresses(entry, map),
    certificates,
    modifyTimestamp: first('modifyTimestamp'),
    usnChanged: first('uSNChanged'),
    problems,
  };
}
