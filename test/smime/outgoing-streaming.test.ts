// The chunked paths of outgoing mail (issue 6): the body scan that skips from line break to line break, base64 written
// from pieces of any size, the canonical entity as views of the message, boundary search across pieces, and
// encryption streamed from pieces into the output. Each is checked against the plain whole-buffer computation it
// replaces, at the edges that chunking creates: CRLF split across pieces, bare LF or CR at a piece's end, exact
// multiples of the block and slice sizes, empty input.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import {
  decryptEnvelope,
  encryptEnvelopePieces,
  type ContentCipher,
  type DecryptionKey,
} from '../../backend/src/smime/cms/enveloped/index.ts';
import {
  encodeBase64Lines,
  joinPieces,
  parseEntity,
  signablePieces,
  splitMessageHeaders,
  toSignable,
} from '../../backend/src/smime/mime/index.ts';
import { Base64LineWriter, base64LinesLength } from '../../backend/src/smime/mime/lib/base64-lines.ts';
import { scanBody, type BodyScan } from '../../backend/src/smime/mime/lib/body-scan.ts';
import { piecesInclude } from '../../backend/src/smime/mime/lib/pieces.ts';
import { protectMessage, protectMessagePieces } from '../../backend/src/smime/message/outgoing.ts';
import { corpusMessages, Rng } from './mime/helpers.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

const NO_CORPUS = corpusUnavailable('signablePieces over the corpus');

const CR = 13;
const LF = 10;

/** scanBody as it was before issue 6: one JavaScript loop over every byte. The reference for the fast scan. */
function referenceScan(bytes: Uint8Array): BodyScan {
  const scan: BodyScan = {
    eightBit: false,
    nul: false,
    loneCr: false,
    bareLf: false,
    longLine: false,
    trailingWhitespace: false,
    fromLine: false,
  };
  const endLine = (start: number, end: number) => {
    if (end - start > 998) scan.longLine = true;
    const last = bytes[end - 1];
    if (end > start && (last === 0x20 || last === 0x09)) scan.trailingWhitespace = true;
    if (end - start >= 5 && Buffer.from(bytes.subarray(start, start + 5)).toString('latin1') === 'From ')
      scan.fromLine = true;
  };
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) scan.eightBit = true;
    else if (b === 0) scan.nul = true;
    else if (b === CR) {
      if (bytes[i + 1] !== LF) scan.loneCr = true;
    } else if (b === LF) {
      const end = i > 0 && bytes[i - 1] === CR ? i - 1 : i;
      if (end === i) scan.bareLf = true;
      endLine(lineStart, end);
      lineStart = i + 1;
    }
  }
  endLine(lineStart, bytes.length);
  return scan;
}

/** Random text lines with the rare bytes a scan must notice, at random places, in lines of `lineLength` on average. */
function randomBody(rng: Rng, lines: number, lineLength: number): Uint8Array {
  const out: number[] = [];
  for (let l = 0; l < lines; l++) {
    const n = rng.int(lineLength * 2 + 1);
    if (rng.int(40) === 0) out.push(...Buffer.from('From '));
    for (let i = 0; i < n; i++) out.push(0x41 + rng.int(26));
    if (rng.int(60) === 0) out.push(rng.pick([0x20, 0x09, 0, 0xe9, CR]));
    if (rng.int(500) === 0) for (let i = 0; i < 1000; i++) out.push(0x42);
    out.push(...(rng.int(30) === 0 ? [LF] : rng.int(50) === 0 ? [CR] : [CR, LF]));
  }
  if (rng.int(2) === 0) out.pop();
  return Uint8Array.from(out);
}

describe('scanBody (line by line with indexOf)', () => {
  it('agrees with the byte loop on long and short lines, every flag, and at the 256-line sampling step', () => {
    const rng = new Rng(6);
    for (let round = 0; round < 300; round++) {
      const body = randomBody(rng, rng.int(700), rng.pick([1, 3, 20, 80, 400]));
      assert.deepEqual(scanBody(body), referenceScan(body), `round ${round}`);
    }
  });

  it('edge cases: empty, one CR, one LF, CRLF, a CR at the very end, a line of exactly 998 and 999 octets', () => {
    const cases = [
      '',
      '\r',
      '\n',
      '\r\n',
      'abc\r',
      'abc\r\r\n',
      '\n\n\n',
      'x \r\n',
      'From x',
      `${'a'.repeat(998)}\r\n`,
      `${'a'.repeat(999)}\r\n`,
    ];
    for (const c of cases) {
      const body = Buffer.from(c, 'latin1');
      assert.deepEqual(scanBody(body), referenceScan(body), JSON.stringify(c));
    }
  });
});

