/**
 * A real webmail on loopback, for tests and for trying the plugin by hand (`npm run roundcube`):
 *
 *   front proxy (node:http) ── /api/v1/, /plugin/, /healthz ──> the S/MIME backend (node backend/src/main.ts)
 *        │ everything else
 *        └──> Roundcube 1.6 (Debian's, php -S) ── IMAP ──> Dovecot <── LMTP ── Postfix <── SMTP AUTH (submission)
 *
 * Everything lives in one temporary folder, listens on 127.0.0.1 only, runs without systemd; stop() ends every
 * process it started (whole process groups) and removes the folder. Facts and pitfalls of the daemons:
 * /work/shared/roundcube-stack.md. Needs root (Dovecot switches to the mail uid, Postfix to its own user) and the
 * Debian packages named by stackUnavailable().
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFrontProxy, type FrontProxy } from './lib/front-proxy.ts';
import {
  dovecotConf,
  dovecotUsers,
  layout,
  mailHome,
  pkcs12Path,
  MAIL_UID,
  postfixMainCf,
  postfixMasterCf,
  roundcubeConfig,
  type Layout,
  type Ports,
} from './lib/layout.ts';
import { greets, transferMail } from './lib/mail-transfer.ts';
import {
  freePort,
  runCommand,
  signalGroup,
  spawnDaemon,
  stopGroup,
  tail,
  waitUntil,
  type Daemon,
} from './lib/processes.ts';
import type { SeedInput, SeedResult, SeedUser } from './lib/seed.ts';

export {
  FRONT_ROUTES,
  FRONT_DEFAULT_TARGET,
  BACKEND_UNAVAILABLE_BODY,
  routeFor,
  type FrontRoute,
} from './lib/front-proxy.ts';
export { MailTransferError } from './lib/mail-transfer.ts';

export interface StackUserSpec {
  email: string;
  name: string;
  /** Mail password (IMAP, SMTP and so the Roundcube login). Default: "<local part>-password". */
  password?: string;
  /** Default 'issued': a certificate of the stack CA. A given PKCS#12 is placed as is; its password is the initial passphrase. */
  key?: 'issued' | 'none' | { p12: Uint8Array; password: string };
}

