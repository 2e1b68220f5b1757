/**
 * What the fuzzer found (issue 6), each pinned by the input it found and by a minimal hand-made one: the refusal must
 * be the documented one, not merely "some result" (engine.test.ts replays every saved finding for that).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { certificatesFromPkcs7, Pkcs7Error } from '../../backend/src/directory/pkcs7.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { isMimeError, parseEntity, toSignable } from '../../backend/src/smime/mime/index.ts';
import { BerError, readTree } from '../../backend/src/smime/asn1/reader.ts';
import { loadFindings } from './runner.ts';

const findings = loadFindings();
const found = (target: string, pattern: RegExp) =>
  findings.filter((f) => f.meta.target === target && pattern.test(f.meta.error));

describe('fuzz findings', () => {
  test('a userSMIMECertificate value asn1js cannot decode (a GeneralizedTime that is not a time) is a Pkcs7Error', () => {
    const cases = found('pkcs7', /GeneralizedTime/);
    assert.ok(cases.length > 0);
    for (const f of cases) assert.throws(() => certificatesFromPkcs7(f.bytes), Pkcs7Error, f.meta.file);
    // Minimal: a GeneralizedTime (tag 0x18) holding letters.
    assert.throws(() => certificatesFromPkcs7(Uint8Array.from([0x30, 0x04, 0x18, 0x02, 0x41, 0x41])), Pkcs7Error);
  });

  test('a value running past the end of its parent is refused, not read across the boundary', () => {
    // 30 03 04 05 'AAAAA': a three-byte SEQUENCE holding a five-byte OCTET STRING. asn1js reads it without error.
    assert.throws(
      () => readTree(Uint8Array.from([0x30, 0x03, 0x04, 0x05, 0x41, 0x41, 0x41, 0x41, 0x41]), 'test'),
      BerError,
    );
    assert.throws(
      () => readTree(Uint8Array.from([0x30, 0x80, 0x04, 0x01, 0x41]), 'test'),
      BerError,
      'indefinite length without end-of-contents',
    );
    // Well-formed BER still reads: indefinite lengths with end-of-contents, a constructed OCTET STRING.
    readTree(Uint8Array.from([0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0x41, 0x00, 0x00, 0x00, 0x00]), 'test');
    const cases = found('certificate', /runs past the end/);
    assert.ok(cases.length > 0);
    for (const f of cases)
      assert.throws(
        () => describeCertificate(f.bytes),
        (e: unknown) => isSmimeError(e, 'CERT_MALFORMED'),
        f.meta.file,
      );
  });

  test('toSignable refuses a part that would hold its boundary once a bare CR before "--boundary" becomes CRLF', () => {
    const bytes = (t: string) => new TextEncoder().encode(t);
    const kinds = (raw: Uint8Array) => {
      const out: string[] = [];
      const walk = (e: ReturnType<typeof parseEntity>) => {
        out.push(e.contentType.mediaType);
        e.children.forEach(walk);
      };
      walk(parseEntity(raw));
      return out.join(' ');
    };
    const cases = [
      ...found('mime', /structure changed/).map((f) => f.bytes),
      bytes(
        'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n\r--b\n\nsecond\n--b--\n',
      ),
    ];
    assert.ok(cases.length > 1);
    for (const raw of cases) {
      assert.throws(
        () => toSignable(raw),
        (e: unknown) => isMimeError(e, 'MIME_CANNOT_CANONICALIZE'),
      );
    }
    // A line that only starts with the boundary (or a nested multipart whose boundary extends the outer one) is content.
    const fine = bytes(
      'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=b2\n\n--b2\n\nx\n--b2--\n--b\n\n--bx\nsecond\n--b--\n',
    );
    assert.equal(kinds(toSignable(fine)), kinds(fine));
  });

  test('a validity time of another universal type is CERT_MALFORMED from the reader, not a TypeError it wrapped', () => {
    const cases = found('certificate', /Buffer\.from\(undefined\) in time/);
    assert.ok(cases.length > 0);
    for (const f of cases)
      assert.throws(
        () => describeCertificate(f.bytes),
        (e: unknown) => isSmimeError(e, 'CERT_MALFORMED') && !((e as Error).cause instanceof TypeError),
        f.meta.file,
      );
  });
});
