/**
 * Attack: mismatched eContent. A CMS SignedData can carry its own content (eContent) and name its type twice: in
 * eContentType and in the signed contentType attribute. The attacker makes the two disagree with what the reader
 * shows: a detached multipart/signed whose p7s also carries an eContent (the signature covers the eContent, the
 * reader renders the MIME part: Thunderbird's mismatch-econtent test), or a SignedData whose eContentType differs
 * from the contentType attribute the signature covers (RFC 5652 section 11.1), or content of another type signed
 * without attributes.
 *
 * Defence (backend/src/smime/cms/signed/verify.ts): a detached signature that carries eContent is 'invalid-signature' whatever
 * the eContent says (RFC 5652 section 5.2: detached means absent); the contentType attribute must equal eContentType;
 * content other than id-data must have signed attributes. The content shown is always the content verified.
 *
 * What the test proves: each variant is not valid in the engine, with the failing check named, and through POST
 * /messages/incoming (both databases) for our test PKI and for the four corpus messages, whose answer shows the MIME
 * part and never the hidden eContent. The engine cases were moved here from test/smime/verify-tampering.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { children, encoding, explicit, readOne, sequence, setOf } from '../../backend/src/smime/asn1/reader.ts';
import { decodeBody, parseEntity } from '../../backend/src/smime/mime/index.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, INTERMEDIATE, PKI_DIR, PKI_NOW, ROOT, cert, key, message } from '../fixtures/pki/pki.ts';
import { assembleSignedData, buildSignedData, type SignedDataSpec } from '../fixtures/pki/signed-data-builder.ts';
import { Client } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  CORPUS_CA,
  decodeContent,
  multipartSigned,
  pkcs7Mime,
  read,
  thunderbird,
  startServerTrusting,
} from './world.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

const OTHER = new Uint8Array(
  Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nPay 1000 EUR to the attacker.\r\n', 'latin1'),
);
const SIGNER = 'signer@pki.test';
const OID_AUTH_DATA = '1.2.840.113549.1.9.16.1.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const options = { trustAnchors: [ROOT], now: PKI_NOW, fromAddresses: [SIGNER] };
const NO_CORPUS = corpusUnavailable("the cases with Thunderbird's mismatch-econtent messages");
const CORPUS = ['SHA1', 'SHA256', 'SHA384', 'SHA512'].map(
  (d) => `mailnews-test-data-smime/alice.dsig.${d}.multipart.mismatch-econtent.eml`,
);

function partsOf(cms: Uint8Array): { certificates: Uint8Array[]; signerInfos: Uint8Array[] } {
  const info = sequence(readOne(cms, 'ContentInfo'), 'ContentInfo');
  const sd = sequence(explicit(info[1], 0, 'content'), 'SignedData');
  const certsNode = sd.find((n) => n.cls === 2 && n.tag === 0);
  return {
    certificates: certsNode ? children(certsNode).map(encoding) : [],
    signerInfos: setOf(sd[sd.length - 1], 'signerInfos').map(encoding),
  };
}

const base: SignedDataSpec = {
  content: CONTENT,
  detached: false,
  signers: [{ cert: cert('signer'), key: key('signer'), signingTime: new Date('2026-11-24T00:00:00Z') }],
  certificates: [cert('signer'), INTERMEDIATE],
};

/** [name, SignedData, detached content shown beside it (undefined: opaque), the check that must fail]. */
function variants(): [string, Uint8Array, Uint8Array | undefined, string][] {
  const detached = partsOf(message('signer-sha256.p7s'));
  const opaque = partsOf(message('signer-opaque.p7m'));
  return [
    [
      'detached p7s carrying other text as eContent',
      assembleSignedData({ eContent: OTHER, ...detached }),
      CONTENT,
      'message-digest',
    ],
    // Even the signed text itself: detached means no eContent (RFC 5652 section 5.2), so nothing is ambiguous.
    [
      'detached p7s carrying the signed text itself as eContent',
      assembleSignedData({ eContent: CONTENT, ...detached }),
      CONTENT,
      'message-digest',
    ],
    [
      'opaque: eContentType changed, the contentType attribute kept',
      assembleSignedData({ eContent: CONTENT, eContentType: OID_TST_INFO, ...opaque }),
      undefined,
      'content-type',
    ],
    [
      'opaque: signed contentType attribute differs from eContentType',
      buildSignedData({ ...base, signers: [{ ...base.signers[0]!, contentTypeAttr: OID_AUTH_DATA }] }),
      undefined,
      'content-type',
    ],
    [
      'opaque: content of another type signed without attributes',
      buildSignedData({ ...base, eContentType: OID_TST_INFO, signers: [{ ...base.signers[0]!, attributes: 'none' }] }),
      undefined,
      'structure',
    ],
  ];
}

