/** What leaves the server about a key: certificate facts and state, never wrapped blobs, salts or KDF internals. */
import { validityAt } from '../smime/index.ts';
import type { CertificateRecordRow } from '../store/certificate-record.ts';
import type { KeyRow } from '../store/keys.ts';
import type { OwnKey, ValidityStatus } from './contract.ts';

/** Where now stands in the certificate's validity window: the engine's rule (smime/usable.ts). */
export function keyStatus(row: Pick<KeyRow, 'not_before' | 'not_after'>, now = new Date()): ValidityStatus {
  return validityAt({ notBefore: row.not_before, notAfter: row.not_after }, now);
}

/** A certificate's facts as every answer shows them, whatever table it comes from (the one certificate record). */
export function presentCertificateFacts(row: CertificateRecordRow) {
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
