/**
 * Every error the admin command line can print, as a person reads it (issue 15): what happened, in the terms of the
 * command just run (the file, the user, where the password came from), and what to do next: which option, which
 * setting and how to raise it. The stable code stays visible in brackets for scripts: `error [P12_BAD_PASSWORD]: ...`.
 * Internals (stack traces, SQL, the database URL's password) are never printed.
 */
import { ConfigError } from '../config.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { MAX_P12_BYTES } from '../smime/index.ts';

/** What the command was working on when it failed: each fix is phrased with it. */
export interface ExplainContext {
  /** The .p12 file, as the operator named it. */
  file?: string;
  /** Its size, to tell the configured limit (SMIME_MAX_P12_BYTES) from the engine's own. */
  fileBytes?: number;
  user?: string;
  /** Where the .p12 password came from: 'SMIME_P12_PASSWORD', 'prompt', 'env:VAR', 'file:PATH'. */
  passwordFrom?: string;
  /** SMIME_MAX_P12_BYTES in force. */
  maxP12Bytes?: number;
  /** SMIME_PASSPHRASE_MIN_LENGTH in force. */
  passphraseMinLength?: number;
  /** Bulk import: --force applies to every file. */
  bulk?: boolean;
}

export interface Explained {
  code: string;
  /** What happened, one sentence without a final full stop. */
  reason: string;
  /** What to do next, one sentence without a final full stop. */
  fix: string;
}

/** `error [CODE]: reason: fix.` on one line. */
export function errorLine(x: Explained): string {
  return `error [${x.code}]: ${x.reason}: ${x.fix}.`;
}

const README = 'README.md, section "Command line: smime-admin"';

function trimStop(s: string): string {
  return s.replace(/\.\s*$/, '');
}

/** The engine's detail in parentheses ("(PFX: value runs past its container)"), if its message had one. */
function detailOf(message: string): string {
  const m = /\(([^()]*)\)\s*$/.exec(message);
  return m ? ` (${m[1]})` : '';
}

function passwordFix(from: string | undefined): string {
  if (!from || from === 'SMIME_P12_PASSWORD')
    return 'check SMIME_P12_PASSWORD, or unset it and type the password at the prompt';
  if (from === 'prompt') return 'type the password again (the one given when the file was exported)';
  if (from.startsWith('env:')) return `check the variable ${from.slice(4)} named in the CSV file`;
  if (from.startsWith('file:')) return `check the first line of ${from.slice(5)}, the password file named in the CSV`;
  return 'check the password';
}

interface Words {
  e: AppError;
  c: ExplainContext;
  file: string;
  user: string;
  message: string;
  force: string;
}

type Fix = (w: Words) => { reason: string; fix: string };

function tooLarge(e: AppError, c: ExplainContext, file: string): { reason: string; fix: string } {
  const limit = c.maxP12Bytes;
  if (limit !== undefined && c.fileBytes !== undefined && c.fileBytes > limit && limit < MAX_P12_BYTES)
    return {
      reason: `${file} is ${c.fileBytes} bytes, more than SMIME_MAX_P12_BYTES (${limit})`,
      fix: `raise SMIME_MAX_P12_BYTES (up to ${MAX_P12_BYTES}) if the file is genuine, or export it without the extra certificates`,
    };
  return {
    reason: `${file} exceeds a fixed limit of the PKCS#12 reader${detailOf(e.message) || `: ${trimStop(e.message)}`}`,
    fix: `export it again with only the user's certificate and its chain (at most ${MAX_P12_BYTES} bytes) and the usual iteration counts`,
  };
}

function directoryQuery(message: string): { reason: string; fix: string } {
  return { reason: trimStop(message.replace(/;.*$/, '')), fix: 'check LDAP_BASE_DN and LDAP_FILTER' };
}

function ownFix(e: AppError, message: string): { reason: string; fix: string } {
  return { reason: message, fix: String(e.details?.fix ?? `see the CSV format in ${README}`) };
}

