/**
 * Weak settings (issue 12). With NODE_ENV=production the server refuses to start while any of these holds, and says in
 * one message every setting to change and how; in development (`npm start` on a fresh clone) the same findings are
 * warnings, so the two-command quickstart keeps its generated secrets and embedded database.
 *
 *   - no host-token key (SMIME_JWT_SECRET(_FILE) or SMIME_JWT_PUBLIC_KEY_FILE), no admin token, or no audit checkpoint
 *     key (SMIME_AUDIT_CHECKPOINT_KEY_FILE): production never runs on secrets it generated itself into the data
 *     folder, where whoever rewrites the database could read the key meant to expose that;
 *   - a secret shorter than MIN_SECRET_CHARS;
 *   - a secret file, the data folder or anything in it (the embedded database) readable or writable by group or others;
 *   - NODE_TLS_REJECT_UNAUTHORIZED=0, which turns off certificate checks of every TLS connection node makes, the
 *     directory's LDAPS/StartTLS included, without a word;
 *   - LDAP_STARTTLS=false towards anything but a loopback address: the bind password and the directory in clear;
 *   - SMIME_FETCH_ALLOW_PRIVATE=true: AIA/CRL/OCSP URLs from any sender's certificate reach the internal network;
 *   - SMIME_DEMO=on: the demo hands out logins to anyone and trusts the demo CA.
 *
 * Reads the environment (and the files it names) only, so that every finding is reported even when loadConfig
 * refuses a value; values are never part of a message.
 */
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

/** The shortest secret accepted (config.ts asks the same of SMIME_JWT_SECRET and SMIME_ADMIN_TOKEN). */
export const MIN_SECRET_CHARS = 32;
/** Paths named in one finding about loose permissions; the rest are counted. */
const MAX_PATHS_NAMED = 3;
/** Entries of the data folder looked at: the embedded database holds about a thousand files. */
const MAX_DATA_ENTRIES = 100_000;

export interface WeakSetting {
  /** The setting to change. */
  setting: string;
  /** What is wrong, naming paths but never a value. */
  problem: string;
  /** What to set or do. */
  fix: string;
  /** A secret that development generates (secrets.ts) instead: not worth a second warning there. */
  generatedInDevelopment?: boolean;
  /** About a file's or folder's permissions (`smime-admin doctor` reports these as its secret-files check). */
  filePermissions?: boolean;
}

const isTrue = (v: string | undefined) => v !== undefined && ['true', '1', 'yes'].includes(v);
const isFalse = (v: string | undefined) => v !== undefined && ['false', '0', 'no'].includes(v);
const set = (v: string | undefined): v is string => v !== undefined && v !== '';

function mode(st: Stats): string {
  return `0${(st.mode & 0o777).toString(8)}`;
}

/** Stats of `path`, undefined when it does not exist (or cannot be looked at: loadConfig reports that). */
function stat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function secretFinding(env: NodeJS.ProcessEnv, name: string, what: string, alternative?: string): WeakSetting[] {
  const file = env[`${name}_FILE`];
  let value = env[name];
  if (!set(value) && set(file)) {
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch {
      return []; // loadConfig names the unreadable file
    }
  }
  if (!set(value)) {
    return [
      {
        setting: `${name}_FILE`,
        problem: `no ${what} is configured, and production never uses one generated into the data folder`,
        fix: `set ${name}_FILE to a file (mode 0600) holding ${MIN_SECRET_CHARS}+ random characters, e.g. head -c 36 /dev/urandom | base64${alternative ? `, or ${alternative}` : ''}`,
        generatedInDevelopment: true,
      },
    ];
  }
  if (value.length < MIN_SECRET_CHARS)
    return [
      {
        setting: set(env[name]) ? name : `${name}_FILE`,
        problem: `the ${what} is shorter than ${MIN_SECRET_CHARS} characters`,
        fix: `use ${MIN_SECRET_CHARS}+ random characters, e.g. head -c 36 /dev/urandom | base64`,
      },
    ];
  return [];
}

/** The settings that name a file holding a secret: each must be private to the server's user. */
export const SECRET_FILE_SETTINGS = [
  'SMIME_JWT_SECRET_FILE',
  'SMIME_ADMIN_TOKEN_FILE',
  'LDAP_BIND_PASSWORD_FILE',
  'SMIME_AUDIT_CHECKPOINT_KEY_FILE',
] as const;

function looseFiles(env: NodeJS.ProcessEnv): WeakSetting[] {
  const out: WeakSetting[] = [];
  for (const name of SECRET_FILE_SETTINGS) {
    const path = env[name];
    if (!set(path)) continue;
    const st = stat(path);
    if (st && st.mode & 0o077)
      out.push({
        setting: name,
        problem: `${path} is open to group or others (mode ${mode(st)})`,
        fix: `chmod 600 ${path}`,
        filePermissions: true,
      });
  }
  return out;
}