export interface StackOptions {
  /** Enable the smime plugin in Roundcube (default true). It is installed (linked) either way. */
  plugin?: boolean;
  extraUsers?: StackUserSpec[];
  /** PEM files the backend trusts besides the stack CA (e.g. the Thunderbird corpus's TestCA.pem). */
  extraTrustAnchors?: string[];
  /** Port of the front proxy (the Roundcube URL); 0 = a free port (default). */
  port?: number;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

export interface StackUser {
  email: string;
  name: string;
  password: string;
  /** The .p12 password IT gave the user: what the first unlock asks for before the user chooses their own. */
  initialPassphrase?: string;
  hasKey: boolean;
}

export interface Stack {
  /** Roundcube through the front proxy, e.g. http://127.0.0.1:8088/ */
  url: string;
  /** The backend directly, e.g. http://127.0.0.1:41234 */
  backendUrl: string;
  dir: string;
  users: StackUser[];
  jwtSecret: string;
  adminToken: string;
  /** PEM of the stack CA (the backend trusts it; openssl verifies the stack users' signatures with it). */
  caFile: string;
  /** The .p12 IT issued to a stack user (key 'issued'), with its password: what IT would keep. */
  pkcs12(email: string): { file: string; password: string };
  /** The user's Maildir folder. */
  maildir(email: string): string;
  /** Files in new/ and cur/ of the user's INBOX, newest last. */
  listMail(email: string): string[];
  /** Deliver straight into the mailbox (LMTP to Dovecot), bypassing Postfix. */
  deliver(to: string, raw: Uint8Array | string): Promise<void>;
  /** Send as a stack user through Postfix's submission port (SMTP AUTH PLAIN with their mail password). */
  submit(from: string, to: string | string[], raw: Uint8Array | string): Promise<void>;
  stopBackend(): Promise<void>;
  startBackend(): Promise<void>;
  /** The tail of every component's log, for failure messages. */
  logs(): string;
  /** Stop everything and remove the folder. Idempotent; never hangs (SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** Start-up of the whole stack, and of the backend alone (startBackend), must finish within this. */
export const STACK_START_TIMEOUT_MS = 60_000;
/** The backend itself waits up to 10 s for requests in flight before it closes its database. */
const BACKEND_STOP_GRACE_MS = 12_000;
const DAEMON_STOP_GRACE_MS = 5_000;
/** `postfix start` / `postfix stop` run postfix-script and `postfix check`: seconds, not minutes. */
const POSTFIX_COMMAND_TIMEOUT_MS = 20_000;
/** php -S workers: Roundcube's UI fires several requests at once; one worker serialises them all. */
const PHP_WORKERS = 4;
/** Largest upload php -S accepts (Roundcube attachments): the backend's message limit decides, not PHP's 2 MB default. */
const PHP_UPLOAD_LIMIT = '64M';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PLUGIN_DIR = join(REPO_ROOT, 'plugin', 'roundcube');
const SEED_PROCESS = fileURLToPath(new URL('./lib/seed-process.ts', import.meta.url));
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const RC = {
  code: '/usr/share/roundcube',
  plugins: '/usr/share/roundcube/plugins',
  publicIndex: '/var/lib/roundcube/public_html/index.php',
  defaults: '/etc/roundcube/defaults.inc.php',
  mimetypes: '/etc/roundcube/mimetypes.php',
};

export const DEFAULT_USERS: readonly StackUserSpec[] = [
  { email: 'alice@example.test', name: 'Alice Example' },
  { email: 'bob@example.test', name: 'Bob Example' },
  { email: 'carol@example.test', name: 'Carol Example' },
  { email: 'dave@example.test', name: 'Dave Example', key: 'none' },
];
/** Postfix and Dovecot serve these domains (and those of extra users). */
const MAIL_DOMAINS = ['example.test', 'example.com'];

const REQUIRED: readonly { path: string; package: string }[] = [
  { path: '/usr/sbin/dovecot', package: 'dovecot-imapd' },
  { path: '/usr/lib/dovecot/imap', package: 'dovecot-imapd' },
  { path: '/usr/lib/dovecot/lmtp', package: 'dovecot-lmtpd' },
  { path: '/usr/sbin/postfix', package: 'postfix' },
  { path: '/usr/bin/php', package: 'php-cli' },
  { path: join(RC.code, 'index.php'), package: 'roundcube-core' },
  { path: RC.publicIndex, package: 'roundcube-core' },
  { path: RC.defaults, package: 'roundcube-core' },
];

/**
 * What keeps the stack from running here (not root, a missing package), or undefined when it can run. With CI=true a
 * missing piece is an error: CI must not skip the real-webmail tests silently.
 */
export function stackUnavailable(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (Dovecot and Postfix switch users)');
  const packages = new Set(REQUIRED.filter((r) => !existsSync(r.path)).map((r) => r.package));
  if (packages.size === 0) {
    const sqlite = spawnSync('/usr/bin/php', ['-r', 'exit(extension_loaded("pdo_sqlite") ? 0 : 1);'], {
      timeout: 10_000,
    });
    if (sqlite.status !== 0) packages.add('php-sqlite3');
  }
  if (packages.size) missing.push(`packages ${[...packages].join(' ')} (see /work/shared/roundcube-stack.md)`);
  if (missing.length === 0) return undefined;
  const message = `the Roundcube stack needs ${missing.join(' and ')}`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires it`);
  return message;
}

interface ResolvedUser {
  email: string;
  name: string;
  password: string;
  key: 'issued' | 'none' | { p12: Uint8Array; password: string };
  initialPassphrase?: string;
}

const OPTION_KEYS = new Set(['plugin', 'extraUsers', 'extraTrustAnchors', 'port', 'quiet']);

function resolveUsers(extra: StackUserSpec[]): ResolvedUser[] {
  const seen = new Set<string>();
  return [...DEFAULT_USERS, ...extra].map((u) => {
    const email = u.email.trim();
    if (!/^[^@\s:]+@[^@\s:]+$/.test(email)) throw new TypeError(`stack user ${u.email}: not an address`);
    if (seen.has(email.toLowerCase())) throw new TypeError(`stack user ${email}: given twice`);
    seen.add(email.toLowerCase());
    const local = email.split('@')[0]!.toLowerCase();
    const password = u.password ?? `${local}-password`;
    // Dovecot's passwd-file splits on ':' and lines.
    if (/[:\r\n]/.test(password) || password === '')
      throw new TypeError(`stack user ${email}: a password needs no ':' or newline`);
    const key = u.key ?? 'issued';
    const initialPassphrase = key === 'none' ? undefined : key === 'issued' ? `${local} initial from IT` : key.password;
    return { email, name: u.name, password, key, initialPassphrase };
  });
}

/** uid and gid of a system user (the daemons' own: postfix, dovecot), from /etc/passwd. */
function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no system user ${name} (is its package installed?)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function secret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

class RunningStack implements Stack {
  readonly url: string;
  readonly backendUrl: string;
  readonly dir: string;
  users: StackUser[] = [];
  readonly jwtSecret = secret(36); // 48 characters
  readonly adminToken = secret(32);
  private readonly daemons = new Map<string, Daemon>();
  private postfixMaster: number | undefined;
  private proxy: FrontProxy | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly l: Layout,
    private readonly ports: Ports,
    private readonly resolved: ResolvedUser[],
    private readonly options: { plugin: boolean; extraTrustAnchors: string[]; quiet: boolean },
  ) {
    this.dir = l.dir;
    this.url = `http://127.0.0.1:${ports.front}/`;
    this.backendUrl = `http://127.0.0.1:${ports.backend}`;
    guard(this);
  }

