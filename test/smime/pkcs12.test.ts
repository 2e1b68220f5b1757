import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { prng } from '../helpers/rng.ts';
import { rejectsWith } from '../helpers/assert.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { MAX_KDF_ITERATIONS, MAX_P12_BYTES } from '../../backend/src/smime/limits.ts';
import { parsePkcs12, type Pkcs12Contents, type Pkcs12Protection } from '../../backend/src/smime/pkcs12/pkcs12.ts';
import {
  certBag,
  crlBag,
  dataSafe,
  encryptedSafe,
  keyBag,
  legacyPbeAlgorithm,
  nestedBag,
  OID,
  pbes2Algorithm,
  pfx,
  pfxWithMac,
  shroudedKeyBag,
} from './p12-builder.ts';

const P12 = new URL('../fixtures/p12/', import.meta.url);
const CORPUS = new URL('../fixtures/corpus/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, P12)));
const corpus = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, CORPUS)));

const PASS = 'fixture-pass';
const UNICODE_PASS = 'p\u00e4ssw\u00f6rd\u20ac'; // pässwörd€

/** The returned key really is the certificate's: sign with one, verify with the other. */
function assertKeyMatchesCertificate(contents: Pkcs12Contents): void {
  const key = createPrivateKey({ key: Buffer.from(contents.privateKey), format: 'der', type: 'pkcs8' });
  const certificate = new X509Certificate(Buffer.from(contents.certificate));
  const data = Buffer.from('proof of possession');
  const signature = sign('sha256', data, key);
  assert.ok(
    verify('sha256', data, certificate.publicKey, signature),
    'signature by the key does not verify with the certificate',
  );
  assert.ok(certificate.checkPrivateKey(key));
}

interface Expected {
  file: string;
  password: string;
  keyAlgorithm: 'RSA' | 'EC';
  serial: string;
  emails: readonly string[];
  chain: number;
  protection: Partial<Pkcs12Protection>;
}

const FIXTURE_CA = pemToDer(readFileSync(new URL('ca.crt', P12), 'utf8'))[0];
const RSA = {
  keyAlgorithm: 'RSA',
  serial: '1001',
  emails: ['rsa-user@example.com', 'rsa.alias@example.org'],
  chain: 1,
} as const;
const EC = { keyAlgorithm: 'EC', serial: '1002', emails: ['ec-user@example.com'], chain: 1 } as const;
const MODERN = {
  integrity: 'mac',
  mac: 'sha256',
  keyCipher: 'aes-256-cbc',
  certCipher: 'aes-256-cbc',
  legacy: false,
} as const;
const LEGACY = {
  integrity: 'mac',
  mac: 'sha1',
  keyCipher: 'des-ede3-cbc',
  certCipher: 'rc2-40-cbc',
  legacy: true,
} as const;
const KDF_PBKDF2 = { keyKdf: 'pbkdf2-hmac-sha256', certKdf: 'pbkdf2-hmac-sha256' } as const;
const KDF_PKCS12 = { keyKdf: 'pkcs12-kdf-sha1', certKdf: 'pkcs12-kdf-sha1' } as const;

