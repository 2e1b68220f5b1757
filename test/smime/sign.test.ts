// signContent (issue 3): the SignedData it writes, field by field, for every key type, digest and form; the DER rules
// (definite minimal lengths, sorted SETs); the signed attributes of RFC 8551 section 2.5; and every refusal, which
// must happen before anything is produced. Interop with OpenSSL and gpgsm: sign-interop.test.ts.
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { describe, test } from 'node:test';
import { rejectsWith } from '../helpers/assert.ts';
import type { SmimeErrorCode } from '../../backend/src/smime/errors.ts';
import { compareForSetOf, time, toBytes } from '../../backend/src/smime/asn1/writer.ts';
import {
  children,
  encoding,
  explicit,
  integerBytes,
  isContext,
  octets,
  oid,
  readTree,
  sequence,
  setOf,
  smallInteger,
  type Tlv,
} from '../../backend/src/smime/asn1/reader.ts';
import { certificateParts } from '../../backend/src/smime/x509/raw.ts';
import {
  DEFAULT_CAPABILITIES,
  signContent,
  type DigestName,
  type Signer,
  type SignOptions,
} from '../../backend/src/smime/cms/signed/sign.ts';
import { fixtureEcSigner, fixtureRsaSigner, outgoingCertificate } from '../fixtures/outgoing/signers.ts';

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  smimeCapabilities: '1.2.840.113549.1.9.15',
  encrypKeyPref: '1.2.840.113549.1.9.16.2.11',
  msEncryptionKeyPreference: '1.3.6.1.4.1.311.16.4',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
} as const;

const DIGEST_OIDS: Record<DigestName, string> = { sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };
const ECDSA_OIDS: Record<DigestName, string> = {
  sha256: OID.ecdsaSha256,
  sha384: OID.ecdsaSha384,
  sha512: OID.ecdsaSha512,
};
const DIGEST_BYTES: Record<DigestName, number> = { sha256: 32, sha384: 48, sha512: 64 };
const DIGESTS: DigestName[] = ['sha256', 'sha384', 'sha512'];

const CONTENT = Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nHello, signed world.\r\n');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ---- a strict DER walker: the test's own reader, independent of the writer ----------------------------------------

/**
 * Walks every TLV: definite lengths in minimal form (X.690 section 10.1), INTEGERs minimal (8.3.2), every universal
 * SET's elements in DER order (11.6), and nothing left over. Returns the number of values seen.
 */
function assertStrictDer(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let count = 0;
  let pos = start;
  while (pos < end) {
    const tag = bytes[pos]!;
    assert.notEqual(tag & 0x1f, 0x1f, `high tag number at ${pos}`);
    let length = bytes[pos + 1]!;
    let head = 2;
    assert.notEqual(length, 0x80, `indefinite length at ${pos}`);
    if (length > 0x80) {
      const n = length & 0x7f;
      assert.notEqual(bytes[pos + 2], 0, `length with a leading zero octet at ${pos}`);
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + bytes[pos + 2 + i]!;
      assert.ok(length >= 0x80, `long-form length ${length} that fits the short form at ${pos}`);
      head += n;
    }
    const contentStart = pos + head;
    const contentEnd = contentStart + length;
    assert.ok(contentEnd <= end, `value at ${pos} runs past its parent`);
    if (tag === 0x02) {
      assert.ok(length > 0, 'empty INTEGER');
      if (length > 1) {
        const [a, b] = [bytes[contentStart]!, bytes[contentStart + 1]!];
        assert.ok(!(a === 0 && b < 0x80) && !(a === 0xff && b >= 0x80), `non-minimal INTEGER at ${pos}`);
      }
    }
    if (tag & 0x20) {
      count += assertStrictDer(bytes, contentStart, contentEnd);
      if (tag === 0x31) assertSortedSet(bytes.subarray(contentStart, contentEnd), `SET at ${pos}`);
    }
    count++;
    pos = contentEnd;
  }
  assert.equal(pos, end);
  return count;
}

