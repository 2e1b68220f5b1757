import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as asn1js from 'asn1js';
import { certificateToPem, pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { describeCertificate, type CertificateInfo } from '../../backend/src/smime/x509/describe.ts';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12/pkcs12.ts';

const P12 = new URL('../fixtures/p12/', import.meta.url);
const CORPUS = new URL('../fixtures/corpus/', import.meta.url);
const pem = (name: string): Uint8Array => pemToDer(readFileSync(new URL(name, P12), 'utf8'))[0] as Uint8Array;

async function corpusCertificate(file: string): Promise<{ certificate: Uint8Array; chain: Uint8Array[] }> {
  return parsePkcs12(new Uint8Array(readFileSync(new URL(file, CORPUS))), 'nss');
}

const NSS_O = 'O=BOGUS NSS,L=Mountain View,ST=California,C=US';

// Expected values: shared/smime-corpus/thunderbird/MANIFEST.md "Keys and certificates" (serials there are decimal)
// and test/fixtures/p12/make.sh.
const CASES: { label: string; load: () => Promise<Uint8Array> | Uint8Array; expected: Partial<CertificateInfo> }[] = [
  {
    label: 'corpus Alice',
    load: async () => (await corpusCertificate('Alice.p12')).certificate,
    expected: {
      subject: `CN=Alice,E=Alice@example.com,${NSS_O}`,
      issuer: `CN=NSS Test CA (RSA),${NSS_O}`,
      serialNumber: (30).toString(16),
      notBefore: new Date('2026-01-26T14:38:35Z'),
      notAfter: new Date('2031-01-26T14:38:35Z'),
      emails: ['alice@example.com'],
      keyAlgorithm: 'RSA',
      keySize: 2048,
      isCA: false,
      selfSigned: false,
    },
  },
  {
    label: 'corpus Eve (three SAN addresses plus the subject emailAddress)',
    load: async () => (await corpusCertificate('Eve.p12')).certificate,
    expected: {
      subject: `CN=Eve,E=Eve@example.com,${NSS_O}`,
      serialNumber: (60).toString(16),
      emails: ['eve@example.net', 'eve@example.org', 'beve@example.com', 'eve@example.com'],
      keyAlgorithm: 'RSA',
      keySize: 2048,
      keyUsage: [],
      extendedKeyUsage: [],
    },
  },
  {
    label: 'corpus Alice-ec',
    load: async () => (await corpusCertificate('Alice-ec.p12')).certificate,
    expected: {
      emails: ['alice-ec@example.com'],
      keyAlgorithm: 'EC',
      keySize: 384,
      namedCurve: 'P-384',
      serialNumber: '1e',
    },
  },
  {
    label: 'corpus NSS Test CA (ECC), P-521',
    load: async () => (await corpusCertificate('Alice-ec.p12')).chain[0] as Uint8Array,
    expected: {
      keyAlgorithm: 'EC',
      keySize: 521,
      namedCurve: 'P-521',
      isCA: true,
      selfSigned: true,
      serialNumber: '01',
      emails: [],
    },
  },
  {
    label: 'corpus Fran (20-byte serial)',
    load: async () => (await corpusCertificate('Fran.p12')).certificate,
    expected: {
      serialNumber: BigInt('437275748039216724246876839878617462116798933421').toString(16),
      issuer: `CN=NSS Pregenerated Test CA,${NSS_O}`,
      notAfter: new Date('9999-12-31T23:59:59Z'),
      emails: ['fran@example.com'],
    },
  },
  {
    label: 'corpus TestCA.pem',
    load: () => pemToDer(readFileSync(new URL('TestCA.pem', CORPUS), 'utf8'))[0] as Uint8Array,
    expected: {
      isCA: true,
      selfSigned: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      notAfter: new Date('2076-01-26T14:38:03Z'),
    },
  },
  {
    label: 'fixture rsa.crt',
    load: () => pem('rsa.crt'),
    expected: {
      subject: 'E=rsa-user@example.com,CN=RSA Test User',
      issuer: 'O=smime-webmail-plugin tests,CN=P12 Fixture Test CA',
      serialNumber: '1001',
      emails: ['rsa-user@example.com', 'rsa.alias@example.org'],
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extendedKeyUsage: ['emailProtection'],
      keyAlgorithm: 'RSA',
      keySize: 2048,
      isCA: false,
      selfSigned: false,
    },
  },
  {
    label: 'fixture ec.crt',
    load: () => pem('ec.crt'),
    expected: {
      subject: 'O=smime-webmail-plugin tests,CN=EC Test User',
      serialNumber: '1002',
      emails: ['ec-user@example.com'],
      keyUsage: ['digitalSignature', 'keyAgreement'],
      extendedKeyUsage: ['emailProtection', 'clientAuth'],
      keyAlgorithm: 'EC',
      keySize: 256,
      namedCurve: 'P-256',
    },
  },
  {
    label: 'fixture ca.crt',
    load: () => pem('ca.crt'),
    expected: {
      isCA: true,
      selfSigned: true,
      serialNumber: '01',
      keyUsage: ['keyCertSign', 'cRLSign'],
      extendedKeyUsage: [],
    },
  },
];

void describe('describeCertificate', () => {
  for (const { label, load, expected } of CASES) {
    void it(label, async () => {
      const der = await load();
      const info = describeCertificate(der);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(info[key as keyof CertificateInfo], value, key);
      }
      // Cross-checks against node's own X.509 parser.
      const x509 = new X509Certificate(Buffer.from(der));
      assert.equal(info.fingerprintSha256, createHash('sha256').update(der).digest('hex'));
      assert.equal(info.fingerprintSha256, x509.fingerprint256.replace(/:/g, '').toLowerCase());
      assert.equal(BigInt(`0x${info.serialNumber}`), BigInt(`0x${x509.serialNumber}`));
      assert.equal(info.serialNumber.length % 2, 0);
      assert.equal(info.notBefore.getTime(), new Date(x509.validFrom).getTime());
      assert.equal(info.notAfter.getTime(), new Date(x509.validTo).getTime());
      assert.equal(info.isCA, x509.ca);
    });
  }

  void it('escapes RFC 4514 special characters and decodes BMPString names', () => {
    // A minimal certificate with subject CN=" a,b+c#" (BMPString) built by hand.
    const name = (cn: asn1js.AsnType): asn1js.Sequence =>
      new asn1js.Sequence({
        value: [
          new asn1js.Set({
            value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '2.5.4.3' }), cn] })],
          }),
        ],
      });
    const der = minimalCertificate(
      name(new asn1js.BmpString({ value: ' a,b+c\u00e9 ' })),
      name(new asn1js.Utf8String({ value: '#issuer' })),
    );
    const info = describeCertificate(der);
    assert.equal(info.subject, 'CN=\\ a\\,b\\+c\u00e9\\ ');
    assert.equal(info.issuer, 'CN=\\#issuer');
    assert.equal(info.selfSigned, false);
    assert.deepEqual(info.emails, []);
    assert.equal(info.keyAlgorithm, 'other');
  });

  void it('throws CERT_MALFORMED for anything that is not a certificate', () => {
    const good = pem('rsa.crt');
    const inputs: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['truncated', good.subarray(0, 100)],
      ['trailing byte', Uint8Array.from([...good, 0])],
      ['a PKCS#12 file', new Uint8Array(readFileSync(new URL('rsa-noenc.p12', P12)))],
      ['random', Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff)],
      ['PEM text', new Uint8Array(readFileSync(new URL('rsa.crt', P12)))],
    ];
    for (const [label, input] of inputs) {
      assert.throws(
        () => describeCertificate(input),
        (e: unknown) => isSmimeError(e, 'CERT_MALFORMED'),
        label,
      );
    }
  });

  void it('byte flips give a description or CERT_MALFORMED, nothing else', () => {
    const good = pem('ec.crt');
    for (let position = 0; position < good.length; position += 3) {
      const mutated = good.slice();
      mutated[position] = (mutated[position] ?? 0) ^ 0x5a;
      try {
        describeCertificate(mutated);
      } catch (error) {
        assert.ok(isSmimeError(error, 'CERT_MALFORMED'), `byte ${position}: ${String(error)}`);
      }
    }
  });
});

