// toSignable: the canonical form before signing (RFC 8551 section 3.1). Checked by what must hold of any output
// (7-bit, CRLF only, lines within 998, idempotent, same decoded content) over the corpus and crafted entities, and by
// exact output where the rule is specific.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalizeLineEndings,
  decodeBody,
  decodeEncodedWords,
  getHeader,
  parseEntity,
  toSignable,
  type MimeEntity,
} from '../../../backend/src/smime/mime/index.ts';
import { assertBytes, bytes, corpusMessages, crlf, Rng, text, throwsCode, utf8, walk } from './helpers.ts';
import { corpusUnavailable } from '../../helpers/unavailable.ts';

const NO_CORPUS = corpusUnavailable('toSignable over the corpus');

/**
 * What every canonical output must be: 7-bit, CRLF only, no line over 998 octets; and, unless it holds a signed
 * multipart copied verbatim, no trailing whitespace and no From lines.
 */
function assertCanonical(output: Uint8Array, verbatimSigned = false): void {
  const s = text(output);
  assert.ok(
    output.every((b) => b > 0 && b < 0x80),
    '7-bit, no NUL',
  );
  assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(s), 'only CRLF line breaks');
  for (const line of s.split('\r\n')) {
    assert.ok(line.length <= 998, `a line of ${line.length} octets`);
    if (verbatimSigned) continue;
    assert.ok(!/[ \t]$/.test(line), `trailing whitespace: ${JSON.stringify(line.slice(-40))}`);
    assert.ok(!line.startsWith('From '), 'a line starting with From');
  }
}

/** Structure and decoded content; text compared after CRLF canonicalisation (RFC 8551 section 3.1.1). */
function content(entity: MimeEntity): unknown {
  const leaf = entity.children.length === 0;
  const decoded = leaf ? decodeBody(entity) : undefined;
  return {
    type: entity.contentType.mediaType,
    params: { ...entity.contentType.params },
    headers: entity.headers
      .filter((h) => h.name.toLowerCase() !== 'content-transfer-encoding')
      .map((h) => [h.name.toLowerCase(), decodeEncodedWords(h.value).replace(/\s+/g, ' ')]),
    content:
      decoded === undefined
        ? undefined
        : text(entity.contentType.type === 'text' ? canonicalizeLineEndings(decoded) : decoded),
    children: entity.children.map(content),
  };
}

function assertSameContent(before: Uint8Array, after: Uint8Array): void {
  assert.deepEqual(content(parseEntity(after)), content(parseEntity(before)));
}

describe('canonicalizeLineEndings', () => {
  const CASES: [string, string][] = [
    ['a\nb', 'a\r\nb'],
    ['a\rb', 'a\r\nb'],
    ['a\r\nb', 'a\r\nb'],
    ['\r\r\n', '\r\n\r\n'],
    ['\n\r', '\r\n\r\n'],
    ['\n\n', '\r\n\r\n'],
    ['', ''],
    ['no breaks', 'no breaks'],
  ];
  for (const [input, expected] of CASES) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(text(canonicalizeLineEndings(bytes(input))), expected);
    });
  }

  it('returns the input itself when it is already canonical', () => {
    const input = bytes('a\r\nb');
    assert.equal(canonicalizeLineEndings(input), input);
  });
});

describe('toSignable: the RFC 8551 section 3.1 case', () => {
  const TEXT = `Grüße aus Köln   \n${'ß'.repeat(750)}\n\tindented, trailing tab\t\nFrom here on\n.\nlast line `;

  it('an 8-bit UTF-8 text body with trailing spaces and a 1500-octet line becomes 7-bit CRLF quoted-printable', () => {
    const input = new Uint8Array([
      ...bytes('Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'),
      ...utf8(TEXT),
    ]);
    assert.equal(utf8(`${'ß'.repeat(750)}`).length, 1500);
    const output = toSignable(input);
    assertCanonical(output);
    const e = parseEntity(output);
    assert.equal(e.transferEncoding, 'quoted-printable');
    assert.equal(getHeader(e, 'content-type'), 'text/plain; charset=utf-8');
    assert.equal(Buffer.from(decodeBody(e)).toString('utf8'), TEXT.replace(/\n/g, '\r\n'));
    assert.ok(text(output).includes('Gr=C3=BC=C3=9Fe aus K=C3=B6ln  =20\r\n'), 'the last trailing space is encoded');
    assert.ok(text(output).includes('\r\n=46rom here on\r\n=2E\r\n'), 'From and the lone dot are encoded');
  });

  it('the same text declared 7bit (wrongly) or sent as LF-only gets the same treatment', () => {
    const input = new Uint8Array([...bytes('Content-Type: text/plain; charset=utf-8\n\n'), ...utf8(TEXT)]);
    const output = toSignable(input);
    assertCanonical(output);
    const e = parseEntity(output);
    assert.equal(e.transferEncoding, 'quoted-printable');
    assert.equal(
      text(e.headerBytes),
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n',
    );
    assert.equal(Buffer.from(decodeBody(e)).toString('utf8'), TEXT.replace(/\n/g, '\r\n'));
  });

  it('is idempotent, and leaves a canonical entity byte-identical', () => {
    const input = new Uint8Array([
      ...bytes('Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'),
      ...utf8(TEXT),
    ]);
    const once = toSignable(input);
    assertBytes(toSignable(once), once);
    const clean = bytes('Content-Type: text/plain\r\n\r\nplain 7-bit text\r\nwith two lines\r\n');
    assertBytes(toSignable(clean), clean);
  });
});

