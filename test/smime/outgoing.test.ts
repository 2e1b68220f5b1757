// protectMessage (issue 3): how the protected message is composed (RFC 8551 section 3). Transport fields stay outside
// byte for byte, Bcc goes, Content-* moves inside; the bytes signed are the bytes sent; attachments survive exactly;
// sign-then-encrypt hands the signed entity to encryptFn and wraps its answer as the right smime-type; the real
// envelope (envelope.ts) round-trips through `openssl cms -decrypt` and `-verify`; every input problem has its code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rejectsWith } from '../helpers/assert.ts';
import * as asn1js from 'asn1js';
import { encryptEnvelope, type ContentCipher } from '../../backend/src/smime/cms/enveloped/index.ts';
import type { SmimeErrorCode } from '../../backend/src/smime/errors.ts';
import {
  decodeBody,
  getHeader,
  parseEntity,
  splitMessageHeaders,
  toSignable,
  type MimeEntity,
  type MimeHeader,
} from '../../backend/src/smime/mime/index.ts';
import { protectMessage, type ProtectOptions } from '../../backend/src/smime/message/outgoing.ts';
import { certificateToPem } from '../../backend/src/smime/x509/pem.ts';
import type { Signer } from '../../backend/src/smime/cms/signed/sign.ts';
import {
  FIXTURE_CA_PEM,
  fixtureEcSigner,
  fixtureRsaSigner,
  outgoingCertificate,
  outgoingMessage,
} from '../fixtures/outgoing/signers.ts';

const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const OID_AUTH_ENVELOPED_DATA = '1.2.840.113549.1.9.16.1.23';
const OID_DATA = '1.2.840.113549.1.7.1';

const MESSAGES = ['utf8-lf.eml', 'mixed-attachment.eml', 'alternative-related.eml'];
const rsa = fixtureRsaSigner();

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'smime-outgoing-'));
  writeFileSync(join(work, 'ca.pem'), FIXTURE_CA_PEM);
  writeFileSync(join(work, 'rsa.crt'), certificateToPem(rsa.certificate));
  writeFileSync(join(work, 'rsa.key'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const ec = fixtureEcSigner();
  writeFileSync(join(work, 'ec.crt'), certificateToPem(ec.certificate));
  writeFileSync(join(work, 'ec.key'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
});
after(() => rmSync(work, { recursive: true, force: true }));

function openssl(args: string[], input: Uint8Array): { ok: boolean; out: Buffer; err: string } {
  const r = spawnSync('openssl', ['cms', ...args], { input, maxBuffer: 1 << 28 });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr.toString() };
}

/** A ContentInfo the test recognises: { contentType, [0] EXPLICIT OCTET STRING marker }, made with asn1js. */
function fakeContentInfo(contentType: string, marker: string): Uint8Array {
  const seq = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: contentType }),
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [new asn1js.OctetString({ valueHex: Buffer.from(marker) })],
      }),
    ],
  });
  return new Uint8Array(seq.toBER(false));
}

function canonicalEntity(message: Uint8Array): Buffer {
  return Buffer.from(toSignable(splitMessageHeaders(message).entity));
}