  private progress(what: string, since: number): void {
    if (!this.options.quiet) console.error(`[stack] ${what} (${((Date.now() - since) / 1000).toFixed(1)} s)`);
  }

  // ---- files ---------------------------------------------------------------------------------------------------

  prepare(): void {
    const l = this.l;
    // The temporary folder is 0700: the daemons' own users (postfix, dovecot, the mail uid) must traverse it, not list it.
    chmodSync(l.dir, 0o711);
    for (const d of [l.logs, l.roundcube.logs, l.mail, l.dovecot.dir, l.postfix.config, l.postfix.queue])
      mkdirSync(d, { recursive: true, mode: 0o755 });
    for (const d of [
      l.tmp,
      l.secrets,
      l.pki,
      l.backendData,
      l.seed,
      l.postfix.data,
      l.roundcube.temp,
      join(l.roundcube.db, '..'),
    ])
      mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(l.mail, 0o711);
    writeFileSync(join(l.secrets, 'jwt-secret'), `${this.jwtSecret}\n`, { mode: 0o600 });
    writeFileSync(join(l.secrets, 'admin-token'), `${this.adminToken}\n`, { mode: 0o600 });
    // The key that signs audit checkpoints, outside the backend's data folder as production requires (issue 12).
    writeFileSync(
      join(l.secrets, 'audit-checkpoint-key.pem'),
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
      { mode: 0o600 },
    );

    // Mailboxes: home and Maildir owned by the mail uid, so that listMail works before the first delivery.
    for (const u of this.resolved) {
      const home = mailHome(l, u.email);
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(home, 'Maildir', sub), { recursive: true, mode: 0o700 });
      for (const p of [home, join(home, 'Maildir'), ...['cur', 'new', 'tmp'].map((s) => join(home, 'Maildir', s))])
        chownSync(p, MAIL_UID, MAIL_UID);
    }

    // Dovecot: the passwd-file is read by its auth process (user dovecot); it holds the mail passwords.
    writeFileSync(l.dovecot.conf, dovecotConf(l, this.ports), { mode: 0o644 });
    writeFileSync(l.dovecot.users, dovecotUsers(l, this.resolved), { mode: 0o640 });
    chownSync(l.dovecot.users, 0, systemUser('dovecot').gid);

    // Postfix.
    const domains = [...new Set([...MAIL_DOMAINS, ...this.resolved.map((u) => u.email.split('@')[1]!.toLowerCase())])];
    writeFileSync(join(l.postfix.config, 'main.cf'), postfixMainCf(l, this.ports, domains), { mode: 0o644 });
    writeFileSync(join(l.postfix.config, 'master.cf'), postfixMasterCf(this.ports), { mode: 0o644 });
    writeFileSync(l.postfix.mailboxes, this.resolved.map((u) => `${u.email.toLowerCase()} OK\n`).join(''), {
      mode: 0o644,
    });
    const pf = systemUser('postfix');
    chownSync(l.postfix.data, pf.uid, pf.gid); // master.lock

    this.buildRoundcubeTree();
  }