/** The content octets of one TLV. */
function contentOf(tlv: Uint8Array): Uint8Array {
  return tlv.subarray(tlv[1]! > 0x80 ? 2 + (tlv[1]! & 0x7f) : 2);
}

/** The elements of a SET OF content are in ascending DER order. */
function assertSortedSet(content: Uint8Array, what: string): void {
  const elements: Uint8Array[] = [];
  let pos = 0;
  while (pos < content.length) {
    let length = content[pos + 1]!;
    let head = 2;
    if (length > 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + content[pos + 2 + i]!;
      head += n;
    }
    elements.push(content.subarray(pos, pos + head + length));
    pos += head + length;
  }
  for (let i = 1; i < elements.length; i++)
    assert.ok(compareForSetOf(elements[i - 1]!, elements[i]!) <= 0, `${what} is not in DER order`);
}

// ---- reading what signContent wrote ----------------------------------------------------------------------------

interface Parsed {
  version: number;
  digestAlgorithms: Tlv[];
  eContentType: string;
  eContent: Uint8Array | undefined;
  certificates: Uint8Array[];
  certificatesNode: Tlv;
  signerInfos: Tlv[];
  signer: {
    version: number;
    issuer: Uint8Array;
    serial: Uint8Array;
    digestAlgorithm: Tlv;
    signedAttrsNode: Tlv;
    /** The signed attributes re-tagged as SET: the bytes the signature covers (RFC 5652 section 5.4). */
    signedBytes: Uint8Array;
    attributes: Map<string, Tlv[]>;
    attributeOrder: string[];
    signatureAlgorithm: Tlv;
    signature: Uint8Array;
  };
}

function parseSignedData(der: Uint8Array): Parsed {
  const [type, wrapped, ...rest] = sequence(readTree(der, 'ContentInfo'), 'ContentInfo');
  assert.equal(rest.length, 0);
  assert.equal(oid(type, 'contentType'), OID.signedData);
  const fields = sequence(explicit(wrapped, 0, 'content'), 'SignedData');
  assert.equal(fields.length, 5, 'version, digestAlgorithms, encapContentInfo, certificates, signerInfos (no crls)');
  const [version, digestAlgorithms, encap, certificates, signerInfos] = fields as [Tlv, Tlv, Tlv, Tlv, Tlv];
  const [eType, eWrapped, ...eRest] = sequence(encap, 'encapContentInfo');
  assert.equal(eRest.length, 0);
  assert.ok(isContext(certificates, 0), 'certificates [0]');
  const infos = setOf(signerInfos, 'signerInfos');
  const siFields = sequence(infos[0], 'SignerInfo');
  assert.equal(
    siFields.length,
    6,
    'version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature (no unsignedAttrs)',
  );
  const [siVersion, sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature] = siFields as [
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
  ];
  assert.ok(isContext(signedAttrs, 0) && signedAttrs.constructed, 'signedAttrs [0] IMPLICIT');
  const [issuer, serial] = sequence(sid, 'IssuerAndSerialNumber');
  const signedBytes = Uint8Array.from(encoding(signedAttrs));
  signedBytes[0] = 0x31;
  const attributes = new Map<string, Tlv[]>();
  const attributeOrder: string[] = [];
  for (const attr of children(signedAttrs)) {
    const [attrType, values] = sequence(attr, 'Attribute');
    const name = oid(attrType, 'attrType');
    assert.ok(!attributes.has(name), `attribute ${name} twice`);
    attributes.set(name, setOf(values, 'attrValues'));
    attributeOrder.push(name);
  }
  return {
    version: smallInteger(version, 'version', 0, 5),
    digestAlgorithms: setOf(digestAlgorithms, 'digestAlgorithms'),
    eContentType: oid(eType, 'eContentType'),
    eContent: eWrapped === undefined ? undefined : octets(explicit(eWrapped, 0, 'eContent'), 'eContent'),
    certificates: children(certificates).map((n) => Uint8Array.from(encoding(n))),
    certificatesNode: certificates,
    signerInfos: infos,
    signer: {
      version: smallInteger(siVersion, 'version', 0, 5),
      issuer: Uint8Array.from(encoding(issuer!)),
      serial: Uint8Array.from(integerBytes(serial, 'serialNumber')),
      digestAlgorithm,
      signedAttrsNode: signedAttrs,
      signedBytes,
      attributes,
      attributeOrder,
      signatureAlgorithm,
      signature: octets(signature, 'signature'),
    },
  };
}