const isContentHeader = (h: MimeHeader) => h.name.toLowerCase().startsWith('content-');
const crlf = (b: Uint8Array) => Buffer.from(Buffer.from(b).toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

/** The header fields that stay outside: everything but Content-*, MIME-Version and Bcc, as CRLF bytes, in order. */
function expectedTransport(message: Uint8Array): string[] {
  return parseEntity(message)
    .headers.filter((h) => !isContentHeader(h) && !['mime-version', 'bcc', 'resent-bcc'].includes(h.name.toLowerCase()))
    .map((h) => crlf(h.raw).toString('latin1'));
}

function assertCrlfAnd7bitBody(out: Uint8Array, from: number): void {
  const text = Buffer.from(out).subarray(from).toString('latin1');
  assert.ok(!/[^\r]\n/.test(text) && !/\r[^\n]/.test(text), 'CRLF line endings only');
  assert.ok(!/[\x80-\xff\0]/.test(text), '7-bit, no NUL');
  for (const line of text.split('\r\n')) assert.ok(line.length <= 998, 'line within 998 octets');
}

function assertBase64Lines(body: Uint8Array): void {
  const lines = Buffer.from(body).toString('latin1').replace(/\r\n$/, '').split('\r\n');
  for (const [i, line] of lines.entries()) {
    assert.match(line, /^[A-Za-z0-9+/=]+$/);
    if (i < lines.length - 1) assert.equal(line.length, 76, 'base64 lines of 76 characters');
    else assert.ok(line.length <= 76);
  }
}

// ---- composition -------------------------------------------------------------------------------------------------

describe('composition: transport headers outside, Bcc dropped, Content-* inside, canonical content signed', () => {
  for (const name of MESSAGES) {
    for (const format of ['multipart-signed', 'opaque'] as const) {
      test(`${name}, ${format}`, async () => {
        const input = outgoingMessage(name);
        const out = await protectMessage(input, { sign: { signer: rsa, format } });
        const top = parseEntity(out);

        // Outside: the transport fields exactly as given (CRLF), in order, then one MIME-Version: 1.0.
        const outside = top.headers.filter((h) => !isContentHeader(h) && h.name.toLowerCase() !== 'mime-version');
        assert.deepEqual(
          outside.map((h) => Buffer.from(h.raw).toString('latin1')),
          expectedTransport(input),
        );
        assert.deepEqual(
          top.headers.filter((h) => h.name.toLowerCase() === 'mime-version').map((h) => h.value),
          ['1.0'],
        );
        assert.ok(!top.headers.some((h) => /^(resent-)?bcc$/i.test(h.name)), 'no Bcc field');
        assert.equal(Buffer.from(out).indexOf('hidden@example.com'), -1, 'the Bcc address appears nowhere');
        assertCrlfAnd7bitBody(out, top.headerBytes.length);

        // The input's Content-* fields are inside, not outside.
        const inputContent = parseEntity(input)
          .headers.filter(isContentHeader)
          .map((h) => h.name.toLowerCase());
        const canonical = canonicalEntity(input);
        const innerNames = parseEntity(canonical).headers.map((h) => h.name.toLowerCase());
        for (const n of inputContent) assert.ok(innerNames.includes(n), `${n} moved inside`);
        assert.ok(
          innerNames.every((n) => n.startsWith('content-')),
          'nothing but Content-* inside',
        );

        if (format === 'multipart-signed') {
          assert.deepEqual(
            top.headers.filter(isContentHeader).map((h) => h.name),
            ['Content-Type'],
          );
          assert.equal(top.contentType.mediaType, 'multipart/signed');
          assert.equal(top.contentType.params.protocol, 'application/pkcs7-signature');
          assert.equal(top.contentType.params.micalg, 'sha-256');
          assert.equal(top.children.length, 2);
          const [signed, signature] = top.children as [MimeEntity, MimeEntity];
          // The exact bytes signed are the exact bytes of the first part.
          assert.ok(Buffer.from(signed.raw).equals(canonical), 'first part = canonical entity');
          assert.deepEqual(
            signature.headers.map((h) => `${h.name}: ${h.value}`),
            [
              'Content-Type: application/pkcs7-signature; name=smime.p7s',
              'Content-Transfer-Encoding: base64',
              'Content-Disposition: attachment; filename=smime.p7s',
              'Content-Description: S/MIME Cryptographic Signature',
            ],
          );
          assertBase64Lines(signature.body);
        } else {
          assert.deepEqual(
            top.headers.filter(isContentHeader).map((h) => `${h.name}: ${h.value}`),
            [
              'Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m',
              'Content-Transfer-Encoding: base64',
              'Content-Disposition: attachment; filename=smime.p7m',
              'Content-Description: S/MIME Signed Message',
            ],
          );
          assertBase64Lines(top.body);
        }
        const verified = openssl(['-verify', '-CAfile', join(work, 'ca.pem')], out);
        assert.ok(verified.ok, verified.err);
        assert.ok(verified.out.equals(canonical));
      });
    }
  }
});

test('attachments survive byte-exactly: an already canonical multipart/mixed is signed as it is', async () => {
  const input = outgoingMessage('mixed-attachment.eml');
  const { entity } = splitMessageHeaders(input);
  const out = await protectMessage(input, { sign: { signer: rsa } });
  const signed = parseEntity(out).children[0]!;
  assert.ok(Buffer.from(signed.raw).equals(Buffer.from(entity)), 'the content entity, not one byte changed');
  const pdfIn = decodeBody(parseEntity(input).children[1]!);
  const pdfOut = decodeBody(signed.children[1]!);
  assert.ok(pdfOut.length > 10_000);
  assert.ok(Buffer.from(pdfOut).equals(Buffer.from(pdfIn)), 'the attachment decodes to the same bytes');
  assert.equal(getHeader(signed.children[1]!, 'content-disposition'), 'attachment; filename="report.pdf"');
});

test('an 8-bit multipart is re-encoded part by part, and every part decodes to what the host gave', async () => {
  const input = outgoingMessage('alternative-related.eml');
  const out = await protectMessage(input, { sign: { signer: rsa } });
  const signed = parseEntity(out).children[0]!;
  const leaves = (e: MimeEntity): MimeEntity[] => (e.children.length ? e.children.flatMap(leaves) : [e]);
  const before = leaves(parseEntity(input));
  const after = leaves(signed);
  assert.equal(after.length, 3);
  for (const [i, leaf] of after.entries()) {
    const expected = Buffer.from(decodeBody(before[i]!));
    const got = Buffer.from(decodeBody(leaf));
    // Text gets CRLF line breaks (RFC 8551 section 3.1.1); binary stays byte for byte.
    assert.ok(
      got.equals(leaf.contentType.type === 'text' ? crlf(expected) : expected),
      `part ${i} (${leaf.contentType.mediaType})`,
    );
  }
});

test('header fields outside are kept as the host gave them: encoded words, raw UTF-8, folding; Resent-Bcc goes too', async () => {
  const input = Buffer.from(
    'From: =?UTF-8?Q?J=C3=BCrgen?= <rsa-user@example.com>\r\n' +
      'To: Ünal <u@example.com>,\r\n   second@example.com\r\n' +
      'Subject: Grüße — raw UTF-8 (RFC 6532)\r\n' +
      'Resent-Bcc: blind@example.com\r\n' +
      'X-Custom:   spaced   value  \r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      '\r\n' +
      'hi\r\n',
  );
  const out = Buffer.from(await protectMessage(input, { sign: { signer: rsa } }));
  const head = out.subarray(0, out.indexOf('MIME-Version:')).toString('utf8');
  assert.equal(
    head,
    'From: =?UTF-8?Q?J=C3=BCrgen?= <rsa-user@example.com>\r\n' +
      'To: Ünal <u@example.com>,\r\n   second@example.com\r\n' +
      'Subject: Grüße — raw UTF-8 (RFC 6532)\r\n' +
      'X-Custom:   spaced   value  \r\n',
  );
  assert.equal(out.indexOf('blind@example.com'), -1);
});

// ---- sign, encrypt, both -------------------------------------------------------------------------------------------

describe('encryption: encryptFn gets the (signed) entity; its answer is wrapped as smime.p7m', () => {
  const input = outgoingMessage('utf8-lf.eml');
  const CASES: {
    label: string;
    options: (fn: ProtectOptions['encrypt']) => ProtectOptions;
    auth: boolean;
    inner: string;
  }[] = [
    { label: 'encrypt only', options: (encrypt) => ({ encrypt }), auth: false, inner: 'text/plain' },
    {
      label: 'sign (multipart/signed) then encrypt',
      options: (encrypt) => ({ sign: { signer: rsa }, encrypt }),
      auth: false,
      inner: 'multipart/signed',
    },
    {
      label: 'sign (opaque) then encrypt',
      options: (encrypt) => ({ sign: { signer: rsa, format: 'opaque' }, encrypt }),
      auth: false,
      inner: 'application/pkcs7-mime',
    },
    {
      label: 'sign then encrypt, AuthEnvelopedData',
      options: (encrypt) => ({ sign: { signer: rsa }, encrypt }),
      auth: true,
      inner: 'multipart/signed',
    },
  ];
  for (const c of CASES) {
    test(c.label, async () => {
      const fake = fakeContentInfo(c.auth ? OID_AUTH_ENVELOPED_DATA : OID_ENVELOPED_DATA, `FAKE ENVELOPE ${c.label}`);
      const seen: Uint8Array[] = [];
      const out = await protectMessage(input, {
        ...c.options({
          encryptFn: async (content) => {
            seen.push(content);
            return fake;
          },
          authEnveloped: c.auth,
        }),
      });
      assert.equal(seen.length, 1, 'encryptFn called once');
      const top = parseEntity(out);
      assert.deepEqual(
        top.headers.filter(isContentHeader).map((h) => `${h.name}: ${h.value}`),
        [
          `Content-Type: application/pkcs7-mime; smime-type=${c.auth ? 'authEnveloped-data' : 'enveloped-data'}; name=smime.p7m`,
          'Content-Transfer-Encoding: base64',
          'Content-Disposition: attachment; filename=smime.p7m',
          'Content-Description: S/MIME Encrypted Message',
        ],
      );
      assertBase64Lines(top.body);
      assert.ok(
        Buffer.from(decodeBody(top)).equals(Buffer.from(fake)),
        'the body is encryptFn’s answer, byte for byte',
      );
      assert.deepEqual(
        top.headers
          .filter((h) => !isContentHeader(h) && h.name.toLowerCase() !== 'mime-version')
          .map((h) => crlf(h.raw).toString('latin1')),
        expectedTransport(input),
      );
      assert.equal(Buffer.from(out).indexOf('hidden@example.com'), -1);

      // What was encrypted: the canonical entity, or the signed entity around it, which verifies on its own.
      const inner = parseEntity(seen[0]!);
      assert.equal(inner.contentType.mediaType, c.inner);
      const canonical = canonicalEntity(input);
      if (c.inner === 'text/plain') assert.ok(Buffer.from(seen[0]!).equals(canonical));
      else {
        const verified = openssl(
          ['-verify', '-CAfile', join(work, 'ca.pem')],
          Buffer.concat([Buffer.from('MIME-Version: 1.0\r\n'), seen[0]!]),
        );
        assert.ok(verified.ok, verified.err);
        assert.ok(verified.out.equals(canonical));
      }
    });
  }

  const BAD: { label: string; answer: () => unknown; auth?: boolean }[] = [
    {
      label: 'EnvelopedData announced as AuthEnvelopedData',
      answer: () => fakeContentInfo(OID_ENVELOPED_DATA, 'x'),
      auth: true,
    },
    {
      label: 'AuthEnvelopedData announced as EnvelopedData',
      answer: () => fakeContentInfo(OID_AUTH_ENVELOPED_DATA, 'x'),
    },
    { label: 'a ContentInfo of data', answer: () => fakeContentInfo(OID_DATA, 'x') },
    {
      label: 'trailing bytes after the ContentInfo',
      answer: () => Buffer.concat([fakeContentInfo(OID_ENVELOPED_DATA, 'x'), Buffer.of(0)]),
    },
    { label: 'a truncated ContentInfo', answer: () => fakeContentInfo(OID_ENVELOPED_DATA, 'xyz').subarray(0, 10) },
    { label: 'not DER at all', answer: () => Buffer.from('-----BEGIN PKCS7-----') },
    { label: 'not bytes', answer: () => 'MIAGCSqGSIb3DQEHA6CAMIACAQAx' },
  ];
  for (const b of BAD) {
    test(`encryptFn returns ${b.label}: OUTGOING_ENCRYPT_RESULT_INVALID`, async () => {
      await rejectsWith(
        protectMessage(input, {
          encrypt: { encryptFn: async () => b.answer() as Uint8Array, authEnveloped: b.auth ?? false },
        }),
        'OUTGOING_ENCRYPT_RESULT_INVALID',
      );
    });
  }

  test('encryptFn fails: its error comes out, nothing else', async () => {
    const boom = new Error('no certificate for carol');
    await assert.rejects(
      protectMessage(input, { sign: { signer: rsa }, encrypt: { encryptFn: () => Promise.reject(boom) } }),
      (e) => e === boom,
    );
  });

  test('signing fails (expired certificate): encryptFn is never called', async () => {
    let called = false;
    const encryptFn = async () => {
      called = true;
      return fakeContentInfo(OID_ENVELOPED_DATA, 'x');
    };
    const expired = { ...rsa, certificate: outgoingCertificate('expired') };
    await rejectsWith(
      protectMessage(input, { sign: { signer: expired }, encrypt: { encryptFn } }),
      'SIGN_CERT_EXPIRED',
    );
    assert.equal(called, false);
  });
});

describe('with the real envelope (envelope.ts): openssl cms -decrypt, then -verify the inner signature', () => {
  const input = outgoingMessage('mixed-attachment.eml');
  const CIPHERS: ContentCipher[] = ['aes-256-cbc', 'aes-128-gcm', 'aes-256-gcm'];
  for (const cipher of CIPHERS) {
    test(cipher, async () => {
      const ec = fixtureEcSigner();
      const out = await protectMessage(input, {
        sign: { signer: rsa },
        encrypt: {
          encryptFn: (content) =>
            encryptEnvelope(content, [{ certificate: rsa.certificate }, { certificate: ec.certificate }], { cipher }),
          authEnveloped: cipher.endsWith('-gcm'),
        },
      });
      for (const who of ['rsa', 'ec']) {
        const decrypted = openssl(
          ['-decrypt', '-inkey', join(work, `${who}.key`), '-recip', join(work, `${who}.crt`)],
          out,
        );
        assert.ok(decrypted.ok, `${who}: ${decrypted.err}`);
        assert.equal(parseEntity(decrypted.out).contentType.mediaType, 'multipart/signed');
        const verified = openssl(
          ['-verify', '-CAfile', join(work, 'ca.pem')],
          Buffer.concat([Buffer.from('MIME-Version: 1.0\r\n'), decrypted.out]),
        );
        assert.ok(verified.ok, verified.err);
        assert.ok(verified.out.equals(canonicalEntity(input)));
      }
    });
  }
});

// ---- refusals ----------------------------------------------------------------------------------------------------

describe('input problems: an OUTGOING_* code naming the problem, nothing produced', () => {
  const ok = 'From: rsa-user@example.com\r\nTo: b@example.com\r\nSubject: s\r\n';
  const deep = (levels: number) =>
    Array.from({ length: levels }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`).join(
      '',
    ) + 'Content-Type: text/plain\r\n\r\nx\r\n';
  const CASES: { label: string; raw: Buffer; code: SmimeErrorCode }[] = [
    { label: 'empty input', raw: Buffer.alloc(0), code: 'OUTGOING_NOT_RFC5322' },
    {
      label: 'plain text, no header fields',
      raw: Buffer.from('Dear Bob,\r\nhello.\r\n'),
      code: 'OUTGOING_NOT_RFC5322',
    },
    {
      label: 'no From',
      raw: Buffer.from('To: b@example.com\r\nSubject: s\r\n\r\nbody\r\n'),
      code: 'OUTGOING_NOT_RFC5322',
    },
    {
      label: 'two From fields',
      raw: Buffer.from(`${ok}From: x@example.com\r\n\r\nbody\r\n`),
      code: 'OUTGOING_NOT_RFC5322',
    },
    {
      label: 'a continuation line before any field',
      raw: Buffer.from(` folded\r\n${ok}\r\nbody\r\n`),
      code: 'OUTGOING_NOT_RFC5322',
    },
    {
      label: 'a non-field line inside the header block',
      raw: Buffer.from(`${ok}this is not a field\r\n\r\nbody\r\n`),
      code: 'OUTGOING_NOT_RFC5322',
    },
    { label: 'header fields only, no empty line', raw: Buffer.from(ok), code: 'OUTGOING_NO_BODY' },
    { label: 'an empty body', raw: Buffer.from(`${ok}\r\n`), code: 'OUTGOING_NO_BODY' },
    {
      label: 'Latin-1 bytes in Subject',
      raw: Buffer.concat([
        Buffer.from('From: rsa-user@example.com\r\nSubject: Gr'),
        Buffer.of(0xfc, 0xdf),
        Buffer.from('e\r\n\r\nbody\r\n'),
      ]),
      code: 'OUTGOING_8BIT_HEADER',
    },
    {
      label: 'Latin-1 bytes in a Content-Disposition filename',
      raw: Buffer.concat([
        Buffer.from(`${ok}Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="K`),
        Buffer.of(0xf6),
        Buffer.from('ln.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n'),
      ]),
      code: 'OUTGOING_8BIT_HEADER',
    },
    {
      label: 'NUL in a header field',
      raw: Buffer.from(`${ok}X-A: a\0b\r\n\r\nbody\r\n`),
      code: 'OUTGOING_INVALID_HEADER',
    },
    {
      label: 'lone CR in a header field',
      raw: Buffer.from(`${ok}X-A: a\rBcc: leak@example.com\r\n\r\nbody\r\n`),
      code: 'OUTGOING_INVALID_HEADER',
    },
    {
      label: 'base64-encoded multipart (RFC 2045 section 6.4)',
      raw: Buffer.from(
        `${ok}Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: base64\r\n\r\nLS1iDQo=\r\n`,
      ),
      code: 'OUTGOING_CANNOT_CANONICALIZE',
    },
    {
      label: 'an embedded multipart/signed with 8-bit content',
      raw: Buffer.from(
        `${ok}Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n` +
          'Content-Type: multipart/signed; boundary=s; protocol="application/pkcs7-signature"\r\n\r\n' +
          '--s\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n--s--\r\n--o--\r\n',
      ),
      code: 'OUTGOING_CANNOT_CANONICALIZE',
    },
    { label: 'multiparts nested 40 deep', raw: Buffer.from(`${ok}${deep(40)}`), code: 'OUTGOING_TOO_LARGE' },
  ];
  for (const c of CASES) {
    test(`${c.label}: ${c.code}`, async () => {
      let called = false;
      await rejectsWith(
        protectMessage(c.raw, {
          sign: { signer: rsa },
          encrypt: {
            encryptFn: async () => {
              called = true;
              return fakeContentInfo(OID_ENVELOPED_DATA, 'x');
            },
          },
        }),
        c.code,
      );
      assert.equal(called, false);
    });
  }
  test('control: the same header block with a body is accepted', async () => {
    await protectMessage(Buffer.from(`${ok}\r\nbody\r\n`), { sign: { signer: rsa } });
    await protectMessage(Buffer.from(`${ok}${deep(20)}`), { sign: { signer: rsa } });
  });
});

