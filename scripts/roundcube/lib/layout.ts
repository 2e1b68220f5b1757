/**
 * Where everything of one stack lives (one temporary folder) and the configuration files of its daemons, as text.
 * Facts and pitfalls behind these choices: /work/shared/roundcube-stack.md (measured on Debian 12).
 */
import { join } from 'node:path';

/** Mail uid/gid of every mailbox (a virtual user: needs no passwd entry, only ownership of the mail folder). */
export const MAIL_UID = 5000;
/** Largest message Postfix accepts: the backend's default SMIME_MAX_MESSAGE_BYTES, so a test of big attachments
 * fails in the backend, not in the MTA. */
export const MESSAGE_SIZE_LIMIT = 64 * 1024 * 1024;

export interface Ports {
  /** The front proxy: the URL users and browsers see. */
  front: number;
  /** php -S (Roundcube), behind the front proxy. */
  roundcube: number;
  imap: number;
  lmtp: number;
  /** Dovecot's auth service for Postfix's SASL. */
  auth: number;
  /** Postfix submission (SMTP AUTH). */
  smtp: number;
  backend: number;
}

export interface Layout {
  dir: string;
  logs: string;
  tmp: string;
  secrets: string;
  pki: string;
  trustAnchors: string;
  mail: string;
  dovecot: { dir: string; conf: string; users: string; run: string; state: string };
  postfix: { config: string; queue: string; data: string; mailboxes: string };
  roundcube: { tree: string; config: string; db: string; logs: string; temp: string };
  backendData: string;
  seed: string;
}

export function layout(dir: string): Layout {
  const d = (...p: string[]) => join(dir, ...p);
  return {
    dir,
    logs: d('logs'),
    tmp: d('tmp'),
    secrets: d('secrets'),
    pki: d('pki'),
    trustAnchors: d('pki', 'trust.pem'),
    mail: d('mail'),
    dovecot: {
      dir: d('dovecot'),
      conf: d('dovecot', 'dovecot.conf'),
      users: d('dovecot', 'users'),
      run: d('dovecot', 'run'),
      state: d('dovecot', 'state'),
    },
    // Queue and data outside the config folder: postfix check wants the config folder to itself.
    postfix: {
      config: d('postfix'),
      queue: d('postfix-queue'),
      data: d('postfix-data'),
      mailboxes: d('postfix', 'mailboxes'),
    },
    roundcube: {
      tree: d('roundcube'),
      config: d('roundcube', 'config', 'config.inc.php'),
      db: d('roundcube-db', 'roundcube.sqlite'),
      logs: d('logs', 'roundcube'),
      temp: d('roundcube-temp'),
    },
    backendData: d('backend'),
    seed: d('seed'),
  };
}

/** The mailbox folder of an address: the whole address, lower-cased (bob@example.test and Bob@example.com differ). */
export function mailHome(l: Layout, email: string): string {
  return join(l.mail, email.toLowerCase());
}

export interface MailUser {
  email: string;
  password: string;
}

/** Dovecot passwd-file: user:{PLAIN}password:uid:gid:gecos:home:shell (fields split on ':'). */
export function dovecotUsers(l: Layout, users: MailUser[]): string {
  return users
    .map((u) => `${u.email.toLowerCase()}:{PLAIN}${u.password}:${MAIL_UID}:${MAIL_UID}::${mailHome(l, u.email)}::\n`)
    .join('');
}

export function dovecotConf(l: Layout, ports: Ports): string {
  // Every "{" ends its line (Dovecot's parser).
  return `# Generated for one run of the S/MIME Roundcube stack; nothing here comes from /etc/dovecot.
instance_name = smime-stack-${l.dir.split('/').pop()}
base_dir = ${l.dovecot.run}
state_dir = ${l.dovecot.state}
log_path = ${join(l.logs, 'dovecot.log')}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_verbose = yes
hostname = mail.example.test
postmaster_address = postmaster@example.test
mail_location = maildir:~/Maildir
first_valid_uid = ${MAIL_UID}
last_valid_uid = ${MAIL_UID}
first_valid_gid = ${MAIL_UID}
last_valid_gid = ${MAIL_UID}
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${l.dovecot.users}
}
userdb {
  driver = passwd-file
  args = ${l.dovecot.users}
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtp}
  }
}
service auth {
  inet_listener postfix-sasl {
    address = 127.0.0.1
    port = ${ports.auth}
  }
}
`;
}

