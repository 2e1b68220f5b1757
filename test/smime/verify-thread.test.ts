// verifySignatureAsync (issue 16: the directory sync's signatures, verified on a thread of their own) answers as
// verifySignature for every scheme, for good signatures, tampered ones and keys of the wrong type.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  publicKey,
  verifySignature,
  verifySignatureAsync,
  type SignatureScheme,
} from '../../backend/src/smime/crypto/signature-algorithms.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const spki = (k: KeyObject) => publicKey(new Uint8Array(k.export({ format: 'der', type: 'spki' })));
const data = new Uint8Array(Buffer.from('the TBSCertificate bytes, or any signed bytes'));

const rows: { label: string; scheme: SignatureScheme; key: ReturnType<typeof spki>; signature: Uint8Array }[] = [
  {
    label: 'RSA PKCS#1 v1.5 SHA-256',
    scheme: { name: 'rsa-pkcs1-v1_5', hash: 'sha256' } as SignatureScheme,
    key: spki(rsa.publicKey),
    signature: sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING }),
  },
  {
    label: 'RSA-PSS SHA-256 salt 32',
    scheme: { name: 'rsa-pss', hash: 'sha256', saltLength: 32 } as SignatureScheme,
    key: spki(rsa.publicKey),
    signature: sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  },
  {
    label: 'ECDSA P-256 SHA-256',
    scheme: { name: 'ecdsa', hash: 'sha256' } as SignatureScheme,
    key: spki(ec.publicKey),
    signature: sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'der' }),
  },
  {
    label: 'Ed25519',
    scheme: { name: 'ed25519' } as SignatureScheme,
    key: spki(ed.publicKey),
    signature: sign(null, data, ed.privateKey),
  },
];

describe('verifySignatureAsync answers as verifySignature', () => {
  for (const row of rows) {
    test(row.label, async () => {
      const tampered = new Uint8Array(row.signature);
      tampered[tampered.length - 1]! ^= 0x01;
      const otherData = new Uint8Array(data);
      otherData[0]! ^= 0x01;
      const wrongKey = row.key.type === 'RSA' ? spki(ec.publicKey) : spki(rsa.publicKey);
      const cases: [string, Parameters<typeof verifySignature>][] = [
        ['good', [row.scheme, row.key, data, row.signature]],
        ['tampered signature', [row.scheme, row.key, data, tampered]],
        ['other data', [row.scheme, row.key, otherData, row.signature]],
        ['key of another type', [row.scheme, wrongKey, data, row.signature]],
        ['empty signature', [row.scheme, row.key, data, new Uint8Array(0)]],
      ];
      // All at once, as a sync asks: one batch on the verification thread.
      const answers = await Promise.all(cases.map(([, args]) => verifySignatureAsync(...args)));
      assert.deepEqual(
        answers,
        cases.map(([, args]) => verifySignature(...args)),
      );
      assert.deepEqual(answers, [true, false, false, false, false]);
    });
  }

  test('more than a batch at once, good and bad interleaved, each answered for itself', async () => {
    const row = rows[2]!;
    const bad = new Uint8Array(row.signature);
    bad[bad.length - 1]! ^= 0x01;
    const sigs = Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? bad : row.signature));
    const answers = await Promise.all(sigs.map((s) => verifySignatureAsync(row.scheme, row.key, data, s)));
    assert.deepEqual(
      answers,
      sigs.map((s) => s !== bad),
    );
  });
});
