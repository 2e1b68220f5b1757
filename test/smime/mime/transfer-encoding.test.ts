// Content-Transfer-Encoding: RFC 4648 / RFC 2045 vectors, exact encoder output for the edge cases, and seeded
// round trips over random bytes with the output checked against the rules it must keep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeBase64,
  decodeBody,
  decodeQuotedPrintable,
  encodeBase64Lines,
  encodeQuotedPrintable,
  parseEntity,
} from '../../../backend/src/smime/mime/index.ts';
import { assertBytes, bytes, Rng, text, throwsCode } from './helpers.ts';

// RFC 4648 section 10.
const BASE64_VECTORS: [string, string][] = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

describe('base64', () => {
  for (const [plain, encoded] of BASE64_VECTORS) {
    it(`RFC 4648 vector ${JSON.stringify(plain)}`, () => {
      assert.equal(text(encodeBase64Lines(bytes(plain))), encoded);
      assert.equal(text(decodeBase64(bytes(encoded))), plain);
      assert.equal(text(decodeBase64(bytes(encoded), { strict: true })), plain);
    });
  }

  it('ignores line breaks and whitespace anywhere', () => {
    assert.equal(text(decodeBase64(bytes(' Zm9v\r\nYm\tFy\n'), { strict: true })), 'foobar');
  });

  it('lenient (RFC 2045 section 6.8): ignores characters outside the alphabet, stops at padding', () => {
    assert.equal(text(decodeBase64(bytes('Zm9v!!Ym*Fy'))), 'foobar');
    assert.equal(text(decodeBase64(bytes('Zg==Zm9v'))), 'f');
    assert.equal(text(decodeBase64(bytes('Zm9vY'))), 'foo'); // a lone sixth of a byte is dropped
  });

  const STRICT_FAILURES: [string, string][] = [
    ['a character outside the alphabet', 'Zm9v!Ymfy'],
    ['data after the padding', 'Zg==Zm9v'],
    ['too much padding', 'Zm8=='],
    ['missing padding bytes', 'Zg='],
    ['padding with nothing before it', '===='],
    ['an incomplete quantum', 'Zm9vY'],
  ];
  for (const [what, input] of STRICT_FAILURES) {
    it(`strict: refuses ${what} with MIME_BAD_ENCODING`, () => {
      throwsCode(() => decodeBase64(bytes(input), { strict: true }), 'MIME_BAD_ENCODING');
    });
  }

  it('writes lines of 76 characters separated by CRLF, without a CRLF after the last', () => {
    const out = text(encodeBase64Lines(new Rng(1).bytes(200)));
    const lines = out.split('\r\n');
    assert.deepEqual(
      lines.map((l) => l.length),
      [76, 76, 76, 40],
    );
    assert.ok(!out.endsWith('\r\n'));
    assert.deepEqual(
      text(encodeBase64Lines(new Rng(1).bytes(57), 64))
        .split('\r\n')
        .map((l) => l.length),
      [64, 12],
    );
  });

  it('refuses a line length that is not a multiple of 4 within 4..76', () => {
    for (const n of [0, 3, 77, 80, 75.5]) throwsCode(() => encodeBase64Lines(bytes('x'), n), 'MIME_INVALID_OPTION');
  });

  it('round-trips 500 random byte strings (seeded), at every line length', () => {
    const rng = new Rng(0xb64);
    for (let i = 0; i < 500; i++) {
      const data = rng.bytes(rng.int(700));
      const lineLength = 4 * (1 + rng.int(19));
      const encoded = encodeBase64Lines(data, lineLength);
      assert.match(text(encoded), /^(?:[A-Za-z0-9+/=]+(?:\r\n(?=.))?)*$/s);
      assertBytes(decodeBase64(encoded, { strict: true }), data);
    }
  });
});

describe('quoted-printable decoding (RFC 2045 section 6.7)', () => {
  const VECTORS: [string, string, string][] = [
    ['hex escapes, either case', 'a=3Db=3db', 'a=b=b'],
    ['a soft line break', 'soft=\r\nbreak', 'softbreak'],
    ['a soft line break with transport padding after the =', 'soft=  \r\nbreak', 'softbreak'],
    ['a soft line break with LF only', 'soft=\nbreak', 'softbreak'],
    ['trailing whitespace is removed (rule 3)', 'line  \t\r\nnext \t', 'line\r\nnext'],
    ['encoded trailing whitespace is kept', 'line =20\r\n', 'line  \r\n'],
    ['hard line breaks are kept as they are', 'a\r\nb\nc', 'a\r\nb\nc'],
    ['an = without two hex digits is kept (note 1)', 'a=zz b= c=4', 'a=zz b= c=4'],
    ['an = at the very end is a soft break', 'end=', 'end'],
    ['8-bit bytes pass through', 'caf\u00e9', 'caf\u00e9'],
  ];
  for (const [what, input, expected] of VECTORS) {
    it(what, () => assert.equal(text(decodeQuotedPrintable(bytes(input))), expected));
  }

  it('strict: refuses a broken escape and 8-bit bytes', () => {
    throwsCode(() => decodeQuotedPrintable(bytes('a=zz'), { strict: true }), 'MIME_BAD_ENCODING');
    throwsCode(() => decodeQuotedPrintable(bytes('a=4'), { strict: true }), 'MIME_BAD_ENCODING');
    throwsCode(() => decodeQuotedPrintable(bytes('caf\u00e9'), { strict: true }), 'MIME_BAD_ENCODING');
  });
});

