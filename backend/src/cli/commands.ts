/**
 * The table of smime-admin's commands (issue 15): each with its summary, options, the variables it reads and its run
 * function. main.ts parses and explains from this table and the help is generated from it. A new command is one
 * more entry in COMMANDS.
 */
import { issueUserToken } from '../auth/tokens.ts';
import { directoryOptions } from '../directory/options.ts';
import { progressBar } from '../directory/progress-bar.ts';
import { summaryLine } from '../directory/report.ts';
import { syncDirectory } from '../directory/sync.ts';
import { AppError } from '../errors.ts';
import { AuditCheckpoints, checkpointLine, type CheckpointedVerification } from '../audit/checkpoints.ts';
import { appRoleStatus, describeAppRole } from '../store/app-role.ts';
import { appendAudit } from '../store/audit.ts';
import { listKeys } from '../store/keys.ts';
import { migrate } from '../store/migrate.ts';
import { addAlias, ensureUser, findUserByEmail } from '../store/users.ts';
import {
  type Command,
  type CommandContext,
  ExplainedError,
  flag,
  listOption,
  need,
  stringOption,
  UsageError,
} from './command.ts';
import { withDb } from './database.ts';
import { explain, errorLine } from './explain.ts';
import { cmdImportP12 } from './import-p12.ts';
import { doctorCommand } from './doctor.ts';
import { RECOVERY_COMMANDS } from './recovery-commands.ts';

/** Longest lifetime issue-token grants: a token for scripts and demos, not a long-lived credential. */
export const MAX_TOKEN_TTL_S = 3600;
/** Lifetime of an issued token when --ttl is not given. */
const DEFAULT_TOKEN_TTL_S = 900;

async function cmdMigrate({ config }: CommandContext): Promise<number> {
  const { applied, role } = await withDb(config, async (db) => ({
    applied: await migrate(db),
    role: await appRoleStatus(db),
  }));
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  console.log(describeAppRole(role));
  return 0;
}

async function cmdAddAlias({ config, values }: CommandContext): Promise<number> {
  const user = need(values, 'user', 'add-alias');
  const alias = need(values, 'alias', 'add-alias');
  await withDb(config, (db) =>
    db.transaction(async (tx) => {
      const u = await ensureUser(tx, user);
      if (!(await addAlias(tx, u.id, alias))) throw new AppError('ALIAS_TAKEN');
      await appendAudit(tx, { actor: 'admin:cli', userEmail: u.email, action: 'alias.added', details: { alias } });
    }),
  );
  console.log(`${alias.toLowerCase()} is now an alias of ${user.toLowerCase()}`);
  return 0;
}

async function cmdListKeys({ config, values }: CommandContext): Promise<number> {
  const email = need(values, 'user', 'list-keys');
  await withDb(config, async (db) => {
    const u = await findUserByEmail(db, email);
    if (!u) throw new ExplainedError(errorLine(explain(new AppError('USER_NOT_FOUND'), { user: email })));
    for (const k of await listKeys(db, u.id))
      console.log(
        `${k.id}  ${k.is_default ? 'default' : '       '}  ${k.must_change_passphrase ? 'pending' : 'own    '}  ${k.not_after.toISOString().slice(0, 10)}  ${k.fingerprint_sha256.slice(0, 16)}  ${k.subject}`,
      );
  });
  return 0;
}

async function cmdIssueToken({ config, values }: CommandContext): Promise<number> {
  const email = need(values, 'user', 'issue-token');
  const ttlText = stringOption(values, 'ttl');
  const ttl = ttlText ? Number(ttlText) : DEFAULT_TOKEN_TTL_S;
  const max = Math.min(MAX_TOKEN_TTL_S, config.SMIME_JWT_MAX_LIFETIME_S);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > max)
    throw new UsageError(
      `--ttl must be a whole number of seconds from 1 to ${max} (the lower of ${MAX_TOKEN_TTL_S} and SMIME_JWT_MAX_LIFETIME_S)`,
      'issue-token',
    );
  console.log(await issueUserToken(config, email, ttl));
  return 0;
}

