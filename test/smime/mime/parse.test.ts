// parseEntity on crafted input: headers, Content-Type parameters (RFC 2045, RFC 2231), multipart splitting
// (RFC 2046 section 5.1.1) and the defects recorded instead of thrown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getHeader,
  getHeaders,
  parseContentDisposition,
  parseContentType,
  parseEntity,
  type MimeEntity,
} from '../../../backend/src/smime/mime/index.ts';
import { assertBytes, bytes, crlf, text, utf8, viewOffset } from './helpers.ts';

const parse = (s: string): MimeEntity => parseEntity(bytes(s));

describe('parseEntity: header block', () => {
  it('unfolds continuation lines, keeps the whitespace after the break, trims the value, keeps the raw field', () => {
    const input = 'Subject: a long\r\n  subject\r\n\tline   \r\nX-Empty:\r\nTo : bob@example.com\r\n\r\nbody';
    const e = parse(input);
    assert.deepEqual(
      e.headers.map((h) => [h.name, h.value]),
      [
        ['Subject', 'a long  subject\tline'],
        ['X-Empty', ''],
        ['To', 'bob@example.com'],
      ],
    );
    assert.equal(text(e.headers[0]!.raw), 'Subject: a long\r\n  subject\r\n\tline   \r\n');
    assert.equal(text(e.headerBytes), input.slice(0, input.indexOf('\r\n\r\n') + 2));
    assert.equal(text(e.body), 'body');
  });

  it('looks names up case-insensitively; getHeaders returns every occurrence in order', () => {
    const e = parse('Received: one\nRECEIVED: two\nreceived: three\nFrom: a@b.c\n\n');
    assert.equal(getHeader(e, 'received'), 'one');
    assert.deepEqual(getHeaders(e, 'Received'), ['one', 'two', 'three']);
    assert.equal(getHeader(e, 'FROM'), 'a@b.c');
    assert.equal(getHeader(e, 'cc'), undefined);
    assert.deepEqual(getHeaders(e, 'cc'), []);
  });

  it('reads header bytes as UTF-8 when valid, else latin1, without losing a byte', () => {
    const e = parseEntity(new Uint8Array([...utf8('Subject: Grüße\r\nX-Latin: caf'), 0xe9, ...bytes('\r\n\r\n')]));
    assert.equal(getHeader(e, 'subject'), 'Grüße');
    assert.equal(getHeader(e, 'x-latin'), 'café');
  });

  it('a whitespace-only line is a continuation (RFC 5322 obs-FWS), not the end of the header block', () => {
    const e = parse('Subject: one\r\n \r\n two\r\nX: y\r\n\r\nbody');
    assert.equal(getHeader(e, 'subject'), 'one  two');
    assert.equal(getHeader(e, 'x'), 'y');
    assert.equal(text(e.body), 'body');
  });

  it('accepts no headers at all, and headers without a body', () => {
    const none = parse('\r\nonly a body\r\n');
    assert.deepEqual(none.headers, []);
    assert.equal(none.headerBytes.length, 0);
    assert.equal(text(none.body), 'only a body\r\n');
    const noBody = parse('Content-Type: text/plain');
    assert.equal(noBody.contentType.mediaType, 'text/plain');
    assert.equal(noBody.body.length, 0);
    assert.equal(parse('').body.length, 0);
  });

  const defectCases: [string, string, string[], string][] = [
    [
      'an mbox From line',
      'From alice@example.com Mon Jan  1 00:00:00 2026\nSubject: x\n\nbody',
      ['MBOX_FROM_LINE'],
      'body',
    ],
    ['a leading continuation line', ' stray\nSubject: x\n\nbody', ['INVALID_HEADER_LINE'], 'body'],
    [
      'a body without the blank line',
      'Subject: x\nthis is body text\n',
      ['MISSING_HEADER_BODY_SEPARATOR'],
      'this is body text\n',
    ],
  ];
  for (const [what, input, defects, body] of defectCases) {
    it(`records ${defects.join(', ')} for ${what}, and still reads the rest`, () => {
      const e = parse(input);
      assert.deepEqual(e.defects, defects);
      assert.equal(getHeader(e, 'subject'), 'x');
      assert.equal(text(e.body), body);
    });
  }
});

