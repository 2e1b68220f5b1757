/**
 * The directory checks of `smime-admin doctor` (LDAP_* settings): a TCP connection, then the TLS handshake (ldaps://
 * or StartTLS) with certificate verification, the bind and the base DN, each its own line so the first that fails
 * says where to look. All skipped when LDAP_URL is unset.
 */
import { connect } from 'node:net';
import { ConfigError, type Config } from '../config.ts';
import { DirectoryConnection } from '../directory/ldap.ts';
import { directoryOptions, type DirectoryOptions } from '../directory/options.ts';
import { AppError } from '../errors.ts';
import { message, within, type Add, type DoctorCheck } from './doctor-check.ts';

/** Default LDAP ports (RFC 4516 section 2, RFC 4513 section 3.1.3). */
const LDAP_PORT = 389;
const LDAPS_PORT = 636;

/** Can a TCP connection be opened to the directory's host and port at all. */
function tcpReachable(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolveReach, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolveReach();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    });
    socket.once('error', (e) => {
      socket.destroy();
      reject(e);
    });
  });
}

export async function directoryChecks(config: Config | undefined, timeoutMs: number, add: Add): Promise<void> {
  if (!config) return add({ name: 'directory', status: 'skipped', detail: 'the configuration did not load' });
  if (!config.LDAP_URL)
    return add({ name: 'directory', status: 'skipped', detail: 'LDAP_URL is not set: no directory' });
  let opts: DirectoryOptions;
  try {
    opts = { ...directoryOptions(config)!, timeoutMs: Math.min(config.LDAP_TIMEOUT_MS, timeoutMs) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    add({
      name: 'directory',
      status: 'fail',
      detail: e.message,
      fix: 'make the file named readable by this user, a PEM bundle (LDAP_CA_FILE, SMIME_DIRECTORY_TRUST_ANCHORS)',
    });
    return;
  }
  const url = new URL(opts.url);
  const ldaps = url.protocol === 'ldaps:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : ldaps ? LDAPS_PORT : LDAP_PORT;
  const where = `${url.protocol}//${url.host}`;

  try {
    await tcpReachable(host, port, opts.timeoutMs);
    add({ name: 'directory reachable', status: 'ok', detail: `${where} accepts connections` });
  } catch (e) {
    add({
      name: 'directory reachable',
      status: 'fail',
      detail: `${where} cannot be reached: ${message(e)}`,
      fix: 'check the host and port in LDAP_URL, and that a firewall lets this host reach the directory',
    });
    for (const name of ['directory TLS', 'directory bind', 'directory base DN'])
      add({ name, status: 'skipped', detail: 'the directory cannot be reached' });
    return;
  }
  await sessionChecks(opts, ldaps ? 'ldaps://' : opts.startTls ? 'StartTLS' : undefined, where, add);
}

/** TLS, bind and base DN over one connection: the step that fails names its check, the later ones are skipped. */
async function sessionChecks(
  opts: DirectoryOptions,
  protection: string | undefined,
  where: string,
  add: Add,
): Promise<void> {
  const trusted = opts.caPem ? 'LDAP_CA_FILE' : "Node's default roots";
  let conn: DirectoryConnection;
  try {
    conn = await within(DirectoryConnection.open(opts), opts.timeoutMs * 2, where);
  } catch (e) {
    const code = e instanceof AppError ? e.code : undefined;
    if (code === 'DIRECTORY_BIND_FAILED') {
      add(tlsOk(protection, trusted));
      add({
        name: 'directory bind',
        status: 'fail',
        detail: message(e),
        fix: 'check LDAP_BIND_DN and LDAP_BIND_PASSWORD (or LDAP_BIND_PASSWORD_FILE); unset LDAP_BIND_DN to bind anonymously',
      });
    } else {
      add({
        name: 'directory TLS',
        status: 'fail',
        detail: message(e),
        fix:
          code === 'DIRECTORY_TLS_FAILED'
            ? "set LDAP_CA_FILE to the CA that issued the directory's certificate, and use the host name that certificate names in LDAP_URL"
            : 'check that LDAP_URL names an LDAP port (ldap:// for 389 with StartTLS, ldaps:// for 636) and LDAP_TIMEOUT_MS',
      });
      add({ name: 'directory bind', status: 'skipped', detail: 'no protected connection' });
    }
    add({ name: 'directory base DN', status: 'skipped', detail: 'not bound' });
    return;
  }
  try {
    add(tlsOk(protection, trusted));
    add({ name: 'directory bind', status: 'ok', detail: `bound as ${opts.bindDn ?? 'anonymous'}` });
    try {
      await within(conn.checkBase(), opts.timeoutMs, where);
      add({ name: 'directory base DN', status: 'ok', detail: `${opts.baseDn} exists` });
    } catch (e) {
      add({
        name: 'directory base DN',
        status: 'fail',
        detail: message(e),
        fix: 'set LDAP_BASE_DN to an entry the bind account may read, e.g. DC=corp,DC=example,DC=com',
      });
    }
  } finally {
    await within(conn.close(), opts.timeoutMs, where).catch(() => {});
  }
}

function tlsOk(protection: string | undefined, trusted: string): DoctorCheck {
  return protection
    ? { name: 'directory TLS', status: 'ok', detail: `${protection}: handshake done, certificate chains to ${trusted}` }
    : {
        name: 'directory TLS',
        status: 'warn',
        detail: 'LDAP_STARTTLS=false: the bind password and every answer travel in clear',
        fix: 'remove LDAP_STARTTLS=false (StartTLS is the default) or use ldaps://',
      };
}
