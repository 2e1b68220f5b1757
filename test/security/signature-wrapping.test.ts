/**
 * Attack: signature wrapping. The attacker holds one genuinely signed message and re-packages it so that the valid
 * signature appears to vouch for content it never covered: the valid SignerInfo kept around other eContent; a valid
 * SignerInfo placed beside the attacker's own; the signed attributes stripped; the valid multipart/signed put inside
 * an unsigned multipart beside the attacker's text; extra parts appended after the signature; the two parts of
 * multipart/signed swapped; the outer From changed to someone the signer is not; a second signature layer wrapped
 * around it by an untrusted signer.
 *
 * Defence (backend/src/smime/cms/signed/verify.ts, incoming.ts): the signature is checked over exactly the bytes the reader
 * will render (the eContent, or the first part of multipart/signed); every SignerInfo is judged alone and the layer
 * takes the worst status; only the chain of S/MIME wrappers starting at the message itself protects it, nested
 * signed parts are reported as `parts`, never as the message's status; multipart/signed must have exactly two parts;
 * the signer's certificate must name the From address.
 *
 * What the test proves: none of these comes out 'valid' for the message, in the engine and through POST
 * /messages/incoming (both databases), beside a sanity case that the untouched message is 'valid'. The engine cases
 * were moved here from test/smime/verify-tampering.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encoding, explicit, readOne, sequence, setOf, children } from '../../backend/src/smime/asn1/reader.ts';
import type { SignatureStatus } from '../../backend/src/smime/types.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, INTERMEDIATE, PKI_DIR, PKI_NOW, ROOT, cert, key, message } from '../fixtures/pki/pki.ts';
import {
  assembleSignedData,
  buildSignedData,
  derSequence,
  type SignedDataSpec,
  type SignerSpec,
} from '../fixtures/pki/signed-data-builder.ts';
import { Client } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { decodeContent, multipartMixed, multipartSigned, pkcs7Mime, read, startServerTrusting } from './world.ts';

const OTHER = new Uint8Array(
  Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nPay 1000 EUR to the attacker.\r\n', 'latin1'),
);
const SIGNER = 'signer@pki.test';
const options = { trustAnchors: [ROOT], now: PKI_NOW, fromAddresses: [SIGNER] };

/** The encoded certificates and SignerInfos of a SignedData, for splicing. */
function partsOf(cms: Uint8Array): { certificates: Uint8Array[]; signerInfos: Uint8Array[] } {
  const info = sequence(readOne(cms, 'ContentInfo'), 'ContentInfo');
  const sd = sequence(explicit(info[1], 0, 'content'), 'SignedData');
  const certsNode = sd.find((n) => n.cls === 2 && n.tag === 0);
  return {
    certificates: certsNode ? children(certsNode).map(encoding) : [],
    signerInfos: setOf(sd[sd.length - 1], 'signerInfos').map(encoding),
  };
}

const signer: SignerSpec = { cert: cert('signer'), key: key('signer'), signingTime: new Date('2026-11-24T00:00:00Z') };
const base: SignedDataSpec = {
  content: CONTENT,
  detached: true,
  signers: [signer],
  certificates: [cert('signer'), INTERMEDIATE],
};

/** The wrapped SignedData structures, each with the detached content it is presented with (undefined: opaque). */
function wrappedSignedData(): [name: string, cms: Uint8Array, content: Uint8Array | undefined][] {
  const opaque = partsOf(message('signer-opaque.p7m'));
  const detached = partsOf(message('signer-sha256.p7s'));
  const attacker = partsOf(
    buildSignedData({
      ...base,
      content: OTHER,
      signers: [{ cert: cert('rogue-responder'), key: key('rogue-responder') }],
      certificates: [],
    }),
  );
  const si = sequence(readOne(detached.signerInfos[0]!, 'SignerInfo'), 'SignerInfo');
  const withoutAttrs = si.filter((n) => !(n.cls === 2 && n.tag === 0)).map(encoding);
  return [
    [
      'opaque: the valid SignerInfo kept, eContent replaced',
      assembleSignedData({ eContent: OTHER, certificates: opaque.certificates, signerInfos: opaque.signerInfos }),
      undefined,
    ],
    [
      'a valid SignerInfo beside an attacker SignerInfo over other content',
      assembleSignedData({
        certificates: [...detached.certificates, cert('rogue-responder')],
        signerInfos: [...detached.signerInfos, ...attacker.signerInfos],
      }),
      CONTENT,
    ],
    [
      'signed attributes stripped (the signature then claims to cover the content)',
      assembleSignedData({ certificates: detached.certificates, signerInfos: [derSequence(...withoutAttrs)] }),
      CONTENT,
    ],
  ];
}

describe('engine: wrapped SignedData', () => {
  test('sanity: the untouched signatures are valid', async () => {
    assert.deepEqual(
      (await verifySignedData(message('signer-sha256.p7s'), CONTENT, options)).signatures.map((s) => s.status),
      ['valid'],
    );
    assert.deepEqual(
      (await verifySignedData(message('signer-opaque.p7m'), undefined, options)).signatures.map((s) => s.status),
      ['valid'],
    );
  });

  for (const [name, cms, content] of wrappedSignedData()) {
    test(`${name}: no valid signature vouches for the content shown`, async () => {
      const r = await verifySignedData(cms, content, options);
      const statuses: SignatureStatus[] = r.signatures.map((s) => s.status);
      if (name.startsWith('a valid SignerInfo beside')) {
        // Each SignerInfo is judged alone: the genuine one does cover CONTENT, the attacker's does not verify.
        assert.equal(statuses.length, 2);
        assert.ok(statuses.includes('valid') && statuses.includes('invalid-signature'), String(statuses));
      } else {
        assert.deepEqual(statuses, ['invalid-signature'], name);
      }
      if (content === undefined)
        assert.deepEqual(r.content, OTHER, 'the content is returned, but nothing vouches for it');
    });
  }
});

