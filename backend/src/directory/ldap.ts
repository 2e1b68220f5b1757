/**
 * The LDAP side of the sync, over ldapts (ldapjs, which the design first named, was decommissioned upstream in 2024).
 * Connects with ldaps:// or ldap:// + StartTLS (RFC 4513 section 3), binds, reads the rootDSE and runs paged
 * searches (RFC 2696 simple paged results). Every failure becomes an AppError with a DIRECTORY_* code whose message
 * names the server and the step that failed; the bind password never appears in one.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  Client,
  ConfidentialityRequiredError,
  InappropriateAuthError,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  NoSuchObjectError,
  StrongAuthRequiredError,
} from 'ldapts';
import { AppError, type ErrorCode } from '../errors.ts';
import { attributeNames, type RawEntry } from './attributes.ts';
import type { DirectoryOptions } from './options.ts';

export interface RootDse {
  /** AD: the highest update sequence number committed on this domain controller. */
  highestCommittedUSN: string | undefined;
  /** AD: which domain controller answered (uSNs are per DC). */
  dsServiceName: string | undefined;
}

type Step = 'connect' | 'starttls' | 'bind' | 'rootdse' | 'search';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  'EPIPE',
]);

function server(opts: DirectoryOptions): string {
  const u = new URL(opts.url);
  return `${u.protocol}//${u.host}`;
}

/** Map anything ldapts or the socket throws to a DIRECTORY_* AppError. Exported for the unit tests. */
export function directoryError(e: unknown, step: Step, opts: DirectoryOptions): AppError {
  if (e instanceof AppError) return e;
  const err = e as Error & { code?: unknown };
  const where = server(opts);
  let detail = err instanceof Error ? err.message : String(e);
  // Belt and braces: no server puts the password in a message, but nothing here may ever echo it.
  if (opts.bindPassword) detail = detail.split(opts.bindPassword).join('[redacted]');
  const fail = (code: ErrorCode, message: string) => new AppError(code, message, { server: where, step }, { cause: e });
  const code = typeof err.code === 'string' ? err.code : '';
  // ldapts' own timeouts are plain Errors ("Connection timeout", "Operation timed out"); an LDAP result (numeric code,
  // such as timeLimitExceeded) is an answer, so the server was reached.
  if (
    NETWORK_CODES.has(code) ||
    (typeof err.code !== 'number' && /timed? ?out|connection closed|socket hang up/i.test(detail))
  )
    return fail(
      'DIRECTORY_UNREACHABLE',
      `The directory server ${where} cannot be reached or dropped the connection (${step}: ${detail}).`,
    );
  if (
    step === 'starttls' ||
    (step === 'connect' && opts.url.toLowerCase().startsWith('ldaps:')) ||
    /CERT|TLS|SSL|SIGNATURE|ALTNAME/i.test(code)
  )
    return fail(
      'DIRECTORY_TLS_FAILED',
      `TLS with ${where} failed (${step}: ${detail}); check LDAP_CA_FILE and the server name.`,
    );
  if (e instanceof ConfidentialityRequiredError || e instanceof StrongAuthRequiredError)
    return fail(
      'DIRECTORY_TLS_FAILED',
      `${where} requires a protected connection (${detail}); use ldaps:// or StartTLS.`,
    );
  if (step === 'bind' && (e instanceof InvalidCredentialsError || e instanceof InappropriateAuthError))
    return fail(
      'DIRECTORY_BIND_FAILED',
      `${where} refused the bind as ${opts.bindDn ?? 'anonymous'}: wrong LDAP_BIND_DN or password.`,
    );
  if (step === 'bind')
    return fail('DIRECTORY_BIND_FAILED', `Binding to ${where} as ${opts.bindDn ?? 'anonymous'} failed (${detail}).`);
  if (step === 'search' && (e instanceof NoSuchObjectError || e instanceof InvalidDNSyntaxError))
    return fail(
      'DIRECTORY_BAD_BASE_DN',
      `${where} has no entry ${JSON.stringify(opts.baseDn)} (LDAP_BASE_DN): ${detail}.`,
    );
  return fail(
    'DIRECTORY_SEARCH_FAILED',
    `The directory ${where} failed during ${step}: ${err.name ?? 'error'}: ${detail}.`,
  );
}

export class DirectoryConnection {
  private constructor(
    private readonly client: Client,
    private readonly opts: DirectoryOptions,
  ) {}

  /** Connect, protect (ldaps:// or StartTLS) and bind. */
  static async open(opts: DirectoryOptions): Promise<DirectoryConnection> {
    const url = new URL(opts.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const tls: ConnectionOptions = {
      ...(opts.caPem ? { ca: opts.caPem } : {}),
      host,
      // SNI takes a name, never an address (RFC 6066 section 3); the certificate check uses `host` either way.
      ...(isIP(host) ? {} : { servername: host }),
      minVersion: 'TLSv1.2',
    };
    // tlsOptions only for ldaps://: given on an ldap:// client, ldapts breaks the later StartTLS upgrade.
    const client = new Client({
      url: opts.url,
      timeout: opts.timeoutMs,
      connectTimeout: opts.timeoutMs,
      ...(url.protocol === 'ldaps:' ? { tlsOptions: tls } : {}),
    });
    let step: Step = 'connect';
    try {
      if (url.protocol === 'ldap:' && opts.startTls) {
        step = 'starttls';
        await client.startTLS(tls);
      }
      step = 'bind';
      if (opts.bindDn) await client.bind(opts.bindDn, opts.bindPassword ?? '');
      else await client.bind('', '');
    } catch (e) {
      await client.unbind().catch(() => {});
      throw directoryError(e, step, opts);
    }
    return new DirectoryConnection(client, opts);
  }

  async rootDse(): Promise<RootDse> {
    try {
      const { searchEntries } = await this.client.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['highestCommittedUSN', 'dsServiceName'],
      });
      const e = searchEntries[0] ?? {};
      const one = (k: string) => {
        const v = (e as Record<string, unknown>)[k];
        const first = Array.isArray(v) ? v[0] : v;
        return typeof first === 'string' && first !== '' ? first : undefined;
      };
      return { highestCommittedUSN: one('highestCommittedUSN'), dsServiceName: one('dsServiceName') };
    } catch {
      // Some servers hide the rootDSE from ordinary accounts: then there is no AD watermark, use timestamps.
      return { highestCommittedUSN: undefined, dsServiceName: undefined };
    }
  }

  /** Read the base DN's own entry (no attributes): DIRECTORY_BAD_BASE_DN when it does not exist (`smime-admin doctor`). */
  async checkBase(): Promise<void> {
    try {
      await this.client.search(this.opts.baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    } catch (e) {
      throw directoryError(e, 'search', this.opts);
    }
  }

  /**
   * A paged subtree search under the base DN: yields one page at a time, so memory stays at one page whatever the
   * directory's size. `identityOnly` asks for the identity and change attributes alone.
   */
  async *search(filter: string, identityOnly = false): AsyncGenerator<RawEntry[]> {
    const names = attributeNames(this.opts.attributes);
    try {
      for await (const page of this.client.searchPaginated(this.opts.baseDn, {
        scope: 'sub',
        filter,
        attributes: identityOnly ? ['entryUUID', 'objectGUID', 'modifyTimestamp'] : names.all,
        explicitBufferAttributes: names.binary,
        paged: { pageSize: this.opts.pageSize },
      }))
        yield page.searchEntries as RawEntry[];
    } catch (e) {
      throw directoryError(e, 'search', this.opts);
    }
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => {});
  }
}
