// Building entities, multiparts and messages; header encoding (RFC 2047, RFC 2231) and folding; splitting a message
// into transport headers and content entity, and joining it back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEntity,
  buildMultipart,
  decodeBody,
  decodeEncodedWords,
  encodeHeaderWords,
  foldHeaderLine,
  formatContentType,
  formatHeaderField,
  generateBoundary,
  getHeader,
  joinMessage,
  parseAddressList,
  parseContentType,
  parseEntity,
  splitMessageHeaders,
  toSignable,
} from '../../../backend/src/smime/mime/index.ts';
import { assertBytes, bytes, corpusFile, Rng, text, throwsCode, utf8 } from './helpers.ts';
import { corpusUnavailable } from '../../helpers/unavailable.ts';

const NO_CORPUS = corpusUnavailable('the corpus cases of splitMessageHeaders and joinMessage');

/** The unfolded value of `Name: value` as a parser reads it back. */
function readBack(field: string): string {
  const e = parseEntity(bytes(`${field}\r\n\r\n`));
  assert.equal(e.headers.length, 1);
  return e.headers[0]!.value;
}

function assertFieldLines(field: string, max = 78): void {
  for (const line of field.split('\r\n')) {
    assert.ok(line.length <= max, `line of ${line.length}: ${line}`);
    assert.match(line, /^[\x20-\x7e\t]*$/);
  }
}

describe('formatHeaderField', () => {
  it('writes ASCII values as they are', () => {
    assert.equal(formatHeaderField('Subject', 'Hello'), 'Subject: Hello');
  });

  it('refuses header injection and invalid names with MIME_INVALID_HEADER', () => {
    throwsCode(() => formatHeaderField('Subject', 'x\r\nBcc: victim@example.com'), 'MIME_INVALID_HEADER');
    throwsCode(() => formatHeaderField('Subject', 'x\nBcc: y'), 'MIME_INVALID_HEADER');
    throwsCode(() => formatHeaderField('Subject', 'x\0'), 'MIME_INVALID_HEADER');
    for (const name of ['', 'Sub ject', 'Subject:', 'Sübject'])
      throwsCode(() => formatHeaderField(name, 'x'), 'MIME_INVALID_HEADER');
  });

  it('encodes non-ASCII unstructured text as encoded words that decode back', () => {
    const field = formatHeaderField('Subject', 'Überweisung für März — bitte prüfen');
    assertFieldLines(field);
    assert.equal(decodeEncodedWords(readBack(field)), 'Überweisung für März — bitte prüfen');
    assert.ok(field.includes('bitte'), 'ASCII words stay readable');
  });

  it('encodes display names in address fields, entry by entry', () => {
    const field = formatHeaderField('To', 'Jörg Müller <joerg@example.com>, "Doe, Jane" <jane@example.com>');
    assertFieldLines(field);
    assert.deepEqual(parseAddressList(readBack(field)), [
      { name: 'Jörg Müller', address: 'joerg@example.com' },
      { name: 'Doe, Jane', address: 'jane@example.com' },
    ]);
  });

  it('refuses non-ASCII text in structured fields', () => {
    throwsCode(() => formatHeaderField('Message-ID', '<é@example.com>'), 'MIME_INVALID_HEADER');
    throwsCode(() => formatHeaderField('Content-Type', 'text/plain; name=é'), 'MIME_INVALID_HEADER');
  });

  it('round-trips 300 random Unicode subjects (seeded): 7-bit, folded, same text after decoding', () => {
    const rng = new Rng(2047);
    const pool = [
      'a',
      'Z',
      ' ',
      '  ',
      'é',
      'ß',
      '€',
      '中',
      '文',
      '😀',
      '=?',
      '?=',
      '_',
      '=',
      '"',
      '(',
      'x'.repeat(30),
      'word ',
    ];
    for (let i = 0; i < 300; i++) {
      let value = '';
      for (let n = rng.int(40); n > 0; n--) value += rng.pick(pool);
      value = value.trim().replace(/\s+/g, ' ');
      const field = formatHeaderField('Subject', value);
      assertFieldLines(field, 998);
      assert.equal(decodeEncodedWords(readBack(field)), value);
    }
  });
});

