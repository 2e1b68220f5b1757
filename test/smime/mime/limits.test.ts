// Limits: crafted structures are refused with their own code, early; large honest messages are read. Timing is not
// asserted here (it belongs in bench/), but a quadratic parser would make these tests crawl.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalizeLineEndings,
  DEFAULT_LIMITS,
  decodeBody,
  MAX_HEADER_FIELD_LENGTH,
  MAX_HEADER_LINES,
  MAX_NESTING_DEPTH,
  MAX_PARTS,
  parseEntity,
  splitMessageHeaders,
  toSignable,
} from '../../../backend/src/smime/mime/index.ts';
import { bytes, Rng, text, throwsCode, viewOffset } from './helpers.ts';

/** `levels` multiparts inside each other, each with its own boundary. */
function nestedMultiparts(levels: number): Uint8Array {
  let inner = 'Content-Type: text/plain\r\n\r\ninnermost';
  for (let i = levels - 1; i >= 0; i--) {
    inner = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${inner}\r\n--b${i}--`;
  }
  return bytes(inner);
}

function nestedMessages(levels: number): Uint8Array {
  return bytes('Content-Type: message/rfc822\r\n\r\n'.repeat(levels) + 'Subject: innermost\r\n\r\nbody');
}

/** One multipart/mixed holding `count` empty parts. */
function manyParts(count: number): Uint8Array {
  return bytes(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n'.repeat(count)}--b--\r\n`);
}

describe('limits: nesting depth', () => {
  it(`parses ${MAX_NESTING_DEPTH} levels of nesting (the default limit)`, () => {
    let e = parseEntity(nestedMultiparts(MAX_NESTING_DEPTH));
    while (e.children.length > 0) e = e.children[0]!;
    assert.equal(e.depth, MAX_NESTING_DEPTH);
    assert.equal(text(e.body), 'innermost');
  });

  it(`refuses ${MAX_NESTING_DEPTH + 1} levels with MIME_TOO_DEEP`, () => {
    throwsCode(() => parseEntity(nestedMultiparts(MAX_NESTING_DEPTH + 1)), 'MIME_TOO_DEEP');
  });

  it('refuses 1,000 nested multiparts and 1,000 nested message/rfc822 with MIME_TOO_DEEP', () => {
    throwsCode(() => parseEntity(nestedMultiparts(1000)), 'MIME_TOO_DEEP');
    throwsCode(() => parseEntity(nestedMessages(1000)), 'MIME_TOO_DEEP');
    throwsCode(() => toSignable(nestedMultiparts(1000)), 'MIME_TOO_DEEP');
  });

  it('honours a per-call limit', () => {
    parseEntity(nestedMessages(3), { maxDepth: 3 });
    throwsCode(() => parseEntity(nestedMessages(4), { maxDepth: 3 }), 'MIME_TOO_DEEP');
  });
});

describe('limits: number of parts', () => {
  it(`reads ${MAX_PARTS} parts (the default limit)`, () => {
    assert.equal(parseEntity(manyParts(MAX_PARTS)).children.length, MAX_PARTS);
  });

  it('refuses 100,000 parts with MIME_TOO_MANY_PARTS', () => {
    throwsCode(() => parseEntity(manyParts(100_000)), 'MIME_TOO_MANY_PARTS');
  });

  it('counts parts across the whole tree, embedded messages included', () => {
    const tree = bytes(
      'Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\n' +
        'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n--a--\r\n',
    );
    parseEntity(tree, { maxParts: 4 }); // the rfc822 part, its message, and two parts
    throwsCode(() => parseEntity(tree, { maxParts: 3 }), 'MIME_TOO_MANY_PARTS');
  });
});