export function postfixMainCf(l: Layout, ports: Ports, domains: string[]): string {
  return `# Generated for one run of the S/MIME Roundcube stack (postfix -c ${l.postfix.config}).
compatibility_level = 3.6
queue_directory = ${l.postfix.queue}
data_directory = ${l.postfix.data}
meta_directory = /etc/postfix
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
command_directory = /usr/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
alias_maps =
alias_database =
# Nothing leaves the machine: every domain that is not ours bounces at once.
relayhost =
default_transport = error:no mail leaves the S/MIME stack
relay_transport = error:no mail leaves the S/MIME stack
local_transport = error:no local delivery in the S/MIME stack
smtp_host_lookup = native
lmtp_host_lookup = native
virtual_mailbox_domains = ${domains.join(', ')}
virtual_mailbox_maps = texthash:${l.postfix.mailboxes}
virtual_transport = lmtp:inet:127.0.0.1:${ports.lmtp}
message_size_limit = ${MESSAGE_SIZE_LIMIT}
mailbox_size_limit = 0
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:${ports.auth}
smtpd_sasl_security_options = noanonymous
# A submission port: only authenticated users send, as with a real provider.
smtpd_relay_restrictions = permit_sasl_authenticated, reject
# Errors go only to maillog_file when stderr is not a terminal; its folder must be an allowed prefix.
maillog_file = ${join(l.logs, 'postfix.log')}
maillog_file_prefixes = ${l.logs}
`;
}

export function postfixMasterCf(ports: Ports): string {
  // chroot "n" everywhere: the temporary folder is not a chroot jail.
  const services = [
    `127.0.0.1:${ports.smtp} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return `# Generated for one run of the S/MIME Roundcube stack.\n${services.join('\n')}\n`;
}

/** A PHP single-quoted string literal. */
export function phpString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface RoundcubeSettings {
  desKey: string;
  plugin: boolean;
  jwtSecret: string;
}

/**
 * Roundcube's config.inc.php. The smime_* keys are what the PHP plugin (plugin/roundcube) reads; the caches are on
 * so that tests can show decrypted content never lands in them.
 */
export function roundcubeConfig(l: Layout, ports: Ports, s: RoundcubeSettings): string {
  const set = (key: string, value: string) => `$config[${phpString(key)}] = ${value};`;
  return [
    '<?php',
    '// Generated for one run of the S/MIME Roundcube stack; removed with it.',
    '$config = [];',
    set('db_dsnw', phpString(`sqlite:///${l.roundcube.db}?mode=0600`)),
    set('imap_host', phpString(`127.0.0.1:${ports.imap}`)),
    set('smtp_host', phpString(`127.0.0.1:${ports.smtp}`)),
    set('smtp_user', phpString('%u')),
    set('smtp_pass', phpString('%p')),
    set('des_key', phpString(s.desKey)),
    set('log_driver', phpString('file')),
    set('log_dir', phpString(`${l.roundcube.logs}/`)),
    set('temp_dir', phpString(`${l.roundcube.temp}/`)),
    set('skin', phpString('elastic')),
    set('language', phpString('en_US')),
    set('product_name', phpString('Roundcube (S/MIME stack)')),
    set('messages_cache', 'true'),
    set('imap_cache', phpString('db')),
    set('enable_installer', 'false'),
    set('support_url', phpString('')),
    set('plugins', s.plugin ? "['smime']" : '[]'),
    '',
    '// The S/MIME plugin (plugin/roundcube).',
    set('smime_backend_url', phpString(`http://127.0.0.1:${ports.backend}`)),
    "// '' = same origin: the browser reaches the backend through the front proxy, as through nginx in production.",
    set('smime_browser_url', phpString('')),
    set('smime_jwt_secret', phpString(s.jwtSecret)),
    set('smime_jwt_audience', phpString('smime')),
    set('smime_token_lifetime', '300'),
    set('smime_timeout', '20'),
    '',
  ].join('\n');
}

/** Where the .p12 IT issued to a stack user is kept (under the stack's pki folder, 0600). */
export function pkcs12Path(pkiDir: string, email: string): string {
  return join(pkiDir, `${email.toLowerCase()}.p12`);
}