/** Each code the command line can meet, in the words of the command that met it. */
const FIXES: Partial<Record<ErrorCode, Fix>> = {
  P12_BAD_PASSWORD: (w) => ({
    reason: `The password does not open ${w.file}`,
    fix: passwordFix(w.c.passwordFrom),
  }),
  P12_MALFORMED: (w) => ({
    reason: `${w.file} is not a readable PKCS#12 (.p12/.pfx) file${detailOf(w.e.message)}`,
    fix: 'export the key and its certificate again as a .p12 or .pfx file (openssl pkcs12 -export, or Windows certmgr "Export... with private key")',
  }),
  P12_UNSUPPORTED_ALGORITHM: (w) => ({
    reason: `${w.file} is protected with an algorithm this server does not support${detailOf(w.e.message) || `: ${w.message}`}`,
    fix: 'export it again with AES and PBKDF2 (the default of OpenSSL 3 and of Windows "AES256-SHA256")',
  }),
  P12_TOO_LARGE: (w) => tooLarge(w.e, w.c, w.file),
  P12_NO_KEY: (w) => ({
    reason: `${w.file} holds certificates but no private key`,
    fix: 'export it again with the private key ("Yes, export the private key"; openssl pkcs12 -export -inkey KEY)',
  }),
  P12_NO_CERTIFICATE: (w) => ({
    reason: `${w.file} holds a private key but no certificate`,
    fix: 'export it again with the certificate (openssl pkcs12 -export -in CERT -inkey KEY)',
  }),
  P12_KEY_MISMATCH: (w) => ({
    reason: `No certificate in ${w.file} belongs to its private key`,
    fix: 'export it again with the certificate issued for that key',
  }),
  KEY_TYPE_UNSUPPORTED: (w) => ({
    reason: `${w.file}: ${w.message}`,
    fix: 'issue the user an RSA or ECDSA (P-256, P-384, P-521) certificate',
  }),
  CERT_EMAIL_MISMATCH: (w) => ({
    reason: w.message,
    fix: `place it for the address the certificate names, record that address as an alias first (smime-admin add-alias --user ${w.c.user ?? 'EMAIL'} --alias ADDRESS), or pass ${w.force} if it is meant for ${w.user}`,
  }),
  CERT_NOT_FOR_EMAIL: (w) => ({
    reason: `The certificate in ${w.file} is not meant for email protection (no emailProtection extended key usage)`,
    fix: `issue an S/MIME certificate, or pass ${w.force} to place it anyway`,
  }),
  KEY_ALREADY_PRESENT: (w) => ({
    reason: `The key in ${w.file} is already in the profile of ${w.user}`,
    fix:
      `nothing to do (smime-admin list-keys --user ${w.c.user ?? 'EMAIL'} shows it); after a recovery, ` +
      'put it back with --replace',
  }),
  USER_NOT_FOUND: (w) => ({
    reason: `There is no user ${w.user}`,
    fix: 'check the address; a user exists once a key was placed for them (import-p12) or they signed in',
  }),
  ALIAS_TAKEN: () => ({
    reason: 'That address already belongs to another user (as their address or an alias)',
    fix: 'choose another alias, or look the address up with smime-admin list-keys --user ADDRESS',
  }),
  PASSPHRASE_TOO_WEAK: (w) => ({
    reason: 'The initial passphrase is too short',
    fix: `use at least SMIME_PASSPHRASE_MIN_LENGTH${w.c.passphraseMinLength ? ` (${w.c.passphraseMinLength})` : ''} characters`,
  }),
  AUDIT_CHECKPOINT_KEY_MISSING: () => ({
    reason: 'No key to sign audit checkpoints with',
    fix: 'set SMIME_AUDIT_CHECKPOINT_KEY_FILE to the Ed25519 private key (PEM)',
  }),
  AUDIT_CHECKPOINT_REFUSED: (w) => ({
    reason: w.message,
    fix: 'run smime-admin audit-verify --checkpoints FILE to see which entries changed, and investigate before signing again',
  }),
  AUDIT_CHECKPOINT_WRITE_FAILED: (w) => ({
    reason: w.message,
    fix: "check that SMIME_AUDIT_CHECKPOINT_FILE's folder exists and is writable (and SMIME_AUDIT_CHECKPOINT_SYSLOG, if set, is reachable)",
  }),
  DIRECTORY_NOT_CONFIGURED: (w) => ({
    reason: w.message,
    fix: 'set LDAP_URL and LDAP_BASE_DN (and LDAP_BIND_DN, LDAP_BIND_PASSWORD_FILE)',
  }),
  DIRECTORY_SYNC_RUNNING: (w) => ({
    reason: w.message,
    fix: 'wait until it ends (the server may be running one) and run the command again',
  }),
  DIRECTORY_UNREACHABLE: (w) => ({
    reason: w.message,
    fix: 'check LDAP_URL (host and port) and that the directory server is up',
  }),
  DIRECTORY_TLS_FAILED: (w) => ({
    reason: w.message,
    fix: "set LDAP_CA_FILE to the CA that issued the directory server's certificate",
  }),
  DIRECTORY_BIND_FAILED: (w) => ({
    reason: w.message,
    fix: 'check LDAP_BIND_DN and LDAP_BIND_PASSWORD (or LDAP_BIND_PASSWORD_FILE)',
  }),
  DIRECTORY_BAD_BASE_DN: (w) => directoryQuery(w.message),
  DIRECTORY_SEARCH_FAILED: (w) => directoryQuery(w.message),
  DIRECTORY_EMPTY: (w) => directoryQuery(w.message),
  FILE_NOT_FOUND: (w) => ({
    reason: `${String(w.e.details?.path ?? w.file)} does not exist`,
    fix: `check the path${w.e.details?.option ? ` given to ${String(w.e.details.option)}` : ''} (relative paths start from ${String(w.e.details?.base ?? 'the current folder')})`,
  }),
  FILE_UNREADABLE: (w) => ({
    reason: `${String(w.e.details?.path ?? w.file)} cannot be read (${String(w.e.details?.cause ?? 'error')})`,
    fix:
      w.e.details?.cause === 'EISDIR'
        ? 'it is a folder: name a file, or use --dir for a folder of .p12 files'
        : 'run the command as a user who may read it',
  }),
  CSV_INVALID: (w) => ownFix(w.e, w.message),
  PASSWORD_SOURCE_INVALID: (w) => ownFix(w.e, w.message),
  RECOVERY_SHARE_REJECTED: (w) => ({
    reason: `${String(w.e.details?.rejected ?? 'A')} share file(s) could not be opened: a wrong password or an altered file (which one is not said, on purpose)`,
    fix: 'each custodian types their password again, or replaces an altered file with their own copy',
  }),
  RECOVERY_TOO_FEW_SHARES: (w) => ({
    reason: `${String(w.e.details?.have ?? 'Too few')} of ${String(w.e.details?.need ?? 'M')} shares given`,
    fix: `${String(w.e.details?.missing ?? 'more')} more custodian(s) must add their share file (--share)`,
  }),
  RECOVERY_SHARES_MIXED: () => ({
    reason: 'The share files belong to different recovery sets',
    fix: 'give only share files of the current recovery set (their setId is in each file)',
  }),
  RECOVERY_SHARES_INVALID: (w) => ({
    reason: w.message,
    fix: "give each custodian's share file once, as recovery-init wrote it",
  }),
  RECOVERY_KEY_MISMATCH: () => ({
    reason:
      "The shares do not rebuild the recovery certificate's private key: a share file holds a wrong share, or comes from another split",
    fix: 'try another combination of custodians; a custodian whose file is always involved must be asked where it came from',
  }),
  RECOVERY_NOT_COVERED: (w) => ({
    reason: w.message,
    fix: 'nothing can be recovered for these keys; the user gets a new certificate (keys are covered from their next unlock once SMIME_RECOVERY_CERTIFICATE is set)',
  }),
  RECOVERY_SET_UNKNOWN: (w) => ({
    reason: w.message,
    fix: "use the share files of the set whose certificate this server's SMIME_RECOVERY_CERTIFICATE names (its RECOVERY-SET.txt gives the set id), against this deployment's DATABASE_URL",
  }),
  RECOVERY_WRAP_INVALID: () => ({
    reason: 'A recovery copy in the database does not open with the rebuilt key or holds another key',
    fix: "the copy is damaged: check the database backups for this key's key_recovery_wraps row",
  }),
  RECOVERY_CERTIFICATE_INVALID: (w) => ({
    reason: w.message,
    fix: 'use the certificate smime-admin recovery-init wrote (RSA, at least 3072 bits)',
  }),
  DATABASE_UNREACHABLE: (w) => ({
    reason: w.message,
    fix: 'check DATABASE_URL and that PostgreSQL is up, or unset DATABASE_URL to use the embedded database in SMIME_DATA_DIR',
  }),
};