/** base64 of `bytes` in CRLF-terminated lines of `width`: the whole-buffer reference. */
function referenceBase64Lines(bytes: Uint8Array, width: number): string {
  const flat = Buffer.from(bytes).toString('base64');
  let out = '';
  for (let i = 0; i < flat.length; i += width) out += `${flat.slice(i, i + width)}\r\n`;
  return out;
}

describe('Base64LineWriter', () => {
  const BLOCK = 57 * 256; // input bytes per block at 76 characters a line

  it('writes the same lines whatever the pieces: single bytes, block multiples, empty pieces, the remainder', () => {
    const rng = new Rng(7);
    for (const length of [0, 1, 2, 3, 56, 57, 58, 114, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 3 * BLOCK + 5]) {
      const data = rng.bytes(length);
      for (const split of ['whole', 'bytes', 'random', 'blocks'] as const) {
        if (split === 'bytes' && length > 2000) continue;
        const pieces: Uint8Array[] = [];
        if (split === 'whole') pieces.push(data);
        else if (split === 'bytes')
          for (let i = 0; i < length; i++) pieces.push(data.subarray(i, i + 1), new Uint8Array(0));
        else if (split === 'blocks') for (let i = 0; i < length; i += BLOCK) pieces.push(data.subarray(i, i + BLOCK));
        else
          for (let i = 0; i < length;) {
            const n = 1 + rng.int(BLOCK + 100);
            pieces.push(data.subarray(i, i + n));
            i += n;
          }
        const out = new Uint8Array(base64LinesLength(length, 76));
        const writer = new Base64LineWriter(out, 0, 76);
        for (const p of pieces) writer.write(p);
        assert.equal(writer.end(), out.length, `${length} ${split}: length`);
        assert.equal(Buffer.from(out).toString('latin1'), referenceBase64Lines(data, 76), `${length} ${split}`);
      }
    }
  });

  it('encodeBase64Lines keeps its form (no CRLF after the last line) for every allowed line length', () => {
    const rng = new Rng(8);
    for (const width of [4, 64, 76]) {
      for (const length of [0, 1, 2, 3, 47, 48, 49, 57, 1000, 20_000]) {
        const data = rng.bytes(length);
        const expected = referenceBase64Lines(data, width).replace(/\r\n$/, '');
        assert.equal(Buffer.from(encodeBase64Lines(data, width)).toString('latin1'), expected, `${width}/${length}`);
      }
    }
  });
});

describe('piecesInclude', () => {
  it('finds a needle inside a piece and across one or several joins, small and large', () => {
    const needle = Buffer.from('--boundary-xyz');
    for (const size of [1000, 200_000]) {
      const filler = Buffer.alloc(size, 0x61);
      for (let at = 0; at <= needle.length; at++) {
        const joined = Buffer.concat([filler, needle, filler]);
        const cut = size + at;
        // The needle split at `at`, and also spread over one-byte pieces.
        const pieces = [joined.subarray(0, cut), joined.subarray(cut)];
        assert.ok(piecesInclude(pieces, needle), `${size}/${at}`);
        const fine = [
          joined.subarray(0, size),
          ...[...needle].map((b) => Uint8Array.of(b)),
          joined.subarray(size + needle.length),
        ];
        assert.ok(piecesInclude(fine, needle), `${size}/one-byte pieces`);
      }
      assert.ok(
        !piecesInclude([filler, needle.subarray(0, 5), filler, needle.subarray(5)], needle),
        `${size}: interrupted`,
      );
      assert.ok(!piecesInclude([], needle));
    }
  });
});

