/**
 * The certificate record: the public facts of a certificate that every certificate table stores alike (private_keys,
 * exchanged_certificates, directory_certificates), defined once for the three stores, their callers and the API's
 * presenter (issue 13). The columns have the same names in every table; each table adds its own (owner, wrap,
 * addresses, verdict ...). The schema is unchanged: this only names what the tables already share.
 */
import type { CertificateInfo } from '../smime/index.ts';

/** The record as a row reads (snake_case columns). */
export interface CertificateRecordRow {
  fingerprint_sha256: string;
  subject: string;
  issuer: string;
  serial_number: string;
  not_before: Date;
  not_after: Date;
  key_usage: string[];
  extended_key_usage: string[];
  key_algorithm: string;
  key_size: number;
}

/** The record as the code passes it (camelCase, the names of the engine's CertificateInfo). */
export interface CertificateRecord {
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  keyUsage: string[];
  extendedKeyUsage: string[];
  keyAlgorithm: string;
  keySize: number;
}

/** The record's columns, in the order of recordValues; text[] columns carry their cast for multi-row VALUES. */
const RECORD_COLUMNS: readonly { name: keyof CertificateRecordRow; type: string; cast?: string }[] = [
  { name: 'fingerprint_sha256', type: 'text' },
  { name: 'subject', type: 'text' },
  { name: 'issuer', type: 'text' },
  { name: 'serial_number', type: 'text' },
  { name: 'not_before', type: 'timestamptz' },
  { name: 'not_after', type: 'timestamptz' },
  { name: 'key_usage', type: 'text[]', cast: '::text[]' },
  { name: 'extended_key_usage', type: 'text[]', cast: '::text[]' },
  { name: 'key_algorithm', type: 'text' },
  { name: 'key_size', type: 'integer' },
];

/** The record's column names for a SELECT or an INSERT, optionally qualified with a table alias. */
export function recordColumns(alias?: string): string {
  return RECORD_COLUMNS.map((c) => (alias ? `${alias}.${c.name}` : c.name)).join(', ');
}

/** Placeholders for the record's values, numbered from `first` (with the array casts). */
export function recordPlaceholders(first: number): string {
  return RECORD_COLUMNS.map((c, i) => `$${first + i}${c.cast ?? ''}`).join(', ');
}

/** The record's columns with their types, for `json_to_recordset(...) AS r(...)` (bulk writes, issue 16). */
export function recordJsonColumns(): string {
  return RECORD_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');
}

/** The record as one object of a JSON array for json_to_recordset (keys are the column names). */
export function recordJson(r: CertificateRecord): CertificateRecordRow {
  const { fingerprintSha256, subject, issuer, serialNumber, notBefore, notAfter } = r;
  const { keyUsage, extendedKeyUsage, keyAlgorithm, keySize } = r;
  return {
    fingerprint_sha256: fingerprintSha256,
    subject,
    issuer,
    serial_number: serialNumber,
    not_before: notBefore,
    not_after: notAfter,
    key_usage: keyUsage,
    extended_key_usage: extendedKeyUsage,
    key_algorithm: keyAlgorithm,
    key_size: keySize,
  };
}

/** The record's values in the order of recordColumns. */
export function recordValues(r: CertificateRecord): unknown[] {
  return [
    r.fingerprintSha256,
    r.subject,
    r.issuer,
    r.serialNumber,
    r.notBefore,
    r.notAfter,
    r.keyUsage,
    r.extendedKeyUsage,
    r.keyAlgorithm,
    r.keySize,
  ];
}

/** The record of a certificate the engine described (one mapping for every table). */
export function recordOf(info: CertificateInfo): CertificateRecord {
  const { fingerprintSha256, subject, issuer, serialNumber, notBefore, notAfter } = info;
  const { keyUsage, extendedKeyUsage, keyAlgorithm, keySize } = info;
  return {
    fingerprintSha256,
    subject,
    issuer,
    serialNumber,
    notBefore,
    notAfter,
    keyUsage,
    extendedKeyUsage,
    keyAlgorithm,
    keySize,
  };
}

/** The record a row holds. */
export function recordFromRow(row: CertificateRecordRow): CertificateRecord {
  return {
    fingerprintSha256: row.fingerprint_sha256,
    subject: row.subject,
    issuer: row.issuer,
    serialNumber: row.serial_number,
    notBefore: row.not_before,
    notAfter: row.not_after,
    keyUsage: row.key_usage,
    extendedKeyUsage: row.extended_key_usage,
    keyAlgorithm: row.key_algorithm,
    keySize: row.key_size,
  };
}
