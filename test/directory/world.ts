/**
 * The directory the suites sync from: AD-like inetOrgPerson entries on a real slapd, whose size limit (5) is below
 * the number of entries (16), with a page limit (4) like AD's MaxPageSize. Each entry exercises one rule.
 */
import { loadConfig, type Config } from '../../backend/src/config.ts';
import { directoryOptions, type DirectoryOptions } from '../../backend/src/directory/options.ts';
import { BASE_DN, pkiFile, SYNC_DN, SYNC_PASSWORD, type Person, type Slapd } from '../fixtures/ldap/slapd.ts';

export const SIZE_LIMIT = 5;
export const PAGE_LIMIT = 4;

/** Entries loaded long ago, an hour apart (slapadd keeps the given modifyTimestamp). */
function at(i: number): string {
  return `20240101${String(i).padStart(2, '0')}0000Z`;
}

export function people(): Person[] {
  const list: Person[] = [
    {
      uid: 'alice',
      mail: 'alice@example.org',
      proxyAddresses: [
        'SMTP:alice@example.org',
        'smtp:Alice.Smith@example.org',
        'X400:c=US;a= ;p=Example;o=Exchange;s=Smith;g=Alice;',
      ],
      certificates: [pkiFile('alice.der')],
    },
    { uid: 'bob', mail: 'bob@example.org', certificates: [pkiFile('bob-rsa.der')], smime: [pkiFile('bob-ec.p7b')] },
    { uid: 'carol', mail: 'carol@example.org', certificates: [pkiFile('carol.der')] },
    { uid: 'dave', mail: 'dave@example.org', certificates: [pkiFile('dave.der')] },
    { uid: 'erin', mail: 'erin@example.org', certificates: [pkiFile('erin.der')] },
    { uid: 'frank', mail: 'frank@example.org', certificates: [pkiFile('frank.der')] },
    // No mail attribute: the address comes from the SMTP: primary proxy address alone.
    { uid: 'grace', proxyAddresses: ['SMTP:grace@example.org'], certificates: [pkiFile('grace.der')] },
    { uid: 'user01', mail: 'user01@example.org', certificates: [pkiFile('user01.der'), pkiFile('user01-second.der')] },
  ];
  for (let i = 2; i <= 8; i++) {
    const n = String(i).padStart(2, '0');
    list.push({ uid: `user${n}`, mail: `user${n}@example.org`, certificates: [pkiFile(`user${n}.der`)] });
  }
  // Matches no filter that asks for a certificate.
  list.push({ uid: 'nocert', mail: 'nocert@example.org' });
  // grace has a mail-less entry; the default filter asks for mail, so this world's filter accepts proxyAddresses too.
  return list.map((p, i) => ({ ...p, modifyTimestamp: at(i) }));
}

/** Entries with a certificate (what the filter returns). */
export const MATCHING = 15;
/** Certificates stored: every non-CA certificate of those entries (Bob's PKCS#7 also carries the CA). */
export const STORED = 17;
/** Stored but unusable: Carol (expired), Dave (clientAuth only), Erin (names another address), Frank (RSA-1024). */
export const REJECTED = 4;

export const FILTER =
  '(&(objectClass=inetOrgPerson)(|(mail=*)(proxyAddresses=smtp:*))(|(userCertificate=*)(userSMIMECertificate=*)))';

export function ldapEnv(slapd: Slapd, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LDAP_URL: slapd.url,
    LDAP_CA_FILE: slapd.caFile,
    LDAP_BIND_DN: SYNC_DN,
    LDAP_BIND_PASSWORD: SYNC_PASSWORD,
    LDAP_BASE_DN: BASE_DN,
    LDAP_FILTER: FILTER,
    LDAP_TIMEOUT_MS: '5000',
    SMIME_DIRECTORY_PAGE_SIZE: String(PAGE_LIMIT),
    // The test CA issued every certificate of this world (and the server's TLS certificate): the directory trusts it.
    SMIME_DIRECTORY_TRUST_ANCHORS: slapd.caFile,
    ...overrides,
  };
}

export function ldapConfig(slapd: Slapd, overrides: Record<string, string> = {}): Config {
  return loadConfig({ SMIME_DATA_DIR: 'test-output/data', ...ldapEnv(slapd, overrides) });
}

export function ldapOptions(slapd: Slapd, overrides: Record<string, string> = {}): DirectoryOptions {
  return directoryOptions(ldapConfig(slapd, overrides))!;
}
