/**
 * The twelve example certificates of RFC 9216 (S/MIME Example Keys and Certificates; test/fixtures/rfc9216/), issue
 * 14: for each, what the RFC states of it (key, addresses, key usage, the CA that issued it, the cross-certification
 * of the two CAs in section 10) and what our engine makes of it: describeCertificate, buildChain against trust
 * anchors at a fixed instant, and the usability rules of usable.ts. OpenSSL checks the same facts on its own (key
 * usage and addresses as `openssl x509` prints them, and every chain case with `openssl verify`), so the test does
 * not only compare the engine with itself. The README's "RFC 9216 examples" table is checked against the rows here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildChain, type ChainProblemCode } from '../../backend/src/smime/x509/chain.ts';
import { describeCertificate, type CertificateInfo } from '../../backend/src/smime/x509/describe.ts';
import { certificateToPem, pemToDer } from '../../backend/src/smime/x509/pem.ts';
import {
  allowsEmailProtection,
  allowsSigning,
  encryptionUnusableReason,
  validityAt,
} from '../../backend/src/smime/usable.ts';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.ts';
import { unavailable } from '../helpers/unavailable.ts';

const DIR = `${FIXTURES}rfc9216/`;
/** Inside every certificate's validity window (the earliest notAfter is 2052-09-27, the latest notBefore 2020-12-15). */
const NOW = new Date('2026-12-01T00:00:00Z');
/** After the RSA CA and both cross certificates expired (2052-09-27), before the Ed25519 certificates (2052-12-15). */
const AFTER_RSA_EXPIRY = new Date('2052-11-01T00:00:00Z');
/** Before the Ed25519 CA and its certificates (2020-12-15), after the RSA ones (2019-11-20). */
const BEFORE_ED25519 = new Date('2020-06-01T00:00:00Z');
/** An openssl child that has not answered by then is stuck. */
const CHILD_TIMEOUT_MS = 30_000;

const RSA_CA = 'Sample_LAMPS_RSA_Certification_Authority.selfsigned';
const ED_CA = 'Sample_LAMPS_Ed25519_Certification_Authority.selfsigned';
/** Section 10.1: the RSA CA's name and key, certified by the Ed25519 CA. */
const RSA_CROSS = 'Sample_LAMPS_RSA_Certification_Authority.crosssigned';
/** Section 10.2: the Ed25519 CA's name and key, certified by the RSA CA. */
const ED_CROSS = 'Sample_LAMPS_Ed25519_Certification_Authority.crosssigned';
const CA_NAME = { rsa: 'the RSA CA', ed25519: 'the Ed25519 CA' } as const;
type Ca = keyof typeof CA_NAME;
const SELF_SIGNED: Record<Ca, string> = { rsa: RSA_CA, ed25519: ED_CA };
/** The cross certificate that carries a CA's key up to the other CA. */
const CROSS: Record<Ca, string> = { rsa: RSA_CROSS, ed25519: ED_CROSS };
const OTHER: Record<Ca, Ca> = { rsa: 'ed25519', ed25519: 'rsa' };

interface Example {
  /** The fixture file, without `.pem`. */
  file: string;
  /** The RFC 9216 section that gives it. */
  section: string;
  /** What the RFC states of it, as the README's table says it. */
  states: string;
  /** The key as describeCertificate reports it, and as `openssl x509 -text` names its algorithm. */
  keyAlgorithm: CertificateInfo['keyAlgorithm'];
  keySize: number;
  opensslAlgorithm: 'rsaEncryption' | 'ED25519' | 'X25519';
  keyUsage: string[];
  /** The subjectAltName rfc822Name, lowercase; none for a CA. */
  emails: string[];
  /** Who issued it (a CA's own name for a self-signed one). */
  issuer: Ca;
  isCA: boolean;
  selfSigned: boolean;
  notBefore: string;
  notAfter: string;
  /** Our verdicts at NOW: may sign mail with it (usable.ts allowsSigning), may encrypt to it (encryptionUnusableReason). */
  signs: boolean;
  /** undefined: encryption is allowed; else a fragment of the reason encryptionUnusableReason gives. */
  notEncryptable?: string;
}