describe('signablePieces: the canonical entity as views of the message', () => {
  const variants = (rng: Rng): Uint8Array[] => {
    const header = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n';
    const text = Buffer.from(randomBody(rng, 40, 30)).toString('latin1');
    return [
      `${header}Content-Type: text/plain\r\n\r\nHello\r\n`,
      `${header}Content-Type: text/plain\r\n\r\n${text}`,
      `${header.replace(/\r\n/g, '\n')}Content-Type: text/plain\n\nbare LF\nlines\n`,
      `${header}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 \r\nFrom here\r\n`,
      `${header}Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\n${text}\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\nAwQF\r\n--b1--\r\nepilogue \r\n`,
      `${header}Content-Type: message/rfc822\r\n\r\nFrom: c@example.com\r\nContent-Type: text/plain\r\n\r\ninner\r\n`,
      `${header}Content-Type: multipart/signed; boundary="s"; protocol="application/pkcs7-signature"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--s--\r\n`,
      `${header}\r\nno content headers at all\r\n`,
    ].map((s) => new Uint8Array(Buffer.from(s, 'latin1')));
  };

  it(
    'gives the bytes of toSignable(splitMessageHeaders(raw).entity), on crafted messages and the corpus',
    { skip: NO_CORPUS },
    () => {
      const rng = new Rng(9);
      const inputs = [...variants(rng), ...variants(rng), ...corpusMessages().map((c) => c.bytes)];
      let compared = 0;
      for (const raw of inputs) {
        let expected: Uint8Array | Error;
        try {
          expected = toSignable(splitMessageHeaders(raw).entity);
        } catch (error) {
          expected = error as Error;
        }
        let actual: Uint8Array | Error | undefined;
        try {
          const pieces = signablePieces(parseEntity(raw));
          actual = pieces === undefined ? undefined : joinPieces(pieces);
        } catch (error) {
          actual = error as Error;
        }
        if (actual === undefined) continue; // multipart/signed: outgoing.ts takes the joined path
        if (expected instanceof Error) {
          assert.ok(actual instanceof Error, 'both refuse');
          assert.equal((actual as { code?: string }).code, (expected as { code?: string }).code);
        } else {
          assert.ok(
            actual instanceof Uint8Array && Buffer.from(actual).equals(Buffer.from(expected)),
            'same canonical bytes',
          );
        }
        compared++;
      }
      assert.ok(compared > 20, `${compared} messages compared`);
    },
  );
});

const RSA_CERT = new Uint8Array(
  pemToDer(readFileSync(new URL('../fixtures/p12/rsa.crt', import.meta.url), 'utf8'))[0]!,
);
const RSA_KEY: DecryptionKey = {
  keyId: 'rsa',
  certificate: RSA_CERT,
  privateKey: createPrivateKey(readFileSync(new URL('../fixtures/p12/rsa.key', import.meta.url))),
};

describe('encryptEnvelopePieces: content in pieces, DER streamed out', () => {
  const SLICE = 64 * 1024;

  it('decrypts to the joined content for every cut: empty, one byte, block and slice multiples, uneven pieces', async () => {
    const rng = new Rng(10);
    const cuts: [string, number[]][] = [
      ['empty', []],
      ['one byte', [1]],
      ['one block', [16]],
      ['a slice', [SLICE]],
      ['slice + 1 in two', [SLICE, 1]],
      ['uneven', [5, 0, 17, SLICE - 3, 1000]],
      ['two slices', [2 * SLICE]],
    ];
    for (const cipher of ['aes-256-cbc', 'aes-128-gcm', 'des-ede3-cbc'] as ContentCipher[]) {
      for (const [label, sizes] of cuts) {
        const pieces = sizes.map((n) => rng.bytes(n));
        const chunks: Uint8Array[] = [];
        let announced = -1;
        const made = encryptEnvelopePieces(pieces, [{ certificate: RSA_CERT }], { cipher }, (length) => {
          announced = length;
          return (chunk) => chunks.push(Uint8Array.from(chunk));
        });
        const der = joinPieces(chunks);
        assert.equal(der.length, announced, `${cipher} ${label}: the announced length`);
        assert.equal(made, cipher.endsWith('gcm') ? 'auth-enveloped' : 'enveloped');
        const r = await decryptEnvelope(der, [RSA_KEY]);
        assert.equal(r.status, 'decrypted', `${cipher} ${label}`);
        if (r.status === 'decrypted')
          assert.ok(Buffer.from(r.content).equals(Buffer.from(joinPieces(pieces))), `${cipher} ${label}: content`);
      }
    }
  });
});

