// Mutation loop: corpus messages and crafted structures with bytes flipped, inserted and deleted at random (seeded)
// positions. Every public reader must either succeed or throw a MimeError; anything else (a TypeError, a RangeError,
// a stack overflow) is a bug, and a hang fails the test by its timeout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeBody,
  decodeEncodedWords,
  getHeader,
  isMimeError,
  parseAddressList,
  parseContentDisposition,
  parseEntity,
  splitMessageHeaders,
  toSignable,
  type MimeEntity,
} from '../../../backend/src/smime/mime/index.ts';
import { bytes, corpusMessages, Rng, walk } from './helpers.ts';
import { corpusUnavailable } from '../../helpers/unavailable.ts';

const NO_CORPUS = corpusUnavailable('the MIME mutation loop over the corpus');

/** Byte strings that hit the parser's decisions, inserted as often as random bytes. */
const INTERESTING = [
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '--',
  '\r\n--',
  ':',
  ';',
  '"',
  '\\',
  '(',
  ')',
  '<',
  '>',
  '@',
  ',',
  '=',
  '=?',
  '?=',
  '*0*=',
  "''",
  '%',
  ' ',
  '\t',
  '\0',
  '\u00ff',
  'boundary=',
  'multipart/',
  'message/rfc822',
];

function mutate(input: Uint8Array, rng: Rng, boundaries: readonly string[]): Uint8Array {
  let data = Array.from(input);
  for (let n = 1 + rng.int(8); n > 0; n--) {
    const at = rng.int(data.length + 1);
    const kind = rng.int(4);
    if (kind === 0 && at < data.length) data[at] = data[at]! ^ (1 << rng.int(8));
    else if (kind === 1) data.splice(at, 1 + rng.int(16));
    else {
      const pool =
        boundaries.length > 0 && rng.next() < 0.3
          ? boundaries.map((b) => `\r\n--${b}${rng.pick(['', '--', ' ', '\r\n'])}`)
          : INTERESTING;
      const insert = kind === 2 ? [...bytes(rng.pick(pool))] : Array.from(rng.bytes(1 + rng.int(4)));
      data = [...data.slice(0, at), ...insert, ...data.slice(at)];
    }
  }
  return Uint8Array.from(data);
}

/** Everything a consumer would do with a parsed message. */
function exercise(input: Uint8Array): void {
  const attempt = (fn: () => unknown): void => {
    try {
      fn();
    } catch (error) {
      if (isMimeError(error)) return;
      throw error;
    }
  };
  let root: MimeEntity | undefined;
  attempt(() => (root = parseEntity(input)));
  if (root !== undefined) {
    for (const entity of walk(root)) {
      attempt(() => decodeBody(entity));
      attempt(() => decodeBody(entity, { strict: true }));
      for (const header of entity.headers) attempt(() => decodeEncodedWords(header.value));
      for (const name of ['from', 'to', 'cc']) {
        const value = getHeader(entity, name);
        if (value !== undefined) attempt(() => parseAddressList(value));
      }
      const disposition = getHeader(entity, 'content-disposition');
      if (disposition !== undefined) attempt(() => parseContentDisposition(disposition));
    }
    attempt(() => toSignable(input));
  }
  attempt(() => splitMessageHeaders(input));
}

const CRAFTED = [
  'Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset*0*=utf-8\'\'%C3; charset*1*=%A9\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nsoft\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: "A, B" <a@b.c>, (c) d@e.f\r\nSubject: =?utf-8?q?x?= =?utf-8?b?eQ==?=\r\n\r\ninner\r\n--b--\r\n--a\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--a--\r\n',
  'Content-Type: multipart/digest; boundary="x y"\n\n--x y\n\nSubject: d\n\n--x y--\n',
];

describe('mutation loop', { skip: NO_CORPUS }, () => {
  it('3,000 mutated corpus and crafted messages: only success or MimeError', { timeout: 120_000 }, () => {
    const rng = new Rng(0x5eed);
    const seeds = [...corpusMessages().map((m) => m.bytes), ...CRAFTED.map(bytes)];
    const boundaries = seeds.map((s) => {
      const found = [...walk(parseEntity(s))].map((e) => e.boundary).filter((b): b is string => b !== undefined);
      return found;
    });
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const k = rng.int(seeds.length);
      const input = mutate(seeds[k]!, rng, boundaries[k]!);
      try {
        exercise(input);
      } catch (error) {
        assert.fail(
          `mutation ${i} of seed ${k} threw ${error instanceof Error ? error.stack : String(error)}\n${Buffer.from(input).toString('base64')}`,
        );
      }
      try {
        parseEntity(input);
        parsed++;
      } catch {
        // counted below
      }
    }
    // Most mutations leave a readable message: the loop really exercises the readers, not only the error path.
    assert.ok(parsed > 2500, `only ${parsed} of 3000 parsed`);
  });

  it('random bytes and truncations: only success or MimeError', { timeout: 60_000 }, () => {
    const rng = new Rng(0xbad);
    const seeds = corpusMessages().map((m) => m.bytes);
    for (let i = 0; i < 500; i++) {
      exercise(rng.bytes(rng.int(2000)));
      const seed = rng.pick(seeds);
      exercise(seed.subarray(0, rng.int(seed.length)));
      exercise(seed.subarray(rng.int(seed.length)));
    }
  });
});