/** An AlgorithmIdentifier as { oid, parameters DER or undefined when absent }. */
function algorithm(node: Tlv): { oid: string; params: Uint8Array | undefined } {
  const [id, params, ...rest] = sequence(node, 'AlgorithmIdentifier');
  assert.equal(rest.length, 0);
  return { oid: oid(id, 'algorithm'), params: params ? Uint8Array.from(encoding(params)) : undefined };
}

function attributeValue(parsed: Parsed, name: string): Tlv {
  const values = parsed.signer.attributes.get(name);
  assert.ok(values, `attribute ${name} missing`);
  assert.equal(values.length, 1, `attribute ${name} must have exactly one value`);
  return values[0]!;
}

// ---- the matrix ----------------------------------------------------------------------------------------------------

const SIGNERS: {
  label: string;
  signer: () => Signer;
  padding?: 'pkcs1' | 'pss';
  scheme: 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa';
}[] = [
  { label: 'RSA PKCS#1 v1.5', signer: fixtureRsaSigner, padding: 'pkcs1', scheme: 'rsa-pkcs1' },
  { label: 'RSA default padding', signer: fixtureRsaSigner, scheme: 'rsa-pkcs1' },
  { label: 'RSA-PSS', signer: fixtureRsaSigner, padding: 'pss', scheme: 'rsa-pss' },
  { label: 'ECDSA P-256', signer: fixtureEcSigner, scheme: 'ecdsa' },
];

function verifySignature(
  publicKey: KeyObject,
  scheme: string,
  digest: DigestName,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (scheme === 'rsa-pss') {
    return verify(
      digest,
      data,
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: DIGEST_BYTES[digest] },
      signature,
    );
  }
  if (scheme === 'rsa-pkcs1')
    return verify(digest, data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  return verify(digest, data, { key: publicKey, dsaEncoding: 'der' }, signature);
}

