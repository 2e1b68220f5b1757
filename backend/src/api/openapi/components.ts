/**
 * The component schemas of the OpenAPI document (issue 15): the answers of ../contract.ts as JSON Schema, each tied to
 * its contract type by `objectSchema<T>()`, and the error body every 4xx and 5xx answer carries.
 */
import { ERRORS } from '../../errors.ts';
import {
  DECRYPTION_STATUSES,
  SIGNATURE_STATUSES,
  type CertificateSummary,
  type Check,
  type EncryptedLayer,
  type HeaderMismatch,
  type HeaderProtection,
  type IncomingAnalysis,
  type Me,
  type OwnKey,
  type ProtectedField,
  type PublicCertificate,
  type Resolution,
  type SessionStatus,
  type SignatureInfo,
  type SignedLayer,
  type UnlockResult,
} from '../contract.ts';
import {
  arrayOf,
  base64,
  bool,
  dateTime,
  fingerprint,
  int,
  nullable,
  objectSchema,
  openObject,
  opt,
  ref,
  str,
  strings,
  type Fields,
  type JsonSchema,
} from './json-schema.ts';

const validity: JsonSchema = { type: 'string', enum: ['valid', 'expired', 'not-yet-valid'] };

const certificateSummaryFields: Fields<CertificateSummary> = {
  subject: str(),
  issuer: str(),
  serialNumber: str('hex'),
  fingerprintSha256: fingerprint(),
  notBefore: dateTime(),
  notAfter: dateTime(),
  emails: strings(),
};

const ownKeyFields: Fields<OwnKey> = {
  id: { type: 'string', format: 'uuid' },
  fingerprintSha256: fingerprint(),
  subject: str(),
  issuer: str(),
  serialNumber: str(),
  notBefore: dateTime(),
  notAfter: dateTime(),
  status: validity,
  emails: strings(),
  keyUsage: strings(),
  extendedKeyUsage: strings(),
  keyAlgorithm: str(),
  keySize: int(),
  isDefault: bool(),
  mustChangePassphrase: bool(),
  source: {
    type: 'string',
    enum: ['admin', 'user'],
    description: "'admin': placed by IT; 'user': imported by the user",
  },
  chainLength: int(),
  createdAt: dateTime(),
};

const publicCertificateFields: Fields<PublicCertificate> = {
  id: { type: 'string', format: 'uuid' },
  email: nullable(str()),
  source: str("'harvested' (from verified signed mail), 'imported', or 'directory' (LDAP/AD sync)"),
  subject: str(),
  issuer: str(),
  serialNumber: str(),
  fingerprintSha256: fingerprint(),
  notBefore: dateTime(),
  notAfter: dateTime(),
  status: validity,
  keyUsage: strings(),
  extendedKeyUsage: strings(),
  keyAlgorithm: str(),
  keySize: int(),
  capabilities: strings('content ciphers the sender announced (SMIMECapabilities)'),
  firstSeenAt: opt(dateTime()),
  lastSeenAt: opt(dateTime()),
  addresses: opt(strings('directory certificates: every address')),
  dn: opt(str('directory certificates: the entry')),
  attribute: opt(str('directory certificates: the attribute it was read from')),
  usable: opt(bool('directory certificates: whether it may be used')),
  reason: opt(nullable(str('directory certificates: why it may not be used'))),
};

const signatureStatus: JsonSchema = { type: 'string', enum: SIGNATURE_STATUSES };
const decryptionStatus: JsonSchema = { type: 'string', enum: DECRYPTION_STATUSES };

const signedLayerFields: Fields<SignedLayer> = {
  kind: { const: 'signed' },
  format: str('multipart-signed or opaque'),
  status: signatureStatus,
  signatures: arrayOf(ref('SignatureInfo')),
};

const encryptedLayerFields: Fields<EncryptedLayer> = {
  kind: { const: 'encrypted' },
  format: str(),
  status: decryptionStatus,
  contentCipher: opt(str()),
  keyId: opt(str('the key that opened it')),
  recipients: opt({ description: 'the recipients the message names (issuer and serial or key identifier)' }),
  detail: opt(str()),
};

const partPath: JsonSchema = arrayOf(int(), 'the child index at each level from the top (0-based)');