describe('limits: headers', () => {
  it(`refuses more than ${MAX_HEADER_LINES} header lines with MIME_HEADER_TOO_LARGE`, () => {
    parseEntity(bytes('X-A: b\r\n'.repeat(MAX_HEADER_LINES) + '\r\n'));
    throwsCode(() => parseEntity(bytes('X-A: b\r\n'.repeat(MAX_HEADER_LINES + 1) + '\r\n')), 'MIME_HEADER_TOO_LARGE');
    throwsCode(
      () => parseEntity(bytes(`Subject: x${'\r\n y'.repeat(MAX_HEADER_LINES)}\r\n\r\n`)),
      'MIME_HEADER_TOO_LARGE',
    );
  });

  it(`refuses a header field over ${MAX_HEADER_FIELD_LENGTH} bytes, on one line or folded`, () => {
    const room = MAX_HEADER_FIELD_LENGTH - 'X: \r\n'.length;
    parseEntity(bytes(`X: ${'a'.repeat(room)}\r\n\r\n`));
    throwsCode(() => parseEntity(bytes(`X: ${'a'.repeat(room + 1)}\r\n\r\n`)), 'MIME_HEADER_TOO_LARGE');
    throwsCode(
      () => parseEntity(bytes(`X: a${'\r\n aaaaaaaaaaaaaaaaaaaa'.repeat(5000)}\r\n\r\n`)),
      'MIME_HEADER_TOO_LARGE',
    );
  });

  it('applies the header limits in parts too, and in splitMessageHeaders', () => {
    const part = `--b\r\nX: ${'a'.repeat(MAX_HEADER_FIELD_LENGTH)}\r\n\r\nbody\r\n--b--`;
    throwsCode(
      () => parseEntity(bytes(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${part}`)),
      'MIME_HEADER_TOO_LARGE',
    );
    throwsCode(
      () => splitMessageHeaders(bytes('X-A: b\r\n'.repeat(11) + '\r\n'), { maxHeaderLines: 10 }),
      'MIME_HEADER_TOO_LARGE',
    );
  });

  it('refuses a boundary longer than the limit with MIME_MALFORMED', () => {
    const boundary = 'x'.repeat(DEFAULT_LIMITS.maxBoundaryLength + 1);
    throwsCode(
      () => parseEntity(bytes(`Content-Type: multipart/mixed; boundary=${boundary}\r\n\r\n--${boundary}--`)),
      'MIME_MALFORMED',
    );
  });
});

describe('limits: options', () => {
  it('rejects unknown limits and values that are not non-negative integers', () => {
    const input = bytes('\r\n');
    throwsCode(() => parseEntity(input, { maxDeep: 3 } as never), 'MIME_INVALID_OPTION');
    throwsCode(() => parseEntity(input, { maxParts: -1 }), 'MIME_INVALID_OPTION');
    throwsCode(() => parseEntity(input, { maxParts: 1.5 }), 'MIME_INVALID_OPTION');
    throwsCode(() => parseEntity(input, { maxParts: '3' as never }), 'MIME_INVALID_OPTION');
    throwsCode(() => parseEntity('not bytes' as never), 'MIME_INVALID_OPTION');
  });

  it('the defaults are the documented constants, and frozen', () => {
    assert.equal(DEFAULT_LIMITS.maxDepth, MAX_NESTING_DEPTH);
    assert.equal(DEFAULT_LIMITS.maxParts, MAX_PARTS);
    assert.ok(Object.isFrozen(DEFAULT_LIMITS));
  });
});

const MB = 1024 * 1024;

describe('large messages', () => {
  it('parses a 25 MB message: a 25 MB base64 attachment, as a view of the input, decoded in full', () => {
    const payload = new Rng(25).bytes(19 * MB);
    const base64 = Buffer.from(payload).toString('base64').replace(/.{76}/g, '$&\r\n');
    const input = bytes(
      'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="==big=="\r\n\r\n' +
        '--==big==\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n' +
        `--==big==\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64}\r\n` +
        '--==big==--\r\n',
    );
    assert.ok(input.length > 25 * MB);
    const e = parseEntity(input);
    assert.equal(e.children.length, 2);
    const attachment = e.children[1]!;
    assert.equal(
      viewOffset(input, attachment.body) + attachment.body.length + '\r\n--==big==--\r\n'.length,
      input.length,
    );
    assert.equal(Buffer.compare(Buffer.from(decodeBody(attachment)), Buffer.from(payload)), 0);
  });

  it('parses 25 MB of lines that start like the boundary but are not delimiters (the worst case for the search)', () => {
    const line = '--bnot a delimiter\r\n';
    const filler = line.repeat(Math.ceil((25 * MB) / line.length));
    const e = parseEntity(bytes(`Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n${filler}--b--\r\n`));
    assert.equal(e.children.length, 1);
    assert.equal(e.children[0]!.body.length, filler.length - 2);
  });

  it('parses 25 MB of LF-only text in one part and brings it to canonical form', () => {
    const body = 'a line of text\n'.repeat(Math.ceil((25 * MB) / 15));
    const input = bytes(`Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n${body}--b--\n`);
    const e = parseEntity(input);
    assert.equal(e.children[0]!.body.length, body.length - 1);
    // Clean text: the canonical form is the same message with CRLF line endings, nothing else changed.
    assert.equal(Buffer.compare(Buffer.from(toSignable(input)), Buffer.from(canonicalizeLineEndings(input))), 0);
  });
});
