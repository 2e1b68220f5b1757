/**
 * The checks of `smime-admin doctor` that read the environment and files only: the configuration, production.ts's
 * rules, the secret files' permissions and owner, the trust-anchor bundles.
 */
import { X509Certificate } from 'node:crypto';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { SECRET_FILE_SETTINGS, type WeakSetting } from '../production.ts';
import { directoryTrustAnchors, signatureTrustAnchors } from '../trust-anchors.ts';
import { set, type Add, type DoctorCheck } from './doctor-check.ts';

/** Expired or not yet valid anchors named in the detail; the rest are counted. */
const MAX_ANCHORS_NAMED = 3;

export function configurationCheck(env: NodeJS.ProcessEnv, add: Add): Config | undefined {
  try {
    const config = loadConfig(env);
    add({
      name: 'configuration',
      status: 'ok',
      detail: `every setting is valid (${config.production ? 'NODE_ENV=production' : 'development: NODE_ENV is not production'})`,
    });
    return config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    add({
      name: 'configuration',
      status: 'fail',
      detail: e.message,
      fix: 'correct the variables named (README: Configuration); the checks that need the configuration are skipped',
    });
    return undefined;
  }
}

/** production.ts's rules, but its file-permission findings, which the secret-files check reports. */
export function productionChecks(env: NodeJS.ProcessEnv, weak: readonly WeakSetting[], add: Add): void {
  const production = env.NODE_ENV === 'production';
  const findings = weak.filter((w) => !w.filePermissions);
  if (findings.length === 0) {
    add({ name: 'production settings', status: 'ok', detail: 'no weak setting: NODE_ENV=production would start' });
    return;
  }
  for (const w of findings)
    add({
      name: 'production settings',
      // In development these are what the quickstart runs on (generated secrets, the demo): worth knowing, not fatal.
      status: production ? 'fail' : 'warn',
      detail: `${w.setting}: ${w.problem}${production ? '' : ' (NODE_ENV=production refuses to start with this)'}`,
      fix: w.fix,
    });
}

function dataDirOf(env: NodeJS.ProcessEnv, config: Config | undefined): string {
  return config?.dataDir ?? resolve(set(env.SMIME_DATA_DIR) ? env.SMIME_DATA_DIR : 'data');
}

/**
 * Secret files: private (production.ts's finding, reported whatever NODE_ENV says) and owned by the user running
 * this, who should be the server's user: a file someone else owns can be changed or re-opened by them. Also the
 * generated secrets folder (secrets.ts) when production.ts does not walk the data folder (with DATABASE_URL).
 */