describe('protectMessage: recipients (streamed) and encryptFn (joined) agree', () => {
  it('both decrypt to the same entity, with the smime-type of the cipher', async () => {
    const message = Buffer.from(
      'From: rsa-user@example.com\r\nTo: b@example.com\r\nSubject: s\r\nBcc: hidden@example.com\r\nContent-Type: text/plain\r\n\r\nHello\nworld\r\n',
      'latin1',
    );
    for (const cipher of ['aes-256-cbc', 'aes-256-gcm'] as const) {
      const { encryptEnvelope } = await import('../../backend/src/smime/cms/enveloped/index.ts');
      const recipients = [{ certificate: RSA_CERT }];
      const streamed = await protectMessage(message, { encrypt: { recipients, options: { cipher } } });
      const joined = await protectMessage(message, {
        encrypt: {
          encryptFn: (c) => encryptEnvelope(c, recipients, { cipher }),
          authEnveloped: cipher.endsWith('gcm'),
        },
      });
      const open = async (out: Uint8Array) => {
        const entity = parseEntity(out);
        const der = Buffer.from(Buffer.from(entity.body).toString('latin1'), 'base64');
        const r = await decryptEnvelope(der, [RSA_KEY]);
        assert.equal(r.status, 'decrypted');
        return {
          type: entity.contentType.params['smime-type'],
          content: r.status === 'decrypted' ? Buffer.from(r.content) : undefined,
        };
      };
      const a = await open(streamed);
      const b = await open(joined);
      assert.equal(a.type, cipher.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data');
      assert.equal(a.type, b.type);
      assert.ok(a.content!.equals(b.content!), 'same plaintext entity');
      assert.ok(!Buffer.from(streamed).toString('latin1').includes('hidden@example.com'), 'Bcc dropped');
      const lines = Buffer.from(streamed).toString('latin1').split('\r\n\r\n')[1]!.split('\r\n');
      assert.ok(
        lines.slice(0, -2).every((l) => l.length === 76),
        'full base64 lines of 76',
      );
    }
  });
});

describe('protectMessagePieces: the answer as the pieces the server writes', () => {
  const signer = { certificate: RSA_CERT, chain: [], privateKey: RSA_KEY.privateKey };
  const attachment = Buffer.from(new Rng(7).bytes(300_000)).toString('base64').replace(/.{76}/g, '$&\r\n');
  const message = Buffer.from(
    'From: rsa-user@example.com\r\nTo: b@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n' +
      `--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--b1--\r\n`,
    'latin1',
  );

  it('joined, they make what protectMessage returns (same length and structure), for every mode', async () => {
    const modes = [
      { sign: { signer } },
      { sign: { signer, format: 'opaque' as const } },
      { encrypt: { recipients: [{ certificate: RSA_CERT }] } },
      { sign: { signer }, encrypt: { recipients: [{ certificate: RSA_CERT }] } },
    ];
    for (const options of modes) {
      const pieces = await protectMessagePieces(message, options);
      const whole = await protectMessage(message, options);
      // Signing time and the content-encryption key differ between two calls: compare the structure of a signed
      // answer exactly, and an encrypted one by what it decrypts to.
      const joined = joinPieces(pieces);
      assert.equal(joined.length, whole.length, JSON.stringify(Object.keys(options)));
      if (!options.encrypt) {
        const a = parseEntity(joined);
        const b = parseEntity(whole);
        assert.equal(a.contentType.type, b.contentType.type);
        assert.equal(a.children.length, b.children.length);
      } else assert.equal(pieces.length, 1, 'encrypted output is one piece');
    }
  });

  it('a signed message is not copied: the attachment is a view of the request bytes', async () => {
    const pieces = await protectMessagePieces(message, { sign: { signer } });
    const big = pieces.filter((p) => p.length >= 300_000);
    assert.equal(big.length, 1, 'the attachment body is one piece');
    assert.equal(big[0]!.buffer, message.buffer, 'a view of the message, not a copy');
    // And what the pieces make is a signature OpenSSL-compatible readers accept: our own reader checks it here
    // (test/smime/sign-interop.test.ts runs openssl and cmsutil over the same code path).
    const { analyzeMessage } = await import('../../backend/src/smime/message/incoming.ts');
    const a = await analyzeMessage(joinPieces(pieces), { verify: { trustAnchors: [] }, keys: async () => [] });
    const signature = a.layers[0]?.kind === 'signed' ? a.layers[0].signatures[0] : undefined;
    assert.equal(signature?.checks.find((c) => c.name === 'signature')?.outcome, 'pass');
  });
});