describe('parseEntity: Content-Type and Content-Transfer-Encoding', () => {
  it('defaults to text/plain; charset=us-ascii and 7bit (RFC 2045 sections 5.2 and 6.1)', () => {
    const e = parse('Subject: x\r\n\r\n');
    assert.equal(e.contentType.mediaType, 'text/plain');
    assert.deepEqual({ ...e.contentType.params }, { charset: 'us-ascii' });
    assert.equal(e.transferEncoding, '7bit');
  });

  it('lowercases type, subtype, parameter names and the encoding; keeps parameter values', () => {
    const e = parse(
      'Content-Type: Text/HTML; CharSet="UTF-8"; Name=Report.HTML\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n',
    );
    assert.equal(e.contentType.type, 'text');
    assert.equal(e.contentType.subtype, 'html');
    assert.equal(e.contentType.mediaType, 'text/html');
    assert.deepEqual({ ...e.contentType.params }, { charset: 'UTF-8', name: 'Report.HTML' });
    assert.equal(e.transferEncoding, 'quoted-printable');
  });

  it('an unreadable Content-Type means text/plain (RFC 2045 section 5.2), with a defect', () => {
    const e = parse('Content-Type: garbage\r\n\r\n');
    assert.equal(e.contentType.mediaType, 'text/plain');
    assert.deepEqual(e.defects, ['INVALID_CONTENT_TYPE']);
  });

  it('uses the first of two Content-Type fields and records the ambiguity', () => {
    const e = parse(
      'Content-Type: text/plain\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 8bit\r\n\r\n',
    );
    assert.equal(e.contentType.mediaType, 'text/plain');
    assert.equal(e.transferEncoding, 'base64');
    assert.deepEqual(e.defects, ['DUPLICATE_CONTENT_TYPE', 'DUPLICATE_TRANSFER_ENCODING']);
  });

  // RFC 2231 examples (sections 3, 4 and 4.1), and what real mail does with them.
  const PARAMS: [string, string, Record<string, string>][] = [
    [
      'RFC 2231 section 3: continuations',
      'message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"',
      { 'access-type': 'URL', url: 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar' },
    ],
    [
      'RFC 2231 section 4: charset and language',
      "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
      { title: 'This is ***fun***' },
    ],
    [
      'RFC 2231 section 4.1: encoded and plain sections mixed',
      "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
      { title: "This is even more ***fun*** isn't it!" },
    ],
    [
      'a UTF-8 character split across two sections',
      "application/pdf; name*0*=utf-8''%E2%82; name*1*=%AC.pdf",
      { name: '€.pdf' },
    ],
    ['latin1', "application/pdf; name*=iso-8859-1''caf%E9.pdf", { name: 'café.pdf' }],
    ['an unknown charset falls back to latin1', "application/pdf; name*=x-unknown''%41%E9", { name: 'Aé' }],
    [
      'the extended form wins over the plain one',
      'application/pdf; name="fallback.pdf"; name*=utf-8\'\'%C3%A9.pdf',
      { name: 'é.pdf' },
    ],
    ['sections stop at a gap', 'application/pdf; x*0=a; x*2=c', { x: 'a' }],
    [
      'quoted strings with escapes and specials',
      'text/plain; a="x; y=\\"z\\" \\\\"; b=""',
      { a: 'x; y="z" \\', b: '' },
    ],
    [
      'comments and odd whitespace',
      'text/plain (plain text) ;\tcharset = us-ascii (comment) ; format=flowed',
      { charset: 'us-ascii', format: 'flowed' },
    ],
    ['a missing semicolon', 'text/plain; charset=utf-8 format=flowed', { charset: 'utf-8', format: 'flowed' }],
    [
      'a parameter named like an Object.prototype member',
      'text/plain; __proto__=x; constructor=y',
      { ['__proto__']: 'x', constructor: 'y' },
    ],
  ];
  for (const [what, value, expected] of PARAMS) {
    it(`parameters: ${what}`, () => {
      const ct = parseContentType(value);
      assert.ok(ct);
      const params = ct.params;
      assert.equal(Object.getPrototypeOf(params), null);
      assert.deepEqual(Object.entries(params).sort(), Object.entries(expected).sort());
    });
  }

  it('records duplicate and broken parameters as defects', () => {
    const e = parse('Content-Type: text/plain; charset=a; charset=b; =oops; novalue\r\n\r\n');
    assert.equal(e.contentType.params['charset'], 'a');
    assert.deepEqual(e.defects, ['INVALID_PARAMETER', 'INVALID_PARAMETER', 'DUPLICATE_PARAMETER']);
  });

  it('parses Content-Disposition', () => {
    const d = parseContentDisposition("Attachment; filename*=utf-8''%F0%9F%93%8E.txt; size=12");
    assert.equal(d.disposition, 'attachment');
    assert.deepEqual({ ...d.params }, { filename: '📎.txt', size: '12' });
  });
});

/** The raw text of each child. */
const parts = (e: MimeEntity): string[] => e.children.map((c) => text(c.raw));

describe('parseEntity: multipart (RFC 2046 section 5.1.1)', () => {
  const MULTIPART = crlf(
    [
      'Content-Type: multipart/mixed; boundary="b.1+(x)"',
      '',
      'preamble line',
      '--b.1+(x)',
      'Content-Type: text/plain',
      '',
      'part one',
      '',
      '--b.1+(x)  \t',
      '',
      'part two, no headers',
      '--b.1+(x)--   ',
      'epilogue',
    ].join('\n'),
  );

  it('gives each part exactly the bytes between delimiters: the CRLF before a delimiter is not part of the part', () => {
    const e = parse(MULTIPART);
    assert.deepEqual(parts(e), ['Content-Type: text/plain\r\n\r\npart one\r\n', '\r\npart two, no headers']);
    assert.equal(text(e.preamble!), 'preamble line');
    assert.equal(text(e.epilogue!), 'epilogue');
    assert.equal(e.boundary, 'b.1+(x)');
    assert.equal(e.truncated, false);
    assert.deepEqual(e.defects, []);
    assert.equal(text(e.children[1]!.body), 'part two, no headers');
  });

  it('parts are views of the input at their offsets (no copies)', () => {
    const input = bytes(MULTIPART);
    const e = parseEntity(input);
    for (const child of e.children) {
      assert.equal(viewOffset(input, child.raw), child.offset);
      assert.equal(text(input.subarray(child.offset, child.offset + child.raw.length)), text(child.raw));
    }
  });

  it('splits the LF-only version the same way (the LF before a delimiter belongs to it too)', () => {
    const e = parse(MULTIPART.replace(/\r\n/g, '\n'));
    assert.deepEqual(parts(e), ['Content-Type: text/plain\n\npart one\n', '\npart two, no headers']);
    const mixed = parse('Content-Type: multipart/mixed; boundary=b\n\n--b\r\n\r\none\n--b\n\ntwo\r\n\r\n--b--');
    assert.deepEqual(parts(mixed), ['\r\none', '\ntwo\r\n']);
  });

  it('reads a part that ends in CR, LF or CRLF of its own', () => {
    const e = parse(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nends in CR\r\r\n--b\r\n\r\nends in LF\n\r\n--b\r\n\r\nends in CRLF\r\n\r\n--b--\r\n',
    );
    assert.deepEqual(parts(e), ['\r\nends in CR\r', '\r\nends in LF\n', '\r\nends in CRLF\r\n']);
  });

  it('has no preamble when the body starts with the delimiter, and an empty one after a bare line break', () => {
    assert.equal(parse('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--').preamble, undefined);
    assert.equal(
      parse('Content-Type: multipart/mixed; boundary=b\r\n\r\n\r\n--b\r\n\r\nx\r\n--b--').preamble?.length,
      0,
    );
    assert.equal(parse('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--').epilogue, undefined);
  });

  it('reads empty parts', () => {
    const e = parse('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n');
    assert.deepEqual(parts(e), ['', '', '\r\nx']);
  });

  it('a line that only starts with the boundary is content; the boundary is case-sensitive', () => {
    const e = parse(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bx is text\r\n--B is text\r\n -- b too\r\n--b--\r\n',
    );
    assert.deepEqual(parts(e), ['\r\n--bx is text\r\n--B is text\r\n -- b too']);
  });

  it('nests: an inner boundary may extend the outer one and the other way round', () => {
    const input = crlf(
      [
        'Content-Type: multipart/mixed; boundary=outer',
        '',
        '--outer',
        'Content-Type: multipart/alternative; boundary=outer2',
        '',
        '--outer2',
        'Content-Type: multipart/related; boundary=oute',
        '',
        '--oute',
        '',
        'deepest',
        '--oute--',
        '--outer2',
        '',
        'second alternative',
        '--outer2--',
        '--outer',
        '',
        'last',
        '--outer--',
        '',
      ].join('\n'),
    );
    const e = parse(input);
    assert.equal(e.children.length, 2);
    const alternative = e.children[0]!;
    assert.equal(alternative.contentType.mediaType, 'multipart/alternative');
    assert.equal(alternative.depth, 1);
    assert.deepEqual(parts(alternative), [
      'Content-Type: multipart/related; boundary=oute\r\n\r\n--oute\r\n\r\ndeepest\r\n--oute--',
      '\r\nsecond alternative',
    ]);
    assert.deepEqual(parts(alternative.children[0]!), ['\r\ndeepest']);
    assert.equal(alternative.children[0]!.children[0]!.depth, 3);
    assert.deepEqual(parts(e)[1], '\r\nlast');
  });

  it('a missing close delimiter: the last part runs to the end, and the entity is marked truncated', () => {
    const e = parse('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo, cut short\r\n');
    assert.equal(e.truncated, true);
    assert.deepEqual(e.defects, ['MISSING_CLOSE_DELIMITER']);
    assert.deepEqual(parts(e), ['\r\none', '\r\ntwo, cut short\r\n']);
    assert.equal(e.epilogue, undefined);
  });

  it('a delimiter that ends the body without "--" closes nothing and adds no empty part', () => {
    const e = parse('Content-Type: multipart/alternative; boundary=b\n\n--b\n\nplain\n--b\n');
    assert.equal(e.truncated, true);
    assert.deepEqual(parts(e), ['\nplain']);
  });

  it('no delimiter at all: no parts, truncated', () => {
    const e = parse('Content-Type: multipart/mixed; boundary=b\r\n\r\njust text\r\n');
    assert.deepEqual(e.children, []);
    assert.equal(e.truncated, true);
    assert.deepEqual(e.defects, ['NO_PARTS', 'MISSING_CLOSE_DELIMITER']);
  });

  it('text after the close delimiter is kept in the epilogue', () => {
    const e = parse('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--trailing\r\nmore');
    assert.deepEqual(e.defects, ['TEXT_AFTER_CLOSE_DELIMITER']);
    assert.equal(text(e.epilogue!), 'trailing\r\nmore');
  });

  it('a multipart without a boundary, or with base64 encoding, is read as a leaf', () => {
    const noBoundary = parse('Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n--b--');
    assert.deepEqual(noBoundary.children, []);
    assert.deepEqual(noBoundary.defects, ['MISSING_BOUNDARY']);
    const encoded = parse(
      'Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: base64\r\n\r\n--b\r\n\r\nx\r\n--b--',
    );
    assert.deepEqual(encoded.children, []);
    assert.deepEqual(encoded.defects, ['ENCODED_COMPOSITE']);
  });

  it('parts of a multipart/digest default to message/rfc822 (RFC 2046 section 5.1.5)', () => {
    const e = parse(
      'Content-Type: multipart/digest; boundary=b\r\n\r\n--b\r\n\r\nSubject: inner\r\n\r\nhello\r\n--b--\r\n',
    );
    const part = e.children[0]!;
    assert.equal(part.contentType.mediaType, 'message/rfc822');
    assert.equal(getHeader(part.children[0]!, 'subject'), 'inner');
    assert.equal(text(part.children[0]!.body), 'hello');
  });
});

describe('parseEntity: message/rfc822', () => {
  it('parses the embedded message as the only child, with its exact bytes', () => {
    const inner = 'From: a@b.c\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\ninner body\r\n';
    const e = parse(`Content-Type: message/rfc822\r\n\r\n${inner}`);
    assert.equal(e.children.length, 1);
    assertBytes(e.children[0]!.raw, bytes(inner));
    assert.equal(getHeader(e.children[0]!, 'subject'), 'inner');
  });

  it('a base64-encoded message/rfc822 (forbidden by RFC 2046 section 5.2.1) stays a leaf', () => {
    const e = parse(
      'Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQo=\r\n',
    );
    assert.deepEqual(e.children, []);
    assert.deepEqual(e.defects, ['ENCODED_COMPOSITE']);
  });
});