const RSA_TIMES = { notBefore: '2019-11-20T06:54:18Z', notAfter: '2052-09-27T06:54:18Z' };
const ED_TIMES = { notBefore: '2020-12-15T21:35:44Z', notAfter: '2052-12-15T21:35:44Z' };
const SIGNING_KU = ['digitalSignature', 'nonRepudiation'];
const CA_KU = ['keyCertSign', 'cRLSign'];
const RSA_KEY = { keyAlgorithm: 'RSA', keySize: 2048, opensslAlgorithm: 'rsaEncryption' } as const;
const ED25519_KEY = { keyAlgorithm: 'Ed25519', keySize: 256, opensslAlgorithm: 'ED25519' } as const;
// X25519 (RFC 8418, issue 14): describe.ts names the key, and an X25519 certificate with keyAgreement may be
// encrypted to.
const X25519_KEY = { keyAlgorithm: 'X25519', keySize: 256, opensslAlgorithm: 'X25519' } as const;

const capitalised = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}`;

function signing(person: string, section: string, issuer: Ca): Example {
  const rsa = issuer === 'rsa';
  return {
    file: `${person}@smime.example.sig`,
    section,
    states: `${capitalised(person)}'s signing certificate: ${rsa ? 'RSA 2048' : 'Ed25519'}, issued by ${CA_NAME[issuer]}, digitalSignature and nonRepudiation, emailProtection`,
    ...(rsa ? RSA_KEY : ED25519_KEY),
    keyUsage: SIGNING_KU,
    emails: [`${person}@smime.example`],
    issuer,
    isCA: false,
    selfSigned: false,
    ...(rsa ? RSA_TIMES : ED_TIMES),
    signs: true,
    // A signing certificate is no encryption target (RFC 9216 gives each person one signing and one encryption certificate).
    notEncryptable: rsa ? 'key usage does not allow key encipherment' : 'Ed25519 keys cannot be encrypted to',
  };
}

function encryption(person: string, section: string, issuer: Ca): Example {
  const rsa = issuer === 'rsa';
  return {
    file: `${person}@smime.example.enc`,
    section,
    states: `${capitalised(person)}'s encryption certificate: ${rsa ? 'RSA 2048' : 'X25519'}, issued by ${CA_NAME[issuer]}, ${rsa ? 'keyEncipherment' : 'keyAgreement'}, emailProtection`,
    ...(rsa ? RSA_KEY : X25519_KEY),
    keyUsage: [rsa ? 'keyEncipherment' : 'keyAgreement'],
    emails: [`${person}@smime.example`],
    issuer,
    isCA: false,
    selfSigned: false,
    ...(rsa ? RSA_TIMES : ED_TIMES),
    signs: false,
  };
}

const ca = (file: string, section: string, states: string, key: typeof RSA_KEY | typeof ED25519_KEY, issuer: Ca) => ({
  file,
  section,
  states,
  ...key,
  keyUsage: CA_KU,
  emails: [],
  issuer,
  isCA: true,
  selfSigned: !file.endsWith('.crosssigned'),
  signs: false,
  notEncryptable: key === RSA_KEY ? 'key usage does not allow key encipherment' : 'Ed25519 keys cannot be encrypted to',
});

const EXAMPLES: Example[] = [
  {
    ...ca(RSA_CA, '3.1', 'the RSA CA: self-signed, RSA 2048, keyCertSign and cRLSign', RSA_KEY, 'rsa'),
    ...RSA_TIMES,
  },
  signing('alice', '4.1', 'rsa'),
  encryption('alice', '4.3', 'rsa'),
  signing('bob', '5.1', 'rsa'),
  encryption('bob', '5.3', 'rsa'),
  {
    ...ca(ED_CA, '6.1', 'the Ed25519 CA: self-signed, Ed25519, keyCertSign and cRLSign', ED25519_KEY, 'ed25519'),
    ...ED_TIMES,
  },
  signing('carlos', '7.1', 'ed25519'),
  encryption('carlos', '7.3', 'ed25519'),
  signing('dana', '8.1', 'ed25519'),
  encryption('dana', '8.3', 'ed25519'),
  {
    ...ca(RSA_CROSS, '10.1', "the RSA CA's key certified by the Ed25519 CA", RSA_KEY, 'ed25519'),
    notBefore: ED_TIMES.notBefore,
    notAfter: RSA_TIMES.notAfter,
  },
  {
    ...ca(ED_CROSS, '10.2', "the Ed25519 CA's key certified by the RSA CA", ED25519_KEY, 'rsa'),
    notBefore: ED_TIMES.notBefore,
    notAfter: RSA_TIMES.notAfter,
  },
];

