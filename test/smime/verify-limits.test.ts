/**
 * Size and structure limits of signature verification (issue 3, smime/limits.ts): a 25 MB opaque signed
 * message verifies (DER and OpenSSL's streamed BER), BER chunked eContent verifies, and inputs beyond each named limit
 * fail fast with a typed answer instead of exhausting memory or the stack.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { concatBytes } from '../../backend/src/smime/asn1/reader.ts';
import { MAX_MESSAGE_CERTIFICATES, MAX_SIGNED_DATA_BYTES, MAX_SIGNER_INFOS } from '../../backend/src/smime/limits.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, INTERMEDIATE, PKI_DIR, PKI_NOW, ROOT, cert, key, message } from '../fixtures/pki/pki.ts';
import {
  assembleSignedData,
  berChunkedOpaque,
  buildSignedData,
  der,
  derOctetString,
  type SignedDataSpec,
} from '../fixtures/pki/signed-data-builder.ts';

const options = { trustAnchors: [ROOT], now: PKI_NOW, fromAddresses: ['signer@pki.test'] };
const signer = { cert: cert('signer'), key: key('signer') };
/** Generous for a 2-core CI machine; a linear-time verifier needs well under a second for 25 MB. */
const LARGE_MESSAGE_BUDGET_MS = 15_000;

describe('large messages', () => {
  let dir: string;
  const big = new Uint8Array(25 * 1024 * 1024);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'verify-limits-'));
    // A MIME entity with 25 MB of base64-like text lines (canonical CRLF), like a large attachment.
    const line = Buffer.from(`${randomBytes(57).toString('base64')}\r\n`, 'latin1');
    const head = Buffer.from(
      'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      'latin1',
    );
    big.set(head, 0);
    for (let o = head.length; o < big.length; o += line.length)
      big.set(line.subarray(0, Math.min(line.length, big.length - o)), o);
    writeFileSync(join(dir, 'big.txt'), big);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [label, extra] of [
    ['DER (definite lengths, one OCTET STRING)', []],
    ['BER (openssl -stream: indefinite lengths, chunked OCTET STRING)', ['-stream']],
  ] as const) {
    test(`25 MB opaque signed-data, ${label}, verifies and returns the content`, async () => {
      const out = join(dir, `big-${extra.length}.p7m`);
      const pki = PKI_DIR.pathname;
      execFileSync('openssl', [
        'cms',
        '-sign',
        '-binary',
        '-nodetach',
        '-md',
        'sha256',
        '-in',
        join(dir, 'big.txt'),
        '-signer',
        `${pki}certs/signer.pem`,
        '-inkey',
        `${pki}keys/signer.key`,
        '-certfile',
        `${pki}certs/intermediate.pem`,
        '-outform',
        'DER',
        '-out',
        out,
        ...extra,
      ]);
      const cms = new Uint8Array(readFileSync(out));
      assert.ok(cms.length > 25 * 1024 * 1024);
      const started = performance.now();
      const r = await verifySignedData(cms, undefined, options);
      const elapsed = performance.now() - started;
      assert.deepEqual(
        r.signatures.map((s) => s.status),
        ['valid'],
      );
      assert.equal(r.content!.length, big.length);
      assert.ok(Buffer.from(r.content!).equals(Buffer.from(big)));
      assert.ok(elapsed < LARGE_MESSAGE_BUDGET_MS, `${elapsed} ms`);
    });
  }

  test('25 MB detached content verifies', async () => {
    const spec: SignedDataSpec = {
      content: big,
      detached: true,
      signers: [signer],
      certificates: [cert('signer'), INTERMEDIATE],
    };
    const r = await verifySignedData(buildSignedData(spec), big, options);
    assert.deepEqual(
      r.signatures.map((s) => s.status),
      ['valid'],
    );
  });
});

describe('BER eContent', () => {
  for (const chunk of [1, 7, 1000, 4096]) {
    test(`indefinite-length constructed OCTET STRING in ${chunk}-byte chunks`, async () => {
      const content =
        chunk === 1 ? CONTENT : new Uint8Array(Buffer.concat(Array.from({ length: 2000 }, () => Buffer.from(CONTENT))));
      const spec: SignedDataSpec = {
        content,
        detached: false,
        signers: [signer],
        certificates: [cert('signer'), INTERMEDIATE],
      };
      const r = await verifySignedData(berChunkedOpaque(spec, chunk), undefined, options);
      assert.deepEqual(
        r.signatures.map((s) => s.status),
        ['valid'],
      );
      assert.deepEqual(r.content, content);
    });
  }

  test('nested constructed segments (X.690 section 8.7.3.2) are read in order', async () => {
    const spec: SignedDataSpec = {
      content: CONTENT,
      detached: false,
      signers: [signer],
      certificates: [cert('signer'), INTERMEDIATE],
    };
    const flat = berChunkedOpaque(spec, 10);
    // Wrap the first two primitive segments into a constructed one: 24 80 [04 0a ..][04 0a ..] 00 00.
    const start = Buffer.from(flat).indexOf(Buffer.from([0x24, 0x80])) + 2;
    const seg = 12; // 04 0a + 10 bytes
    const nested = concatBytes([
      flat.subarray(0, start),
      new Uint8Array([0x24, 0x80]),
      flat.subarray(start, start + 2 * seg),
      new Uint8Array([0, 0]),
      flat.subarray(start + 2 * seg),
    ]);
    const r = await verifySignedData(nested, undefined, options);
    assert.deepEqual(
      r.signatures.map((s) => s.status),
      ['valid'],
    );
    assert.deepEqual(r.content, CONTENT);
  });
});

