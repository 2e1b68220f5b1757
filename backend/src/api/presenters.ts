/** What leaves the server about a key: certificate facts and state, never wrapped blobs, salts or KDF internals. */
import type { KeyRow } from '../store/keys.ts';
import type { OwnKey, ValidityStatus } from './contract.ts';

export function keyStatus(row: Pick<KeyRow, 'not_before' | 'not_after'>, now = new Date()): ValidityStatus {
  if (now < row.not_before) return 'not-yet-valid';
  if (now > row.not_after) return 'expired';
  return 'valid';
}

/** The columns every certificate row has (own keys, exchanged and directory certificates). */
export type CertificateColumns = Pick<
  KeyRow,
  | 'fingerprint_sha256'
  | 'subject'
  | 'issuer'
  | 'serial_number'
  | 'not_before'
  | 'not_after'
  | 'key_usage'
  | 'extended_key_usage'
  | 'key_algorithm'
  | 'key_size'
>;

/** A certificate's facts as every answer shows them, whatever table it comes from. */
export function presentCertificateFacts(row: CertificateColumns) {
  return {
    fingerprintSha256: row.fingerprint_sha256,
    subject: row.subject,
    issuer: row.issuer,
    serialNumber: row.serial_number,
    notBefore: row.not_before.toISOString(),
    notAfter: row.not_after.toISOString(),
    status: keyStatus(row),
    keyUsage: row.key_usage,
    extendedKeyUsage: row.extended_key_usage,
    keyAlgorithm: row.key_algorithm,
    keySize: row.key_size,
  };
}

export function presentKey(row: KeyRow) {
  return {
    id: row.id,
    ...presentCertificateFacts(row),
    emails: row.emails,
    isDefault: row.is_default,
    mustChangePassphrase: row.must_change_passphrase,
    source: row.source,
    chainLength: row.chain.length,
    createdAt: new Date(row.created_at).toISOString(),
  } satisfies OwnKey;
}
