// positiveBitLength (issue 16: the RSA key size without a bigint) gives what the bigint gave: n > 0 ? bits of n : 0,
// for every shape of DER INTEGER (leading zero octets, high bit set, zero, one octet, 4096-bit moduli).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bigInteger, positiveBitLength, readOne } from '../../backend/src/smime/asn1/reader.ts';

function integer(content: number[]): Uint8Array {
  const len = content.length;
  const header = len < 128 ? [0x02, len] : len < 256 ? [0x02, 0x81, len] : [0x02, 0x82, len >> 8, len & 0xff];
  return new Uint8Array([...header, ...content]);
}

const CASES: number[][] = [
  [0x00],
  [0x01],
  [0x7f],
  [0x80],
  [0xff],
  [0x00, 0x80],
  [0x00, 0x00, 0x01],
  [0x00, 0xff, 0x00],
  [0x01, 0x00],
  [0x00, ...Array.from({ length: 256 }, (_, i) => (i * 31 + 0x80) & 0xff)],
  [0x00, ...Array.from({ length: 512 }, (_, i) => (i ? (i * 13) & 0xff : 0xc3))],
  [0x40, ...Array.from({ length: 383 }, () => 0x11)],
];

test('positiveBitLength equals the bit length of the bigint (0 for zero and negatives)', () => {
  for (const c of CASES) {
    const node = readOne(integer(c), 'INTEGER');
    const n = bigInteger(node, 'n');
    assert.equal(
      positiveBitLength(node, 'n'),
      n > 0n ? n.toString(2).length : 0,
      `content ${c.slice(0, 4).join(',')}...`,
    );
  }
});
