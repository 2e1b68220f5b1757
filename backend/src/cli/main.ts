/**
 * smime-admin: the admin command line. Runs against the same database as the server (DATABASE_URL or the embedded
 * one in SMIME_DATA_DIR; stop a server that uses the embedded database first, PGlite allows one process at a time).
 * Secrets never go on the command line: the .p12 password comes from a prompt or SMIME_P12_PASSWORD.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { issueUserToken } from '../auth/tokens.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { directoryOptions } from '../directory/options.ts';
import { progressBar } from '../directory/progress-bar.ts';
import { summaryLine } from '../directory/report.ts';
import { syncDirectory } from '../directory/sync.ts';
import { AppError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { withGeneratedSecrets } from '../secrets.ts';
import { createServices, openDatabase } from '../services.ts';
import { AuditCheckpoints, checkpointLine, type CheckpointedVerification } from '../audit/checkpoints.ts';
import { appRoleStatus, describeAppRole } from '../store/app-role.ts';
import { appendAudit } from '../store/audit.ts';
import type { Database } from '../store/db.ts';
import { listKeys } from '../store/keys.ts';
import { migrate } from '../store/migrate.ts';
import { addAlias, ensureUser, findUserByEmail } from '../store/users.ts';
import { readSecret } from './prompt.ts';

/** Longest lifetime issue-token grants: a token for scripts and demos, not a long-lived credential. */
const MAX_TOKEN_TTL_S = 3600;

const USAGE = `smime-admin <command> [options]

Commands:
  migrate                                   apply pending database migrations
  import-p12 --user EMAIL --file PATH       place a PKCS#12 into the user's profile (IT placement)
      [--initial-passphrase]                  ask for an initial passphrase instead of using the .p12 password
      [--force]                               accept a certificate whose email is not the user's
      password: SMIME_P12_PASSWORD or a prompt; initial passphrase: SMIME_INITIAL_PASSPHRASE or a prompt
  add-alias --user EMAIL --alias EMAIL      record another address of the user
  list-keys --user EMAIL                    the user's keys (public facts only)
  issue-token --user EMAIL [--ttl SECONDS]  print a short-lived user token (default 900 s, at most ${MAX_TOKEN_TTL_S})
  audit-verify [--expect-head HASH]         check the audit log's hash chain; exit 1 if anything was edited or removed
      [--checkpoints FILE]...                 and every signed checkpoint in FILE (several allowed): proves the chain
                                              still holds each checkpointed entry unchanged and only grew after it
  audit-checkpoint                          sign a checkpoint of the audit chain now (SMIME_AUDIT_CHECKPOINT_FILE, and
                                              the syslog collector if set); exit 1 if the chain does not extend the last
  sync-directory [--full]                   copy certificates from the LDAP/AD directory (LDAP_* settings): incremental
                                              when possible, --full also removes what was deleted there
`;

class UsageError extends Error {}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`missing ${flag}`);
  return v;
}

async function withDb<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  // As the server does (main.ts): files the embedded database creates are this user's only (issue 12).
  process.umask(0o077);
  const db = await openDatabase(config);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

type Values = ReturnType<typeof parseCommandLine>['values'];

interface CommandContext {
  config: Config;
  log: ReturnType<typeof createLogger>;
  values: Values;
}

