// ChaCha20-Poly1305 in AuthEnvelopedData (RFC 8103, issue 14): the RFC 8439 test vector through our cipher, an
// envelope built here with node:crypto and a DER encoder of this file's own (so that the test does not only compare
// our encoder with our decoder), round trips through encryptEnvelope and decryptEnvelope to RSA and EC recipients,
// and every tampering (tag, ciphertext, authenticated attributes, nonce size) ending as the one decryption failure.
//
// No interop test: OpenSSL 3.0 has no ChaCha20-Poly1305 for CMS (`openssl cms -encrypt -chacha20-poly1305` fails with
// "unsupported content encryption algorithm", checked with OpenSSL 3.0.19), and NSS (Thunderbird) has none either.
import assert from 'node:assert/strict';
import {
  constants,
  createCipheriv,
  createPrivateKey,
  publicEncrypt,
  randomFillSync,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  decryptEnvelope,
  encryptEnvelope,
  FAILED_DETAIL,
  givesAuthEnveloped,
  inspectEnvelope,
  type DecryptionKey,
  type DecryptOutcome,
  type EnvelopeRecipient,
} from '../../backend/src/smime/cms/enveloped/index.ts';
import { parseEnvelope } from '../../backend/src/smime/cms/enveloped/read.ts';
import { cmsCrypto } from '../../backend/src/smime/cms/enveloped/primitives.ts';
import {
  chacha20Poly1305Decrypt,
  chacha20Poly1305Encrypt,
  CipherError,
} from '../../backend/src/smime/crypto/content-cipher.ts';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { protectMessage } from '../../backend/src/smime/message/outgoing.ts';
import { FIXTURES } from '../helpers/paths.ts';

const CMS = `${FIXTURES}cms/`;
const MESSAGE = new Uint8Array(readFileSync(`${CMS}message.txt`));
const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

// RFC 8439 section 2.8.2: the AEAD_CHACHA20_POLY1305 test vector, as data.
const RFC8439 = {
  key: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
  nonce: hex('070000004041424344454647'),
  aad: hex('50515253c0c1c2c3c4c5c6c7'),
  plaintext: new Uint8Array(
    Buffer.from(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    ),
  ),
  ciphertext: hex(`
    d31a8d34648e60db7b86afbc53ef7ec2 a4aded51296e08fea9e2b5a736ee62d6 3dbea45e8ca9671282fafb69da92728b
    1a71de0a9e060b2905d6a5b67ecd3b36 92ddbd7f2d778b8c9803aee328091b58 fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b 6116`),
  tag: hex('1ae10b594f09e26a7e902ecbd0600691'),
};

const OID = {
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  rsaesOaep: '1.2.840.113549.1.1.7',
  chacha20Poly1305: '1.2.840.113549.1.9.16.3.18',
};