const endEntities = EXAMPLES.filter((e) => !e.isCA);

/** The certificate of a fixture file (alice's .sig.pem also holds her private key: pemToDer reads certificates only). */
function cert(file: string): Uint8Array {
  const ders = pemToDer(readFileSync(`${DIR}${file}.pem`, 'utf8'));
  assert.equal(ders.length, 1, `${file}.pem holds one certificate`);
  return ders[0]!;
}

function fileOf(der: Uint8Array): string {
  return EXAMPLES.find((e) => Buffer.from(cert(e.file)).equals(der))?.file ?? '(not an RFC 9216 certificate)';
}

interface ChainCase {
  label: string;
  leaf: string;
  pool: string[];
  anchors: string[];
  now: Date;
  /** The certificates above the leaf, issuer first, ending with the anchor when one was reached. */
  chain: string[];
  anchored: boolean;
  problems: [code: ChainProblemCode, index: number][];
}

// Every end-entity certificate: to its own CA; not to the other CA alone; to the other CA through the cross
// certificate that carries its own CA's key (RFC 9216 section 10: Dana reaches a trusted RSA CA through 10.2, Bob
// a trusted Ed25519 CA through 10.1).
const CHAIN_CASES: ChainCase[] = endEntities.flatMap((e): ChainCase[] => [
  {
    label: `${e.file} chains to ${CA_NAME[e.issuer]}`,
    leaf: e.file,
    pool: [],
    anchors: [SELF_SIGNED[e.issuer]],
    now: NOW,
    chain: [SELF_SIGNED[e.issuer]],
    anchored: true,
    problems: [],
  },
  {
    label: `${e.file} with only ${CA_NAME[OTHER[e.issuer]]} trusted and no cross certificate: no path`,
    leaf: e.file,
    pool: [],
    anchors: [SELF_SIGNED[OTHER[e.issuer]]],
    now: NOW,
    chain: [],
    anchored: false,
    problems: [['issuer-not-found', 0]],
  },
  {
    label: `${e.file} with only ${CA_NAME[OTHER[e.issuer]]} trusted, through ${CROSS[e.issuer]}`,
    leaf: e.file,
    pool: [CROSS[e.issuer]],
    anchors: [SELF_SIGNED[OTHER[e.issuer]]],
    now: NOW,
    chain: [CROSS[e.issuer], SELF_SIGNED[OTHER[e.issuer]]],
    anchored: true,
    problems: [],
  },
]);