async function cmdAuditVerify({ config, log, values }: CommandContext): Promise<number> {
  const files = listOption(values, 'checkpoints');
  const checkpoints = new AuditCheckpoints(config.auditCheckpoint, log);
  const result = await withDb(config, (db) =>
    checkpoints.verify(db, {
      expectHead: stringOption(values, 'expect-head'),
      files: files ?? [],
      requireCheckpoint: files !== undefined,
    }),
  );
  console.log(`entries: ${result.entries}`);
  console.log(`head:    ${result.headHash}`);
  if (files) console.log(describeCheckpoints(result));
  if (result.ok) {
    console.log('audit chain OK');
    return 0;
  }
  for (const p of result.problems) console.log(describeProblem(p));
  console.log('audit chain BROKEN: entries were edited or removed');
  return 1;
}

async function cmdAuditCheckpoint({ config, log }: CommandContext): Promise<number> {
  const checkpoints = new AuditCheckpoints(config.auditCheckpoint, log);
  const cp = await withDb(config, (db) => checkpoints.write(db));
  console.log(checkpointLine(cp));
  console.log(
    `written to ${checkpoints.file}${config.auditCheckpoint.syslog ? ` and ${config.auditCheckpoint.syslog}` : ''}`,
  );
  return 0;
}

async function cmdSyncDirectory({ config, log, values }: CommandContext): Promise<number> {
  const opts = directoryOptions(config);
  if (!opts) throw new AppError('DIRECTORY_NOT_CONFIGURED');
  const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
  try {
    const summary = await withDb(config, (db) =>
      syncDirectory(db, opts, {
        mode: flag(values, 'full') ? 'full' : 'auto',
        actor: 'admin:cli',
        log,
        onProgress: (p) => bar?.update(p),
      }),
    );
    bar?.clear();
    console.log(summaryLine(summary));
    if (summary.fullBecause) console.log(`full sync because ${summary.fullBecause}`);
    // Each conflict on a line of its own: the addresses that resolve to nothing until the directory is fixed.
    for (const c of summary.conflicts) console.log(`conflict: ${c.address} is claimed by ${c.entries.join(' and ')}`);
    if (summary.conflictCount > summary.conflicts.length)
      console.log(
        `... and ${summary.conflictCount - summary.conflicts.length} more conflicts (SMIME_DIRECTORY_REPORT_LIMIT)`,
      );
  } catch (e) {
    bar?.clear();
    throw e;
  }
  return 0;
}

const USER = { name: 'user', type: 'string', value: 'EMAIL' } as const;