// ---------------------------------------------------------------------------------------------------------------
// A DER encoder and reader of this test's own (X.690), independent of backend/src/smime/asn1.
// ---------------------------------------------------------------------------------------------------------------

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [];
  assert.ok(length.length > 0, 'this encoder only writes lengths under 64 KiB');
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...length]), body]));
}
const seq = (...content: Uint8Array[]) => tlv(0x30, ...content);
const set = (...content: Uint8Array[]) => tlv(0x31, ...content);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const int = (value: number) => tlv(0x02, Uint8Array.of(value));
function oid(dotted: string): Uint8Array {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

/** The TLVs inside a constructed DER value, each as its whole encoding. */
function childrenOf(encoding: Uint8Array): Uint8Array[] {
  const header = (at: number) => {
    const first = encoding[at + 1]!;
    if (first < 0x80) return { headerLength: 2, length: first };
    let length = 0;
    for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + encoding[at + 2 + i]!;
    return { headerLength: 2 + (first & 0x7f), length };
  };
  const outer = header(0);
  const out: Uint8Array[] = [];
  for (let at = outer.headerLength; at < outer.headerLength + outer.length;) {
    const { headerLength, length } = header(at);
    out.push(encoding.subarray(at, at + headerLength + length));
    at += headerLength + length;
  }
  return out;
}

function certificate(name: string): Uint8Array {
  return new Uint8Array(new X509Certificate(readFileSync(`${CMS}${name}.crt`)).raw);
}

function fixtureKey(name: string): DecryptionKey {
  return {
    keyId: name,
    certificate: certificate(name),
    privateKey: createPrivateKey(readFileSync(`${CMS}${name}.key`)),
  };
}

/** IssuerAndSerialNumber (RFC 5652 section 10.2.4) of a certificate, read with this file's reader. */
function issuerAndSerialNumber(cert: Uint8Array): Uint8Array {
  const [tbs] = childrenOf(cert);
  const [, serial, , issuer] = childrenOf(tbs!); // [0] version, serialNumber, signature, issuer
  return seq(issuer!, serial!);
}

interface Vector {
  key: Uint8Array;
  nonce: Uint8Array;
  plaintext: Uint8Array;
  /** The authenticated attributes, each an Attribute's DER; none: no authAttrs field. */
  attributes: Uint8Array[];
}

const CONTENT_TYPE_DATA = seq(oid(OID.contentType), set(oid(OID.data)));

/**
 * An AuthEnvelopedData (RFC 5083 section 2.1) to the rsa fixture, made with node:crypto alone: RSAES-OAEP with its
 * default SHA-1 parameters (RFC 8017 appendix A.2.1), ChaCha20-Poly1305 under `key` and `nonce` (RFC 8103 section 3),
 * the attributes' DER with a SET OF tag as the AAD (RFC 5083 section 2.2). `alter` rewrites the parts before they are
 * assembled, for the tampering cases.
 */
function handBuilt(
  vector: Vector,
  alter: (parts: {
    nonce: Uint8Array;
    ciphertext: Uint8Array;
    tag: Uint8Array;
    attributes?: Uint8Array;
  }) => void = () => {},
): { der: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array } {
  const aad = vector.attributes.length > 0 ? set(...vector.attributes) : new Uint8Array(0);
  const cipher = createCipheriv('chacha20-poly1305', vector.key, vector.nonce, { authTagLength: 16 });
  if (aad.length > 0) cipher.setAAD(aad, { plaintextLength: vector.plaintext.length });
  const ciphertext = new Uint8Array(Buffer.concat([cipher.update(vector.plaintext), cipher.final()]));
  const tag = new Uint8Array(cipher.getAuthTag());
  const cert = certificate('rsa');
  const publicKey = new X509Certificate(cert).publicKey;
  const encryptedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, vector.key);
  const ktri = seq(int(0), issuerAndSerialNumber(cert), seq(oid(OID.rsaesOaep), seq()), octets(encryptedKey));
  const parts: { nonce: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array; attributes?: Uint8Array } = {
    nonce: vector.nonce,
    ciphertext,
    tag,
    ...(vector.attributes.length > 0 ? { attributes: tlv(0xa1, ...vector.attributes) } : {}),
  };
  alter(parts);
  const authEncryptedContentInfo = seq(
    oid(OID.data),
    seq(oid(OID.chacha20Poly1305), octets(parts.nonce)),
    tlv(0x80, parts.ciphertext), // encryptedContent [0] IMPLICIT OCTET STRING
  );
  const body = seq(
    int(0),
    set(ktri),
    authEncryptedContentInfo,
    ...(parts.attributes ? [parts.attributes] : []),
    octets(parts.tag),
  );
  return { der: seq(oid(OID.authEnvelopedData), tlv(0xa0, body)), ciphertext, tag };
}

function decrypted(outcome: DecryptOutcome): Uint8Array {
  assert.equal(outcome.status, 'decrypted', outcome.status === 'decrypted' ? '' : outcome.detail);
  return (outcome as Extract<DecryptOutcome, { status: 'decrypted' }>).content;
}

async function assertFailed(der: Uint8Array, key: DecryptionKey, what: string): Promise<void> {
  const out = await decryptEnvelope(der, [key]);
  assert.equal(out.status, 'failed', what);
  assert.equal(out.detail, FAILED_DETAIL, what);
}

// ---------------------------------------------------------------------------------------------------------------