function parseCommandLine(rest: string[]) {
  return parseArgs({
    args: rest,
    options: {
      user: { type: 'string' },
      file: { type: 'string' },
      alias: { type: 'string' },
      ttl: { type: 'string' },
      force: { type: 'boolean', default: false },
      'initial-passphrase': { type: 'boolean', default: false },
      'expect-head': { type: 'string' },
      checkpoints: { type: 'string', multiple: true },
      full: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
}

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseCommandLine(rest);
  if (!command || values.help || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!handler) throw new UsageError(`unknown command ${command}`);
  const { config } = withGeneratedSecrets(loadConfig());
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  return handler({ config, log, values });
}

async function cmdMigrate({ config }: CommandContext): Promise<number> {
  const { applied, role } = await withDb(config, async (db) => ({
    applied: await migrate(db),
    role: await appRoleStatus(db),
  }));
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  console.log(describeAppRole(role));
  return 0;
}

async function cmdImportP12({ config, log, values }: CommandContext): Promise<number> {
  const user = need(values.user, '--user');
  const file = need(values.file, '--file');
  const p12 = readFileSync(file);
  const password = process.env.SMIME_P12_PASSWORD ?? (await readSecret(`Password of ${file}: `));
  let initialPassphrase: string | undefined;
  if (values['initial-passphrase']) {
    initialPassphrase = process.env.SMIME_INITIAL_PASSPHRASE;
    if (initialPassphrase === undefined) {
      initialPassphrase = await readSecret('Initial passphrase for the user: ');
      if ((await readSecret('Repeat it: ')) !== initialPassphrase) throw new UsageError('the passphrases differ');
    }
  }
  const row = await withDb(config, (db) =>
    createServices(config, db, log).vault.placeKey({
      actor: 'admin:cli',
      userEmail: user,
      p12,
      p12Password: password,
      initialPassphrase,
      force: values.force,
    }),
  );
  console.log(`placed key ${row.id} for ${user}`);
  console.log(`  subject     ${row.subject}`);
  console.log(`  emails      ${row.emails.join(', ')}`);
  console.log(`  valid       ${row.not_before.toISOString()} .. ${row.not_after.toISOString()}`);
  console.log(`  fingerprint ${row.fingerprint_sha256}`);
  console.log(
    `The user unlocks it with ${initialPassphrase ? 'the initial passphrase you set' : 'the .p12 password'} and must then choose their own passphrase.`,
  );
  return 0;
}

async function cmdAddAlias({ config, values }: CommandContext): Promise<number> {
  const user = need(values.user, '--user');
  const alias = need(values.alias, '--alias');
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
  const email = need(values.user, '--user');
  await withDb(config, async (db) => {
    const u = await findUserByEmail(db, email);
    if (!u) throw new AppError('USER_NOT_FOUND');
    for (const k of await listKeys(db, u.id))
      console.log(
        `${k.id}  ${k.is_default ? 'default' : '       '}  ${k.must_change_passphrase ? 'pending' : 'own    '}  ${k.not_after.toISOString().slice(0, 10)}  ${k.fingerprint_sha256.slice(0, 16)}  ${k.subject}`,
      );
  });
  return 0;
}

async function cmdIssueToken({ config, values }: CommandContext): Promise<number> {
  const email = need(values.user, '--user');
  const ttl = values.ttl ? Number(values.ttl) : 900;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > Math.min(MAX_TOKEN_TTL_S, config.SMIME_JWT_MAX_LIFETIME_S))
    throw new UsageError(`--ttl must be 1..${Math.min(MAX_TOKEN_TTL_S, config.SMIME_JWT_MAX_LIFETIME_S)}`);
  console.log(await issueUserToken(config, email, ttl));
  return 0;
}

async function cmdAuditVerify({ config, log, values }: CommandContext): Promise<number> {
  const files = values.checkpoints;
  const checkpoints = new AuditCheckpoints(config.auditCheckpoint, log);
  const result = await withDb(config, (db) =>
    checkpoints.verify(db, {
      expectHead: values['expect-head'],
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
  if (!opts) throw new ConfigError('LDAP_URL is not set: no directory to sync');
  const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
  try {
    const summary = await withDb(config, (db) =>
      syncDirectory(db, opts, {
        mode: values.full ? 'full' : 'auto',
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

const COMMANDS: Record<string, (ctx: CommandContext) => Promise<number>> = {
  migrate: cmdMigrate,
  'import-p12': cmdImportP12,
  'add-alias': cmdAddAlias,
  'list-keys': cmdListKeys,
  'issue-token': cmdIssueToken,
  'audit-verify': cmdAuditVerify,
  'audit-checkpoint': cmdAuditCheckpoint,
  'sync-directory': cmdSyncDirectory,
};

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

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`error: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (e instanceof ConfigError) {
      console.error(`configuration error: ${e.message}`);
      process.exit(2);
    }
    if (e instanceof AppError) {
      console.error(`error ${e.code}: ${e.message}`);
      process.exit(1);
    }
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
