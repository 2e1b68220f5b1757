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

/** An entry's values by attribute base name (lowercase, without options), built once per entry. */
type AttributeIndex = ReadonlyMap<string, (string | Buffer)[]>;

/**
 * The entry's values grouped by base name, so `userCertificate;binary` finds what AD returns as `userCertificate` and
 * OpenLDAP as `userCertificate;binary`. Built once per entry (issue 16): mapping an entry looks up six attributes, and
 * scanning every attribute for each was a tenth of a sync's main-thread time.
 */
function indexAttributes(entry: RawEntry): AttributeIndex {
  const index = new Map<string, (string | Buffer)[]>();
  for (const k in entry) {
    if (k === 'dn') continue;
    const v = entry[k]!;
    const name = baseName(k);
    let list = index.get(name);
    if (!list) index.set(name, (list = []));
    if (Array.isArray(v)) for (const x of v) list.push(x);
    else list.push(v);
  }
  return index;
}

/** The values of `attribute`, matched by name case-insensitively and ignoring options. */
function values(index: AttributeIndex, attribute: string): (string | Buffer)[] {
  return index.get(baseName(attribute)) ?? [];
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
  return keyOf(entry, indexAttributes(entry));
}

function keyOf(entry: RawEntry, index: AttributeIndex): string {
  const uuid = values(index, 'entryUUID')[0];
  if (uuid !== undefined) return `uuid:${text(uuid).toLowerCase()}`;
  const guid = values(index, 'objectGUID')[0];
  if (guid !== undefined) return `guid:${Buffer.from(bytes(guid)).toString('hex')}`;
  return `dn:${entry.dn.toLowerCase()}`;
}

/**
 * The entry's addresses: `mail`, then proxyAddresses of type SMTP (uppercase: the primary, RFC-less AD convention;
 * lowercase: aliases). Other address types (X400:, SIP:, X500:) are not email and are ignored.
 */
export function entryAddresses(entry: RawEntry, map: AttributeMap): string[] {
  return addressesOf(indexAttributes(entry), map);
}

function addressesOf(index: AttributeIndex, map: AttributeMap): string[] {
  const out: string[] = [];
  for (const v of values(index, map.mail)) out.push(text(v));
  const proxies = values(index, map.proxyAddresses).map(text);
  for (const p of proxies) if (p.startsWith('SMTP:')) out.push(p.slice(5));
  for (const p of proxies) if (p.startsWith('smtp:')) out.push(p.slice(5));
  // The canonical spelling every comparison uses; what has none is not an address anyone can be reached at.
  return [
    ...new Set(out.map((a) => tryCanonicalAddress(a)).filter((a): a is string => a !== undefined && ADDRESS.test(a))),
  ];
}

export function mapEntry(entry: RawEntry, map: AttributeMap): MappedEntry {
  const index = indexAttributes(entry);
  const certificates: CertificateValue[] = [];
  const problems: string[] = [];
  const certName = map.certificate.split(';')[0]!;
  const smimeName = map.smimeCertificate.split(';')[0]!;
  for (const v of values(index, map.certificate)) certificates.push({ der: bytes(v), attribute: certName });
  for (const v of values(index, map.smimeCertificate)) {
    try {
      for (const der of certificatesFromPkcs7(bytes(v))) certificates.push({ der, attribute: smimeName });
    } catch (e) {
      problems.push(`${smimeName}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const first = (name: string) => {
    const v = values(index, name)[0];
    return v === undefined ? undefined : text(v);
  };
  return {
    key: keyOf(entry, index),
    dn: entry.dn,
    addresses: addressesOf(index, map),
    certificates,
    modifyTimestamp: first('modifyTimestamp'),
    usnChanged: first('uSNChanged'),
    problems,
  };
}