describe('options', () => {
  const input = Buffer.from('From: rsa-user@example.com\r\n\r\nbody\r\n');
  const fn = async () => fakeContentInfo(OID_ENVELOPED_DATA, 'x');
  const CASES: { label: string; options: unknown }[] = [
    { label: 'neither sign nor encrypt', options: {} },
    { label: 'an unknown top-level option', options: { sign: { signer: rsa }, compress: true } },
    { label: 'an unknown sign option', options: { sign: { signer: rsa, micalg: 'sha-1' } } },
    { label: 'an unknown format', options: { sign: { signer: rsa, format: 'clear-signed' } } },
    {
      label: 'detached: false with multipart/signed',
      options: { sign: { signer: rsa, options: { detached: false } } },
    },
    {
      label: 'detached: true with opaque',
      options: { sign: { signer: rsa, format: 'opaque', options: { detached: true } } },
    },
    { label: 'encryptFn not a function', options: { encrypt: { encryptFn: 'aes' } } },
    { label: 'an unknown encrypt option', options: { encrypt: { encryptFn: fn, cipher: 'aes-256-gcm' } } },
    { label: 'options not an object', options: null },
  ];
  for (const c of CASES) {
    test(`${c.label}: OUTGOING_INVALID_OPTION`, async () => {
      await rejectsWith(protectMessage(input, c.options as ProtectOptions), 'OUTGOING_INVALID_OPTION');
    });
  }
  test('a signing option error comes from signContent', async () => {
    await rejectsWith(
      protectMessage(input, { sign: { signer: rsa, options: { digest: 'md5' as never } } }),
      'SIGN_INVALID_OPTION',
    );
  });
  test('micalg follows the digest', async () => {
    for (const [digest, micalg] of [
      ['sha384', 'sha-384'],
      ['sha512', 'sha-512'],
    ] as const) {
      const out = await protectMessage(input, { sign: { signer: rsa, options: { digest } } });
      assert.equal(parseEntity(out).contentType.params.micalg, micalg);
    }
  });
  test('a key that is not the certificate’s: SIGN_KEY_MISMATCH', async () => {
    await rejectsWith(
      protectMessage(input, { sign: { signer: { ...rsa, privateKey: fixtureEcSigner().privateKey } as Signer } }),
      'SIGN_KEY_MISMATCH',
    );
  });
});