describe('quoted-printable encoding', () => {
  const VECTORS: [string, string, string][] = [
    ['= and 8-bit bytes', 'a=b \u00e9', 'a=3Db =E9'],
    ['trailing space and tab before CRLF and at the end', 'x \r\ny\t', 'x=20\r\ny=09'],
    ['a lone LF or CR, so any bytes round-trip', 'a\nb\rc', 'a=0Ab=0Dc'],
    ['a leading dot (RFC 2049 section 4 item 8)', '.\r\n.x', '=2E\r\n=2Ex'],
    ['From at the start of a line', 'From me\r\nX From y\r\nFrom', '=46rom me\r\nX From y\r\nFrom'],
    [
      'a long line: soft breaks, each line at most 76 with its =',
      'x'.repeat(160),
      `${'x'.repeat(75)}=\r\n${'x'.repeat(75)}=\r\n${'x'.repeat(10)}`,
    ],
    ['a 76-character line needs no soft break', 'y'.repeat(76), 'y'.repeat(76)],
    ['an escape is never split by a soft break', `${'z'.repeat(74)}\u00e9`, `${'z'.repeat(74)}=\r\n=E9`],
  ];
  for (const [what, input, expected] of VECTORS) {
    it(what, () => assert.equal(text(encodeQuotedPrintable(bytes(input))), expected));
  }

  it('round-trips 1,000 random byte strings (seeded); the output keeps every rule', () => {
    const rng = new Rng(0x9e);
    // Bytes that stress the rules more often than uniform noise would.
    const alphabet = bytes(' \t\r\n.=Fromx\u00e9\u0000');
    for (let i = 0; i < 1000; i++) {
      const n = rng.int(400);
      const data = new Uint8Array(n);
      for (let j = 0; j < n; j++) data[j] = rng.next() < 0.5 ? rng.int(256) : rng.pick([...alphabet]);
      const encoded = text(encodeQuotedPrintable(data));
      assert.match(encoded, /^[\x21-\x7e \t\r\n]*$/, '7-bit printable');
      assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(encoded), 'only CRLF line breaks');
      for (const line of encoded.split('\r\n')) {
        assert.ok(line.length <= 76, `line of ${line.length}`);
        assert.ok(!/[ \t]$/.test(line), 'no trailing whitespace');
        assert.ok(!line.startsWith('.') && !line.startsWith('From '), 'no leading dot or From');
      }
      assertBytes(decodeQuotedPrintable(bytes(encoded), { strict: true }), data);
    }
  });
});

describe('decodeBody', () => {
  it('returns the body itself (same view, no copy) for 7bit, 8bit and binary', () => {
    for (const encoding of ['7bit', '8BIT', 'binary']) {
      const e = parseEntity(bytes(`Content-Transfer-Encoding: ${encoding}\r\n\r\nbody\u00e9`));
      assert.equal(decodeBody(e), e.body);
    }
  });

  it('decodes base64 and quoted-printable bodies', () => {
    assert.equal(
      text(decodeBody(parseEntity(bytes('Content-Transfer-Encoding: base64\r\n\r\nZm9v\r\nYmFy\r\n')))),
      'foobar',
    );
    assert.equal(
      text(decodeBody(parseEntity(bytes('Content-Transfer-Encoding: Quoted-Printable\r\n\r\na=3D=\r\nb')))),
      'a=b',
    );
  });

  it('refuses an unknown encoding with MIME_UNSUPPORTED_ENCODING and unknown options with MIME_INVALID_OPTION', () => {
    throwsCode(
      () => decodeBody(parseEntity(bytes('Content-Transfer-Encoding: x-uuencode\r\n\r\nbody'))),
      'MIME_UNSUPPORTED_ENCODING',
    );
    const e = parseEntity(bytes('\r\nbody'));
    throwsCode(() => decodeBody(e, { strict: 'yes' } as never), 'MIME_INVALID_OPTION');
    throwsCode(() => decodeBody(e, { lenient: true } as never), 'MIME_INVALID_OPTION');
  });
});