void describe('the cipher: RFC 8439 section 2.8.2', () => {
  test('decrypts the test vector; encrypts to its ciphertext and tag', () => {
    const { key, nonce, aad, plaintext, ciphertext, tag } = RFC8439;
    assert.deepEqual(new Uint8Array(chacha20Poly1305Decrypt(key, nonce, ciphertext, tag, aad)), plaintext);
    const made = chacha20Poly1305Encrypt(key, nonce, plaintext, aad);
    assert.deepEqual(new Uint8Array(made.ciphertext), ciphertext);
    assert.deepEqual(made.tag, tag);
  });

  test('a flipped bit anywhere, another AAD, or a key, nonce or tag of another size: one DECRYPT_FAILED', () => {
    const { key, nonce, aad, ciphertext, tag } = RFC8439;
    const flip = (bytes: Uint8Array, at: number) => {
      const copy = Uint8Array.from(bytes);
      copy[at]! ^= 0x01;
      return copy;
    };
    const cases: [string, () => unknown][] = [
      ['ciphertext', () => chacha20Poly1305Decrypt(key, nonce, flip(ciphertext, 50), tag, aad)],
      ['tag', () => chacha20Poly1305Decrypt(key, nonce, ciphertext, flip(tag, 15), aad)],
      ['aad', () => chacha20Poly1305Decrypt(key, nonce, ciphertext, tag, flip(aad, 0))],
      ['no aad', () => chacha20Poly1305Decrypt(key, nonce, ciphertext, tag)],
      ['nonce', () => chacha20Poly1305Decrypt(key, flip(nonce, 11), ciphertext, tag, aad)],
      ['key', () => chacha20Poly1305Decrypt(flip(key, 0), nonce, ciphertext, tag, aad)],
      ['8-byte nonce', () => chacha20Poly1305Decrypt(key, nonce.subarray(4), ciphertext, tag, aad)],
      ['16-byte key', () => chacha20Poly1305Decrypt(key.subarray(0, 16), nonce, ciphertext, tag, aad)],
      ['12-byte tag', () => chacha20Poly1305Decrypt(key, nonce, ciphertext, tag.subarray(0, 12), aad)],
      ['empty tag', () => chacha20Poly1305Decrypt(key, nonce, ciphertext, new Uint8Array(0), aad)],
    ];
    for (const [what, run] of cases) {
      assert.throws(
        run,
        (e: unknown) => e instanceof CipherError && e.code === 'DECRYPT_FAILED' && e.message === 'decryption failed',
        what,
      );
    }
  });
});