describe('encodeHeaderWords and foldHeaderLine', () => {
  it('keeps encoded words within 75 characters and never splits a character', () => {
    const encoded = encodeHeaderWords('😀'.repeat(40));
    for (const word of encoded.split(' ')) assert.ok(word.length <= 75, word);
    assert.equal(decodeEncodedWords(encoded), '😀'.repeat(40));
  });

  it('encodes ASCII text that looks like an encoded word', () => {
    assert.equal(decodeEncodedWords(encodeHeaderWords('=?utf-8?q?fake?=')), '=?utf-8?q?fake?=');
  });

  it('folds at whitespace so that unfolding gives back the line, and refuses an unbreakable line over 998', () => {
    const line = `Subject: ${Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')}`;
    const folded = foldHeaderLine(line);
    assertFieldLines(folded);
    assert.equal(folded.replace(/\r\n/g, ''), line);
    throwsCode(() => foldHeaderLine(`X: ${'a'.repeat(1000)}`), 'MIME_HEADER_TOO_LARGE');
  });
});

describe('formatContentType', () => {
  const CASES: [string, Record<string, string>][] = [
    ['simple', { charset: 'utf-8' }],
    ['specials need quotes', { name: 'a b;c="d"\\e.txt', boundary: '=_x y' }],
    ['non-ASCII (RFC 2231)', { name: 'Überweisung März.pdf' }],
    ['long ASCII (RFC 2231 continuations)', { name: `${'long-name-'.repeat(20)}.pdf` }],
    ['long non-ASCII', { name: `${'Ω'.repeat(80)}.txt` }],
    ['empty value', { x: '' }],
  ];
  for (const [what, params] of CASES) {
    it(`${what}: parses back to the same parameters; 7-bit lines of at most 78`, () => {
      const field = formatHeaderField('Content-Type', formatContentType('Application/PDF', params));
      assertFieldLines(field);
      const ct = parseContentType(readBack(field));
      assert.equal(ct?.mediaType, 'application/pdf');
      assert.deepEqual({ ...ct?.params }, params);
    });
  }

  it('refuses invalid media types and parameter names', () => {
    throwsCode(() => formatContentType('text', {}), 'MIME_INVALID_HEADER');
    throwsCode(() => formatContentType('text/pl ain', {}), 'MIME_INVALID_HEADER');
    throwsCode(() => formatContentType('text/plain', { 'na me': 'x' }), 'MIME_INVALID_HEADER');
    throwsCode(() => formatContentType('text/plain', { 'name*': 'x' }), 'MIME_INVALID_HEADER');
  });
});

describe('buildEntity', () => {
  it('writes folded CRLF header lines, a blank line and the body as given', () => {
    const out = buildEntity({
      headers: [
        ['Content-Type', 'text/plain; charset=us-ascii'],
        ['Content-Transfer-Encoding', '7bit'],
      ],
      body: bytes('hello\r\n'),
    });
    assert.equal(
      text(out),
      'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nhello\r\n',
    );
    assert.equal(text(buildEntity({ headers: [], body: bytes('x') })), '\r\nx');
  });

  const AUTO: [string, string, Uint8Array, string][] = [
    ['clean text stays 7bit, with CRLF', 'text/plain; charset=utf-8', bytes('line\nline\n'), '7bit'],
    ['8-bit text becomes quoted-printable', 'text/plain; charset=utf-8', utf8('Grüße\n'), 'quoted-printable'],
    ['text with trailing whitespace becomes quoted-printable', 'text/plain', bytes('x \n'), 'quoted-printable'],
    ['binary becomes base64', 'application/octet-stream', new Rng(3).bytes(100), 'base64'],
    ['binary that happens to be clean CRLF text stays 7bit', 'application/json', bytes('{"a":1}\r\n'), '7bit'],
  ];
  for (const [what, type, content, encoding] of AUTO) {
    it(`transferEncoding auto: ${what}`, () => {
      const out = buildEntity({ headers: [['Content-Type', type]], body: content, transferEncoding: 'auto' });
      const e = parseEntity(out);
      assert.equal(e.transferEncoding, encoding);
      const expected = e.contentType.type === 'text' ? text(content).replace(/\r?\n/g, '\r\n') : text(content);
      assert.equal(text(decodeBody(e)), expected);
      assertBytes(toSignable(out), out);
    });
  }

  it('explicit base64 and quoted-printable encode the content and add the header', () => {
    const b64 = parseEntity(
      buildEntity({ headers: [['Content-Type', 'application/pdf']], body: bytes('%PDF'), transferEncoding: 'base64' }),
    );
    assert.equal(getHeader(b64, 'content-transfer-encoding'), 'base64');
    assert.equal(text(decodeBody(b64)), '%PDF');
    const qp = parseEntity(buildEntity({ headers: [], body: bytes('a=b\n'), transferEncoding: 'quoted-printable' }));
    assert.equal(text(qp.body), 'a=3Db\r\n');
  });

  it('refuses a second Content-Transfer-Encoding, unknown options and encodings', () => {
    throwsCode(
      () =>
        buildEntity({ headers: [['Content-Transfer-Encoding', '7bit']], body: bytes(''), transferEncoding: 'auto' }),
      'MIME_INVALID_OPTION',
    );
    throwsCode(() => buildEntity({ headers: [], body: bytes(''), encoding: 'auto' } as never), 'MIME_INVALID_OPTION');
    throwsCode(
      () => buildEntity({ headers: [], body: bytes(''), transferEncoding: 'uuencode' } as never),
      'MIME_INVALID_OPTION',
    );
    throwsCode(() => buildEntity({ headers: [], body: 'text' } as never), 'MIME_INVALID_OPTION');
  });
});