/** test/fixtures/p12: every file that holds a matching key and certificate. */
const GENERATED: Expected[] = [
  { file: 'rsa-default.p12', password: PASS, ...RSA, protection: { ...MODERN, ...KDF_PBKDF2, macIterations: 2048 } },
  { file: 'ec-default.p12', password: PASS, ...EC, protection: { ...MODERN, ...KDF_PBKDF2 } },
  { file: 'rsa-legacy.p12', password: PASS, ...RSA, protection: { ...LEGACY, ...KDF_PKCS12 } },
  { file: 'ec-legacy.p12', password: PASS, ...EC, protection: { ...LEGACY, ...KDF_PKCS12 } },
  { file: 'rsa-3des-rc2-128.p12', password: PASS, ...RSA, protection: { ...LEGACY, certCipher: 'rc2-128-cbc' } },
  {
    file: 'rsa-2des-3des.p12',
    password: PASS,
    ...RSA,
    protection: { ...LEGACY, keyCipher: 'des-ede-cbc', certCipher: 'des-ede3-cbc' },
  },
  {
    file: 'rsa-pbes2-3des.p12',
    password: PASS,
    ...RSA,
    protection: {
      integrity: 'mac',
      mac: 'sha1',
      keyCipher: 'des-ede3-cbc',
      certCipher: 'des-ede3-cbc',
      ...KDF_PBKDF2,
      legacy: true,
    },
  },
  {
    file: 'rsa-pbes2-aes128-sha512.p12',
    password: PASS,
    ...RSA,
    protection: { ...MODERN, mac: 'sha512', keyCipher: 'aes-128-cbc', certCipher: 'aes-128-cbc' },
  },
  {
    file: 'ec-pbes2-aes192-sha384.p12',
    password: PASS,
    ...EC,
    protection: { ...MODERN, mac: 'sha384', keyCipher: 'aes-192-cbc', certCipher: 'aes-192-cbc' },
  },
  {
    file: 'rsa-pbes2-rc2-40.p12',
    password: PASS,
    ...RSA,
    protection: {
      integrity: 'mac',
      mac: 'sha1',
      keyCipher: 'aes-256-cbc',
      certCipher: 'rc2-40-cbc',
      ...KDF_PBKDF2,
      legacy: true,
    },
  },
  {
    file: 'rsa-nomac.p12',
    password: PASS,
    ...RSA,
    protection: { ...MODERN, integrity: 'none', mac: null, macIterations: null },
  },
  { file: 'ec-legacy-nomac.p12', password: PASS, ...EC, protection: { ...LEGACY, integrity: 'none', mac: null } },
  {
    file: 'rsa-noenc.p12',
    password: PASS,
    ...RSA,
    protection: { ...MODERN, keyCipher: 'none', certCipher: 'none', keyKdf: null, certKdf: null },
  },
  {
    file: 'rsa-noenc-nomac.p12',
    password: PASS,
    ...RSA,
    protection: { integrity: 'none', mac: null, keyCipher: 'none', certCipher: 'none', legacy: false },
  },
  { file: 'rsa-unicode.p12', password: UNICODE_PASS, ...RSA, protection: { ...MODERN, passwordEncoding: 'bmp' } },
  {
    file: 'rsa-legacy-unicode.p12',
    password: UNICODE_PASS,
    ...RSA,
    protection: { ...LEGACY, passwordEncoding: 'bmp' },
  },
  {
    file: 'rsa-legacy-openssl1-unicode.p12',
    password: UNICODE_PASS,
    ...RSA,
    protection: { ...LEGACY, passwordEncoding: 'bmp-of-utf8-bytes' },
  },
  { file: 'ec-empty-password.p12', password: '', ...EC, protection: MODERN },
  { file: 'ec-legacy-empty-password.p12', password: '', ...EC, protection: LEGACY },
];

// From shared/smime-corpus/thunderbird/MANIFEST.md, "Keys and certificates" (serials there are decimal).
const NSS_MODERN = {
  integrity: 'mac',
  mac: 'sha256',
  macIterations: 10000,
  keyCipher: 'aes-256-cbc',
  certCipher: 'aes-128-cbc',
  ...KDF_PBKDF2,
  legacy: false,
} as const;
const NSS_LEGACY = {
  integrity: 'mac',
  mac: 'sha1',
  macIterations: 2048,
  keyCipher: 'des-ede3-cbc',
  certCipher: 'des-ede3-cbc',
  ...KDF_PKCS12,
  legacy: true,
} as const;
const hexSerial = (decimal: string): string => {
  const hex = BigInt(decimal).toString(16);
  return hex.length % 2 ? `0${hex}` : hex;
};