void describe('an AuthEnvelopedData built independently (node:crypto and a DER encoder of the test)', () => {
  const vector: Vector = {
    key: RFC8439.key,
    nonce: RFC8439.nonce,
    plaintext: RFC8439.plaintext,
    attributes: [CONTENT_TYPE_DATA],
  };

  test('the content under the RFC 8439 key and nonce is the RFC ciphertext, and it decrypts to the RFC text', async () => {
    const { der, ciphertext } = handBuilt(vector);
    // ChaCha20's keystream does not depend on the AAD: the ciphertext is the RFC's, whatever the attributes.
    assert.deepEqual(ciphertext, RFC8439.ciphertext);
    const info = inspectEnvelope(der);
    assert.equal(info.format, 'auth-enveloped');
    assert.equal(info.contentCipher, 'chacha20-poly1305');
    assert.equal(info.recipients[0]?.keyEncryption, 'rsa-oaep-sha1');
    assert.deepEqual(decrypted(await decryptEnvelope(der, [fixtureKey('rsa')])), RFC8439.plaintext);
  });

  test('without authenticated attributes (no AAD) it decrypts too', async () => {
    const { der } = handBuilt({ ...vector, attributes: [] });
    assert.deepEqual(decrypted(await decryptEnvelope(der, [fixtureKey('rsa')])), RFC8439.plaintext);
  });

  test('a MIME entity under a random key and nonce decrypts to it', async () => {
    const random = {
      key: randomFillSync(new Uint8Array(32)),
      nonce: randomFillSync(new Uint8Array(12)),
      plaintext: MESSAGE,
      attributes: [CONTENT_TYPE_DATA],
    };
    assert.deepEqual(decrypted(await decryptEnvelope(handBuilt(random).der, [fixtureKey('rsa')])), MESSAGE);
  });

  const flip = (bytes: Uint8Array, at: number) => {
    const copy = Uint8Array.from(bytes);
    copy[at < 0 ? copy.length + at : at]! ^= 0x01;
    return copy;
  };
  const tampered: [string, Parameters<typeof handBuilt>[1]][] = [
    ['the first byte of the tag', (p) => void (p.tag = flip(p.tag, 0))],
    ['the last byte of the tag', (p) => void (p.tag = flip(p.tag, -1))],
    ['a tag of 15 bytes', (p) => void (p.tag = p.tag.subarray(0, 15))],
    ['a tag of 17 bytes', (p) => void (p.tag = Uint8Array.of(...p.tag, 0))],
    ['the first byte of the ciphertext', (p) => void (p.ciphertext = flip(p.ciphertext, 0))],
    ['the last byte of the ciphertext', (p) => void (p.ciphertext = flip(p.ciphertext, -1))],
    ['a byte of ciphertext cut off', (p) => void (p.ciphertext = p.ciphertext.subarray(0, -1))],
    ['a byte of the nonce', (p) => void (p.nonce = flip(p.nonce, 11))],
    ['an 8-byte nonce', (p) => void (p.nonce = p.nonce.subarray(4))],
    ['a 16-byte nonce', (p) => void (p.nonce = Uint8Array.of(...p.nonce, 0, 0, 0, 0))],
    // RFC 5083 section 2.2: the attributes are the AAD; another value, or none at all, must not verify.
    [
      'an authenticated attribute changed (contentType id-data -> id-signedData)',
      (p) => void (p.attributes = tlv(0xa1, seq(oid(OID.contentType), set(oid('1.2.840.113549.1.7.2'))))),
    ],
    ['the authenticated attributes removed', (p) => void delete p.attributes],
    [
      'an authenticated attribute added',
      (p) =>
        void (p.attributes = tlv(
          0xa1,
          CONTENT_TYPE_DATA,
          seq(oid('1.2.840.113549.1.9.5'), set(tlv(0x17, new Uint8Array(Buffer.from('260101000000Z'))))),
        )),
    ],
  ];
  for (const [what, alter] of tampered) {
    test(`${what}: failed, with the one detail`, async () => {
      await assertFailed(handBuilt(vector, alter).der, fixtureKey('rsa'), what);
    });
  }

  test('ChaCha20-Poly1305 in an EnvelopedData (no tag to check): CMS_MALFORMED', async () => {
    const { der } = handBuilt(vector);
    const [, explicit] = childrenOf(der);
    const [version, recipients, content] = childrenOf(childrenOf(explicit!)[0]!);
    const enveloped = seq(oid('1.2.840.113549.1.7.3'), tlv(0xa0, seq(version!, recipients!, content!)));
    await assert.rejects(decryptEnvelope(enveloped, [fixtureKey('rsa')]), (e: unknown) => {
      return isSmimeError(e) && e.code === 'CMS_MALFORMED';
    });
  });
});

