/**
 * The pure parts of the directory sync, driven by tables: addresses from mail and proxyAddresses, entry keys,
 * PKCS#7 certs-only decoding (OpenSSL-made bundles), the full/incremental decision, watermark filters and
 * generalized time, the error mapping (and that it never echoes the bind password), the configuration rules.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InvalidCredentialsError, NoSuchObjectError, TimeLimitExceededError } from 'ldapts';
import { ConfigError, loadConfig } from '../../backend/src/config.ts';
import { entryAddresses, entryKey, mapEntry, type RawEntry } from '../../backend/src/directory/attributes.ts';
import { evaluateCertificates } from '../../backend/src/directory/evaluate.ts';
import { directoryError } from '../../backend/src/directory/ldap.ts';
import { directoryOptions, type DirectoryOptions } from '../../backend/src/directory/options.ts';
import { certificatesFromPkcs7, Pkcs7Error } from '../../backend/src/directory/pkcs7.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { ChainCache } from '../../backend/src/smime/x509/chain-cache.ts';
import {
  changedFilter,
  formatGeneralizedTime,
  parseGeneralizedTime,
  plan,
} from '../../backend/src/directory/watermark.ts';
import type { SyncStatusRow } from '../../backend/src/store/directory-sync.ts';
import { pkiFile, slapdMissing, testPki } from '../fixtures/ldap/slapd.ts';

const MAP = {
  mail: 'mail',
  proxyAddresses: 'proxyAddresses',
  certificate: 'userCertificate;binary',
  smimeCertificate: 'userSMIMECertificate',
};
const OPTS: DirectoryOptions = {
  url: 'ldap://dc1.example.org:389',
  startTls: true,
  caPem: undefined,
  bindDn: 'CN=svc,DC=example,DC=org',
  bindPassword: 'hunter2-secret',
  baseDn: 'DC=example,DC=org',
  filter: '(mail=*)',
  attributes: MAP,
  timeoutMs: 1000,
  pageSize: 500,
  fullSyncIntervalS: 86400,
  trustAnchors: [],
  reportLimit: 100,
};
// The PKCS#7 and certificate cases need OpenSSL-made fixtures (make-pki.sh needs openssl, not slapd).
const noOpenssl = slapdMissing()?.includes('openssl') ? 'openssl missing' : undefined;

describe('addresses of an entry', () => {
  const cases: [string, Record<string, string | string[]>, string[]][] = [
    ['mail alone', { mail: 'Alice@Example.org' }, ['alice@example.org']],
    [
      'mail, SMTP: primary, smtp: aliases in that order, deduplicated, other types ignored',
      {
        mail: 'alice@example.org',
        proxyAddresses: [
          'smtp:a.smith@example.org',
          'X400:c=US;a= ;',
          'SMTP:Alice@example.org',
          'sip:alice@example.org',
          'smtp:al@example.org',
        ],
      },
      ['alice@example.org', 'a.smith@example.org', 'al@example.org'],
    ],
    [
      'no mail: the SMTP: primary first',
      { proxyAddresses: ['smtp:b@example.org', 'SMTP:a@example.org'] },
      ['a@example.org', 'b@example.org'],
    ],
    [
      'attribute names in any case',
      { MAIL: 'x@example.org', proxyaddresses: 'smtp:y@example.org' },
      ['x@example.org', 'y@example.org'],
    ],
    ['not addresses', { mail: ['no-at-sign', 'two words@example.org', ''], proxyAddresses: 'smtp:' }, []],
  ];
  for (const [what, attrs, expected] of cases)
    test(what, () => assert.deepEqual(entryAddresses({ dn: 'cn=x', ...attrs } as RawEntry, MAP), expected));
});

describe('entry key', () => {
  test('entryUUID, then objectGUID, then the DN', () => {
    assert.equal(entryKey({ dn: 'uid=a,dc=x', entryUUID: 'ABC-1' }), 'uuid:abc-1');
    assert.equal(entryKey({ dn: 'CN=A,DC=X', objectGUID: Buffer.from([1, 2, 255]) }), 'guid:0102ff');
    assert.equal(entryKey({ dn: 'CN=A,DC=X' }), 'dn:cn=a,dc=x');
  });
});

describe('certificate values', { skip: noOpenssl }, () => {
  test('a PKCS#7 certs-only bundle from OpenSSL yields every certificate, byte for byte', () => {
    const certs = certificatesFromPkcs7(pkiFile('bob-ec.p7b'));
    assert.equal(certs.length, 2);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    assert.deepEqual(certs.map(hex).sort(), [pkiFile('bob-ec.der'), pkiFile('ca.der')].map(hex).sort());
  });

  const broken: [string, Uint8Array][] = [
    ['empty', new Uint8Array()],
    ['a certificate, not a bundle', pkiFile('alice.der')],
    ['truncated', pkiFile('bob-ec.p7b').subarray(0, 100)],
    ['trailing bytes', Buffer.concat([pkiFile('bob-ec.p7b'), Buffer.from([0])])],
    ['random bytes', Buffer.from('not asn.1 at all')],
  ];
  for (const [what, bytes] of broken)
    test(`a broken PKCS#7 is refused: ${what}`, () => assert.throws(() => certificatesFromPkcs7(bytes), Pkcs7Error));

  test('a value that is text to ldapts is turned back into the same bytes; a broken bundle is reported, not fatal', () => {
    const der = pkiFile('alice.der');
    const m = mapEntry(
      {
        dn: 'uid=a',
        mail: 'alice@example.org',
        'userCertificate;binary': [der],
        userSMIMECertificate: Buffer.from('junk'),
      },
      MAP,
    );
    assert.equal(m.certificates.length, 1);
    assert.deepEqual(Buffer.from(m.certificates[0]!.der), der);
    assert.equal(m.certificates[0]!.attribute, 'userCertificate');
    assert.equal(m.problems.length, 1);
  });

  test('evaluation: CA certificates are chain, duplicates are one, each rule gives its reason', async () => {
    const now = new Date();
    const v = (name: string, attribute = 'userCertificate') => ({ der: pkiFile(name), attribute });
    const anchors = [new Uint8Array(pkiFile('ca.der'))];
    const r = await evaluateCertificates(
      [
        v('alice.der'),
        v('alice.der', 'userSMIMECertificate'),
        v('ca.der'),
        v('carol.der'),
        v('erin.der'),
        { der: Buffer.from('x'), attribute: 'userCertificate' },
      ],
      ['alice@example.org', 'carol@example.org'],
      now,
      { chains: new ChainCache(anchors, { now }), anchorsConfigured: true },
    );
    assert.equal(r.malformed.length, 1);
    assert.deepEqual(
      r.certificates.map((c) => [c.info.subject.match(/CN=([^,]+)/)![1], c.addresses, c.reason === undefined]),
      [
        ['Alice Smith', ['alice@example.org'], true],
        ['Carol Expired', ['carol@example.org'], false],
        ['Erin Elsewhere', [], false],
      ],
    );
  });
});

describe('directory trust at sync (issue 12)', { skip: noOpenssl }, () => {
  const now = new Date();
  const v = (name: string) => ({ der: pkiFile(name), attribute: 'userCertificate' });
  const ca = () => new Uint8Array(pkiFile('ca.der'));
  const trust = (anchors: Uint8Array[]) => ({
    chains: new ChainCache(anchors, { now }),
    anchorsConfigured: anchors.length > 0,
  });
  const cases: [string, string, string[], Uint8Array[], RegExp | undefined][] = [
    ['a certificate of the trusted CA', 'user01.der', ['user01@example.org'], [ca()], undefined],
    [
      'the address only in the subject DN',
      'mallory-dn-payroll.der',
      ['payroll@example.org'],
      [ca()],
      /names none of the entry's addresses \(payroll@example\.org\) in its subjectAltName/,
    ],
    [
      'another CA',
      'ursula-untrusted.der',
      ['ursula@example.org'],
      [ca()],
      /not issued by a CA the directory trusts \(CN=Ursula Untrusted: issuer certificate not found\)/,
    ],
    [
      'self-signed',
      'mallory-self-alice.der',
      ['alice@example.org'],
      [ca()],
      /not issued by a CA the directory trusts .*self-signed/,
    ],
    ['no anchors configured', 'user01.der', ['user01@example.org'], [], /no directory trust anchors are configured/],
  ];
  for (const [what, file, addresses, anchors, reason] of cases)
    test(what, async () => {
      const [c] = (await evaluateCertificates([v(file)], addresses, now, trust(anchors))).certificates;
      if (reason) assert.match(c!.reason ?? '(usable)', reason);
      else assert.equal(c!.reason, undefined);
    });

  test('a stored "usable" reuses the signature check only while its issuer still has a path to the anchors', async () => {
    const user01 = describeCertificate(pkiFile('user01.der'));
    const caFingerprint = describeCertificate(pkiFile('ca.der')).fingerprintSha256;
    const known = new Map([
      [user01.fingerprintSha256, { info: user01, reason: null, issuerFingerprint: caFingerprint }],
    ]);
    // The anchors changed since: the stored verdict does not carry over.
    const elsewhere = await evaluateCertificates(
      [v('user01.der')],
      ['user01@example.org'],
      now,
      trust([new Uint8Array(pkiFile('other-ca.der'))]),
      known,
    );
    assert.match(elsewhere.certificates[0]!.reason!, /not issued by a CA the directory trusts/);
    // Same anchors, a cache that checked the CA's path for another leaf: reused, and still usable.
    const t = trust([ca()]);
    await t.chains.build(new Uint8Array(pkiFile('user02.der')));
    const again = await evaluateCertificates([v('user01.der')], ['user01@example.org'], now, t, known);
    assert.equal(again.certificates[0]!.reason, undefined);
    assert.equal(again.certificates[0]!.issuerFingerprint, caFingerprint);
  });
});

describe('full or incremental', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const status = (s: Partial<SyncStatusRow>): SyncStatusRow =>
    ({
      watermark: '20260601110000Z',
      watermark_kind: 'timestamp',
      server_id: null,
      last_full_success_at: new Date('2026-06-01T00:00:00Z'),
      ...s,
    }) as SyncStatusRow;
  const cases: [string, Parameters<typeof plan>, 'full' | 'incremental', RegExp | undefined][] = [
    ['asked for full', ['full', status({}), undefined, undefined, 86400, now], 'full', undefined],
    ['never synced', ['incremental', undefined, undefined, undefined, 86400, now], 'full', /no earlier sync/],
    [
      'incremental from a timestamp',
      ['incremental', status({}), undefined, undefined, 86400, now],
      'incremental',
      undefined,
    ],
    ['auto within the full interval', ['auto', status({}), undefined, undefined, 86400, now], 'incremental', undefined],
    ['auto past the full interval', ['auto', status({}), undefined, undefined, 3600, now], 'full', /older than/],
    ['AD appeared', ['auto', status({}), '500', 'CN=DC1', 86400, now], 'full', /uSNChanged/],
    [
      'AD, same controller',
      ['auto', status({ watermark: '400', watermark_kind: 'usn', server_id: 'CN=DC1' }), '500', 'CN=DC1', 86400, now],
      'incremental',
      undefined,
    ],
    [
      'AD, another controller',
      ['auto', status({ watermark: '400', watermark_kind: 'usn', server_id: 'CN=DC1' }), '900', 'CN=DC2', 86400, now],
      'full',
      /another domain controller/,
    ],
  ];
  for (const [what, args, mode, because] of cases)
    test(what, () => {
      const p = plan(...args);
      assert.equal(p.mode, mode);
      if (because) assert.match(p.fullBecause!, because);
      else assert.equal(p.fullBecause, undefined);
    });

  test('watermark filters and generalized time', () => {
    assert.equal(changedFilter('usn', '12345'), '(uSNChanged>=12346)');
    assert.equal(changedFilter('timestamp', '20240101000000Z'), '(modifyTimestamp>=20240101000000Z)');
    assert.throws(() => changedFilter('timestamp', '2024)(objectClass=*'));
    assert.throws(() => changedFilter('usn', '1)(x=*'));
    const d = parseGeneralizedTime('20240229235958.0Z')!;
    assert.equal(d.toISOString(), '2024-02-29T23:59:58.000Z');
    assert.equal(formatGeneralizedTime(d, true), '20240229235958.0Z');
    assert.equal(formatGeneralizedTime(d, false), '20240229235958Z');
    assert.equal(parseGeneralizedTime('2024-02-29'), undefined);
  });
});

describe('errors', () => {
  const cases: [string, unknown, Parameters<typeof directoryError>[1], string][] = [
    [
      'refused connection',
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:389'), { code: 'ECONNREFUSED' }),
      'starttls',
      'DIRECTORY_UNREACHABLE',
    ],
    [
      'unknown host',
      Object.assign(new Error('getaddrinfo ENOTFOUND dc1'), { code: 'ENOTFOUND' }),
      'bind',
      'DIRECTORY_UNREACHABLE',
    ],
    ['ldapts timeout', new Error('SearchRequest: Operation timed out'), 'search', 'DIRECTORY_UNREACHABLE'],
    [
      'server time limit is an answer, not unreachability',
      new TimeLimitExceededError(),
      'search',
      'DIRECTORY_SEARCH_FAILED',
    ],
    [
      'untrusted certificate',
      Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
      'bind',
      'DIRECTORY_TLS_FAILED',
    ],
    [
      'wrong password',
      new InvalidCredentialsError('80090308: LdapErr: DSID-0C09044E, data 52e hunter2-secret'),
      'bind',
      'DIRECTORY_BIND_FAILED',
    ],
    ['bad base DN', new NoSuchObjectError('0000208D: NameErr: DSID-03100241'), 'search', 'DIRECTORY_BAD_BASE_DN'],
  ];
  for (const [what, e, step, code] of cases)
    test(what, () => {
      const err = directoryError(e, step, OPTS);
      assert.equal(err.code, code);
      assert.ok(!err.message.includes('hunter2-secret'), err.message);
      assert.ok(!JSON.stringify(err.details).includes('hunter2-secret'));
      assert.equal(err.details!.server, 'ldap://dc1.example.org:389');
    });

  test('the password is scrubbed from any message that would carry it', () => {
    const err = directoryError(new Error('weird server said hunter2-secret'), 'search', OPTS);
    assert.match(err.message, /\[redacted\]/);
  });
});

describe('configuration', () => {
  const base = { LDAP_URL: 'ldaps://dc1.example.org', LDAP_BASE_DN: 'DC=example,DC=org' };
  test('AD defaults', () => {
    const c = loadConfig(base);
    assert.equal(c.LDAP_ATTR_CERTIFICATE, 'userCertificate;binary');
    assert.equal(c.LDAP_ATTR_SMIME_CERTIFICATE, 'userSMIMECertificate');
    assert.equal(c.LDAP_ATTR_PROXY_ADDRESSES, 'proxyAddresses');
    assert.equal(c.SMIME_DIRECTORY_PAGE_SIZE, 500);
    assert.equal(c.ldapBindPassword, undefined);
  });
  const bad: [string, Record<string, string>, RegExp][] = [
    ['not an LDAP URL', { ...base, LDAP_URL: 'http://dc1' }, /LDAP_URL/],
    ['a URL with a path', { ...base, LDAP_URL: 'ldap://dc1/dc=x' }, /LDAP_URL/],
    ['no base DN', { LDAP_URL: 'ldap://dc1' }, /LDAP_BASE_DN is required/],
    ['bind DN without password', { ...base, LDAP_BIND_DN: 'cn=x' }, /needs LDAP_BIND_PASSWORD/],
    ['password twice', { ...base, LDAP_BIND_PASSWORD: 'a', LDAP_BIND_PASSWORD_FILE: '/x' }, /not both/],
    ['page size over AD MaxPageSize', { ...base, SMIME_DIRECTORY_PAGE_SIZE: '1001' }, /SMIME_DIRECTORY_PAGE_SIZE/],
    [
      'an unknown revocation policy',
      { ...base, SMIME_DIRECTORY_REVOCATION_UNKNOWN: 'maybe' },
      /SMIME_DIRECTORY_REVOCATION_UNKNOWN/,
    ],
    ['a report limit of 0', { ...base, SMIME_DIRECTORY_REPORT_LIMIT: '0' }, /SMIME_DIRECTORY_REPORT_LIMIT/],
  ];
  for (const [what, env, message] of bad)
    test(`refused: ${what}`, () => {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('hunter2'),
      );
    });

  test(
    'directory trust (issue 12): defaults, the signature anchors by default, a broken bundle is a configuration error',
    { skip: noOpenssl },
    () => {
      const c = loadConfig(base);
      assert.equal(c.SMIME_DIRECTORY_REVOCATION_UNKNOWN, 'allow');
      assert.equal(c.SMIME_DIRECTORY_REPORT_LIMIT, 100);
      assert.deepEqual(directoryOptions(c)!.trustAnchors, []);
      const ca = join(testPki(), 'ca.crt');
      assert.deepEqual(directoryOptions(loadConfig({ ...base, SMIME_TRUST_ANCHORS: ca }))!.trustAnchors, [
        new Uint8Array(pkiFile('ca.der')),
      ]);
      const own = directoryOptions(
        loadConfig({
          ...base,
          SMIME_TRUST_ANCHORS: ca,
          SMIME_DIRECTORY_TRUST_ANCHORS: join(testPki(), 'other-ca.crt'),
        }),
      )!;
      assert.deepEqual(
        own.trustAnchors,
        [new Uint8Array(pkiFile('other-ca.der'))],
        'the directory setting replaces the signature anchors',
      );
      const refused = (file: string, message: RegExp) =>
        assert.throws(
          () => directoryOptions(loadConfig({ ...base, SMIME_DIRECTORY_TRUST_ANCHORS: file })),
          (e: unknown) => e instanceof ConfigError && message.test(e.message),
        );
      refused(
        '/nonexistent/anchors.pem',
        /SMIME_DIRECTORY_TRUST_ANCHORS: cannot read \/nonexistent\/anchors\.pem: ENOENT/,
      );
      refused(join(testPki(), 'ca.key'), /SMIME_DIRECTORY_TRUST_ANCHORS: .* holds no certificate/);
    },
  );
});