export const COMMANDS: readonly Command[] = [
  {
    name: 'migrate',
    summary: 'Apply pending database migrations and report what became of the application role (smime_app).',
    details: 'Safe to run at any time: applied migrations are skipped. The server also migrates at start-up.',
    options: [],
    run: cmdMigrate,
  },
  {
    name: 'import-p12',
    summary:
      "Place PKCS#12 (.p12/.pfx) files into users' profiles (IT placement): one file, every file of a folder, or the rows of a CSV.",
    details:
      'The user unlocks a placed key with the .p12 password (or the initial passphrase you set) and must then ' +
      "choose their own passphrase before using it. The certificate must name one of the user's addresses (or an " +
      'alias, see add-alias) and allow email protection, unless --force.\n\n' +
      'Bulk placement: --dir takes every *.p12 and *.pfx file of FOLDER; a file named after an address ' +
      '(alice@example.com.p12) is placed for that address, any other for the first email address of its ' +
      'certificate; one password opens them all (SMIME_P12_PASSWORD or one prompt). --csv takes rows ' +
      '"email,file,password-source" (header line optional; email may be empty to take the certificate\'s; ' +
      'file relative to the CSV; password-source env:VARIABLE, file:PATH (first line of PATH, relative to the ' +
      'CSV) or prompt). Every file is tried, a progress bar shows on a terminal, a summary follows (placed, already ' +
      'present, failed) and a CSV report lists every file with the reason and the fix of each failure. Re-running ' +
      'is safe: a key already in the profile is "already present". Exit 0 when every file is placed or already ' +
      'present, 1 when any failed.',
    options: [
      { ...USER, description: 'The user whose profile gets the key (with --file).' },
      { name: 'file', type: 'string', value: 'PATH', description: 'The .p12 or .pfx file to place.' },
      {
        name: 'dir',
        type: 'string',
        value: 'FOLDER',
        description: 'Place every .p12/.pfx file of FOLDER, each for the address its name or certificate gives.',
      },
      {
        name: 'csv',
        type: 'string',
        value: 'FILE',
        description: 'Place the files the rows of FILE list: email,file,password-source.',
      },
      {
        name: 'report',
        type: 'string',
        value: 'PATH',
        description: 'Where --dir or --csv writes its report (CSV: email,file,outcome,code,reason,fix,key).',
        default: 'import-report-<timestamp>.csv in the current folder',
      },
      {
        name: 'initial-passphrase',
        type: 'boolean',
        description:
          'Protect the key with an initial passphrase you choose (SMIME_INITIAL_PASSPHRASE, or typed twice) instead of the .p12 password.',
        default: 'the .p12 password',
      },
      {
        name: 'replace',
        type: 'boolean',
        description:
          "With --file: the key is already in the profile but its passphrase is lost (a recovery, see recover): put it back under the new initial passphrase and lock the user's devices.",
        default: 'off: "already present"',
      },
      {
        name: 'force',
        type: 'boolean',
        description:
          "Place a certificate that names none of the user's addresses, or is not meant for email (with --dir/--csv: for every file).",
        default: 'off',
      },
    ],
    forms: [['user', 'file'], ['dir'], ['csv']],
    env: [
      {
        name: 'SMIME_P12_PASSWORD',
        description:
          'Password of the .p12 file (--file), or of every file (--dir). Unset: asked at a prompt (read from standard input when it is not a terminal). --csv rows name their own source.',
      },
      {
        name: 'SMIME_INITIAL_PASSPHRASE',
        description: 'The initial passphrase, with --initial-passphrase. Unset: typed twice at a prompt.',
      },
      { name: 'SMIME_MAX_P12_BYTES', description: 'Largest .p12 file accepted. Default: 262144 (256 KiB).' },
    ],
    examples: [
      'SMIME_P12_PASSWORD=... smime-admin import-p12 --user alice@example.com --file alice.p12',
      'smime-admin import-p12 --dir /secure/p12 --report placed.csv',
      'smime-admin import-p12 --csv users.csv',
      'smime-admin import-p12 --user alice@example.com --file alice-1.p12 --initial-passphrase --replace',
    ],
    run: cmdImportP12,
  },
  {
    name: 'add-alias',
    summary: 'Record another address of a user, so a certificate for that address can be placed for them.',
    options: [
      { ...USER, required: true, description: 'The user (created if new).' },
      { name: 'alias', type: 'string', value: 'EMAIL', required: true, description: 'The other address.' },
    ],
    run: cmdAddAlias,
  },
  {
    name: 'list-keys',
    summary:
      "List a user's keys (public facts only): id, default, pending or own passphrase, expiry, fingerprint, subject.",
    options: [{ ...USER, required: true, description: 'The user.' }],
    run: cmdListKeys,
  },
  {
    name: 'issue-token',
    summary: 'Print a short-lived user token for scripts and demos (signed with SMIME_JWT_SECRET).',
    options: [
      { ...USER, required: true, description: 'The user the token is for.' },
      {
        name: 'ttl',
        type: 'string',
        value: 'SECONDS',
        description: `Lifetime, at most ${MAX_TOKEN_TTL_S} and SMIME_JWT_MAX_LIFETIME_S.`,
        default: String(DEFAULT_TOKEN_TTL_S),
      },
    ],
    run: cmdIssueToken,
  },
  {
    name: 'audit-verify',
    summary: "Check the audit log's hash chain; exit 1 if anything was edited or removed.",
    options: [
      {
        name: 'expect-head',
        type: 'string',
        value: 'HASH',
        description: 'Also require the newest entry to have this hash (one noted earlier).',
      },
      {
        name: 'checkpoints',
        type: 'string',
        value: 'FILE',
        multiple: true,
        description:
          'Check every signed checkpoint in FILE: proves the chain still holds each checkpointed entry unchanged and only grew after it. Finding none fails.',
      },
    ],
    run: cmdAuditVerify,
  },
  {
    name: 'audit-checkpoint',
    summary:
      'Sign a checkpoint of the audit chain now (to SMIME_AUDIT_CHECKPOINT_FILE and the syslog collector if set); exit 1 if the chain does not extend the last one.',
    options: [],
    env: [
      { name: 'SMIME_AUDIT_CHECKPOINT_KEY_FILE', description: 'Ed25519 private key (PEM) that signs checkpoints.' },
      {
        name: 'SMIME_AUDIT_CHECKPOINT_FILE',
        description: 'Where checkpoints are appended. Default: SMIME_DATA_DIR/audit-checkpoints.jsonl.',
      },
    ],
    run: cmdAuditCheckpoint,
  },
  {
    name: 'sync-directory',
    summary: 'Copy certificates from the LDAP/AD directory (LDAP_* settings): incremental when possible.',
    options: [
      {
        name: 'full',
        type: 'boolean',
        description: 'Read everything and also remove what was deleted in the directory.',
        default: 'incremental when possible',
      },
    ],
    env: [
      { name: 'LDAP_URL', description: 'The directory server (ldaps://host:636). Required.' },
      { name: 'LDAP_BASE_DN', description: 'Where to search. Required with LDAP_URL.' },
      { name: 'LDAP_BIND_DN', description: 'Who to bind as, with LDAP_BIND_PASSWORD or LDAP_BIND_PASSWORD_FILE.' },
    ],
    run: cmdSyncDirectory,
  },
  {
    name: 'doctor',
    summary:
      'Check the installation without changing it: settings, database and migrations, roles, secret files, trust anchors, directory, audit chain.',
    details:
      'Prints one line per check and, under each warning or failure, how to fix it; exit 1 if a check failed. No ' +
      'secret value is printed, nothing is written (not even generated secrets), and every network wait is bounded.',
    options: [],
    env: [
      { name: 'NODE_ENV', description: 'production turns the production rules from warnings into failures.' },
      { name: 'DATABASE_URL', description: 'The database to check; unset: the embedded one in SMIME_DATA_DIR.' },
    ],
    run: () => doctorCommand(process.env),
    runRaw: (env) => doctorCommand(env),
  },
  ...RECOVERY_COMMANDS,
];