void describe('encryptEnvelope -> decryptEnvelope with ChaCha20-Poly1305', () => {
  const RECIPIENTS: { name: string; key: string; recipient: Omit<EnvelopeRecipient, 'certificate'> }[] = [
    { name: 'RSA PKCS#1 v1.5', key: 'rsa', recipient: {} },
    { name: 'RSA-OAEP', key: 'rsa', recipient: { keyTransport: 'rsa-oaep' } },
    { name: 'ECDH P-256', key: 'p256', recipient: {} },
    { name: 'ECDH P-384', key: 'p384', recipient: {} },
  ];
  for (const r of RECIPIENTS) {
    test(`${r.name}: AuthEnvelopedData with a 12-byte nonce and a 16-byte tag, and back`, async () => {
      const der = await encryptEnvelope(MESSAGE, [{ certificate: certificate(r.key), ...r.recipient }], {
        cipher: 'chacha20-poly1305',
      });
      const info = inspectEnvelope(der);
      assert.equal(info.format, 'auth-enveloped');
      assert.equal(info.contentCipher, 'chacha20-poly1305');
      // What we write, read with this file's reader: the algorithm's parameters are the bare 12-byte nonce.
      const [, explicit] = childrenOf(der);
      const [version, , content, mac] = childrenOf(childrenOf(explicit!)[0]!);
      assert.deepEqual(version, int(0)); // RFC 5083 section 2.1
      const [, algorithm] = childrenOf(content!);
      const [algorithmOid, nonce] = childrenOf(algorithm!);
      assert.deepEqual(algorithmOid, oid(OID.chacha20Poly1305));
      assert.equal(nonce![0], 0x04);
      assert.equal(nonce!.length, 2 + 12);
      assert.equal(mac![0], 0x04);
      assert.equal(mac!.length, 2 + 16);
      assert.deepEqual(decrypted(await decryptEnvelope(der, [fixtureKey(r.key)])), MESSAGE);
    });
  }

  test('several recipients, RSA and EC: each key opens it alone', async () => {
    const names = ['rsa', 'p256', 'rsa-other'];
    const der = await encryptEnvelope(
      MESSAGE,
      names.map((n) => ({ certificate: certificate(n) })),
      { cipher: 'chacha20-poly1305' },
    );
    for (const name of names) assert.deepEqual(decrypted(await decryptEnvelope(der, [fixtureKey(name)])), MESSAGE);
  });

  test('a fresh key and nonce for every message', async () => {
    const nonceOf = async () =>
      (
        parseEnvelope(
          await encryptEnvelope(MESSAGE, [{ certificate: certificate('p256') }], { cipher: 'chacha20-poly1305' }),
        ).contentAlgorithm as { nonce: Uint8Array }
      ).nonce;
    assert.notDeepEqual(await nonceOf(), await nonceOf());
  });

  test('our own output, tampered in its tag, ciphertext or nonce: failed, with the one detail', async () => {
    const der = await encryptEnvelope(MESSAGE, [{ certificate: certificate('rsa') }], { cipher: 'chacha20-poly1305' });
    const nonce = (parseEnvelope(der).contentAlgorithm as { nonce: Uint8Array }).nonce;
    const nonceAt = Buffer.from(der).indexOf(Buffer.from(nonce));
    const ciphertextAt = der.length - 18 - MESSAGE.length;
    for (const at of [der.length - 1, der.length - 16, ciphertextAt, ciphertextAt + 100, nonceAt, nonceAt + 11]) {
      const copy = Uint8Array.from(der);
      copy[at]! ^= 0x01;
      await assertFailed(copy, fixtureKey('rsa'), `byte ${at}`);
    }
  });

  test('the content layer: a wrong key length or a missing tag is the one CMS_DECRYPT_FAILED', () => {
    const algorithm = {
      kind: 'chacha20-poly1305' as const,
      family: 'chacha20' as const,
      name: 'chacha20-poly1305',
      oid: OID.chacha20Poly1305,
      keyLength: 32,
      nonce: RFC8439.nonce,
      tagLength: 16,
    };
    const base = { algorithm, key: RFC8439.key, ciphertext: RFC8439.ciphertext, aad: RFC8439.aad };
    assert.deepEqual(new Uint8Array(cmsCrypto.decryptContent({ ...base, tag: RFC8439.tag })), RFC8439.plaintext);
    for (const input of [
      { ...base },
      { ...base, tag: RFC8439.tag.subarray(1) },
      { ...base, tag: RFC8439.tag, key: RFC8439.key.subarray(0, 16) },
      { ...base, tag: RFC8439.tag, aad: undefined },
    ]) {
      assert.throws(
        () => cmsCrypto.decryptContent(input),
        (e: unknown) => isSmimeError(e) && e.code === 'CMS_DECRYPT_FAILED',
      );
    }
  });

  test('a message encrypted with it says smime-type=authEnveloped-data (RFC 8551 section 3.4)', async () => {
    assert.equal(givesAuthEnveloped('chacha20-poly1305'), true);
    assert.equal(givesAuthEnveloped('aes-256-gcm'), true);
    assert.equal(givesAuthEnveloped('aes-256-cbc'), false);
    assert.equal(givesAuthEnveloped('toString'), false);
    const raw = new Uint8Array(
      Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\r\nHello ChaCha\r\n'),
    );
    const out = Buffer.from(
      await protectMessage(raw, {
        encrypt: { recipients: [{ certificate: certificate('p256') }], options: { cipher: 'chacha20-poly1305' } },
      }),
    ).toString('latin1');
    assert.match(out, /smime-type=authEnveloped-data/);
    const body = Buffer.from(out.slice(out.indexOf('\r\n\r\n', out.indexOf('application/pkcs7-mime')) + 4), 'base64');
    const content = Buffer.from(decrypted(await decryptEnvelope(new Uint8Array(body), [fixtureKey('p256')])));
    assert.match(content.toString('latin1'), /Hello ChaCha/);
  });
});