export function secretFileChecks(
  env: NodeJS.ProcessEnv,
  weak: readonly WeakSetting[],
  config: Config | undefined,
  add: Add,
): void {
  const problems: DoctorCheck[] = [];
  for (const w of weak.filter((f) => f.filePermissions))
    problems.push({ name: 'secret files', status: 'fail', detail: `${w.setting}: ${w.problem}`, fix: w.fix });

  const uid = process.getuid?.();
  const files: { setting: string; path: string }[] = [];
  for (const name of SECRET_FILE_SETTINGS) {
    const path = env[name];
    if (set(path)) files.push({ setting: name, path });
  }
  const generated = join(dataDirOf(env, config), 'secrets');
  const generatedStat = lstatOrUndefined(generated);
  if (generatedStat?.isDirectory()) {
    files.push({ setting: 'SMIME_DATA_DIR', path: generated });
    for (const name of safeReaddir(generated)) files.push({ setting: 'SMIME_DATA_DIR', path: join(generated, name) });
    if (set(env.DATABASE_URL))
      for (const f of files.filter((x) => x.setting === 'SMIME_DATA_DIR')) {
        const st = lstatOrUndefined(f.path);
        if (st && st.mode & 0o077)
          problems.push({
            name: 'secret files',
            status: 'fail',
            detail: `${f.path} is open to group or others (mode 0${(st.mode & 0o777).toString(8)})`,
            fix: `chmod ${st.isDirectory() ? 700 : 600} ${f.path}`,
          });
      }
  }
  let checked = 0;
  for (const f of files) {
    let st;
    try {
      st = statSync(f.path);
    } catch {
      continue; // loadConfig names a secret file it cannot read
    }
    checked++;
    if (uid !== undefined && st.uid !== uid)
      problems.push({
        name: 'secret files',
        status: 'fail',
        detail: `${f.setting}: ${f.path} is owned by uid ${st.uid}, not by this user (uid ${uid})`,
        fix: `chown ${uid} ${f.path} (run smime-admin, and the server, as the user who owns the secrets)`,
      });
  }
  if (problems.length) problems.forEach(add);
  else
    add({
      name: 'secret files',
      status: checked ? 'ok' : 'skipped',
      detail: checked
        ? `${checked} secret ${checked === 1 ? 'file is' : 'files and folders are'} private to this user`
        : 'no secret file is configured or generated yet',
    });
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export function trustAnchorChecks(config: Config | undefined, now: Date, add: Add): void {
  if (!config) {
    add({ name: 'trust anchors', status: 'skipped', detail: 'the configuration did not load' });
    return;
  }
  anchorCheck('trust anchors', 'SMIME_TRUST_ANCHORS', () => signatureTrustAnchors(config), now, add, {
    none: 'no trust anchor: every signature will verify as untrusted',
    fix: 'set SMIME_TRUST_ANCHORS to a PEM bundle of the CAs your correspondents use, or SMIME_TRUST_SYSTEM_ROOTS=true',
  });
  if (config.SMIME_DIRECTORY_TRUST_ANCHORS)
    anchorCheck(
      'directory trust anchors',
      'SMIME_DIRECTORY_TRUST_ANCHORS',
      () => directoryTrustAnchors(config),
      now,
      add,
    );
}

function anchorCheck(
  name: string,
  setting: string,
  read: () => Uint8Array[],
  now: Date,
  add: Add,
  empty?: { none: string; fix: string },
): void {
  let anchors: Uint8Array[];
  try {
    anchors = read();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    add({
      name,
      status: 'fail',
      detail: e.message,
      fix: `point ${setting} at a readable PEM file of CA certificates (openssl x509 -in FILE -noout -subject shows the first)`,
    });
    return;
  }
  if (anchors.length === 0) {
    add({ name, status: empty ? 'warn' : 'ok', detail: empty?.none ?? 'none configured', fix: empty?.fix });
    return;
  }
  const expired: string[] = [];
  const notYet: string[] = [];
  const unreadable: number[] = [];
  anchors.forEach((der, i) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      unreadable.push(i + 1);
      return;
    }
    const subject = cert.subject.replace(/\n/g, ', ');
    if (new Date(cert.validTo) < now)
      expired.push(`${subject} (expired ${new Date(cert.validTo).toISOString().slice(0, 10)})`);
    else if (new Date(cert.validFrom) > now)
      notYet.push(`${subject} (valid from ${new Date(cert.validFrom).toISOString().slice(0, 10)})`);
  });
  const valid = anchors.length - expired.length - notYet.length - unreadable.length;
  const named = (list: string[]) =>
    list.slice(0, MAX_ANCHORS_NAMED).join('; ') +
    (list.length > MAX_ANCHORS_NAMED ? ` and ${list.length - MAX_ANCHORS_NAMED} more` : '');
  const parts = [`${anchors.length} certificate${anchors.length === 1 ? '' : 's'}, ${valid} valid now`];
  if (expired.length) parts.push(`expired: ${named(expired)}`);
  if (notYet.length) parts.push(`not yet valid: ${named(notYet)}`);
  if (unreadable.length) parts.push(`not X.509 certificates: number ${unreadable.join(', ')}`);
  if (valid === anchors.length) add({ name, status: 'ok', detail: parts[0]! });
  else
    add({
      name,
      // No valid anchor at all: nothing chains, every signature (or directory certificate) is refused.
      status: valid === 0 ? 'fail' : 'warn',
      detail: parts.join('; '),
      fix: `replace the expired or unreadable certificates in ${setting} with the CAs' current ones`,
    });
}