/** The component schemas. */
export const SCHEMAS = {
  CertificateSummary: objectSchema<CertificateSummary>(certificateSummaryFields),
  SignerSummary: objectSchema<NonNullable<SignatureInfo['signer']>>({
    ...certificateSummaryFields,
    keyAlgorithm: opt(str()),
    keySize: opt(int()),
  }),
  Check: objectSchema<Check>({
    name: {
      type: 'string',
      enum: [
        'structure',
        'message-digest',
        'signature',
        'content-type',
        'chain',
        'validity-at-signing',
        'validity-now',
        'key-usage',
        'extended-key-usage',
        'email',
        'revocation',
        'algorithm',
      ],
    },
    outcome: { type: 'string', enum: ['pass', 'fail', 'unknown', 'skipped'] },
    detail: opt(str()),
  }),
  SignatureInfo: objectSchema<SignatureInfo>({
    status: signatureStatus,
    signer: opt(ref('SignerSummary')),
    chain: arrayOf(ref('CertificateSummary'), "from the signer's issuer to the anchor"),
    digestAlgorithm: opt(str()),
    signatureAlgorithm: opt(str()),
    signingTime: opt(dateTime()),
    checks: arrayOf(ref('Check')),
    warnings: opt(strings()),
  }),
  SignedLayer: objectSchema<SignedLayer>(signedLayerFields),
  EncryptedLayer: objectSchema<EncryptedLayer>(encryptedLayerFields),
  Layer: { oneOf: [ref('SignedLayer'), ref('EncryptedLayer')] },
  /** A layer inside an unprotected multipart, with where it sits. */
  Part: {
    oneOf: [
      objectSchema<SignedLayer & { path: number[] }>({ ...signedLayerFields, path: partPath }),
      objectSchema<EncryptedLayer & { path: number[] }>({ ...encryptedLayerFields, path: partPath }),
    ],
  },
  ProtectedField: objectSchema<ProtectedField>({ name: str(), value: str('unfolded, encoded words decoded') }),
  HeaderMismatch: objectSchema<HeaderMismatch>({
    field: str('lowercase field name'),
    outer: opt(str('what the message shows outside (absent: no such field)')),
    expected: opt(str('what the sender protected (absent: no such field)')),
  }),
  HeaderProtection: objectSchema<HeaderProtection>(
    {
      mode: { type: 'string', enum: ['cipher', 'clear'] },
      fields: arrayOf(ref('ProtectedField'), 'the protected header fields: show them in place of the outer ones'),
      outer: opt(arrayOf(ref('ProtectedField'), 'cipher: the outer fields as sent (HP-Outer)')),
      mismatches: arrayOf(ref('HeaderMismatch')),
      legacyDisplay: arrayOf(partPath, 'paths of text parts whose Legacy Display Element was left out of content'),
    },
    'RFC 9788 header protection',
  ),
  IncomingAnalysis: objectSchema<IncomingAnalysis>({
    layers: arrayOf(ref('Layer'), 'every S/MIME layer, outer first'),
    signed: bool(),
    encrypted: bool(),
    parts: arrayOf(ref('Part'), 'S/MIME parts inside an unprotected multipart (reported, never merged)'),
    harvested: arrayOf(
      objectSchema<IncomingAnalysis['harvested'][number]>({
        email: str(),
        outcome: { type: 'string', enum: ['added', 'replaced', 'seen', 'kept'] },
        fingerprintSha256: fingerprint(),
      }),
    ),
    content: base64('the innermost MIME entity to render'),
    unwrapped: bool('content is the decrypted or verified inner entity, not the message itself'),
    headerProtection: opt(ref('HeaderProtection')),
  }),
  Me: objectSchema<Me>({
    email: str(),
    aliases: strings(),
    keys: int('how many keys the user has'),
    mustChangePassphrase: bool(),
    unlockIdleTimeoutS: int(),
    passphraseMinLength: int(),
  }),
  AuditEntry: objectSchema<{
    seq: number;
    at: string;
    actor: string;
    action: string;
    details: Record<string, unknown>;
  }>({
    seq: int(),
    at: dateTime(),
    actor: str(),
    action: str(),
    details: { type: 'object' },
  }),
  SessionStatus: objectSchema<SessionStatus>({
    unlocked: bool(),
    sessionId: opt(str()),
    idleExpiresAt: opt(dateTime()),
    expiresAt: opt(dateTime()),
    idleTimeoutS: int(),
    unlockedKeyIds: strings(),
  }),
  UnlockResult: {
    oneOf: [
      objectSchema<Extract<UnlockResult, { unlocked: true }>>({
        unlocked: { const: true },
        sessionId: str(),
        expiresAt: dateTime(),
        idleTimeoutS: int(),
        unlockedKeyIds: strings(),
        lockedKeyIds: strings('keys this passphrase did not open'),
        pendingKeyIds: strings('keys this passphrase opened that IT placed: usable after the passphrase change'),
        mustChangePassphrase: bool(),
        unlockToken: opt(str("delivery 'header' only: send it back in X-Smime-Unlock")),
        header: opt({ const: 'X-Smime-Unlock' }),
      }),
      objectSchema<Extract<UnlockResult, { unlocked: false }>>(
        {
          unlocked: { const: false },
          idleTimeoutS: int(),
          unlockedKeyIds: { type: 'array', maxItems: 0 },
          lockedKeyIds: strings(),
          pendingKeyIds: strings(),
          mustChangePassphrase: { const: true },
        },
        'the passphrase opened only keys IT placed: choose your own passphrase first',
      ),
    ],
  },
  OwnKey: objectSchema<OwnKey>(ownKeyFields, "one of the user's own keys: certificate facts and state"),
  PublicCertificate: objectSchema<PublicCertificate>(publicCertificateFields),
  PublicCertificateWithPem: objectSchema<PublicCertificate & { pem: string }>({
    ...publicCertificateFields,
    pem: str('the certificate, PEM'),
  }),
  Resolution: objectSchema<Resolution>({
    email: str(),
    ready: bool(),
    reasons: strings('why no certificate can be used'),
    warnings: opt(strings('ready, but the user should know')),
    certificate: nullable(
      objectSchema<NonNullable<Resolution['certificate']>>({
        id: str(),
        source: str(),
        subject: str(),
        fingerprintSha256: fingerprint(),
        notAfter: dateTime(),
        revocation: opt(
          objectSchema<NonNullable<NonNullable<Resolution['certificate']>['revocation']>>({
            status: { type: 'string', enum: ['good', 'revoked', 'unknown', 'none', 'off', 'not-checked'] },
            detail: str(),
          }),
        ),
      }),
    ),
  }),
  Checkpoint: openObject(
    {
      type: { const: 'smime-audit-checkpoint' },
      v: { const: 1 },
      alg: { type: 'string', enum: ['Ed25519', 'ES256'] },
      keyId: str(),
      seq: int(),
      hash: fingerprint(),
      entries: int(),
      at: dateTime(),
      sig: str('base64url'),
    },
    ['type', 'v', 'alg', 'keyId', 'seq', 'hash', 'entries', 'at', 'sig'],
    'a signed checkpoint of the audit chain',
  ),
  AuditVerification: openObject(
    {
      ok: bool(),
      entries: int(),
      headSeq: int(),
      headHash: str(),
      problems: arrayOf({ type: 'object' }),
      checkpoints: openObject(
        {
          sources: strings('the checkpoint files read'),
          read: int(),
          valid: int(),
          last: ref('Checkpoint'),
          grownSince: int(),
        },
        ['sources', 'read', 'valid'],
      ),
    },
    ['ok', 'entries', 'headSeq', 'headHash', 'problems', 'checkpoints'],
  ),
  DirectoryStatus: openObject(
    {
      configured: bool(),
      running: bool(),
      lastAttemptAt: nullable(dateTime()),
      lastAttemptMode: nullable(str()),
      lastSuccessAt: nullable(dateTime()),
      lastFullSuccessAt: nullable(dateTime()),
      lastSummary: nullable({ type: 'object' }),
      lastError: nullable(openObject({ at: dateTime(), code: str(), message: str() }, ['at', 'code', 'message'])),
      failing: bool('the last attempt failed'),
      conflicts: arrayOf(openObject({ address: str(), entries: strings() }, ['address', 'entries'])),
      conflictCount: int(),
      stored: openObject({ entries: int(), certificates: int(), usable: int() }, ['entries', 'certificates', 'usable']),
    },
    ['configured', 'running', 'failing', 'conflicts', 'conflictCount', 'stored'],
  ),
  RecoveryStatus: openObject(
    {
      configured: bool('SMIME_RECOVERY_CERTIFICATE is set'),
      setId: str('hex SHA-256 of the recovery certificate: the id its share files carry'),
      subject: str(),
      keys: int('private keys stored'),
      covered: int('of them, wrapped to the recovery certificate'),
      users: int('users with at least one key'),
      usersCovered: int('of them, users whose every key is covered'),
      uncoveredUsers: strings('users with a key not yet covered (at most SMIME_DIRECTORY_REPORT_LIMIT)'),
    },
    ['configured'],
  ),
  Health: openObject({ status: { type: 'string', enum: ['ok', 'starting'] }, database: str('the database kind') }, [
    'status',
    'database',
  ]),
} satisfies Record<string, JsonSchema>;

/** Every 4xx and 5xx answer (contract.ts ApiErrorBody). */
export const API_ERROR: JsonSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      description: 'code: stable (match on it); message: for people; further fields: machine-readable details',
      properties: { code: { type: 'string', enum: Object.keys(ERRORS) }, message: str() },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
  additionalProperties: false,
};