describe('signContent: structure for every key type, digest and form', () => {
  for (const s of SIGNERS) {
    for (const digest of DIGESTS) {
      for (const detached of [true, false]) {
        test(`${s.label}, ${digest}, ${detached ? 'detached' : 'opaque'}`, async () => {
          const signer = s.signer();
          const options: SignOptions = { digest, detached, ...(s.padding ? { rsaPadding: s.padding } : {}) };
          const der = await signContent(CONTENT, signer, options);
          assertStrictDer(der);
          const p = parseSignedData(der);
          // RFC 5652 section 5.1: version 1 (id-data content, issuerAndSerialNumber sid, no other certificates).
          assert.equal(p.version, 1);
          assert.equal(p.digestAlgorithms.length, 1);
          assert.deepEqual(algorithm(p.digestAlgorithms[0]!), { oid: DIGEST_OIDS[digest], params: undefined });
          assert.equal(p.eContentType, OID.data);
          if (detached) assert.equal(p.eContent, undefined);
          else assert.equal(hex(p.eContent!), hex(CONTENT));
          // The signer certificate and the chain, in DER (sorted) order.
          assert.deepEqual(new Set(p.certificates.map(hex)), new Set([signer.certificate, ...signer.chain].map(hex)));
          assertSortedSet(contentOf(encoding(p.certificatesNode)), 'certificates [0] IMPLICIT SET OF');
          // SignerInfo: version 1 with issuerAndSerialNumber naming the signer certificate byte for byte.
          assert.equal(p.signerInfos.length, 1);
          assert.equal(p.signer.version, 1);
          const cert = certificateParts(signer.certificate);
          assert.equal(hex(p.signer.issuer), hex(cert.issuer));
          assert.equal(hex(p.signer.serial), hex(cert.serialNumber));
          assert.deepEqual(algorithm(p.signer.digestAlgorithm), { oid: DIGEST_OIDS[digest], params: undefined });
          // Signed attributes: the mandatory ones right, in DER order.
          assert.equal(oid(attributeValue(p, OID.contentType), 'contentType'), OID.data);
          assert.equal(
            hex(octets(attributeValue(p, OID.messageDigest), 'messageDigest')),
            createHash(digest).update(CONTENT).digest('hex'),
          );
          assert.ok(p.signer.attributes.has(OID.signingTime));
          assertSortedSet(contentOf(p.signer.signedBytes), 'signedAttrs');
          // Signature algorithm and the signature over the SET-tagged attributes.
          const alg = algorithm(p.signer.signatureAlgorithm);
          if (s.scheme === 'rsa-pkcs1') assert.deepEqual(alg, { oid: OID.rsaEncryption, params: Uint8Array.of(5, 0) });
          if (s.scheme === 'ecdsa') assert.deepEqual(alg, { oid: ECDSA_OIDS[digest], params: undefined });
          if (s.scheme === 'rsa-pss') {
            assert.equal(alg.oid, OID.rsassaPss);
            const [hashField, mgfField, saltField, ...more] = sequence(
              readTree(alg.params!, 'RSASSA-PSS-params'),
              'params',
            );
            assert.equal(more.length, 0, 'trailerField stays at its DEFAULT');
            assert.deepEqual(algorithm(explicit(hashField, 0, 'hashAlgorithm')), {
              oid: DIGEST_OIDS[digest],
              params: Uint8Array.of(5, 0),
            });
            const mgf = sequence(explicit(mgfField, 1, 'maskGenAlgorithm'), 'mgf');
            assert.equal(oid(mgf[0], 'mgf'), OID.mgf1);
            assert.deepEqual(algorithm(mgf[1]!), { oid: DIGEST_OIDS[digest], params: Uint8Array.of(5, 0) });
            assert.equal(
              smallInteger(explicit(saltField, 2, 'saltLength'), 'saltLength', 0, 1024),
              DIGEST_BYTES[digest],
            );
          }
          const publicKey = new X509Certificate(signer.certificate).publicKey;
          assert.ok(
            verifySignature(publicKey, s.scheme, digest, p.signer.signedBytes, p.signer.signature),
            'signature verifies',
          );
          const tampered = Uint8Array.from(p.signer.signedBytes);
          tampered[tampered.length - 1]! ^= 1;
          assert.ok(
            !verifySignature(publicKey, s.scheme, digest, tampered, p.signer.signature),
            'a changed attribute does not verify',
          );
        });
      }
    }
  }
});

// ---- signingTime ---------------------------------------------------------------------------------------------------