const CORPUS_FILES: Expected[] = [
  {
    file: 'Alice.p12',
    password: 'nss',
    keyAlgorithm: 'RSA',
    serial: hexSerial('30'),
    emails: ['alice@example.com'],
    chain: 1,
    protection: NSS_MODERN,
  },
  {
    file: 'Bob.p12',
    password: 'nss',
    keyAlgorithm: 'RSA',
    serial: hexSerial('40'),
    emails: ['bob@example.com'],
    chain: 1,
    protection: NSS_MODERN,
  },
  {
    file: 'Dave.p12',
    password: 'nss',
    keyAlgorithm: 'RSA',
    serial: hexSerial('50'),
    emails: ['dave@example.com'],
    chain: 1,
    protection: NSS_MODERN,
  },
  {
    file: 'Eve.p12',
    password: 'nss',
    keyAlgorithm: 'RSA',
    serial: hexSerial('60'),
    // The manifest's three SAN addresses, then the subject's emailAddress (RFC 8550 section 3 counts both).
    emails: ['eve@example.net', 'eve@example.org', 'beve@example.com', 'eve@example.com'],
    chain: 1,
    protection: NSS_MODERN,
  },
  {
    file: 'Alice-ec.p12',
    password: 'nss',
    keyAlgorithm: 'EC',
    serial: hexSerial('30'),
    emails: ['alice-ec@example.com'],
    chain: 1,
    protection: NSS_MODERN,
  },
  {
    file: 'Fran.p12',
    password: 'nss',
    keyAlgorithm: 'RSA',
    serial: hexSerial('437275748039216724246876839878617462116798933421'),
    emails: ['fran@example.com'],
    chain: 0,
    protection: NSS_LEGACY,
  },
  {
    file: 'Fran-ec.p12',
    password: 'nss',
    keyAlgorithm: 'EC',
    serial: hexSerial('664333759064077697871150620655847262981645595913'),
    emails: ['fran-ec@example.com'],
    chain: 0,
    protection: NSS_LEGACY,
  },
];

function checkContents(contents: Pkcs12Contents, expected: Expected): void {
  assertKeyMatchesCertificate(contents);
  const info = describeCertificate(contents.certificate);
  assert.equal(info.keyAlgorithm, expected.keyAlgorithm);
  assert.equal(info.serialNumber, expected.serial);
  assert.deepEqual(info.emails, expected.emails);
  assert.equal(contents.chain.length, expected.chain);
  for (const [key, value] of Object.entries(expected.protection)) {
    assert.equal(contents.protection[key as keyof Pkcs12Protection], value, `protection.${key}`);
  }
  // The first chain certificate is the end entity's issuer.
  const issuer = contents.chain[0];
  if (issuer) assert.equal(describeCertificate(issuer).subject, info.issuer);
}

void describe('parsePkcs12: generated fixtures (OpenSSL 3)', () => {
  for (const expected of GENERATED) {
    void it(`${expected.file} parses, key matches certificate, protection recorded`, async () => {
      const contents = await parsePkcs12(fixture(expected.file), expected.password);
      checkContents(contents, expected);
      assert.deepEqual(contents.chain[0], FIXTURE_CA);
    });
  }
});

void describe('parsePkcs12: Thunderbird/NSS corpus', () => {
  for (const expected of CORPUS_FILES) {
    void it(`${expected.file} parses with the manifest's values`, async () => {
      checkContents(await parsePkcs12(corpus(expected.file), expected.password), expected);
    });
  }

  void it('returns the NSS test CA as the chain of Alice', async () => {
    const contents = await parsePkcs12(corpus('Alice.p12'), 'nss');
    const [anchor] = pemToDer(readFileSync(new URL('TestCA.pem', CORPUS), 'utf8'));
    assert.deepEqual(contents.chain, [anchor]);
  });
});

void describe('parsePkcs12: wrong password', () => {
  const cases = [
    ['rsa-default.p12', 'modern, MAC'],
    ['rsa-legacy.p12', 'legacy, MAC'],
    ['rsa-legacy-unicode.p12', 'legacy, MAC, non-ASCII'],
    ['rsa-nomac.p12', 'modern, no MAC (padding check)'],
    ['ec-legacy-nomac.p12', 'legacy, no MAC (padding check)'],
  ] as const;
  for (const [file, label] of cases) {
    void it(`${file} (${label}) -> P12_BAD_PASSWORD`, async () => {
      for (const wrong of ['wrong-password', '', 'fixture-pas', 'p\u00e4ssw\u00f6rd']) {
        await rejectsWith(parsePkcs12(fixture(file), wrong), 'P12_BAD_PASSWORD', wrong);
      }
    });
  }
  void it('corpus Alice (PBES2) and Fran (3DES) -> P12_BAD_PASSWORD with a clear message', async () => {
    const error = await rejectsWith(parsePkcs12(corpus('Alice.p12'), 'NSS'), 'P12_BAD_PASSWORD', 'NSS');
    assert.equal(error.message, 'The password is wrong or the file is damaged (MAC check failed)');
    await rejectsWith(parsePkcs12(corpus('Fran.p12'), 'ssn'), 'P12_BAD_PASSWORD', 'ssn');
  });
  void it('the non-ASCII password is not accepted in another normalisation form', async () => {
    const decomposed = UNICODE_PASS.normalize('NFD');
    assert.notEqual(decomposed, UNICODE_PASS);
    await rejectsWith(parsePkcs12(fixture('rsa-unicode.p12'), decomposed), 'P12_BAD_PASSWORD');
    await rejectsWith(parsePkcs12(fixture('rsa-legacy-unicode.p12'), decomposed), 'P12_BAD_PASSWORD');
  });
});