void describe('PEM', () => {
  void it('round-trips DER through certificateToPem and pemToDer', () => {
    const der = pem('rsa.crt');
    const text = certificateToPem(der);
    assert.match(text, /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    assert.deepEqual(pemToDer(text), [der]);
    assert.equal(new X509Certificate(text).fingerprint256, new X509Certificate(Buffer.from(der)).fingerprint256);
  });

  void it('returns every CERTIFICATE block in order and ignores other text and PEM types', () => {
    const a = pem('rsa.crt');
    const b = pem('ca.crt');
    const text = `subject=CN = x\r\n${certificateToPem(a).replace(/\n/g, '\r\n')}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${certificateToPem(b)}`;
    assert.deepEqual(pemToDer(text), [a, b]);
    assert.deepEqual(pemToDer('no pem here'), []);
  });

  void it('throws CERT_MALFORMED for a CERTIFICATE block that is not one', () => {
    for (const body of ['!!!notbase64', 'AAAA', 'MIIB']) {
      assert.throws(
        () => pemToDer(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`),
        (e: unknown) => isSmimeError(e, 'CERT_MALFORMED'),
      );
    }
  });
});

/** A structurally valid certificate with the given subject and issuer and a dummy key and signature. */
function minimalCertificate(subject: asn1js.Sequence, issuer: asn1js.Sequence): Uint8Array {
  const time = (value: string): asn1js.UTCTime => new asn1js.UTCTime({ valueDate: new Date(value) });
  const algorithm = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.3.4' })] });
  const tbs = new asn1js.Sequence({
    value: [
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Integer({ value: 2 })] }),
      new asn1js.Integer({ value: 5 }),
      algorithm,
      issuer,
      new asn1js.Sequence({ value: [time('2020-01-01T00:00:00Z'), time('2030-01-01T00:00:00Z')] }),
      subject,
      new asn1js.Sequence({ value: [algorithm, new asn1js.BitString({ valueHex: new Uint8Array([1, 2, 3]) })] }),
    ],
  });
  return new Uint8Array(
    new asn1js.Sequence({ value: [tbs, algorithm, new asn1js.BitString({ valueHex: new Uint8Array([0]) })] }).toBER(
      false,
    ),
  );
}