describe('signingTime: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5652 section 11.3)', () => {
  const CASES: { at: string; tag: number; text: string }[] = [
    { at: '2027-03-01T10:00:00.999Z', tag: 0x17, text: '270301100000Z' },
    { at: '2049-12-31T23:59:59Z', tag: 0x17, text: '491231235959Z' },
    { at: '2050-01-01T00:00:00Z', tag: 0x18, text: '20500101000000Z' },
    { at: '2099-02-28T12:34:56Z', tag: 0x18, text: '20990228123456Z' },
  ];
  for (const c of CASES) {
    test(`${c.at} -> ${c.text}`, async () => {
      const p = parseSignedData(await signContent(CONTENT, fixtureRsaSigner(), { signingTime: new Date(c.at) }));
      const node = attributeValue(p, OID.signingTime);
      const bytes = encoding(node);
      assert.equal(bytes[0], c.tag);
      assert.equal(Buffer.from(bytes.subarray(2)).toString('latin1'), c.text);
    });
  }
  test('the encoder itself at the lower boundary: 1949 is GeneralizedTime, 1950 UTCTime', () => {
    assert.equal(
      hex(toBytes(time(new Date('1949-12-31T23:59:59Z')))),
      hex(Buffer.concat([Buffer.of(0x18, 15), Buffer.from('19491231235959Z')])),
    );
    assert.equal(
      hex(toBytes(time(new Date('1950-01-01T00:00:00Z')))),
      hex(Buffer.concat([Buffer.of(0x17, 13), Buffer.from('500101000000Z')])),
    );
  });
  test('default: now, to the second', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const p = parseSignedData(await signContent(CONTENT, fixtureRsaSigner()));
    const text = Buffer.from(encoding(attributeValue(p, OID.signingTime)).subarray(2)).toString('latin1');
    const m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)!;
    const at = Date.UTC(2000 + Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    assert.ok(at >= before && at <= Date.now(), `${text} is not now`);
  });
});

// ---- SMIMECapabilities and the encryption key preference -------------------------------------------------------------

describe('SMIMECapabilities (RFC 8551 section 2.5.2)', () => {
  // Expected DER per capability: parameters absent where nothing differentiates (RFC 8551 section 2.5.2; RFC 3565
  // section 5 for AES-CBC), RSAES-OAEP-params with SHA-256 and MGF1-SHA-256 (RFC 4055 section 4.1).
  const EXPECTED_DEFAULT = [
    '300b060960864801650304012e', // aes256-GCM
    '300b0609608648016503040106', // aes128-GCM
    '300b060960864801650304012a', // aes256-CBC
    '300b0609608648016503040116', // aes192-CBC
    '300b0609608648016503040102', // aes128-CBC
    '303c06092a864886f70d010107302fa00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500', // rsaesOAEP SHA-256
    '300b06092a864886f70d010101', // rsaEncryption
    '301506062b8104010b01300b060960864801650304012d', // dhSinglePass-stdDH-sha256kdf-scheme, aes256-wrap
  ];

  function capabilities(p: Parsed): string[] {
    return sequence(attributeValue(p, OID.smimeCapabilities), 'SMIMECapabilities').map((n) => hex(encoding(n)));
  }

  test('the default list, in preference order, with the exact parameter encodings', async () => {
    assert.deepEqual(DEFAULT_CAPABILITIES, [
      'aes-256-gcm',
      'aes-128-gcm',
      'aes-256-cbc',
      'aes-192-cbc',
      'aes-128-cbc',
      'rsaes-oaep-sha256',
      'rsa-encryption',
      'ecdh-sha256kdf-aes256-wrap',
    ]);
    const p = parseSignedData(await signContent(CONTENT, fixtureRsaSigner()));
    assert.deepEqual(capabilities(p), EXPECTED_DEFAULT);
  });
  test('a given list, custom entries included, keeps its order', async () => {
    const p = parseSignedData(
      await signContent(CONTENT, fixtureRsaSigner(), {
        capabilities: [
          'aes-128-cbc',
          { oid: '1.2.840.113549.1.9.16.11.1' /* preferBinaryInside */ },
          { oid: '1.2.840.113549.3.2' /* RC2, 128 bits */, parameters: Uint8Array.of(2, 2, 0, 0x80) },
        ],
      }),
    );
    assert.deepEqual(capabilities(p), [
      '300b0609608648016503040102',
      '300d060b2a864886f70d0109100b01',
      '300e06082a864886f70d030202020080',
    ]);
  });
  test('an empty list leaves the attribute out', async () => {
    const p = parseSignedData(await signContent(CONTENT, fixtureRsaSigner(), { capabilities: [] }));
    assert.ok(!p.signer.attributes.has(OID.smimeCapabilities));
    assert.ok(p.signer.attributes.has(OID.signingTime));
  });
});