void describe('parsePkcs12: content errors', () => {
  void it('a key without a matching certificate -> P12_KEY_MISMATCH', async () => {
    await rejectsWith(parsePkcs12(fixture('key-mismatch.p12'), PASS), 'P12_KEY_MISMATCH');
  });
  void it('certificates only -> P12_NO_KEY', async () => {
    await rejectsWith(parsePkcs12(fixture('cert-only.p12'), PASS), 'P12_NO_KEY');
  });
  void it('a key only -> P12_NO_CERTIFICATE', async () => {
    await rejectsWith(parsePkcs12(fixture('key-only.p12'), PASS), 'P12_NO_CERTIFICATE');
  });
});

void describe('parsePkcs12: malformed input', () => {
  const valid = fixture('rsa-default.p12');
  const cases: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['truncated to half', valid.subarray(0, valid.length >> 1)],
    ['truncated by one byte', valid.subarray(0, valid.length - 1)],
    ['one trailing byte', Uint8Array.from([...valid, 0])],
    ['random bytes', new Uint8Array(randomBytes(2048))],
    ['random bytes that start like a SEQUENCE', Uint8Array.from([0x30, 0x82, 0x07, 0xfc, ...randomBytes(2044)])],
    ['a certificate', FIXTURE_CA ?? new Uint8Array(0)],
    ['PEM text', new Uint8Array(readFileSync(new URL('ca.crt', P12)))],
    ['a bare NULL', Uint8Array.from([5, 0])],
  ];
  for (const [label, input] of cases) {
    void it(`${label} -> P12_MALFORMED`, async () => {
      await rejectsWith(parsePkcs12(input, PASS), 'P12_MALFORMED');
    });
  }

  // Issue 15: the reader's message already names the structure, so "(PFX: PFX: ...)" repeated it.
  void it('names the damaged structure once', async () => {
    for (const [label, input] of cases) {
      const message = await parsePkcs12(input, PASS).then(
        () => '',
        (e: unknown) => (e as Error).message,
      );
      assert.doesNotMatch(message, /\b(\w+): \1:/, label);
    }
  });

  void it('input over MAX_P12_BYTES -> P12_TOO_LARGE (before parsing)', async () => {
    await rejectsWith(parsePkcs12(new Uint8Array(MAX_P12_BYTES + 1), PASS), 'P12_TOO_LARGE');
  });

  void it('accepts the file as whole-file base64 text', async () => {
    const text = Buffer.from(valid).toString('base64').replace(/.{76}/g, '$&\r\n');
    checkContents(await parsePkcs12(new Uint8Array(Buffer.from(text, 'latin1')), PASS), GENERATED[0] as Expected);
  });
});