describe('buildMultipart', () => {
  const PARTS = [
    bytes('Content-Type: text/plain\r\n\r\nends in CRLF\r\n'),
    bytes('\r\nends in CR\r'),
    bytes('\r\nends in LF\n'),
    bytes(''),
    bytes('\r\nno line break'),
  ];

  it('puts every part between delimiters so that the parser gives back exactly its bytes', () => {
    const out = buildMultipart('mixed', {}, PARTS);
    const e = parseEntity(out);
    assert.equal(e.children.length, PARTS.length);
    e.children.forEach((child, i) => assertBytes(child.raw, PARTS[i]!));
    assert.equal(e.truncated, false);
    assert.deepEqual(e.defects, []);
  });

  it('writes multipart/signed with its parameters and the boundary given', () => {
    const out = buildMultipart(
      'signed',
      { protocol: 'application/pkcs7-signature', micalg: 'sha-256' },
      [bytes('\r\nsigned'), bytes('\r\nsig')],
      'b1',
    );
    assert.equal(
      text(out),
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n micalg=sha-256; boundary=b1\r\n\r\n--b1\r\n\r\nsigned\r\n--b1\r\n\r\nsig\r\n--b1--\r\n',
    );
  });

  it('generates fresh RFC 2046 boundaries', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const b = generateBoundary();
      assert.match(b, /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/);
      seen.add(b);
    }
    assert.equal(seen.size, 50);
    assert.notEqual(
      parseEntity(buildMultipart('mixed', {}, PARTS)).boundary,
      parseEntity(buildMultipart('mixed', {}, PARTS)).boundary,
    );
  });

  it('refuses a boundary that occurs in a part, or is not valid, with MIME_INVALID_BOUNDARY', () => {
    throwsCode(() => buildMultipart('mixed', {}, [bytes('\r\nx\r\n--b1\r\ny')], 'b1'), 'MIME_INVALID_BOUNDARY');
    throwsCode(() => buildMultipart('mixed', {}, [bytes('--b1 at the start')], 'b1'), 'MIME_INVALID_BOUNDARY');
    for (const bad of ['', 'x'.repeat(71), 'ends in space ', 'bad"quote', 'ü']) {
      throwsCode(() => buildMultipart('mixed', {}, [bytes('x')], bad), 'MIME_INVALID_BOUNDARY');
    }
  });

  it('refuses no parts, a boundary among the parameters and a bad subtype with MIME_INVALID_OPTION', () => {
    throwsCode(() => buildMultipart('mixed', {}, []), 'MIME_INVALID_OPTION');
    throwsCode(() => buildMultipart('mixed', { Boundary: 'x' }, [bytes('x')]), 'MIME_INVALID_OPTION');
    throwsCode(() => buildMultipart('mi xed', {}, [bytes('x')]), 'MIME_INVALID_OPTION');
  });
});