CHAIN_CASES.push(
  {
    label: 'both CAs trusted, both cross certificates in the pool: Dana takes the direct path',
    leaf: 'dana@smime.example.sig',
    pool: [RSA_CROSS, ED_CROSS],
    anchors: [RSA_CA, ED_CA],
    now: NOW,
    chain: [ED_CA],
    anchored: true,
    problems: [],
  },
  {
    label: "the wrong cross certificate (the RSA CA's key) does not link Dana to the RSA CA",
    leaf: 'dana@smime.example.sig',
    pool: [RSA_CROSS],
    anchors: [RSA_CA],
    now: NOW,
    chain: [],
    anchored: false,
    problems: [['issuer-not-found', 0]],
  },
  {
    label: 'the self-signed Ed25519 CA in the pool is not a cross certificate: Dana does not reach the RSA CA',
    leaf: 'dana@smime.example.sig',
    pool: [ED_CA],
    anchors: [RSA_CA],
    now: NOW,
    chain: [ED_CA],
    anchored: false,
    problems: [['issuer-not-found', 1]],
  },
  // The two keys certify each other, so without an anchor the search could go round for ever: it goes through each
  // certificate at most once (the self-signed one and the cross certificate of a CA carry the same name and key, so
  // either verifies the other's signature) and reports the longest path it found, which ends nowhere.
  {
    label: 'nothing trusted, every CA certificate in the pool: no path, and the search ends',
    leaf: 'bob@smime.example.enc',
    pool: [RSA_CA, ED_CA, RSA_CROSS, ED_CROSS],
    anchors: [],
    now: NOW,
    chain: [RSA_CA, RSA_CROSS, ED_CA, ED_CROSS],
    anchored: false,
    problems: [['issuer-not-found', 4]],
  },
  {
    label: 'each cross certificate chains to the CA that signed it (10.1)',
    leaf: RSA_CROSS,
    pool: [],
    anchors: [ED_CA],
    now: NOW,
    chain: [ED_CA],
    anchored: true,
    problems: [],
  },
  {
    label: 'each cross certificate chains to the CA that signed it (10.2)',
    leaf: ED_CROSS,
    pool: [],
    anchors: [RSA_CA],
    now: NOW,
    chain: [RSA_CA],
    anchored: true,
    problems: [],
  },
  {
    label: 'a trusted CA certificate is its own anchor',
    leaf: ED_CA,
    pool: [],
    anchors: [ED_CA],
    now: NOW,
    chain: [],
    anchored: true,
    problems: [],
  },
  // The instant matters: the RSA certificates end on 2052-09-27, the Ed25519 ones on 2052-12-15 and begin on
  // 2020-12-15, and the cross certificates live only as long as the shorter of the two.
  {
    label: 'Alice after 2052-09-27: she and the RSA CA have expired',
    leaf: 'alice@smime.example.sig',
    pool: [],
    anchors: [RSA_CA],
    now: AFTER_RSA_EXPIRY,
    chain: [RSA_CA],
    anchored: true,
    problems: [
      ['expired', 0],
      ['expired', 1],
    ],
  },
  {
    label: 'Dana after 2052-09-27: still valid under the Ed25519 CA',
    leaf: 'dana@smime.example.sig',
    pool: [],
    anchors: [ED_CA],
    now: AFTER_RSA_EXPIRY,
    chain: [ED_CA],
    anchored: true,
    problems: [],
  },
  {
    label: 'Dana after 2052-09-27 through the cross certificate: it and the RSA CA have expired',
    leaf: 'dana@smime.example.sig',
    pool: [ED_CROSS],
    anchors: [RSA_CA],
    now: AFTER_RSA_EXPIRY,
    chain: [ED_CROSS, RSA_CA],
    anchored: true,
    problems: [
      ['expired', 1],
      ['expired', 2],
    ],
  },
  {
    label: 'Carlos before 2020-12-15: not yet valid, nor is the Ed25519 CA',
    leaf: 'carlos@smime.example.enc',
    pool: [],
    anchors: [ED_CA],
    now: BEFORE_ED25519,
    chain: [ED_CA],
    anchored: true,
    problems: [
      ['not-yet-valid', 0],
      ['not-yet-valid', 1],
    ],
  },
);

describe('RFC 9216 examples: what each certificate is (describeCertificate)', () => {
  for (const e of EXAMPLES) {
    test(`${e.file} (section ${e.section})`, { timeout: 10_000 }, () => {
      const info = describeCertificate(cert(e.file));
      assert.equal(info.keyAlgorithm, e.keyAlgorithm);
      assert.equal(info.keySize, e.keySize);
      assert.deepEqual(info.keyUsage, e.keyUsage);
      assert.deepEqual(info.extendedKeyUsage, e.isCA ? [] : ['emailProtection']);
      assert.deepEqual(info.emails, e.emails);
      assert.deepEqual(info.subjectAltNameEmails, e.emails);
      assert.equal(info.isCA, e.isCA);
      assert.equal(info.selfSigned, e.selfSigned);
      assert.equal(info.notBefore.toISOString(), new Date(e.notBefore).toISOString());
      assert.equal(info.notAfter.toISOString(), new Date(e.notAfter).toISOString());
      assert.match(info.subject, /^CN=[^,]+,OU=LAMPS WG,O=IETF$/);
      assert.equal(info.issuer, describeCertificate(cert(SELF_SIGNED[e.issuer])).subject);
    });
  }
});