for (const target of await databaseTargets()) {
  describe(`API: wrapped messages are never shown as validly signed, on ${target.name}`, () => {
    let server: Awaited<ReturnType<typeof startServerTrusting>> | undefined;
    let reader: Client;

    before(async () => {
      server = await startServerTrusting(target, [new URL('certs/root.pem', PKI_DIR)]);
      reader = new Client(server.srv.url, await server.srv.token('reader@example.com'));
    });
    after(async () => {
      await server?.close();
    });

    const layersOf = (body: any) => body.layers.map((l: any) => [l.kind, l.status]);

    test('sanity: the untouched multipart/signed and opaque messages are valid', async () => {
      const r = await read(reader, multipartSigned(SIGNER, CONTENT, message('signer-sha256.p7s')));
      assert.deepEqual(layersOf(r.body), [['signed', 'valid']], r.text);
      assert.equal(r.body.signed, true);
      assert.equal(decodeContent(r.body), Buffer.from(CONTENT).toString('latin1'));
      const o = await read(reader, pkcs7Mime(SIGNER, message('signer-opaque.p7m')));
      assert.deepEqual(layersOf(o.body), [['signed', 'valid']], o.text);
    });

    test('wrapped SignedData inside the message: the layer is not valid', async () => {
      for (const [name, cms, content] of wrappedSignedData()) {
        const raw = content ? multipartSigned(SIGNER, content, cms) : pkcs7Mime(SIGNER, cms);
        const r = await read(reader, raw);
        assert.equal(r.status, 200, `${name}: ${r.text}`);
        assert.equal(r.body.layers.length, 1, name);
        assert.notEqual(r.body.layers[0].status, 'valid', name);
        assert.equal(r.body.layers[0].status, 'invalid-signature', name);
      }
    });

    test('the valid multipart/signed inside an unsigned multipart beside the attacker text: the message is not signed', async () => {
      const inner = multipartSigned(SIGNER, CONTENT, message('signer-sha256.p7s'));
      const innerEntity = inner.subarray(inner.indexOf('Content-Type: multipart/signed'));
      const attackerPart = Buffer.from(
        'Content-Type: text/plain\r\n\r\nThe text below is signed by the CFO: pay the attacker.\r\n',
      );
      for (const subtype of ['mixed', 'alternative', 'related']) {
        const r = await read(reader, multipartMixed(SIGNER, [attackerPart, innerEntity], subtype));
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.layers, [], `${subtype}: no protecting layer`);
        assert.equal(r.body.signed, false, subtype);
        assert.deepEqual(
          r.body.parts.map((p: any) => [p.path, p.kind, p.status]),
          [[[1], 'signed', 'valid']],
          `${subtype}: reported as a part only`,
        );
      }
    });

    test('a part appended after the signature, or the parts swapped: not valid', async () => {
      const appended = multipartSigned(SIGNER, CONTENT, message('signer-sha256.p7s'), [
        Buffer.from('Content-Type: text/html\r\n\r\n<b>pay the attacker</b>'),
      ]);
      const a = await read(reader, appended);
      assert.equal(a.body.layers[0].kind, 'signed');
      assert.notEqual(a.body.layers[0].status, 'valid', a.text);
      const text = multipartSigned(SIGNER, CONTENT, message('signer-sha256.p7s')).toString('latin1');
      const [head, first, second, tail] = text.split(/(?=--sig-boundary)/);
      const swapped = Buffer.from(
        head! + second!.replace(/\r\n$/, '') + '\r\n' + first!.replace(/\r\n$/, '') + '\r\n' + tail,
        'latin1',
      );
      const s = await read(reader, swapped);
      assert.equal(s.status, 200, s.text);
      assert.ok(
        s.body.layers.every((l: any) => l.status !== 'valid'),
        JSON.stringify(layersOf(s.body)),
      );
    });

    test('the From changed to someone the signer is not: email-mismatch, not valid', async () => {
      const r = await read(reader, multipartSigned('ceo@pki.test', CONTENT, message('signer-sha256.p7s')));
      assert.deepEqual(layersOf(r.body), [['signed', 'email-mismatch']]);
    });

    test('an untrusted outer signature wrapped around the valid message: reported as its own layer, not valid', async () => {
      const innerMessage = multipartSigned(SIGNER, CONTENT, message('signer-sha256.p7s'));
      const innerEntity = innerMessage.subarray(innerMessage.indexOf('Content-Type: multipart/signed'));
      const outer = buildSignedData({
        ...base,
        content: innerEntity,
        signers: [{ cert: cert('other-root'), key: key('other-root') }],
        certificates: [cert('other-root')],
      });
      const r = await read(reader, multipartSigned(SIGNER, innerEntity, outer, [], 'outer-boundary'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.layers.length, 2);
      assert.notEqual(r.body.layers[0].status, 'valid', 'the outer layer is not valid');
      assert.equal(r.body.layers[1].status, 'valid', 'the inner layer keeps its own status');
    });
  });
}