void describe('parsePkcs12: crafted structures', () => {
  const rsaKey = new Uint8Array(
    createPrivateKey(readFileSync(new URL('rsa.key', P12))).export({ type: 'pkcs8', format: 'der' }),
  );
  const ecKey = new Uint8Array(
    createPrivateKey(readFileSync(new URL('ec.key', P12))).export({ type: 'pkcs8', format: 'der' }),
  );
  const rsaCert = pemToDer(readFileSync(new URL('rsa.crt', P12), 'utf8'))[0] as Uint8Array;
  const ecCert = pemToDer(readFileSync(new URL('ec.crt', P12), 'utf8'))[0] as Uint8Array;
  const ca = FIXTURE_CA as Uint8Array;

  void it('picks, among several keys, the one with a certificate (public key comparison)', async () => {
    const file = pfx([dataSafe([keyBag(ecKey), keyBag(rsaKey), certBag(ca), certBag(rsaCert)])]);
    const contents = await parsePkcs12(file, '');
    assert.deepEqual(contents.certificate, rsaCert);
    assert.deepEqual(contents.chain, [ca]);
    assert.equal(contents.protection.integrity, 'none');
    assertKeyMatchesCertificate(contents);
  });

  void it('prefers the pair that localKeyId links, when several pairs match', async () => {
    const id = Uint8Array.from([7, 7, 7]);
    const file = pfx([
      dataSafe([keyBag(rsaKey), keyBag(ecKey, id), certBag(rsaCert), certBag(ecCert, id), certBag(ca)]),
    ]);
    const contents = await parsePkcs12(file, '');
    assert.deepEqual(contents.certificate, ecCert);
    assert.deepEqual(contents.chain, [ca, rsaCert], 'issuer first, then the rest in file order');
  });

  void it('does not trust localKeyId alone', async () => {
    const id = Uint8Array.from([1]);
    const file = pfx([dataSafe([keyBag(ecKey, id), certBag(rsaCert, id)])]);
    await rejectsWith(parsePkcs12(file, ''), 'P12_KEY_MISMATCH');
  });

  void it('skips CRL bags and non-X.509 certificate bags, reads nested SafeContents, deduplicates certificates', async () => {
    const file = pfx([
      dataSafe([
        crlBag(),
        certBag(Uint8Array.from([1, 2, 3]), undefined, OID.sdsiCertificate),
        nestedBag([keyBag(rsaKey), certBag(rsaCert)]),
      ]),
      dataSafe([certBag(ca), certBag(ca), certBag(rsaCert)]),
    ]);
    const contents = await parsePkcs12(file, '');
    assert.deepEqual(contents.chain, [ca]);
  });

  void it('limits nesting of SafeContents', async () => {
    let bags = [keyBag(rsaKey), certBag(rsaCert)];
    for (let depth = 0; depth < 10; depth++) bags = [nestedBag(bags)];
    await rejectsWith(parsePkcs12(pfx([dataSafe(bags)]), ''), 'P12_TOO_LARGE');
  });

  void it('limits the number of bags', async () => {
    const bags = Array.from({ length: 300 }, () => crlBag());
    await rejectsWith(parsePkcs12(pfx([dataSafe([...bags, keyBag(rsaKey), certBag(rsaCert)])]), ''), 'P12_TOO_LARGE');
  });

  void it('reads a chunked OCTET STRING, up to 4096 segments', async () => {
    const items = [dataSafe([keyBag(rsaKey), certBag(rsaCert), certBag(ca)])];
    for (const segments of [2, 4096]) {
      const contents = await parsePkcs12(pfx(items, { authSafeSegments: segments }), '');
      assert.deepEqual(contents.certificate, rsaCert, `${segments} segments`);
    }
    await rejectsWith(parsePkcs12(pfx(items, { authSafeSegments: 4097 }), ''), 'P12_TOO_LARGE');
  });

  void it('refuses a MAC iteration count over the limit without computing it', async () => {
    const started = Date.now();
    const file = pfx([dataSafe([keyBag(rsaKey), certBag(rsaCert)])], {
      macDigest: new Uint8Array(32),
      macIterations: 2n ** 31n,
    });
    await rejectsWith(parsePkcs12(file, 'x'), 'P12_TOO_LARGE');
    const justOver = pfx([dataSafe([keyBag(rsaKey), certBag(rsaCert)])], {
      macDigest: new Uint8Array(32),
      macIterations: BigInt(MAX_KDF_ITERATIONS + 1),
    });
    await rejectsWith(parsePkcs12(justOver, 'x'), 'P12_TOO_LARGE');
    assert.ok(Date.now() - started < 5000);
  });

  void it('rejects zero, negative and beyond-2^53 iteration counts as malformed', async () => {
    for (const iterations of [0n, -5n, 2n ** 70n]) {
      const file = pfx([dataSafe([keyBag(rsaKey), certBag(rsaCert)])], {
        macDigest: new Uint8Array(32),
        macIterations: iterations,
      });
      await rejectsWith(parsePkcs12(file, 'x'), 'P12_MALFORMED');
    }
  });

  // The encrypted items name their own key-derivation work too: PBES2 (PBKDF2) and the legacy schemes (the PKCS#12
  // KDF) are bounded as the MAC is, before anything is derived. The data is not a real encryption: it is never reached.
  const encryptedItems = (algorithm: ReturnType<typeof pbes2Algorithm>) =>
    [
      ['pkcs8ShroudedKeyBag', [dataSafe([shroudedKeyBag(algorithm, new Uint8Array(32)), certBag(rsaCert)])]],
      ['encryptedData', [encryptedSafe(algorithm, new Uint8Array(32)), dataSafe([keyBag(rsaKey)])]],
    ] as const;
  const schemes = [
    ['PBES2', pbes2Algorithm],
    ['pbeWithSHAAnd3-KeyTripleDES-CBC', legacyPbeAlgorithm],
  ] as const;
  const assertRefused = async (file: Uint8Array, code: 'P12_TOO_LARGE' | 'P12_MALFORMED', label: string) => {
    const error = await parsePkcs12(file, 'x').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isSmimeError(error, code), `${label}: expected ${code}, got ${String(error)}`);
  };

  void it('refuses an encryption iteration count over the limit without computing it (PBES2 and legacy)', async () => {
    const started = Date.now();
    for (const [scheme, algorithm] of schemes) {
      // 2^50 needs a 7-byte INTEGER: still a count, and too much work, not damage.
      for (const iterations of [2n ** 31n, BigInt(MAX_KDF_ITERATIONS + 1), 2n ** 50n]) {
        for (const [where, items] of encryptedItems(algorithm(iterations))) {
          await assertRefused(pfx([...items]), 'P12_TOO_LARGE', `${scheme} ${where} ${iterations}`);
        }
      }
    }
    assert.ok(Date.now() - started < 5000);
  });

  void it('rejects zero, negative and beyond-2^53 encryption iteration counts as malformed (PBES2 and legacy)', async () => {
    for (const [scheme, algorithm] of schemes) {
      for (const iterations of [0n, -5n, 2n ** 70n]) {
        for (const [where, items] of encryptedItems(algorithm(iterations))) {
          await assertRefused(pfx([...items]), 'P12_MALFORMED', `${scheme} ${where} ${iterations}`);
        }
      }
    }
  });

  void it('verifies a MAC it did not write (builder round trip) and rejects a wrong one', async () => {
    const items = [dataSafe([keyBag(rsaKey), certBag(rsaCert)])];
    const contents = await parsePkcs12(await pfxWithMac(items, 'builder', 3n), 'builder');
    assert.equal(contents.protection.integrity, 'mac');
    assert.equal(contents.protection.passwordEncoding, 'bmp');
    await rejectsWith(parsePkcs12(await pfxWithMac(items, 'builder'), 'other'), 'P12_BAD_PASSWORD');
  });

  void it('accepts an empty password written without the BMPString terminator (older exporters)', async () => {
    const items = [dataSafe([keyBag(rsaKey), certBag(rsaCert)])];
    const contents = await parsePkcs12(await pfxWithMac(items, new Uint8Array(0), 2n), '');
    assert.equal(contents.protection.passwordEncoding, 'bmp-empty-without-terminator');
    await rejectsWith(parsePkcs12(await pfxWithMac(items, new Uint8Array(0), 2n), 'x'), 'P12_BAD_PASSWORD');
  });

  void it('a huge but allowed MAC iteration count does not block the event loop', async () => {
    const items = [dataSafe([keyBag(rsaKey), certBag(rsaCert)])];
    const file = pfx(items, { macDigest: new Uint8Array(32), macIterations: 200_000n });
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    try {
      await rejectsWith(parsePkcs12(file, 'x'), 'P12_BAD_PASSWORD');
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 5, `the event loop ran only ${ticks} timer ticks during the derivation`);
  });

  void it('reports PBMAC1, public-key integrity and public-key privacy modes as unsupported', async () => {
    const items = [dataSafe([keyBag(rsaKey), certBag(rsaCert)])];
    await rejectsWith(
      parsePkcs12(pfx(items, { macDigest: new Uint8Array(32), macAlgorithm: OID.pbmac1 }), 'x'),
      'P12_UNSUPPORTED_ALGORITHM',
    );
    await rejectsWith(parsePkcs12(pfx(items, { authSafeType: OID.signedData }), 'x'), 'P12_UNSUPPORTED_ALGORITHM');
    const enveloped = pfx([...items]).slice(); // replace the data ContentInfo type with envelopedData
    const dataOid = Buffer.from('06092a864886f70d010701', 'hex');
    const at = Buffer.from(enveloped).indexOf(dataOid, 20);
    assert.ok(at > 0);
    enveloped[at + dataOid.length - 1] = 0x03;
    await rejectsWith(parsePkcs12(enveloped, 'x'), 'P12_UNSUPPORTED_ALGORITHM');
  });
});