describe('toSignable: leaves', () => {
  it('binary data with 8bit or binary encoding becomes base64, byte for byte (no line-ending change)', () => {
    const data = new Rng(7).bytes(3000);
    for (const encoding of ['8bit', 'binary']) {
      const input = new Uint8Array([
        ...bytes(`Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`),
        ...data,
      ]);
      const output = toSignable(input);
      assertCanonical(output);
      const e = parseEntity(output);
      assert.equal(e.transferEncoding, 'base64');
      assertBytes(decodeBody(e), data);
    }
  });

  it('7bit data with bare LF keeps its encoding and gets CRLF; with a lone CR it becomes base64', () => {
    const lf = toSignable(bytes('Content-Type: application/pgp-keys\n\nline one\nline two'));
    assert.equal(text(lf), 'Content-Type: application/pgp-keys\r\n\r\nline one\r\nline two');
    const cr = parseEntity(toSignable(bytes('Content-Type: application/octet-stream\r\n\r\na\rb')));
    assert.equal(cr.transferEncoding, 'base64');
    assert.equal(text(decodeBody(cr)), 'a\rb');
  });

  it('text already in base64 whose decoded text has bare LF is re-encoded with CRLF text', () => {
    const encoded = Buffer.from('one\ntwo\n').toString('base64');
    const output = toSignable(bytes(`Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${encoded}`));
    const e = parseEntity(output);
    assert.equal(e.transferEncoding, 'base64');
    assert.equal(text(decodeBody(e)), 'one\r\ntwo\r\n');
  });

  it('quoted-printable text with LF breaks gets CRLF breaks; =0A inside is re-encoded', () => {
    assert.equal(
      text(
        toSignable(
          bytes('Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nsoft=\nbreak\nx=3D1\n'),
        ),
      ),
      'Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak\r\nx=3D1\r\n',
    );
    const e = parseEntity(
      toSignable(bytes('Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=0Ab')),
    );
    assert.equal(text(decodeBody(e)), 'a\r\nb');
  });

  it('a base64 body on one 2000-character line is re-wrapped', () => {
    const data = new Rng(9).bytes(1500);
    const input = bytes(
      `Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(data).toString('base64')}`,
    );
    const output = toSignable(input);
    assertCanonical(output);
    assertBytes(decodeBody(parseEntity(output)), data);
  });

  it('an unknown transfer encoding is kept when its body is safe, refused otherwise', () => {
    const safe = bytes('Content-Transfer-Encoding: x-custom\r\n\r\nsafe text');
    assertBytes(toSignable(safe), safe);
    throwsCode(
      () => toSignable(bytes('Content-Transfer-Encoding: x-custom\r\n\r\n8-bit \u00e9')),
      'MIME_CANNOT_CANONICALIZE',
    );
  });
});

describe('toSignable: headers', () => {
  it('encodes 8-bit header text (RFC 2047) and parameters (RFC 2231), drops trailing whitespace on header lines', () => {
    const input = new Uint8Array([
      ...utf8('Content-Type: text/plain; charset=utf-8; name="Überweisung.txt"\r\n'),
      ...utf8('Content-Description: Überweisung für März \r\n'),
      ...bytes('Content-Disposition: attachment; \r\n \r\n\tfilename=a.txt\r\n\r\nbody'),
    ]);
    const output = toSignable(input);
    assertCanonical(output);
    const e = parseEntity(output);
    assert.equal(e.contentType.params['name'], 'Überweisung.txt');
    assert.equal(decodeEncodedWords(getHeader(e, 'content-description')!), 'Überweisung für März');
    assert.equal(getHeader(e, 'content-disposition'), 'attachment;\tfilename=a.txt');
    assert.ok(text(output).includes("name*=utf-8''%C3%9Cberweisung.txt"));
  });

  it('refolds a header line over 998 octets', () => {
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const output = toSignable(bytes(`Content-Description: ${words}\r\n\r\nbody`));
    assertCanonical(output);
    assert.equal(getHeader(parseEntity(output), 'content-description'), words);
  });

  it('keeps only the first Content-Type and Content-Transfer-Encoding', () => {
    const output = toSignable(
      bytes(
        'Content-Type: text/plain\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\nx',
      ),
    );
    assert.equal(text(output), 'Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nx');
  });

  it('refuses a lone CR in a header and 8-bit text in a structured header it cannot encode', () => {
    throwsCode(() => toSignable(bytes('Content-Description: a\rb\r\n\r\nx')), 'MIME_CANNOT_CANONICALIZE');
    throwsCode(() => toSignable(new Uint8Array([...utf8('Content-ID: <é@x>\r\n\r\nx')])), 'MIME_CANNOT_CANONICALIZE');
  });
});

