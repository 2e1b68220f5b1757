// The MIME layer against real S/MIME messages (Thunderbird/NSS and OpenSSL output, shared/smime-corpus). The
// strongest check of byte-exact splitting: for every multipart/signed in the corpus, the SHA-x digest of the first
// part's raw bytes must equal the messageDigest the signer put in the detached signature (RFC 5652 section 5.4)
// exactly when MANIFEST.md says the signature verifies. One byte too many or too few (the CRLF before the delimiter)
// and every row fails.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  canonicalizeLineEndings,
  decodeBody,
  getHeader,
  parseEntity,
  type MimeEntity,
} from '../../../backend/src/smime/mime/index.ts';
import { assertBytes, bytes, corpusFile, corpusMessages, text, viewOffset, walk } from './helpers.ts';
import { corpusUnavailable } from '../../helpers/unavailable.ts';

const NO_CORPUS = corpusUnavailable();
const messages = NO_CORPUS ? [] : corpusMessages();

/** The tree as a string: `multipart/signed(text/plain,application/pkcs7-signature)`. */
function shape(entity: MimeEntity): string {
  return entity.children.length === 0
    ? entity.contentType.mediaType
    : `${entity.contentType.mediaType}(${entity.children.map(shape).join(',')})`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An independent check of a multipart split: the bytes between consecutive children, and around them, must be
 * exactly delimiter lines (RFC 2046 section 5.1.1), written here as regular expressions over the raw text.
 */
function assertDelimitersBetween(input: Uint8Array, entity: MimeEntity): void {
  const body = text(entity.body);
  const bodyStart = viewOffset(input, entity.body);
  const b = escapeRegExp(entity.boundary!);
  const delimiter = new RegExp(`^\\r?\\n--${b}[ \\t]*\\r?\\n$`);
  entity.children.forEach((child, i) => {
    const start = viewOffset(input, child.raw) - bodyStart;
    const end = start + child.raw.length;
    if (i === 0) {
      assert.match(body.slice(0, start), new RegExp(`(?:^|\\r?\\n)--${b}[ \\t]*\\r?\\n$`), 'before the first part');
    } else {
      const previous = entity.children[i - 1]!;
      const previousEnd = viewOffset(input, previous.raw) - bodyStart + previous.raw.length;
      assert.match(body.slice(previousEnd, start), delimiter, `between parts ${i - 1} and ${i}`);
    }
    if (i === entity.children.length - 1 && !entity.truncated) {
      assert.match(body.slice(end), new RegExp(`^\\r?\\n--${b}--`), 'after the last part');
    }
  });
}

describe('MIME corpus: every message parses, byte-exact', { skip: NO_CORPUS }, () => {
  it('finds the corpus (73 .eml and 6 .env files)', () => {
    assert.equal(messages.filter((m) => m.name.endsWith('.eml')).length, 73);
    assert.equal(messages.filter((m) => m.name.endsWith('.env')).length, 6);
  });

  for (const { name, bytes: input } of messages) {
    it(`${name}: parses; every entity is a view of the input; parts sit exactly between delimiters`, () => {
      const root = parseEntity(input);
      assert.equal(root.raw.length, input.length);
      for (const entity of walk(root)) {
        const at = viewOffset(input, entity.raw);
        assert.equal(at, entity.offset);
        assert.equal(viewOffset(input, entity.headerBytes), at);
        assert.equal(
          viewOffset(input, entity.body) + entity.body.length,
          at + entity.raw.length,
          'body ends the entity',
        );
        const separator = text(input.subarray(at + entity.headerBytes.length, viewOffset(input, entity.body)));
        assert.match(separator, /^(?:\r?\n)?$/, 'only the blank line between headers and body');
        if (entity.contentType.type === 'multipart') {
          assert.ok(entity.children.length > 0, 'a multipart with parts');
          assertDelimitersBetween(input, entity);
        }
      }
    });
  }
});

// Expected shapes: MANIFEST.md "structure" column, read as MIME (not CMS) layers.
const SHAPES: Record<string, string> = {
  'mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml':
    'multipart/signed(text/plain,application/pkcs7-signature)',
  'mailnews-test-data-smime/alice.sig.SHA256.opaque.eml': 'application/pkcs7-mime',
  'mailnews-test-data-smime/alice.env.dsig.SHA256.multipart.eml':
    'multipart/signed(application/pkcs7-mime,application/pkcs7-signature)',
  'mailnews-test-data-smime/alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml':
    'multipart/signed(multipart/signed(text/plain,application/pkcs7-signature),application/pkcs7-signature)',
  'mail-test-browser-smime-data/alice.dsig.SHA256.multipart.in.mixed.with.header.eml':
    'multipart/mixed(text/plain,multipart/signed(text/plain,application/pkcs7-signature),text/plain)',
  'mail-test-browser-smime-data/nested-sigs.eml':
    'multipart/signed(multipart/mixed(text/plain,message/rfc822(multipart/signed(text/plain,application/pkcs7-signature))),application/pkcs7-signature)',
  'mail-test-browser-smime-data/multipart-alternative.eml':
    'multipart/alternative(application/pkcs7-mime,application/pkcs7-mime)',
  'mailnews-test-data-smime-interop/fran-oaep_ossl.env': 'application/pkcs7-mime',
};

describe('MIME corpus: structure', { skip: NO_CORPUS }, () => {
  for (const [name, expected] of Object.entries(SHAPES)) {
    it(`${name}: ${expected}`, () => {
      assert.equal(shape(parseEntity(corpusFile(name))), expected);
    });
  }

  it('only multipart-alternative.eml has defects: its last delimiter lacks the closing "--" (and has no part after it)', () => {
    const withDefects = messages
      .map(({ name, bytes: input }) => ({ name, defects: [...walk(parseEntity(input))].flatMap((e) => e.defects) }))
      .filter((m) => m.defects.length > 0);
    assert.deepEqual(withDefects, [
      { name: 'mail-test-browser-smime-data/multipart-alternative.eml', defects: ['MISSING_CLOSE_DELIMITER'] },
    ]);
    const root = parseEntity(corpusFile('mail-test-browser-smime-data/multipart-alternative.eml'));
    assert.equal(root.truncated, true);
    assert.equal(root.children.length, 2);
  });
});

/** RFC 5652 section 11.2 messageDigest attribute (1.2.840.113549.1.9.4), found by its DER encoding. */
const MESSAGE_DIGEST_OID = Buffer.from('06092a864886f70d010904', 'hex');
const DIGEST_BY_LENGTH: Record<number, string> = { 20: 'sha1', 32: 'sha256', 48: 'sha384', 64: 'sha512' };

function signedDigest(signature: Uint8Array): { algorithm: string; digest: string } {
  const der = Buffer.from(signature);
  const at = der.indexOf(MESSAGE_DIGEST_OID);
  assert.ok(at !== -1, 'no messageDigest attribute');
  let i = at + MESSAGE_DIGEST_OID.length;
  assert.equal(der[i], 0x31, 'SET');
  i += 2;
  assert.equal(der[i], 0x04, 'OCTET STRING');
  const length = der[i + 1]!;
  const digest = der.subarray(i + 2, i + 2 + length);
  return { algorithm: DIGEST_BY_LENGTH[length]!, digest: digest.toString('hex') };
}

type DigestMatch = 'crlf' | 'lf' | 'none';

/**
 * Every multipart/signed of the corpus, outermost first, and which bytes its signature covers. From MANIFEST.md:
 * "sig OK" -> the first part's raw bytes ('crlf'); the alice.env.dsig quirk -> only the LF version ('lf'); corrupted,
 * mismatched or altered signatures -> neither.
 */
const SIGNED: Record<string, DigestMatch[]> = {
  'mail-test-browser-smime-data/alice.dsig.SHA256.multipart.in.mixed.eml': ['crlf'],
  'mail-test-browser-smime-data/alice.dsig.SHA256.multipart.in.mixed.with.header.eml': ['crlf'],
  'mail-test-browser-smime-data/nested-sigs.eml': ['none', 'none'],
  'mailnews-test-data-smime-manual/alice.dsig.SHA256.multipart.env.dsig.eml': ['none'],
  'mailnews-test-data-smime-manual/outer-smime-bad-sig-inner-smime-enc-sig.eml': ['none'],
  'mailnews-test-data-smime-manual/outer-smime-bad-sig-inner-smime-enc.eml': ['none'],
  'mailnews-test-data-smime/alice.future.dsig.SHA256.multipart.eml': ['crlf'],
};
for (const hash of ['SHA1', 'SHA256', 'SHA384', 'SHA512']) {
  SIGNED[`mailnews-test-data-smime/alice.dsig.${hash}.multipart.eml`] = ['crlf'];
  SIGNED[`mailnews-test-data-smime/alice.dsig.${hash}.multipart.bad.eml`] = ['none'];
  SIGNED[`mailnews-test-data-smime/alice.dsig.${hash}.multipart.mismatch-econtent.eml`] = ['none'];
  SIGNED[`mailnews-test-data-smime/alice.env.dsig.${hash}.multipart.eml`] = ['lf'];
  SIGNED[`mailnews-test-data-smime/alice.plain.dsig.${hash}.multipart.dave.dsig.${hash}.multipart.eml`] = [
    'crlf',
    'crlf',
  ];
  SIGNED[`mailnews-test-data-smime/alice.plain.sig.${hash}.opaque.dave.dsig.${hash}.multipart.eml`] = ['crlf'];
}

describe('MIME corpus: multipart/signed first parts are exactly the signed bytes', { skip: NO_CORPUS }, () => {
  it('the table lists every multipart/signed of the corpus', () => {
    const found = messages
      .filter(({ bytes: input }) =>
        [...walk(parseEntity(input))].some((e) => e.contentType.mediaType === 'multipart/signed'),
      )
      .map((m) => m.name)
      .sort();
    assert.deepEqual(found, Object.keys(SIGNED).sort());
  });

  for (const [name, expected] of Object.entries(SIGNED)) {
    it(`${name}: ${expected.join(', ')}`, () => {
      const signedEntities = [...walk(parseEntity(corpusFile(name)))].filter(
        (e) => e.contentType.mediaType === 'multipart/signed',
      );
      const actual = signedEntities.map((entity): DigestMatch => {
        assert.equal(entity.children.length, 2);
        const { algorithm, digest } = signedDigest(decodeBody(entity.children[1]!));
        const signed = entity.children[0]!.raw;
        if (createHash(algorithm).update(signed).digest('hex') === digest) return 'crlf';
        const lf = Buffer.from(text(signed).replace(/\r\n/g, '\n'), 'latin1');
        return createHash(algorithm).update(lf).digest('hex') === digest ? 'lf' : 'none';
      });
      assert.deepEqual(actual, expected);
    });
  }

  it('alice.dsig.SHA256.multipart.eml, by hand: the signed part is these 171 bytes, no CRLF of the delimiter', () => {
    const root = parseEntity(corpusFile('mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml'));
    const [signed, signature] = root.children;
    assertBytes(
      signed!.raw,
      bytes(
        'Content-Type: text/plain; charset=utf-8; format=flowed\r\n' +
          'Content-Transfer-Encoding: quoted-printable\r\n' +
          'Content-Language: en-US\r\n' +
          '\r\n' +
          'This is a test message from Alice to Bob.\r\n',
      ),
    );
    assert.equal(signed!.raw.length, 171);
    assert.equal(text(decodeBody(signed!)), 'This is a test message from Alice to Bob.\r\n');
    assert.equal(signature!.raw.length, 2560);
    assert.ok(
      text(signature!.raw).endsWith('A++z/ko+Io/u75ZCqelXzH5FT+hYe01o1AkOqUbWAAAAAAAA'),
      'ends before the CRLF',
    );
    assert.equal(text(root.preamble!), 'This is a cryptographically signed message in MIME format.\r\n');
    assert.equal(text(root.epilogue!), '\r\n');
    assert.equal(root.boundary, '------------ms030903020902020502030404');
    assert.equal(root.contentType.params['micalg'], 'sha-256');
    assert.equal(root.contentType.params['protocol'], 'application/pkcs7-signature');
  });

  it('nested-sigs.eml, by hand: the signed part is the 7317-byte multipart/mixed, inner close delimiter and all', () => {
    const input = corpusFile('mail-test-browser-smime-data/nested-sigs.eml');
    const signed = parseEntity(input).children[0]!;
    assert.equal(signed.raw.length, 7317);
    assert.equal(signed.offset, 327); // by hand: python3 -c "print(open(f,'rb').read().index(b'Content-Type: multipart/mixed'))"
    assert.ok(
      text(signed.raw).startsWith(
        'Content-Type: multipart/mixed; \r\n\tboundary="----=_Part_159674792_1533625984.1641369266416"\r\n',
      ),
    );
    assert.ok(text(signed.raw).endsWith('\r\n------=_Part_159674792_1533625984.1641369266416--\r\n'));
    const embedded = signed.children[1]!.children[0]!;
    assert.equal(getHeader(embedded, 'subject'), 'subject 2');
    assert.equal(embedded.children[0]!.raw.length, 104);
  });
});

/** Same message, other line endings: LF everywhere (as a Unix mail store keeps it) or CRLF everywhere. */
function withLf(input: Uint8Array): Uint8Array {
  return bytes(text(input).replace(/\r\n/g, '\n'));
}

/** What must not depend on line endings: the shape, the headers, the boundaries and the decoded content. */
function summary(entity: MimeEntity): unknown {
  return {
    type: entity.contentType.mediaType,
    params: { ...entity.contentType.params },
    encoding: entity.transferEncoding,
    headers: entity.headers.map((h) => [h.name, h.value]),
    content: entity.children.length > 0 ? undefined : text(canonicalizeLineEndings(decodeBody(entity))),
    truncated: entity.truncated,
    children: entity.children.map(summary),
  };
}

describe('MIME corpus: CRLF and LF-only versions of a message split the same way', { skip: NO_CORPUS }, () => {
  for (const { name, bytes: input } of messages) {
    it(name, () => {
      const original = summary(parseEntity(input));
      assert.deepEqual(summary(parseEntity(withLf(input))), original);
      assert.deepEqual(summary(parseEntity(canonicalizeLineEndings(input))), original);
    });
  }
});