  /**
   * Roundcube loads plugins only from INSTALL_PATH/plugins and prefers /etc/roundcube/config.inc.php, so it gets a
   * private install: symlinks to Debian's code, our config, our plugin linked in as an admin would install it.
   */
  private buildRoundcubeTree(): void {
    const t = this.l.roundcube.tree;
    for (const d of ['config', 'plugins', 'public_html/program'])
      mkdirSync(join(t, d), { recursive: true, mode: 0o755 });
    for (const name of ['index.php', 'program', 'SQL', 'skins']) symlinkSync(join(RC.code, name), join(t, name));
    for (const name of readdirSync(RC.plugins)) symlinkSync(join(RC.plugins, name), join(t, 'plugins', name));
    symlinkSync(PLUGIN_DIR, join(t, 'plugins', 'smime'));
    symlinkSync(RC.defaults, join(t, 'config', 'defaults.inc.php'));
    symlinkSync(RC.mimetypes, join(t, 'config', 'mimetypes.php'));
    writeFileSync(
      this.l.roundcube.config,
      roundcubeConfig(this.l, this.ports, {
        desKey: secret(18),
        plugin: this.options.plugin,
        jwtSecret: this.jwtSecret,
      }),
      { mode: 0o600 },
    );
    // Debian's web root: index.php sets INSTALL_PATH to its parent folder, so it is a copy, not a link.
    copyFileSync(RC.publicIndex, join(t, 'public_html', 'index.php'));
    symlinkSync('../plugins', join(t, 'public_html', 'plugins'));
    symlinkSync('../skins', join(t, 'public_html', 'skins'));
    symlinkSync('../../program/js', join(t, 'public_html', 'program', 'js'));
    symlinkSync('../../program/resources', join(t, 'public_html', 'program', 'resources'));
  }

  // ---- components ----------------------------------------------------------------------------------------------

  private backendEnv(): NodeJS.ProcessEnv {
    return {
      PATH,
      HOME: this.l.tmp,
      // tsx's transform cache and anything else temporary stays in the folder.
      TMPDIR: this.l.tmp,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      PORT: String(this.ports.backend),
      HOST: '127.0.0.1',
      SMIME_DATA_DIR: this.l.backendData,
      SMIME_DEMO: 'off',
      SMIME_JWT_SECRET: this.jwtSecret,
      SMIME_ADMIN_TOKEN: this.adminToken,
      SMIME_AUDIT_CHECKPOINT_KEY_FILE: join(this.l.secrets, 'audit-checkpoint-key.pem'),
      SMIME_TRUST_ANCHORS: this.l.trustAnchors,
      // The unlock cookie must reach Roundcube's PHP too (it forwards it to the backend).
      SMIME_COOKIE_PATH: '/',
      SMIME_COOKIE_SECURE: 'true',
    };
  }