/** The data folder and everything in it, when the embedded database lives there. */
function looseDataFolder(env: NodeJS.ProcessEnv): WeakSetting[] {
  if (set(env.DATABASE_URL)) return [];
  const root = resolve(set(env.SMIME_DATA_DIR) ? env.SMIME_DATA_DIR : 'data');
  const loose: string[] = [];
  const pending = [root];
  let seen = 0;
  while (pending.length && seen < MAX_DATA_ENTRIES) {
    const path = pending.pop()!;
    const st = stat(path);
    seen++;
    if (!st) continue;
    if (st.mode & 0o077) loose.push(`${path} (${mode(st)})`);
    if (st.isDirectory()) {
      try {
        for (const name of readdirSync(path)) pending.push(join(path, name));
      } catch {
        loose.push(`${path} (unreadable)`);
      }
    }
  }
  if (loose.length === 0) return [];
  const named =
    loose.slice(0, MAX_PATHS_NAMED).join(', ') +
    (loose.length > MAX_PATHS_NAMED ? ` and ${loose.length - MAX_PATHS_NAMED} more` : '');
  return [
    {
      setting: 'SMIME_DATA_DIR',
      problem: `the data folder holds the embedded database and must be private to this server's user, but ${named} ${loose.length === 1 ? 'is' : 'are'} open to group or others`,
      fix: `chmod -R go-rwx ${root}`,
      filePermissions: true,
    },
  ];
}

function loopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

function cleartextLdap(env: NodeJS.ProcessEnv): WeakSetting[] {
  const url = env.LDAP_URL;
  if (!set(url) || !/^ldap:\/\//i.test(url) || !isFalse(env.LDAP_STARTTLS)) return [];
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return []; // loadConfig refuses the URL
  }
  if (loopback(host)) return [];
  return [
    {
      setting: 'LDAP_STARTTLS',
      problem: `LDAP_STARTTLS=false sends the bind password and every directory answer in clear to ${host}`,
      fix: 'remove LDAP_STARTTLS=false (StartTLS is the default), or use ldaps:// in LDAP_URL; cleartext is allowed to a loopback address only',
    },
  ];
}

/** Every weak setting in `env`. Empty: nothing to refuse. */
export function weakSettings(env: NodeJS.ProcessEnv): WeakSetting[] {
  const out: WeakSetting[] = [];
  if (!set(env.SMIME_JWT_PUBLIC_KEY_FILE))
    out.push(
      ...secretFinding(
        env,
        'SMIME_JWT_SECRET',
        'host-token secret',
        "SMIME_JWT_PUBLIC_KEY_FILE for the host's public key",
      ),
    );
  out.push(...secretFinding(env, 'SMIME_ADMIN_TOKEN', 'admin token'));
  if (!set(env.SMIME_AUDIT_CHECKPOINT_KEY_FILE))
    out.push({
      setting: 'SMIME_AUDIT_CHECKPOINT_KEY_FILE',
      problem: 'no audit checkpoint key is configured, and production never uses one generated beside the database',
      fix: 'set SMIME_AUDIT_CHECKPOINT_KEY_FILE to an Ed25519 private key (mode 0600) outside the data folder: openssl genpkey -algorithm ed25519 -out FILE (README: Security)',
      generatedInDevelopment: true,
    });
  out.push(...looseFiles(env), ...looseDataFolder(env));
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0')
    out.push({
      setting: 'NODE_TLS_REJECT_UNAUTHORIZED',
      problem:
        "NODE_TLS_REJECT_UNAUTHORIZED=0 turns off certificate checks of every TLS connection, the directory's included",
      fix: "unset it; give the directory's CA with LDAP_CA_FILE instead",
    });
  out.push(...cleartextLdap(env));
  if (isTrue(env.SMIME_FETCH_ALLOW_PRIVATE))
    out.push({
      setting: 'SMIME_FETCH_ALLOW_PRIVATE',
      problem:
        "SMIME_FETCH_ALLOW_PRIVATE=true lets the URLs in any sender's certificate reach private and loopback addresses (SSRF)",
      fix: 'unset it (it is for tests)',
    });
  if (env.SMIME_DEMO === 'on')
    out.push({
      setting: 'SMIME_DEMO',
      problem:
        'SMIME_DEMO=on: the demo hands out logins to anyone who asks and trusts its own CA, so it is never served in production',
      fix: 'unset SMIME_DEMO or set it to off (to try the demo, start without NODE_ENV=production)',
    });
  return out;
}

/** The message production prints: every finding on its own line, with what to do. */
export function formatWeakSettings(findings: readonly WeakSetting[], configError?: string): string {
  const lines = findings.map((f) => `  - ${f.setting}: ${f.problem}; ${f.fix}`);
  if (configError) lines.push(`  - ${configError}`);
  return `NODE_ENV=production refuses to start with these settings:\n${lines.join('\n')}`;
}