describe('splitMessageHeaders and joinMessage', () => {
  it(
    'separates a corpus message into transport headers and the content entity (exact bytes)',
    { skip: NO_CORPUS },
    () => {
      const input = corpusFile('mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml');
      const split = splitMessageHeaders(input);
      assert.deepEqual(
        split.transportHeaders.map((h) => h.name),
        ['Date', 'From', 'To', 'Subject'],
      );
      assert.equal(split.mimeVersion, '1.0');
      const original = parseEntity(input);
      const entity = parseEntity(split.entity);
      assert.deepEqual(
        entity.headers.map((h) => h.name),
        ['Content-Type'],
      );
      assertBytes(entity.body, original.body);
      assertBytes(entity.children[0]!.raw, original.children[0]!.raw);
    },
  );

  it('keeps interleaved Content-* fields in their order and their bytes', () => {
    const input = bytes(
      'From: a@b.c\nContent-Type: text/plain;\n charset=utf-8\nSubject: s\nMIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\nTo: d@e.f\n\nbody\n',
    );
    const split = splitMessageHeaders(input);
    assert.deepEqual(
      split.transportHeaders.map((h) => h.name),
      ['From', 'Subject', 'To'],
    );
    assert.equal(
      text(split.entity),
      'Content-Type: text/plain;\n charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nbody\n',
    );
  });

  it('gives a message without Content-* fields an entity with no headers (text/plain by default)', () => {
    const split = splitMessageHeaders(bytes('Subject: s\r\n\r\nbody'));
    assert.equal(text(split.entity), '\r\nbody');
    assert.equal(split.mimeVersion, undefined);
  });

  it(
    'joins transport headers, MIME-Version and the entity; a round trip keeps every header and the content',
    { skip: NO_CORPUS },
    () => {
      const input = corpusFile('mail-test-browser-smime-data/nested-sigs.eml');
      const split = splitMessageHeaders(input);
      const joined = joinMessage(split.transportHeaders, split.entity);
      const before = parseEntity(input);
      const after = parseEntity(joined);
      const sorted = (e: typeof before): string[] => e.headers.map((h) => `${h.name}: ${h.value}`).sort();
      assert.deepEqual(sorted(after), sorted(before));
      assertBytes(after.body, before.body);
    },
  );

  it('formats [name, value] pairs and refuses Content-* fields and lone CRs outside', () => {
    const joined = joinMessage(
      [
        ['From', 'Jörg <j@example.com>'],
        ['Subject', 'hi'],
      ],
      bytes('Content-Type: text/plain\r\n\r\nbody'),
    );
    assert.equal(
      text(joined),
      'From: =?UTF-8?B?SsO2cmc=?= <j@example.com>\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody',
    );
    throwsCode(() => joinMessage([['Content-Type', 'text/html']], bytes('\r\n')), 'MIME_INVALID_HEADER');
    const injected = parseEntity(bytes('Subject: a\rBcc: x@y.z\r\n\r\n')).headers;
    throwsCode(() => joinMessage(injected, bytes('\r\n')), 'MIME_INVALID_HEADER');
  });

  it('end to end: the bytes given to the signer are the bytes a verifier finds', () => {
    const message = new Uint8Array([
      ...utf8(
        'From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: Grüße\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHallo Bob, schöne Grüße \nFrom Alice\n',
      ),
    ]);
    const split = splitMessageHeaders(message);
    const signable = toSignable(split.entity);
    const signature = buildEntity({
      headers: [['Content-Type', 'application/pkcs7-signature; name=smime.p7s']],
      body: bytes('MIAGCSqGSIb3DQEHAqCAMIACAQEx'),
      transferEncoding: 'base64',
    });
    const signed = buildMultipart('signed', { protocol: 'application/pkcs7-signature', micalg: 'sha-256' }, [
      signable,
      signature,
    ]);
    const wire = joinMessage(split.transportHeaders, signed);
    const received = parseEntity(wire);
    assert.equal(received.contentType.mediaType, 'multipart/signed');
    assertBytes(received.children[0]!.raw, signable);
    assert.equal(
      Buffer.from(decodeBody(received.children[0]!)).toString('utf8'),
      'Hallo Bob, schöne Grüße \r\nFrom Alice\r\n',
    );
    assert.equal(decodeEncodedWords(getHeader(received, 'subject')!), 'Grüße');
    // And LF-only storage of the wire form changes nothing a verifier reads once it restores CRLF.
    const stored = parseEntity(bytes(text(wire).replace(/\r\n/g, '\n')));
    assertBytes(toSignable(stored.children[0]!.raw), signable);
  });
});
