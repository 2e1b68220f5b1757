/** The directory settings the sync needs, taken from the validated configuration (config.ts documents each). */
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config.ts';
import { directoryTrustAnchors } from '../trust-anchors.ts';

/** Which attributes hold what (AD defaults; OpenLDAP uses the same names). */
export interface AttributeMap {
  mail: string;
  proxyAddresses: string;
  certificate: string;
  smimeCertificate: string;
}

export interface DirectoryOptions {
  url: string;
  /** ldap:// only: upgrade with StartTLS before binding. */
  startTls: boolean;
  /** PEM CA bundle for the server's certificate; undefined: Node's default roots. */
  caPem: string | undefined;
  bindDn: string | undefined;
  bindPassword: string | undefined;
  baseDn: string;
  filter: string;
  attributes: AttributeMap;
  timeoutMs: number;
  pageSize: number;
  /** 'auto' runs become full syncs when the last full one is older than this (0: every run is full). */
  fullSyncIntervalS: number;
  /** DER CAs a directory certificate must chain to (SMIME_DIRECTORY_TRUST_ANCHORS, else the signature anchors). */
  trustAnchors: Uint8Array[];
  /** Conflicts and rejected certificates listed in a summary, its audit entry and the status (SMIME_DIRECTORY_REPORT_LIMIT). */
  reportLimit: number;
}

/** The directory options, or undefined when no directory is configured (LDAP_URL unset). */
export function directoryOptions(config: Config): DirectoryOptions | undefined {
  if (!config.LDAP_URL) return undefined;
  let caPem: string | undefined;
  if (config.LDAP_CA_FILE) {
    try {
      caPem = readFileSync(config.LDAP_CA_FILE, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `LDAP_CA_FILE: cannot read ${config.LDAP_CA_FILE}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  return {
    url: config.LDAP_URL,
    startTls: config.LDAP_STARTTLS,
    caPem,
    bindDn: config.LDAP_BIND_DN,
    bindPassword: config.ldapBindPassword,
    baseDn: config.LDAP_BASE_DN!,
    filter: config.LDAP_FILTER,
    attributes: {
      mail: config.LDAP_ATTR_MAIL,
      proxyAddresses: config.LDAP_ATTR_PROXY_ADDRESSES,
      certificate: config.LDAP_ATTR_CERTIFICATE,
      smimeCertificate: config.LDAP_ATTR_SMIME_CERTIFICATE,
    },
    timeoutMs: config.LDAP_TIMEOUT_MS,
    pageSize: config.SMIME_DIRECTORY_PAGE_SIZE,
    fullSyncIntervalS: config.SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S,
    trustAnchors: directoryTrustAnchors(config),
    reportLimit: config.SMIME_DIRECTORY_REPORT_LIMIT,
  };
}