function describeCheckpoints(v: CheckpointedVerification): string {
  const c = v.checkpoints;
  const last = c.last ? `; last at entry ${c.last.seq} (${c.last.at}), ${c.grownSince} entries appended since` : '';
  return `checkpoints: ${c.valid} valid of ${c.read} read from ${c.sources.join(', ')}${last}`;
}

/** One line per problem, naming the entries concerned and where the checkpoint came from. */
function describeProblem(p: CheckpointedVerification['problems'][number]): string {
  const where = 'source' in p && p.source ? ` (${p.source}${p.line ? ` line ${p.line}` : ''})` : '';
  switch (p.problem) {
    case 'checkpoint-mismatch':
      return `PROBLEM at entry ${p.seq}: checkpoint-mismatch: entries ${p.from}..${p.seq} are not those the checkpoint of ${p.at ?? '?'} signed; the chain was rewritten${where}`;
    case 'checkpoint-missing':
      return `PROBLEM at entry ${p.seq}: checkpoint-missing: entries ${p.from}..${p.seq} were removed after the checkpoint of ${p.at ?? '?'}${where}`;
    case 'checkpoint-bad-signature':
    case 'checkpoint-unknown-key':
    case 'checkpoint-malformed':
      return `PROBLEM in checkpoint${where}: ${p.problem}${'detail' in p && p.detail ? `: ${p.detail}` : ''}`;
    case 'no-checkpoint':
      return 'PROBLEM: no-checkpoint: no valid checkpoint was found, nothing anchors the chain';
    default:
      return `PROBLEM at entry ${p.seq}: ${p.problem}`;
  }
}