function appFix(e: AppError, c: ExplainContext): { reason: string; fix: string } {
  const words: Words = {
    e,
    c,
    file: c.file ?? 'the .p12 file',
    user: c.user ?? 'the user',
    message: trimStop(e.message),
    force: c.bulk ? '--force (it applies to every file of the import)' : '--force',
  };
  const fix = FIXES[e.code];
  if (fix) return fix(words);
  return {
    reason: words.message,
    fix:
      e.kind === 'busy' || e.kind === 'rate-limited' || e.kind === 'conflict' ? 'try again shortly' : `see ${README}`,
  };
}

/** The error as the operator reads it. */
export function explain(e: unknown, c: ExplainContext = {}): Explained {
  if (e instanceof AppError) return { code: e.code, ...appFix(e, c) };
  if (e instanceof ConfigError)
    return {
      code: 'CONFIG_INVALID',
      reason: `Invalid configuration: ${trimStop(e.message)}`,
      fix: 'correct that variable in the environment (every setting is described in README.md, section "Configuration")',
    };
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOENT' || errno === 'EACCES' || errno === 'EISDIR') {
    const path = (e as NodeJS.ErrnoException).path ?? c.file ?? 'the file';
    return explain(
      errno === 'ENOENT'
        ? new AppError('FILE_NOT_FOUND', undefined, { path })
        : new AppError('FILE_UNREADABLE', undefined, { path, cause: errno }),
      c,
    );
  }
  // Not foreseen: a bug or an environment problem. The message only, never a stack or a query.
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: 'INTERNAL',
    reason: `Unexpected error: ${trimStop(message)}`,
    fix: 'run again with LOG_LEVEL=debug for details, and report it if it persists',
  };
}