describe('engine: eContent and its type must match what is signed and shown', () => {
  for (const [name, cms, content, check] of variants()) {
    test(`${name}: not valid, the ${check} check fails`, async () => {
      const r = await verifySignedData(cms, content, options);
      assert.equal(r.signatures.length, 1);
      const sig = r.signatures[0]!;
      assert.ok(['invalid-signature', 'malformed'].includes(sig.status), `${name}: ${sig.status}`);
      assert.equal(sig.checks.find((c) => c.name === check)?.outcome, 'fail', JSON.stringify(sig.checks));
      if (content !== undefined)
        assert.equal(r.content, undefined, 'a detached verification never hands back the eContent');
    });
  }

  test(
    'corpus: each mismatch-econtent message is refused by the engine, the hidden eContent differs from the part',
    { skip: NO_CORPUS },
    async () => {
      for (const file of CORPUS) {
        const entity = parseEntity(new Uint8Array(thunderbird(file)));
        const cms = decodeBody(entity.children[1]!);
        const r = await verifySignedData(cms, entity.children[0]!.raw, {
          trustAnchors: [],
          now: new Date('2026-11-22T00:00:00Z'),
        });
        assert.equal(r.signatures[0]!.status, 'invalid-signature', file);
        assert.match(
          r.signatures[0]!.checks.find((c) => c.name === 'message-digest')!.detail ?? '',
          /carries its own content/,
        );
      }
    },
  );
});

for (const target of await databaseTargets()) {
  describe(`API: mismatched eContent is not valid and never shown, on ${target.name}`, () => {
    let server: Awaited<ReturnType<typeof startServerTrusting>> | undefined;
    let reader: Client;

    before(async () => {
      server = await startServerTrusting(target, [new URL('certs/root.pem', PKI_DIR), CORPUS_CA]);
      reader = new Client(server.srv.url, await server.srv.token('reader@example.com'));
    });
    after(async () => {
      await server?.close();
    });

    test('test PKI variants: the layer is not valid; a detached one shows the MIME part, never the eContent', async () => {
      const sane = await read(reader, multipartSigned(SIGNER, CONTENT, message('signer-sha256.p7s')));
      assert.equal(sane.body.layers[0].status, 'valid', `sanity: ${sane.text}`);
      for (const [name, cms, content] of variants()) {
        const r = await read(reader, content ? multipartSigned(SIGNER, content, cms) : pkcs7Mime(SIGNER, cms));
        assert.equal(r.status, 200, `${name}: ${r.text}`);
        assert.ok(
          ['invalid-signature', 'malformed'].includes(r.body.layers[0].status),
          `${name}: ${r.body.layers[0].status}`,
        );
        assert.equal(r.body.signed, true, 'reported as a signed layer, with its failure');
        if (content) {
          assert.equal(decodeContent(r.body), Buffer.from(content).toString('latin1'), name);
          assert.ok(!decodeContent(r.body).includes('Pay 1000 EUR'), `${name}: the hidden eContent is not shown`);
        }
      }
    });

    test(
      "corpus: Thunderbird's four mismatch-econtent messages are invalid-signature and show the MIME part",
      { skip: NO_CORPUS },
      async () => {
        for (const file of CORPUS) {
          const raw = thunderbird(file);
          const r = await read(reader, raw);
          assert.equal(r.status, 200, r.text);
          assert.equal(r.body.layers.length, 1, file);
          assert.equal(r.body.layers[0].status, 'invalid-signature', file);
          const part = parseEntity(new Uint8Array(raw)).children[0]!.raw;
          assert.equal(
            decodeContent(r.body),
            Buffer.from(part).toString('latin1'),
            `${file}: the MIME part is what is shown`,
          );
          assert.deepEqual(r.body.harvested, [], `${file}: nothing harvested from a failed signature`);
        }
      },
    );
  });
}