describe('RFC 9216 examples: what each certificate may be used for at 2026-12-01 (usable.ts)', () => {
  for (const e of EXAMPLES) {
    test(
      `${e.file}: ${e.signs ? 'signs' : 'does not sign'}, ${e.notEncryptable ? 'no encryption target' : 'an encryption target'}`,
      { timeout: 10_000 },
      () => {
        const info = describeCertificate(cert(e.file));
        assert.equal(validityAt(info, NOW), 'valid');
        assert.equal(allowsSigning(info.keyUsage), e.signs);
        assert.equal(allowsEmailProtection(info.extendedKeyUsage), true);
        const reason = encryptionUnusableReason(info, NOW);
        if (e.notEncryptable === undefined) assert.equal(reason, undefined);
        else assert.ok(reason?.endsWith(e.notEncryptable), `${e.file}: ${reason}`);
      },
    );
  }

  test('outside the window nobody may encrypt to Alice', { timeout: 10_000 }, () => {
    const info = describeCertificate(cert('alice@smime.example.enc'));
    assert.match(encryptionUnusableReason(info, AFTER_RSA_EXPIRY) ?? '', /expired 2052-09-27/);
    assert.match(encryptionUnusableReason(info, new Date('2019-01-01T00:00:00Z')) ?? '', /not valid before 2019-11-20/);
  });
});

describe('RFC 9216 examples: certification paths (buildChain)', () => {
  for (const c of CHAIN_CASES) {
    test(c.label, { timeout: 10_000 }, async () => {
      const r = await buildChain(cert(c.leaf), c.pool.map(cert), c.anchors.map(cert), { now: c.now });
      assert.deepEqual(r.chain.map(fileOf), c.chain);
      assert.equal(r.anchor !== undefined, c.anchored);
      if (r.anchor) assert.equal(fileOf(r.anchor), c.chain.at(-1) ?? c.leaf);
      assert.deepEqual(
        r.problems.map((p) => [p.code, p.index]),
        c.problems,
        JSON.stringify(r.problems),
      );
    });
  }
});

// OpenSSL's own reading of the same files, so that a fact above is not only our parser agreeing with itself.
const opensslMissing =
  spawnSync('openssl', ['version'], { timeout: CHILD_TIMEOUT_MS }).status === 0
    ? false
    : unavailable('openssl is not installed (apt-get install openssl)', 'the OpenSSL cross-checks of RFC 9216');

function openssl(args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { timeout: CHILD_TIMEOUT_MS, encoding: 'utf8' });
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error) };
}

/** `openssl x509 -ext keyUsage` spells the RFC 5280 bit names in words. */
const OPENSSL_KEY_USAGE: Record<string, string> = {
  'Digital Signature': 'digitalSignature',
  'Non Repudiation': 'nonRepudiation',
  'Key Encipherment': 'keyEncipherment',
  'Key Agreement': 'keyAgreement',
  'Certificate Sign': 'keyCertSign',
  'CRL Sign': 'cRLSign',
};