describe('SMIMEEncryptionKeyPreference (RFC 8551 section 2.5.3) and its Microsoft twin', () => {
  function preference(p: Parsed): { rfc: string | undefined; ms: string | undefined } {
    const rfc = p.signer.attributes.get(OID.encrypKeyPref)?.[0];
    const ms = p.signer.attributes.get(OID.msEncryptionKeyPreference)?.[0];
    return { rfc: rfc ? hex(encoding(rfc)) : undefined, ms: ms ? hex(encoding(ms)) : undefined };
  }
  function expected(certificate: Uint8Array): { rfc: string; ms: string } {
    const parts = certificateParts(certificate);
    const serial = Buffer.concat([Buffer.of(2, parts.serialNumber.length), parts.serialNumber]);
    const body = Buffer.concat([parts.issuer, serial]);
    const len = (n: number) =>
      n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
    // [0] IMPLICIT IssuerAndSerialNumber (the module has IMPLICIT TAGS), and Microsoft's bare IssuerAndSerialNumber.
    return {
      rfc: hex(Buffer.concat([Buffer.of(0xa0), len(body.length), body])),
      ms: hex(Buffer.concat([Buffer.of(0x30), len(body.length), body])),
    };
  }

  test('default: the signer certificate', async () => {
    const signer = fixtureRsaSigner();
    assert.deepEqual(preference(parseSignedData(await signContent(CONTENT, signer))), expected(signer.certificate));
  });
  test('given: another certificate (a separate encryption certificate)', async () => {
    const other = outgoingCertificate('encipher-only');
    assert.deepEqual(
      preference(parseSignedData(await signContent(CONTENT, fixtureRsaSigner(), { encryptionKeyPreference: other }))),
      expected(other),
    );
  });
  test('default with a signing-only certificate (key usage without encipherment): left out', async () => {
    const signer = { ...fixtureRsaSigner(), certificate: outgoingCertificate('sign-only') };
    assert.deepEqual(preference(parseSignedData(await signContent(CONTENT, signer))), {
      rfc: undefined,
      ms: undefined,
    });
  });
  test('EC signer with keyAgreement: the signer certificate', async () => {
    const signer = fixtureEcSigner();
    assert.deepEqual(preference(parseSignedData(await signContent(CONTENT, signer))), expected(signer.certificate));
  });
});

test('certificates: a chain certificate equal to the signer certificate is carried once', async () => {
  const signer = fixtureRsaSigner();
  const p = parseSignedData(
    await signContent(CONTENT, { ...signer, chain: [signer.certificate, ...signer.chain, ...signer.chain] }),
  );
  assert.equal(p.certificates.length, 2);
});

test('an empty content signs (detached and opaque)', async () => {
  for (const detached of [true, false]) {
    const p = parseSignedData(await signContent(new Uint8Array(0), fixtureRsaSigner(), { detached }));
    assert.equal(hex(octets(attributeValue(p, OID.messageDigest), 'md')), createHash('sha256').digest('hex'));
  }
});

// ---- fail closed ---------------------------------------------------------------------------------------------------