  private spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd = this.l.dir): Daemon {
    const d = spawnDaemon(name, command, args, { cwd, env, logFile: join(this.l.logs, `${name}.log`) });
    this.daemons.set(name, d);
    return d;
  }

  private gone(name: string): () => boolean {
    return () => {
      const child = this.daemons.get(name)?.child;
      return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
    };
  }

  async seed(deadline: number): Promise<void> {
    const t0 = Date.now();
    const users: SeedUser[] = this.resolved.map((u, i) => {
      if (typeof u.key === 'string') return { email: u.email, name: u.name, key: u.key, password: u.initialPassphrase };
      const p12File = join(this.l.seed, `user-${i}.p12`);
      writeFileSync(p12File, u.key.p12, { mode: 0o600 });
      return { email: u.email, name: u.name, key: { p12File }, password: u.key.password };
    });
    const input: SeedInput = {
      pkiDir: this.l.pki,
      trustAnchorsFile: this.l.trustAnchors,
      extraTrustAnchors: this.options.extraTrustAnchors,
      users,
    };
    const inputFile = join(this.l.seed, 'input.json');
    const resultFile = join(this.l.seed, 'result.json');
    writeFileSync(inputFile, JSON.stringify(input), { mode: 0o600 });
    const d = this.spawn(
      'seed',
      process.execPath,
      ['--import', 'tsx', SEED_PROCESS, inputFile, resultFile],
      this.backendEnv(),
      REPO_ROOT,
    );
    const timer = setTimeout(() => signalGroup(d.pgid, 'SIGKILL'), Math.max(0, deadline - Date.now()));
    let code: number | null;
    try {
      code = await d.exited;
    } finally {
      clearTimeout(timer);
      await stopGroup(d.pgid, DAEMON_STOP_GRACE_MS); // its Argon2 worker, if still there
      this.daemons.delete('seed');
    }
    if (code !== 0 || !existsSync(resultFile)) throw new Error(`seeding failed (exit ${code})\n${this.logs()}`);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as SeedResult;
    // The seed folder held the given .p12 files and their passwords: gone as soon as they are placed.
    rmSync(this.l.seed, { recursive: true, force: true });
    this.users = this.resolved.map((u, i) => ({
      email: u.email,
      name: u.name,
      password: u.password,
      ...(u.initialPassphrase !== undefined ? { initialPassphrase: u.initialPassphrase } : {}),
      hasKey: result.users[i]!.hasKey,
    }));
    this.progress('keys and certificates seeded', t0);
  }

  async startDovecot(deadline: number): Promise<void> {
    const t0 = Date.now();
    // -F: in the foreground, in our process group (daemonised, it would keep the caller's stdout open anyway).
    this.spawn('dovecot', '/usr/sbin/dovecot', ['-F', '-c', this.l.dovecot.conf], { PATH });
    const p = this.ports;
    await waitUntil(
      'Dovecot',
      deadline,
      async () =>
        (await greets('127.0.0.1', p.imap, '* OK')) &&
        (await greets('127.0.0.1', p.lmtp, '220')) &&
        greets('127.0.0.1', p.auth, 'VERSION'),
      { gone: this.gone('dovecot'), logs: () => this.logs() },
    );
    this.progress(`Dovecot up: IMAP ${p.imap}, LMTP ${p.lmtp}, auth ${p.auth}`, t0);
  }

  async startPostfix(deadline: number): Promise<void> {
    const t0 = Date.now();
    const env = { PATH };
    const logFile = join(this.l.logs, 'postfix-commands.log');
    const code = await runCommand('/usr/sbin/postfix', ['-c', this.l.postfix.config, 'start'], {
      env,
      logFile,
      timeoutMs: POSTFIX_COMMAND_TIMEOUT_MS,
    });
    this.readPostfixMaster();
    if (code !== 0) throw new Error(`postfix start failed (exit ${code})\n${this.logs()}`);
    await waitUntil('Postfix', deadline, () => greets('127.0.0.1', this.ports.smtp, '220'), {
      logs: () => this.logs(),
    });
    this.readPostfixMaster();
    this.progress(`Postfix up: submission ${this.ports.smtp}`, t0);
  }

  /** The master daemonises into a session of its own: its pid is its process group. */
  private readPostfixMaster(): void {
    const file = join(this.l.postfix.queue, 'pid', 'master.pid');
    if (!existsSync(file)) return;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1) this.postfixMaster = pid;
  }

  async startRoundcube(deadline: number): Promise<void> {
    const t0 = Date.now();
    const l = this.l;
    const ini = {
      upload_tmp_dir: l.roundcube.temp,
      sys_temp_dir: l.roundcube.temp,
      upload_max_filesize: PHP_UPLOAD_LIMIT,
      post_max_size: PHP_UPLOAD_LIMIT,
      log_errors: '1',
      display_errors: '0',
      error_log: join(l.logs, 'php-errors.log'),
    };
    const args = [
      ...Object.entries(ini).flatMap(([k, v]) => ['-d', `${k}=${v}`]),
      '-S',
      `127.0.0.1:${this.ports.roundcube}`,
      '-t',
      join(l.roundcube.tree, 'public_html'),
    ];
    this.spawn(
      'php',
      '/usr/bin/php',
      args,
      { PATH, HOME: l.tmp, TMPDIR: l.tmp, PHP_CLI_SERVER_WORKERS: String(PHP_WORKERS) },
      l.roundcube.tree,
    );
    // The first request creates Roundcube's SQLite schema: the login page answering 200 means it is ready.
    await waitUntil(
      'Roundcube (php -S)',
      deadline,
      async () =>
        (await fetch(`http://127.0.0.1:${this.ports.roundcube}/`, { signal: AbortSignal.timeout(10_000) })).status ===
        200,
      { gone: this.gone('php'), logs: () => this.logs() },
    );
    this.progress(`Roundcube up under php -S: ${this.ports.roundcube}`, t0);
  }

  async startBackend(deadline = Date.now() + STACK_START_TIMEOUT_MS): Promise<void> {
    if (this.stopping) throw new Error('the stack is stopping');
    if (this.daemons.has('backend')) {
      if (!this.gone('backend')()) return;
      await this.stopBackend(); // it died on its own: what is left of its group goes before a new one starts
    }
    const t0 = Date.now();
    this.spawn('backend', process.execPath, ['--import', 'tsx', 'backend/src/main.ts'], this.backendEnv(), REPO_ROOT);
    await waitUntil(
      'S/MIME backend',
      deadline,
      async () => (await fetch(`${this.backendUrl}/healthz`, { signal: AbortSignal.timeout(5000) })).status === 200,
      { gone: this.gone('backend'), logs: () => this.logs() },
    );
    this.progress(`backend up: ${this.backendUrl}`, t0);
  }

  async stopBackend(): Promise<void> {
    const d = this.daemons.get('backend');
    if (!d) return;
    await stopGroup(d.pgid, BACKEND_STOP_GRACE_MS);
    this.daemons.delete('backend');
  }

  async startProxy(): Promise<void> {
    this.proxy = await startFrontProxy({
      port: this.ports.front,
      upstreams: { backend: this.ports.backend, roundcube: this.ports.roundcube },
    });
  }

  // ---- use -----------------------------------------------------------------------------------------------------

  get caFile(): string {
    return join(this.l.pki, 'stack-ca.pem');
  }

  pkcs12(email: string): { file: string; password: string } {
    const u = this.resolved.find((r) => r.email.toLowerCase() === email.toLowerCase());
    const file = pkcs12Path(this.l.pki, email);
    if (!u || u.key !== 'issued' || !existsSync(file)) throw new Error(`no .p12 issued to ${email} by the stack CA`);
    return { file, password: u.initialPassphrase! };
  }

  maildir(email: string): string {
    return join(mailHome(this.l, email), 'Maildir');
  }

  listMail(email: string): string[] {
    const files: { path: string; mtime: number }[] = [];
    for (const sub of ['new', 'cur']) {
      const dir = join(this.maildir(email), sub);
      for (const name of existsSync(dir) ? readdirSync(dir) : []) {
        const path = join(dir, name);
        files.push({ path, mtime: statSync(path).mtimeMs });
      }
    }
    // Maildir names start with the delivery time in seconds: mtime first, the name within the same instant.
    return files.sort((a, b) => a.mtime - b.mtime || a.path.localeCompare(b.path)).map((f) => f.path);
  }

  async deliver(to: string, raw: Uint8Array | string): Promise<void> {
    await transferMail({ host: '127.0.0.1', port: this.ports.lmtp, protocol: 'lmtp', from: '', to: [to], raw });
  }

  async submit(from: string, to: string | string[], raw: Uint8Array | string): Promise<void> {
    const user = this.users.find((u) => u.email.toLowerCase() === from.toLowerCase());
    if (!user) throw new Error(`submit: ${from} is not a stack user`);
    await transferMail({
      host: '127.0.0.1',
      port: this.ports.smtp,
      protocol: 'smtp',
      from: user.email,
      to: Array.isArray(to) ? to : [to],
      raw,
      auth: { user: user.email, password: user.password },
    });
  }

  logs(): string {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else {
          const text = tail(path);
          if (text.trim()) out.push(`==> ${relative(this.l.dir, path)} <==\n${text}`);
        }
      }
    };
    walk(this.l.logs);
    return out.join('\n');
  }

  // ---- stop ----------------------------------------------------------------------------------------------------

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const step = async (what: () => Promise<void>) => {
      try {
        await what();
      } catch (e) {
        if (!this.options.quiet) console.error('[stack] while stopping:', e instanceof Error ? e.message : e);
      }
    };
    await step(async () => this.proxy?.close());
    await step(() => this.stopBackend());
    await step(async () => {
      const postfix = async () => {
        this.readPostfixMaster();
        if (this.postfixMaster === undefined) return;
        await runCommand('/usr/sbin/postfix', ['-c', this.l.postfix.config, 'stop'], {
          env: { PATH },
          logFile: join(this.l.logs, 'postfix-commands.log'),
          timeoutMs: POSTFIX_COMMAND_TIMEOUT_MS,
        });
        await stopGroup(this.postfixMaster, DAEMON_STOP_GRACE_MS, true);
      };
      // php, Dovecot (and a seeding still running) end in parallel with Postfix.
      await Promise.all([postfix(), ...[...this.daemons.values()].map((d) => stopGroup(d.pgid, DAEMON_STOP_GRACE_MS))]);
    });
    this.daemons.clear();
    unguard(this);
    rmSync(this.l.dir, { recursive: true, force: true });
  }

  /** Last resort at process exit (synchronous): SIGKILL every group, remove the folder. */
  killNow(): void {
    for (const d of this.daemons.values()) signalGroup(d.pgid, 'SIGKILL');
    this.readPostfixMaster();
    if (this.postfixMaster !== undefined) signalGroup(this.postfixMaster, 'SIGKILL');
    try {
      rmSync(this.l.dir, { recursive: true, force: true });
    } catch {
      /* a process still writing: nothing more to do at exit */
    }
  }
}