describe('toSignable: composites', () => {
  const MIXED = crlf(
    [
      'Content-Type: multipart/mixed; boundary="=_b"',
      '',
      'preamble \u00e9 (8-bit: dropped)',
      '--=_b  ',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: 8bit',
      '',
      'caf\u00e9 ',
      '--=_b',
      'Content-Type: message/rfc822',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Subject: inner',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: 8bit',
      '',
      'na\u00efve',
      '--=_b--',
      'epilogue',
    ].join('\n'),
  );

  it('keeps the structure and boundaries, re-encodes the parts, marks composites 7bit, drops unsafe preambles', () => {
    const output = toSignable(bytes(MIXED));
    assertCanonical(output);
    assertSameContent(bytes(MIXED), output);
    const e = parseEntity(output);
    assert.equal(e.boundary, '=_b');
    assert.equal(e.preamble, undefined);
    assert.equal(text(e.epilogue!), 'epilogue');
    assert.equal(e.children[0]!.transferEncoding, 'quoted-printable');
    assert.equal(e.children[1]!.transferEncoding, '7bit');
    assert.equal(e.children[1]!.children[0]!.transferEncoding, 'quoted-printable');
    assert.equal(
      text(e.children[0]!.raw),
      'Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9=20',
    );
  });

  it('closes a multipart whose close delimiter is missing', () => {
    const output = toSignable(bytes('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\npart\r\n'));
    assert.equal(text(output), 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\npart\r\n\r\n--b--');
    assert.equal(parseEntity(output).truncated, false);
  });

  it('copies an embedded multipart/signed byte for byte (only LF -> CRLF): re-encoding would break its signature', () => {
    const signed =
      'Content-Type: multipart/signed; boundary=s; protocol="application/pkcs7-signature"\n\n--s\nContent-Type: text/plain\n\ntrailing space \n--s\nContent-Type: application/pkcs7-signature\n\nAAAA\n--s--\n';
    const input = bytes(`Content-Type: multipart/mixed; boundary=m\n\n--m\n${signed}--m--\n`);
    const output = toSignable(input);
    const inner = parseEntity(output).children[0]!;
    // The part ends before the CRLF of the next delimiter (RFC 2046 section 5.1.1).
    assert.equal(text(inner.raw), signed.slice(0, -1).replace(/\n/g, '\r\n'));
  });

  it('refuses what it cannot make canonical without changing meaning', () => {
    const CASES: [string, Uint8Array][] = [
      ['a multipart without parts', bytes('Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts')],
      ['a multipart without a boundary', bytes('Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n--b--')],
      [
        'a base64-encoded multipart',
        bytes(
          'Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: base64\r\n\r\n--b\r\n\r\nx\r\n--b--',
        ),
      ],
      [
        'an embedded multipart/signed with 8-bit content',
        bytes('Content-Type: multipart/signed; boundary=s\r\n\r\n--s\r\n\r\ncaf\u00e9\r\n--s\r\n\r\nAAAA\r\n--s--'),
      ],
    ];
    for (const [what, input] of CASES) {
      throwsCode(() => toSignable(input), 'MIME_CANNOT_CANONICALIZE');
      assert.ok(what);
    }
  });
});

describe('toSignable over the corpus', { skip: NO_CORPUS }, () => {
  for (const { name, bytes: input } of NO_CORPUS ? [] : corpusMessages()) {
    it(`${name}: canonical, idempotent, same content; canonical signed parts come back byte-identical`, () => {
      const root = parseEntity(input);
      const signed = [...walk(root)].filter((e) => e.contentType.mediaType === 'multipart/signed');
      for (const entity of signed) {
        // Signed first parts that are already canonical (CRLF, no trailing whitespace) stay exactly as they are.
        const part = entity.children[0]!.raw;
        if (/[ \t]\r\n/.test(text(part)) || /(?<!\r)\n/.test(text(part))) continue;
        assertBytes(toSignable(part), part);
      }
      const output = toSignable(input);
      assertCanonical(output, signed.length > 0);
      if (root.contentType.mediaType === 'multipart/signed') {
        // Copied verbatim: only line endings may change.
        assertBytes(output, bytes(text(input).replace(/(?<!\r)\n/g, '\r\n')));
      }
      assertBytes(toSignable(output), output);
      assertSameContent(input, output);
    });
  }
});