describe('fail closed: nothing is signed when the certificate, the key or the options are wrong', () => {
  const rsa = fixtureRsaSigner();
  const ec = fixtureEcSigner();
  const ed25519 = generateKeyPairSync('ed25519').privateKey;
  const ed448 = generateKeyPairSync('ed448').privateKey;
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
  const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const CASES: { label: string; signer: Signer; options?: SignOptions; code: SmimeErrorCode }[] = [
    {
      label: 'expired certificate',
      signer: { ...rsa, certificate: outgoingCertificate('expired') },
      code: 'SIGN_CERT_EXPIRED',
    },
    {
      label: 'certificate not valid yet',
      signer: { ...rsa, certificate: outgoingCertificate('not-yet-valid') },
      code: 'SIGN_CERT_NOT_YET_VALID',
    },
    {
      label: 'signing time after notAfter',
      signer: rsa,
      options: { signingTime: new Date('2200-01-01T00:00:00Z') },
      code: 'SIGN_CERT_EXPIRED',
    },
    {
      label: 'signing time before notBefore',
      signer: rsa,
      options: { signingTime: new Date('2000-01-01T00:00:00Z') },
      code: 'SIGN_CERT_NOT_YET_VALID',
    },
    { label: 'EC key, RSA certificate', signer: { ...rsa, privateKey: ec.privateKey }, code: 'SIGN_KEY_MISMATCH' },
    { label: 'RSA key, EC certificate', signer: { ...ec, privateKey: rsa.privateKey }, code: 'SIGN_KEY_MISMATCH' },
    { label: 'another RSA-2048 key', signer: { ...rsa, privateKey: otherRsa }, code: 'SIGN_KEY_MISMATCH' },
    {
      label: 'EKU serverAuth only',
      signer: { ...rsa, certificate: outgoingCertificate('tls-only') },
      code: 'SIGN_CERT_USAGE',
    },
    {
      label: 'key usage keyEncipherment only',
      signer: { ...rsa, certificate: outgoingCertificate('encipher-only') },
      code: 'SIGN_CERT_USAGE',
    },
    // Ed25519 signs since issue 14 (test/smime/modern-algorithms.test.ts); Ed448 does not.
    { label: 'Ed448 key', signer: { ...rsa, privateKey: ed448 }, code: 'SIGN_UNSUPPORTED_KEY' },
    { label: 'Ed25519 key for an RSA certificate', signer: { ...rsa, privateKey: ed25519 }, code: 'SIGN_KEY_MISMATCH' },
    { label: 'secp256k1 key', signer: { ...ec, privateKey: k1 }, code: 'SIGN_UNSUPPORTED_KEY' },
    {
      label: 'a public key',
      signer: { ...rsa, privateKey: createPublicKey(rsa.privateKey) },
      code: 'SIGN_INVALID_OPTION',
    },
    {
      label: 'garbage certificate',
      signer: { ...rsa, certificate: Uint8Array.of(0x30, 3, 1, 2, 3) },
      code: 'CERT_MALFORMED',
    },
    { label: 'SHA-1', signer: rsa, options: { digest: 'sha1' as DigestName }, code: 'SIGN_INVALID_OPTION' },
    { label: 'unknown option', signer: rsa, options: { detatched: false } as SignOptions, code: 'SIGN_INVALID_OPTION' },
    { label: 'invalid date', signer: rsa, options: { signingTime: new Date('nope') }, code: 'SIGN_INVALID_OPTION' },
    {
      label: 'unknown capability',
      signer: rsa,
      options: { capabilities: ['rc2-40' as never] },
      code: 'SIGN_INVALID_OPTION',
    },
    {
      label: 'bad capability OID',
      signer: rsa,
      options: { capabilities: [{ oid: '1.99999999999999999999999.x' }] },
      code: 'SIGN_INVALID_OPTION',
    },
    { label: 'rsaPadding typo', signer: rsa, options: { rsaPadding: 'PSS' as 'pss' }, code: 'SIGN_INVALID_OPTION' },
    {
      label: 'malformed preference certificate',
      signer: rsa,
      options: { encryptionKeyPreference: Uint8Array.of(1) },
      code: 'CERT_MALFORMED',
    },
  ];
  for (const c of CASES) {
    test(`${c.label}: ${c.code}`, async () => {
      await rejectsWith(signContent(CONTENT, c.signer, c.options), c.code);
    });
  }

  test('the certificates used above are fine with their own key (the refusals are about the one property)', async () => {
    // sign-only shares rsa.key and is valid: proves the expired/usage fixtures differ only in what they test.
    await signContent(CONTENT, { ...rsa, certificate: outgoingCertificate('sign-only') });
  });
});