void describe('parsePkcs12: a legacy file made now by the local openssl', () => {
  void it('openssl pkcs12 -export -legacy output parses (RC2-40 certificates, 3DES key, SHA-1 MAC)', async (t) => {
    const version = spawnSync('openssl', ['version']);
    if (version.error || version.status !== 0) {
      if (process.env.CI === 'true') assert.fail('openssl is required in CI for the live legacy PKCS#12 test');
      console.warn(
        '\n*** SKIPPED: `openssl` is not installed; the live `openssl pkcs12 -legacy` test did not run ***\n',
      );
      t.skip('openssl missing');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'p12-legacy-'));
    try {
      const password = `live-${randomBytes(6).toString('hex')}-\u00fc`;
      const out = join(dir, 'live.p12');
      const run = spawnSync(
        'openssl',
        [
          'pkcs12',
          '-export',
          '-legacy',
          '-inkey',
          new URL('rsa.key', P12).pathname,
          '-in',
          new URL('rsa.crt', P12).pathname,
          '-certfile',
          new URL('ca.crt', P12).pathname,
          '-passout',
          'env:P12_PASS',
          '-out',
          out,
        ],
        { env: { ...process.env, P12_PASS: password } },
      );
      assert.equal(run.status, 0, String(run.stderr));
      const info = spawnSync(
        'openssl',
        ['pkcs12', '-info', '-noout', '-legacy', '-in', out, '-passin', 'env:P12_PASS'],
        {
          env: { ...process.env, P12_PASS: password },
        },
      );
      assert.match(String(info.stderr) + String(info.stdout), /pbeWithSHA1And40BitRC2-CBC/);
      const contents = await parsePkcs12(new Uint8Array(readFileSync(out)), password);
      checkContents(contents, { file: 'live', password, ...RSA, protection: { ...LEGACY } });
      await rejectsWith(parsePkcs12(new Uint8Array(readFileSync(out)), password.slice(0, -1)), 'P12_BAD_PASSWORD');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('parsePkcs12: mutations', () => {
  // MAC-protected modern, MAC-less legacy (every mutation reaches the decryption and parsing code) and MAC-less
  // plain (every mutation reaches the bag, key and certificate parsing).
  const targets = [
    ['rsa-default.p12', 120],
    ['ec-legacy-nomac.p12', 190],
    ['rsa-noenc-nomac.p12', 190],
  ] as const;
  for (const [file, count] of targets) {
    void it(`${count} byte flips of ${file} only ever give P12_* errors`, { timeout: 120_000 }, async () => {
      const original = fixture(file);
      const random = prng(0x5eed ^ original.length);
      const outcomes = new Map<string, number>();
      for (let n = 0; n < count; n++) {
        // Spread positions over the whole file, denser at the start where the structure is.
        const position = n < 40 ? n : Math.floor(random() * original.length);
        const mutated = original.slice();
        mutated[position] = (mutated[position] ?? 0) ^ (1 + Math.floor(random() * 255));
        let outcome = 'ok';
        try {
          await parsePkcs12(mutated, PASS);
        } catch (error) {
          assert.ok(isSmimeError(error), `byte ${position}: ${String(error)}\n${(error as Error).stack ?? ''}`);
          assert.match(error.code, /^P12_/);
          outcome = error.code;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      if (process.env.P12_MUTATION_REPORT) console.log(file, JSON.stringify([...outcomes]));
      assert.ok(outcomes.size > 1, `mutations had no effect: ${JSON.stringify([...outcomes])}`);
    });
  }
});
