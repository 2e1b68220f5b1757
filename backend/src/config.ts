/**
 * Every setting of the server, read from the environment, validated at start-up and documented here (the README's
 * configuration table is generated from the same descriptions by hand; keep them in step). Unknown SMIME_* variables
 * are reported, because a typo in a security setting must not silently fall back to a default.
 */
import { availableParallelism } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { AuditCheckpointSettings } from './audit/checkpoints.ts';
import { CheckpointKeyError, parseSigningKey, parseVerifyingKeys } from './audit/keys.ts';
import { readRecoveryTargetFile, type RecoveryTarget } from './recovery/recovery-key.ts';

/** RFC 9106 section 4, second recommended option: Argon2id, t=3, p=4, m=64 MiB. We never go below it. */
export const ARGON2_MIN = { memoryKiB: 64 * 1024, timeCost: 3, parallelism: 1 } as const;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  PORT: int(0, 65535).default(8080).describe('TCP port of the HTTP server.'),
  HOST: z.string().default('127.0.0.1').describe('Address to listen on (0.0.0.0 for all interfaces).'),
  DATABASE_URL: z
    .string()
    .optional()
    .describe('PostgreSQL connection string. Unset: an embedded PostgreSQL (PGlite) in SMIME_DATA_DIR/db.'),
  DATABASE_POOL_SIZE: int(1, 200).default(10).describe('Connections in the PostgreSQL pool.'),
  SMIME_DATA_DIR: z
    .string()
    .default('data')
    .describe('Folder for the embedded database and generated secrets (created 0700).'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SMIME_LOG_FORMAT: z
    .enum(['auto', 'json', 'pretty'])
    .default('auto')
    .describe(
      'Log lines: json (one JSON object a line, for a log shipper), pretty (time, level, message, key=value; coloured on a terminal), or auto: pretty on a terminal, json otherwise. Secrets are redacted in both.',
    ),

  SMIME_JWT_SECRET: z.string().min(32).optional().describe('Shared secret (>= 32 chars) for HS256 user tokens.'),
  SMIME_JWT_SECRET_FILE: z.string().optional().describe('File holding SMIME_JWT_SECRET.'),
  SMIME_JWT_PUBLIC_KEY_FILE: z
    .string()
    .optional()
    .describe('PEM public key of the host (RS256/PS256/ES256/EdDSA tokens) instead of a shared secret.'),
  SMIME_JWT_ISSUER: z.string().optional().describe('Required `iss` of user tokens, if set.'),
  SMIME_JWT_AUDIENCE: z.string().default('smime').describe('Required `aud` of user tokens.'),
  SMIME_JWT_MAX_LIFETIME_S: int(10, 86400)
    .default(900)
    .describe('Tokens whose exp - iat exceeds this are refused: host tokens must be short-lived.'),
  SMIME_JWT_CLOCK_TOLERANCE_S: int(0, 300).default(30).describe('Clock skew allowed when checking exp/nbf/iat.'),

  SMIME_ADMIN_TOKEN: z.string().min(32).optional().describe('Admin credential (>= 32 chars) for /api/v1/admin.'),
  SMIME_ADMIN_TOKEN_FILE: z.string().optional().describe('File holding SMIME_ADMIN_TOKEN.'),

  SMIME_UNLOCK_IDLE_TIMEOUT_S: int(30, 86400)
    .default(900)
    .describe('Unlocked keys lock again after this long without use (default 15 minutes).'),
  SMIME_UNLOCK_MAX_LIFETIME_S: int(60, 7 * 86400)
    .default(12 * 3600)
    .describe('Absolute lifetime of an unlock, however busy.'),
  SMIME_ARGON2_MEMORY_KIB: int(ARGON2_MIN.memoryKiB, 4 * 1024 * 1024)
    .default(ARGON2_MIN.memoryKiB)
    .describe('Argon2id memory cost in KiB for new wraps (>= 65536, RFC 9106).'),
  SMIME_ARGON2_TIME_COST: int(ARGON2_MIN.timeCost, 100).default(3).describe('Argon2id passes (>= 3).'),
  SMIME_ARGON2_PARALLELISM: int(1, 16).default(4).describe('Argon2id lanes.'),
  SMIME_ARGON2_CONCURRENCY: int(1, 64)
    .default(2)
    .describe('Argon2 derivations run at once per instance; more wait, so a burst of unlocks cannot starve signing.'),
  SMIME_ARGON2_NICE: int(0, 19)
    .default(10)
    .describe(
      'CPU priority (nice) of the Argon2 worker process: above 0, signing wins the cores during an unlock burst.',
    ),
  SMIME_PASSPHRASE_MIN_LENGTH: int(8, 1024).default(10).describe('Minimum length of a passphrase a user chooses.'),
  SMIME_THROTTLE_FREE_ATTEMPTS: int(1, 100).default(3).describe('Wrong passphrases allowed before delays start.'),
  SMIME_THROTTLE_BASE_DELAY_S: int(1, 3600).default(2).describe('First delay; it doubles with each further failure.'),
  SMIME_THROTTLE_MAX_DELAY_S: int(1, 86400).default(900).describe('Longest delay between attempts.'),
  SMIME_MAX_P12_BYTES: int(1024, 16 * 1024 * 1024)
    .default(256 * 1024)
    .describe('Largest accepted .p12 file.'),
  SMIME_MAX_JSON_BYTES: int(1024, 64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Largest JSON request body (a .p12 travels base64 inside JSON).'),
  SMIME_RATE_LIMIT_PER_MINUTE: int(1, 1_000_000)
    .default(600)
    .describe('Requests per minute per client (user token or address) and instance, with a burst of the same size.'),
  SMIME_MAX_MESSAGE_BYTES: int(1024, 512 * 1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe('Largest message accepted by /messages (a 25 MB attachment is about 34 MB in base64).'),
  SMIME_TRUST_ANCHORS: z
    .string()
    .optional()
    .describe('PEM bundle of the CA certificates signatures must chain to (your organisation CA, public S/MIME CAs).'),
  SMIME_TRUST_SYSTEM_ROOTS: bool.default(false).describe("Also trust Node's bundled root CAs (the Mozilla store)."),
  SMIME_REVOCATION_CHECK: z
    .enum(['on', 'off'])
    .default('on')
    .describe('Check OCSP/CRL of signers; a check that cannot complete reports revocation-unknown, never valid.'),
  SMIME_FETCH_TIMEOUT_MS: int(100, 60_000).default(5000).describe('Timeout of one AIA, CRL or OCSP fetch.'),
  SMIME_FETCH_ALLOW_PRIVATE: bool
    .default(false)
    .describe('Allow AIA/CRL/OCSP fetches to private and loopback addresses (tests only: an SSRF risk).'),
  SMIME_DEFAULT_CIPHER: z
    .enum(['aes-256-cbc', 'aes-128-cbc', 'aes-256-gcm', 'aes-128-gcm'])
    .default('aes-256-cbc')
    .describe('Content cipher for encryption; GCM is used anyway when every recipient announced it.'),
  SMIME_SHA1_SIGNED_BEFORE: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || !Number.isNaN(Date.parse(v)), 'must be a date, e.g. 2020-01-01')
    .transform((v) => (v ? new Date(v) : undefined))
    .describe(
      'Accept SHA-1 message signatures that claim a signing time before this date as valid, with a warning (an archive of old mail). Unset: SHA-1 is weak-algorithm.',
    ),
  SMIME_ANNOUNCE_GCM: bool
    .default(false)
    .describe(
      'Announce AES-GCM (AuthEnvelopedData) in our signatures, so correspondents encrypt to our users with it. Off: users who also read their mail in Thunderbird (NSS) could not open it there.',
    ),
  SMIME_ANNOUNCE_CHACHA20_POLY1305: bool
    .default(false)
    .describe(
      'Announce ChaCha20-Poly1305 (RFC 8103, AuthEnvelopedData) in our signatures, after AES-GCM, so correspondents whose client prefers it encrypt to our users with it. Off: Thunderbird (NSS) and OpenSSL 3.0 cannot open it. It is read either way, and sent when every recipient announced it.',
    ),
  SMIME_KEY_TRANSPORT: z
    .enum(['rsa-pkcs1', 'rsa-oaep'])
    .default('rsa-pkcs1')
    .describe('RSA key transport for encryption: PKCS#1 v1.5 (what every client reads) or RSA-OAEP.'),
  SMIME_COOKIE_SECURE: bool.default(true).describe('Mark the unlock cookie Secure (browsers accept it on localhost).'),
  SMIME_COOKIE_PATH: z
    .string()
    .regex(/^\/[^;\s]*$/, 'must be a URL path starting with /')
    .default('/api/v1')
    .describe(
      "Path of the unlock cookie. '/' when a server-side host such as the Roundcube plugin must receive it too (it forwards it as X-Smime-Unlock); the default keeps it to the API.",
    ),
  SMIME_TRUST_PROXY: bool.default(false).describe('Trust X-Forwarded-* headers from a reverse proxy.'),

  // Abuse limits (issue 12): what one request, one client or a flood of connections can make an instance do.
  SMIME_TRUST_PROXY_HOPS: int(1, 10)
    .default(1)
    .describe('Trusted proxies that append to X-Forwarded-For: the client is that many entries from the right.'),
  SMIME_MAX_RECIPIENTS: int(1, 100_000)
    .default(500)
    .describe('Recipients (To, Cc, Bcc) of one message at most, as Exchange Online and most mail servers cap it.'),
  SMIME_MAX_OUTPUT_BYTES: int(1024 * 1024, 2 * 1024 * 1024 * 1024)
    .default(256 * 1024 * 1024)
    .describe(
      'What one request may produce at most (every protected copy together): each Bcc recipient costs a whole copy.',
    ),
  SMIME_MAX_CONNECTIONS: int(0, 1_000_000)
    .default(0)
    .describe(
      "Open HTTP connections at most; 0 = the process's file-descriptor limit less a reserve for the database and files.",
    ),
  SMIME_SOCKET_IDLE_TIMEOUT_MS: int(1000, 3_600_000)
    .default(60_000)
    .describe('A connection silent this long is closed (an idle flood must not hold descriptors).'),
  SMIME_HEADERS_TIMEOUT_MS: int(1000, 600_000)
    .default(10_000)
    .describe('Time a client has to send the request headers.'),
  SMIME_P12_IMPORTS_PER_HOUR: int(1, 100_000)
    .default(20)
    .describe(
      'Self-service .p12 imports a user may attempt per hour, counted before the costly PKCS#12 key derivation.',
    ),
  SMIME_P12_CONCURRENCY: int(1, 64)
    .default(1)
    .describe('PKCS#12 key derivations at once (worker threads, off the event loop).'),
  SMIME_P12_QUEUE: int(0, 10_000)
    .default(16)
    .describe('PKCS#12 derivations waiting at most; beyond, 503 SERVER_BUSY with Retry-After.'),
  // Large messages off the event loop (issue 16, backend/src/mail/message-pool.ts).
  SMIME_WORKERS: int(1, 256)
    .default(availableParallelism())
    .describe('Worker threads that analyse large received messages (default: the number of cores).'),
  SMIME_WORKER_QUEUE: int(0, 10_000)
    .default(8)
    .describe('Large messages waiting for a worker at most; beyond, 503 SERVER_BUSY with Retry-After.'),
  SMIME_WORKER_MIN_BYTES: int(0, 1024 * 1024 * 1024)
    .default(256 * 1024)
    .describe('Received messages this large and larger are analysed in a worker thread; smaller ones inline.'),
  // Production and the demo (issue 12): NODE_ENV=production never serves the demo (backend/src/production.ts refuses
  // SMIME_DEMO=on there); the demo is wired in by its own entry module, backend/src/demo/entry.ts.
  SMIME_DEMO: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe(
      'Demo webmail at /demo: demo users seeded at first start, keys from a demo CA in SMIME_DATA_DIR/demo (name-constrained to demo.example) that the server then trusts. auto = on with the embedded database, off with DATABASE_URL. Never with NODE_ENV=production: auto is off there and on refuses to start.',
    ),
  SMIME_DEMO_MAILBOX_MAX_BYTES: int(64 * 1024, 1024 * 1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe(
      'Demo mode: stored mail per demo user (inbox and sent together, files in SMIME_DATA_DIR/demo/mail); the oldest messages make room for new ones, so anonymous visitors cannot fill the disk.',
    ),

  // Directory sync (issue 4). LDAP_* names follow the usual convention of LDAP clients.
  LDAP_URL: z
    .string()
    .regex(/^ldaps?:\/\/[^/?#]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]')
    .optional()
    .describe('Directory server, ldap://host[:port] (StartTLS) or ldaps://host[:port]. Unset: no directory sync.'),
  LDAP_STARTTLS: bool
    .default(true)
    .describe('Upgrade ldap:// with StartTLS (false sends the bind password in clear: tests only).'),
  LDAP_CA_FILE: z
    .string()
    .optional()
    .describe("PEM CA bundle the directory's TLS certificate must chain to (default: system roots)."),
  LDAP_BIND_DN: z.string().optional().describe('DN (or AD user@domain) to bind as; unset: anonymous.'),
  LDAP_BIND_PASSWORD: z.string().optional().describe('Password of LDAP_BIND_DN (never logged).'),
  LDAP_BIND_PASSWORD_FILE: z.string().optional().describe('File holding LDAP_BIND_PASSWORD.'),
  LDAP_BASE_DN: z
    .string()
    .optional()
    .describe('Where the search starts, e.g. DC=corp,DC=example,DC=com. Required with LDAP_URL.'),
  LDAP_FILTER: z
    .string()
    .default('(&(mail=*)(|(userCertificate=*)(userSMIMECertificate=*)))')
    .describe('Which entries to read: by default every entry with an address and a certificate.'),
  LDAP_ATTR_MAIL: z.string().default('mail').describe('Attribute holding the primary address.'),
  LDAP_ATTR_PROXY_ADDRESSES: z
    .string()
    .default('proxyAddresses')
    .describe('Attribute holding further addresses, AD style: SMTP:primary and smtp:alias (other types ignored).'),
  LDAP_ATTR_CERTIFICATE: z
    .string()
    .default('userCertificate;binary')
    .describe('Attribute holding DER certificates (several values allowed).'),
  LDAP_ATTR_SMIME_CERTIFICATE: z
    .string()
    .default('userSMIMECertificate')
    .describe('Attribute holding PKCS#7 certs-only bundles (RFC 2798); every certificate inside is read.'),
  LDAP_TIMEOUT_MS: int(100, 600_000)
    .default(10_000)
    .describe('Timeout of the connection and of each LDAP operation (one page).'),
  SMIME_DIRECTORY_PAGE_SIZE: int(1, 1000)
    .default(500)
    .describe("Entries per page of the paged search; at most the server's page limit (AD: MaxPageSize, 1000)."),
  SMIME_DIRECTORY_SYNC_INTERVAL_S: int(0, 7 * 86400)
    .default(3600)
    .describe('Periodic sync when LDAP_URL is set: seconds between runs, 0 = off (sync only on demand).'),
  SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S: int(0, 30 * 86400)
    .default(86400)
    .describe('A periodic run is a full sync (which sees deletions) when the last full one is older than this.'),

  // Audit checkpoints (issue 12): signed anchors of the audit chain outside the database. auditCheckpointSettings()
  // below turns these into config.auditCheckpoint.
  SMIME_AUDIT_CHECKPOINT_KEY_FILE: z
    .string()
    .optional()
    .describe(
      'PEM private key (Ed25519 or ECDSA P-256) that signs audit checkpoints; mode 0600, owned by the server, unreadable by the database and its OS user. Unset: generated into SMIME_DATA_DIR/secrets (development only; production must set it).',
    ),
  SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE: z
    .string()
    .optional()
    .describe(
      "PEM public key(s) that verify checkpoints: all an auditor needs. Several allowed (keep retired keys after a rotation); the signing key's own half is always accepted.",
    ),
  SMIME_AUDIT_CHECKPOINT_FILE: z
    .string()
    .optional()
    .describe(
      'File checkpoints are appended to, one JSON line each (default SMIME_DATA_DIR/audit-checkpoints.jsonl). Keep it where the database cannot write, or ship it off the host.',
    ),
  SMIME_AUDIT_CHECKPOINT_SYSLOG: z
    .string()
    .regex(/^udp:\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#[\]@]+):\d{1,5}\/?$/, 'must be udp://host:port')
    .refine((v) => URL.canParse(v) && Number(new URL(v).port) > 0, 'port must be 1..65535')
    .optional()
    .describe('Also send every checkpoint to this syslog collector, RFC 5424 over UDP, e.g. udp://127.0.0.1:514.'),
  SMIME_AUDIT_CHECKPOINT_INTERVAL_S: int(0, 86400)
    .default(900)
    .describe(
      'Seconds between checkpoints (each instance, and one at start and at shutdown). Entries newer than the last checkpoint can be removed unnoticed: this is that window. 0 = only on demand.',
    ),
  SMIME_RECOVERY_CERTIFICATE: z
    .string()
    .optional()
    .describe('Recovery certificate (PEM, from smime-admin recovery-init) every stored key is also wrapped to.'),
  // Directory trust (issue 12): which directory certificates may be encrypted to, and what a sync reports.
  SMIME_DIRECTORY_TRUST_ANCHORS: z
    .string()
    .optional()
    .describe(
      "PEM bundle of the CAs that issue the directory's certificates: one is used only when it chains to one of these. Default: the signature trust anchors (SMIME_TRUST_ANCHORS, and the system roots if trusted).",
    ),
  SMIME_DIRECTORY_REVOCATION_UNKNOWN: z
    .enum(['allow', 'block'])
    .default('allow')
    .describe(
      "A directory certificate whose OCSP/CRL check could not complete: 'allow' encrypts to it and says the status is unknown, 'block' refuses it. Revoked is always refused.",
    ),
  SMIME_DIRECTORY_REPORT_LIMIT: int(1, 10_000)
    .default(100)
    .describe(
      'Address conflicts and rejected certificates listed by a sync summary, its audit entry and the status (the counts are always whole).',
    ),
});

/** Variables the CLI reads for one command (secrets kept off the command line), not server settings. */
const NOT_SETTINGS = new Set(['SMIME_P12_PASSWORD', 'SMIME_INITIAL_PASSPHRASE', 'SMIME_ADMIN_URL']);

export type Config = z.infer<typeof schema> & {
  /** Resolved absolute data folder. */
  dataDir: string;
  /** The HS256 secret, if that is how host tokens are signed. */
  jwtSecret: Uint8Array | undefined;
  /** PEM of the host's public key, if that is how host tokens are signed. */
  jwtPublicKeyPem: string | undefined;
  adminToken: string | undefined;
  /** LDAP_BIND_PASSWORD or the content of its _FILE. */
  ldapBindPassword: string | undefined;
  /** NODE_ENV=production: weak settings refuse to start (production.ts) and the demo is never on. */
  production: boolean;
  /** Demo mode (SMIME_DEMO resolved; never in production). */
  demo: boolean;
  /** In demo mode: the demo CA's PEM, trusted beside SMIME_TRUST_ANCHORS (set by demo/entry.ts once the CA exists). */
  demoTrustAnchorsFile?: string;
  /** Audit checkpoints (SMIME_AUDIT_CHECKPOINT_*); the signing key may be filled in by withGeneratedSecrets. */
  auditCheckpoint: AuditCheckpointConfig;
  recovery: RecoveryTarget | undefined; // SMIME_RECOVERY_CERTIFICATE, read and checked (issue 17)
};

export type AuditCheckpointConfig = AuditCheckpointSettings & { intervalS: number };

export const SETTINGS_DOC: Record<string, string> = Object.fromEntries(
  Object.entries(schema.shape).map(([k, v]) => [k, (v as z.ZodType).description ?? '']),
);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * The audit checkpoint settings (issue 12). The signing key must not be readable by anyone but the server's user: a
 * database superuser can read any file the database's OS user can (pg_read_file, COPY FROM), and with the key could
 * sign checkpoints for a rewritten chain.
 */
function auditCheckpointSettings(c: z.infer<typeof schema>): AuditCheckpointConfig {
  const keyFile = c.SMIME_AUDIT_CHECKPOINT_KEY_FILE;
  let signingKey;
  if (keyFile) {
    const pem = readSecretFile(keyFile, 'SMIME_AUDIT_CHECKPOINT_KEY_FILE');
    if (statSync(keyFile).mode & 0o077)
      throw new ConfigError(
        `SMIME_AUDIT_CHECKPOINT_KEY_FILE: ${keyFile} is readable by others than its owner; chmod 600 it`,
      );
    try {
      signingKey = parseSigningKey(pem);
    } catch (e) {
      throw new ConfigError(`SMIME_AUDIT_CHECKPOINT_KEY_FILE: ${(e as CheckpointKeyError).message}`);
    }
  }
  let verifyingKeys: AuditCheckpointConfig['verifyingKeys'] = [];
  if (c.SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE) {
    const pem = readSecretFile(c.SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE, 'SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE');
    try {
      verifyingKeys = parseVerifyingKeys(pem);
    } catch (e) {
      throw new ConfigError(`SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE: ${(e as CheckpointKeyError).message}`);
    }
  }
  return {
    signingKey,
    verifyingKeys,
    file: resolve(c.SMIME_AUDIT_CHECKPOINT_FILE ?? join(c.SMIME_DATA_DIR, 'audit-checkpoints.jsonl')),
    syslog: c.SMIME_AUDIT_CHECKPOINT_SYSLOG,
    intervalS: c.SMIME_AUDIT_CHECKPOINT_INTERVAL_S,
  };
}

/** Parse and validate settings. Throws ConfigError naming every bad variable (never its value). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = new Set(Object.keys(schema.shape));
  const unknown = Object.keys(env).filter(
    (k) => k.startsWith('SMIME_') && !known.has(k) && !NOT_SETTINGS.has(k) && !k.startsWith('SMIME_TEST_'),
  );
  if (unknown.length) throw new ConfigError(`unknown settings: ${unknown.join(', ')}`);
  const raw = Object.fromEntries(
    [...known].filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid settings: ${what}`);
  }
  const c = parsed.data;
  if (c.SMIME_JWT_SECRET && c.SMIME_JWT_SECRET_FILE)
    throw new ConfigError('set SMIME_JWT_SECRET or its _FILE, not both');
  if (c.SMIME_ADMIN_TOKEN && c.SMIME_ADMIN_TOKEN_FILE)
    throw new ConfigError('set SMIME_ADMIN_TOKEN or its _FILE, not both');
  const secret =
    c.SMIME_JWT_SECRET ??
    (c.SMIME_JWT_SECRET_FILE ? readSecretFile(c.SMIME_JWT_SECRET_FILE, 'SMIME_JWT_SECRET_FILE') : undefined);
  if (secret !== undefined && secret.length < 32)
    throw new ConfigError('SMIME_JWT_SECRET must be at least 32 characters');
  const publicKeyPem = c.SMIME_JWT_PUBLIC_KEY_FILE
    ? readSecretFile(c.SMIME_JWT_PUBLIC_KEY_FILE, 'SMIME_JWT_PUBLIC_KEY_FILE')
    : undefined;
  if (secret && publicKeyPem) throw new ConfigError('configure either a JWT shared secret or a public key, not both');
  const adminToken =
    c.SMIME_ADMIN_TOKEN ??
    (c.SMIME_ADMIN_TOKEN_FILE ? readSecretFile(c.SMIME_ADMIN_TOKEN_FILE, 'SMIME_ADMIN_TOKEN_FILE') : undefined);
  if (adminToken !== undefined && adminToken.length < 32)
    throw new ConfigError('SMIME_ADMIN_TOKEN must be at least 32 characters');
  if (c.SMIME_THROTTLE_MAX_DELAY_S < c.SMIME_THROTTLE_BASE_DELAY_S)
    throw new ConfigError('SMIME_THROTTLE_MAX_DELAY_S must be >= SMIME_THROTTLE_BASE_DELAY_S');
  if (c.LDAP_BIND_PASSWORD && c.LDAP_BIND_PASSWORD_FILE)
    throw new ConfigError('set LDAP_BIND_PASSWORD or its _FILE, not both');
  const ldapBindPassword =
    c.LDAP_BIND_PASSWORD ??
    (c.LDAP_BIND_PASSWORD_FILE ? readSecretFile(c.LDAP_BIND_PASSWORD_FILE, 'LDAP_BIND_PASSWORD_FILE') : undefined);
  if (c.LDAP_URL && !c.LDAP_BASE_DN) throw new ConfigError('LDAP_BASE_DN is required with LDAP_URL');
  if (c.LDAP_BIND_DN && !ldapBindPassword)
    throw new ConfigError('LDAP_BIND_DN needs LDAP_BIND_PASSWORD or LDAP_BIND_PASSWORD_FILE');
  return {
    ...c,
    dataDir: resolve(c.SMIME_DATA_DIR),
    jwtSecret: secret ? new TextEncoder().encode(secret) : undefined,
    jwtPublicKeyPem: publicKeyPem,
    adminToken,
    ldapBindPassword,
    production: env.NODE_ENV === 'production',
    demo: env.NODE_ENV !== 'production' && (c.SMIME_DEMO === 'on' || (c.SMIME_DEMO === 'auto' && !c.DATABASE_URL)),
    auditCheckpoint: auditCheckpointSettings(c),
    recovery: readRecoveryTargetFile(
      c.SMIME_RECOVERY_CERTIFICATE,
      (m) => new ConfigError(`SMIME_RECOVERY_CERTIFICATE: ${m}`),
    ),
  };
}