describe('limits', () => {
  test(`over MAX_SIGNED_DATA_BYTES (${MAX_SIGNED_DATA_BYTES}) -> CMS_TOO_LARGE before parsing`, async () => {
    const huge = new Uint8Array(MAX_SIGNED_DATA_BYTES + 1);
    await assert.rejects(verifySignedData(huge, undefined, options), (e) => isSmimeError(e, 'CMS_TOO_LARGE'));
  });

  test('100,000 nested indefinite-length values: refused without exhausting the stack', async () => {
    const depth = 100_000;
    const nested = new Uint8Array(depth * 4);
    for (let i = 0; i < depth; i++) nested.set([0x30, 0x80], i * 2);
    const started = performance.now();
    await assert.rejects(verifySignedData(nested, undefined, options), (e) => isSmimeError(e, 'CMS_MALFORMED'));
    assert.ok(performance.now() - started < 1000);
  });

  test('deep nesting inside the SignedData -> malformed, not a crash', async () => {
    const deep = new Uint8Array(
      Buffer.concat([
        Buffer.alloc(0),
        ...Array.from({ length: 200 }, () => Buffer.from([0x30, 0x80])),
        Buffer.alloc(400),
      ]),
    );
    const r = await verifySignedData(assembleSignedData({ certificates: [deep], signerInfos: [] }), CONTENT, options);
    assert.deepEqual(
      r.signatures.map((s) => s.status),
      ['malformed'],
    );
  });

  test(`more than MAX_SIGNER_INFOS (${MAX_SIGNER_INFOS}) SignerInfos -> malformed`, async () => {
    const signerInfo = new Uint8Array([0x30, 0x00]);
    const r = await verifySignedData(
      assembleSignedData({
        certificates: [],
        signerInfos: Array.from({ length: MAX_SIGNER_INFOS + 1 }, () => signerInfo),
      }),
      CONTENT,
      options,
    );
    assert.deepEqual(
      r.signatures.map((s) => s.status),
      ['malformed'],
    );
    assert.match(r.signatures[0]!.checks[0]!.detail!, /too many SignerInfos/);
  });

  test(`more than MAX_MESSAGE_CERTIFICATES (${MAX_MESSAGE_CERTIFICATES}) certificates -> malformed`, async () => {
    const r = await verifySignedData(
      assembleSignedData({
        certificates: Array.from({ length: MAX_MESSAGE_CERTIFICATES + 1 }, () => cert('signer')),
        signerInfos: [],
      }),
      CONTENT,
      options,
    );
    assert.deepEqual(
      r.signatures.map((s) => s.status),
      ['malformed'],
    );
    assert.match(r.signatures[0]!.checks[0]!.detail!, /too many certificates/);
  });

  test('a million one-byte BER segments in an 8 MB message are refused or read in linear time', async () => {
    const seg = derOctetString(new Uint8Array([0x41]));
    const pieces = new Uint8Array(seg.length * 1_000_001);
    for (let i = 0; i < 1_000_001; i++) pieces.set(seg, i * seg.length);
    const econtent = concatBytes([new Uint8Array([0x24, 0x80]), pieces, new Uint8Array([0, 0])]);
    const encap = der(
      0x30,
      new Uint8Array([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]),
      der(0xa0, econtent),
    );
    const sd = der(
      0x30,
      new Uint8Array([0x02, 0x01, 0x01]),
      new Uint8Array([0x31, 0x00]),
      encap,
      new Uint8Array([0x31, 0x00]),
    );
    const cms = der(
      0x30,
      new Uint8Array([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]),
      der(0xa0, sd),
    );
    const started = performance.now();
    const r = await verifySignedData(cms, undefined, options);
    assert.deepEqual(
      r.signatures.map((s) => s.status),
      ['malformed'],
    );
    assert.ok(performance.now() - started < 5000);
  });

  test('the fixture messages stay within every limit', async () => {
    for (const name of ['signer-sha256.p7s', 'two-signers.p7s']) {
      const r = await verifySignedData(message(name), CONTENT, options);
      assert.ok(r.signatures.every((s) => s.status !== 'malformed'));
    }
  });
});