describe('RFC 9216 examples: OpenSSL agrees', { skip: opensslMissing }, () => {
  const work = mkdtempSync(join(tmpdir(), 'rfc9216-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  let bundles = 0;
  const bundle = (files: string[]): string => {
    const path = join(work, `bundle-${++bundles}.pem`);
    writeFileSync(path, files.map((f) => certificateToPem(cert(f))).join(''));
    return path;
  };

  for (const e of EXAMPLES) {
    test(`${e.file}: key, key usage and address as openssl x509 prints them`, { timeout: 60_000 }, () => {
      const r = openssl(['x509', '-noout', '-ext', 'keyUsage,subjectAltName', '-in', `${DIR}${e.file}.pem`]);
      assert.ok(r.ok, r.stderr);
      const usage = /X509v3 Key Usage: critical\n\s*(.+)\n/.exec(r.stdout)?.[1] ?? '';
      assert.deepEqual(
        usage.split(', ').map((u) => OPENSSL_KEY_USAGE[u] ?? u),
        e.keyUsage,
      );
      assert.deepEqual(
        [...r.stdout.matchAll(/email:([^\s,]+)/g)].map((m) => m[1]),
        e.emails,
      );
      const text = openssl(['x509', '-noout', '-text', '-in', `${DIR}${e.file}.pem`]);
      assert.ok(text.ok, text.stderr);
      assert.match(text.stdout, new RegExp(`Public Key Algorithm: ${e.opensslAlgorithm}\\n`));
      if (e.keyAlgorithm === 'RSA') assert.match(text.stdout, /Public-Key: \(2048 bit\)/);
    });
  }

  for (const c of CHAIN_CASES) {
    test(`openssl verify: ${c.label}`, { timeout: 60_000 }, () => {
      const args = ['verify', '-no-CApath', '-no-CAstore', '-attime', String(Math.floor(c.now.getTime() / 1000))];
      args.push(...(c.anchors.length ? ['-CAfile', bundle(c.anchors)] : ['-no-CAfile']));
      if (c.pool.length) args.push('-untrusted', bundle(c.pool));
      const r = openssl([...args, `${DIR}${c.leaf}.pem`]);
      const expected = c.anchored && c.problems.length === 0;
      assert.equal(r.ok, expected, `${r.stdout}${r.stderr}`);
      if (expected) assert.match(r.stdout, /: OK\n/);
    });
  }
});

describe('README: the RFC 9216 examples table', () => {
  /** What the "our result" column says of a certificate: derived from the expectations the tests above check. */
  function ourResult(e: Example): string {
    const key = `${e.keyAlgorithm}${e.keyAlgorithm === 'RSA' ? ` ${e.keySize}` : ''}`;
    const parts = [key];
    if (e.emails.length) parts.push(e.emails.join(', '));
    if (e.selfSigned) parts.push('trust anchor');
    else if (e.isCA) parts.push(`chains to ${CA_NAME[e.issuer]}`);
    else
      parts.push(
        `chains to ${CA_NAME[e.issuer]}, and to ${CA_NAME[OTHER[e.issuer]]} only through section ${e.issuer === 'rsa' ? '10.1' : '10.2'}`,
      );
    if (!e.isCA) {
      parts.push(e.signs ? 'signs' : 'does not sign');
      parts.push(e.notEncryptable === undefined ? 'encryption target' : 'no encryption target');
    }
    return parts.join('; ');
  }

  function tableRows(): { certificate: string; states: string; result: string }[] {
    const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('### RFC 9216 examples'));
    const start = section.indexOf('| certificate |');
    assert.ok(start >= 0, 'the README has an RFC 9216 examples table');
    return section
      .slice(start, section.indexOf('\n\n', start))
      .split('\n')
      .slice(2)
      .map((row) => row.split('|').map((cell) => cell.trim()))
      .map((cells) => ({ certificate: cells[1]!.replace(/`/g, ''), states: cells[2]!, result: cells[3]! }));
  }

  test('one row per certificate this file checks, each in RFC order', { timeout: 10_000 }, () => {
    assert.deepEqual(
      tableRows().map((r) => r.certificate),
      EXAMPLES.map((e) => `${e.file}.pem`),
    );
  });

  test('each row states what the RFC says and what the tests above found', { timeout: 10_000 }, () => {
    for (const row of tableRows()) {
      const e = EXAMPLES.find((x) => `${x.file}.pem` === row.certificate)!;
      assert.equal(row.states, `${e.section}: ${e.states}`, row.certificate);
      assert.equal(row.result, ourResult(e), row.certificate);
    }
  });

  test(
    'every end-entity row rests on chain cases to its own CA, to the other, and without a cross certificate',
    { timeout: 10_000 },
    () => {
      for (const e of endEntities) {
        const cases = CHAIN_CASES.filter((c) => c.leaf === e.file && c.now === NOW);
        assert.ok(
          cases.some((c) => c.anchored && c.chain.length === 1),
          e.file,
        );
        assert.ok(
          cases.some((c) => c.anchored && c.chain[0] === CROSS[e.issuer]),
          e.file,
        );
        assert.ok(
          cases.some((c) => !c.anchored),
          e.file,
        );
      }
    },
  );
});