// ---- a stack never outlives its process ---------------------------------------------------------------------------

/**
 * The daemons run in sessions of their own, so neither a Ctrl-C in the terminal nor the death of this process reaches
 * them. While a stack runs: at exit, and on a signal nobody else handles (a test run interrupted), every stack is
 * killed at once and the signal then takes its default course. An application with its own handler (main.ts) stops
 * its stack itself, gracefully.
 */
const RUNNING = new Set<RunningStack>();
const GUARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  for (const s of RUNNING) s.killNow();
  RUNNING.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAll();
  for (const sig of GUARDED_SIGNALS) process.off(sig, onSignal);
  process.kill(process.pid, signal);
}

function guard(stack: RunningStack): void {
  if (RUNNING.size === 0) {
    process.on('exit', killAll);
    for (const sig of GUARDED_SIGNALS) process.on(sig, onSignal);
  }
  RUNNING.add(stack);
}

function unguard(stack: RunningStack): void {
  RUNNING.delete(stack);
  if (RUNNING.size > 0) return;
  process.off('exit', killAll);
  for (const sig of GUARDED_SIGNALS) process.off(sig, onSignal);
}

/** Fail before anything starts when the front port is taken (npm run roundcube on a busy 8088). */
async function checkPortFree(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} on 127.0.0.1 is in use` : `port ${port}: ${e.message}`)),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
}

/** Bring the whole stack up. On any failure, everything already started is stopped and the folder removed. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  for (const k of Object.keys(options)) if (!OPTION_KEYS.has(k)) throw new TypeError(`startStack: unknown option ${k}`);
  const why = stackUnavailable();
  if (why) throw new Error(why);
  const t0 = Date.now();
  const deadline = t0 + STACK_START_TIMEOUT_MS;
  const users = resolveUsers(options.extraUsers ?? []);
  if (options.port) await checkPortFree(options.port);
  const [front, roundcube, imap, lmtp, auth, smtp, backend] = await Promise.all([
    options.port ? Promise.resolve(options.port) : freePort(),
    ...Array.from({ length: 6 }, () => freePort()),
  ]);
  const ports: Ports = {
    front: front!,
    roundcube: roundcube!,
    imap: imap!,
    lmtp: lmtp!,
    auth: auth!,
    smtp: smtp!,
    backend: backend!,
  };
  const dir = mkdtempSync(join(tmpdir(), 'smime-roundcube-'));
  const stack = new RunningStack(layout(dir), ports, users, {
    plugin: options.plugin !== false,
    extraTrustAnchors: options.extraTrustAnchors ?? [],
    quiet: options.quiet ?? false,
  });
  try {
    stack.prepare();
    // The slow parts side by side; allSettled: nothing may still be starting when a failure stops the stack.
    const results = await Promise.allSettled([
      stack.seed(deadline),
      stack.startDovecot(deadline).then(() => stack.startPostfix(deadline)),
      stack.startRoundcube(deadline),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await stack.startBackend(deadline);
    await stack.startProxy();
    if (!options.quiet) console.error(`[stack] ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${stack.url}`);
    return stack;
  } catch (e) {
    await stack.stop();
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`the stack did not start (everything stopped, ${dir} removed): ${message}`, { cause: e });
  }
}
