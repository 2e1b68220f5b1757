/**
 * The evidence trial decryption asks for before it calls random-looking plaintext decrypted
 * (backend/src/smime/cms/enveloped/entity-shape.ts): a MIME header section ended by an empty line. What real clients
 * write passes (the corpus, through trial decryption, in test/interop/corpus.test.ts); random bytes, which is what a
 * wrong key gives under PKCS #1 v1.5 implicit rejection, do not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startsWithHeaderSection } from '../../backend/src/smime/cms/enveloped/entity-shape.ts';
import { Rng } from '../helpers/rng.ts';

const bytes = (s: string) => Buffer.from(s, 'latin1');

test('header sections real clients write are accepted', () => {
  for (const text of [
    'Content-Type: text/plain\r\n\r\nhello\r\n',
    'Content-Type: text/plain\n\nhello\n',
    'Content-Type: multipart/mixed;\r\n boundary="b"\r\n\tcharset=utf-8\r\nMIME-Version: 1.0\r\n\r\n--b--\r\n',
    'Subject: caf\u00e9 \u00fcber\r\n\r\n', // 8-bit value (RFC 6532, here latin1 bytes)
    'Subject: \u001b$B$3$s\u001b(B\r\n\r\n', // raw ISO-2022-JP
    'X-Empty:\r\n\r\nbody',
    'Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n\u0000\u0001binary body',
  ])
    assert.equal(startsWithHeaderSection(bytes(text)), true, JSON.stringify(text));
  const long = `X-Long: ${'a'.repeat(70_000)}`; // no end within the scanned 64 KiB, well formed all the way
  assert.equal(startsWithHeaderSection(bytes(long)), true);
});

test('anything else is refused', () => {
  for (const text of [
    '',
    '\r\n\r\nbody', // no field
    ' folded: first\r\n\r\n', // a folded line before any field
    ':value\r\n\r\n', // empty field name
    'Content Type: text/plain\r\n\r\n', // space inside the name
    'Content-Type: text/plain', // the header never ends
    'Content-Type: text/plain\r\n', // ... nor here
    'Content-Type: text/plain\r\nbody without a colon\r\n\r\n',
    'Content-Type: text/\u0000plain\r\n\r\n', // NUL in a value
    'Content-Type: text/plain\rX: y\r\n\r\n', // bare CR
    'Content-Type: text/\u007fplain\r\n\r\n', // DEL
    `X-Long: ${'a'.repeat(60_000)}`, // ends within the scanned part, still in its header
  ])
    assert.equal(startsWithHeaderSection(bytes(text)), false, JSON.stringify(text));
});

test('random bytes (what a wrong key decrypts to) are refused', () => {
  // 400,000 buffers of the lengths a short message's last blocks leave. The earlier check (a first line starting
  // `name:`) accepted about 1 in 450 of these: the count of such buffers shows the sample reaches that far.
  const rng = new Rng(0x5eed);
  let firstLineLooksRight = 0;
  let accepted = 0;
  for (let i = 0; i < 400_000; i++) {
    const b = rng.bytes(1 + rng.int(96));
    if (/^[\x21-\x39\x3b-\x7e]+:/.test(Buffer.from(b).toString('latin1'))) firstLineLooksRight++;
    if (startsWithHeaderSection(b)) accepted++;
  }
  assert.ok(firstLineLooksRight > 400, `${firstLineLooksRight} buffers start like a header field`);
  assert.equal(accepted, 0);
});
