/**
 * Shamir's secret sharing over GF(2^8) (issue 17): the field against FIPS-197's worked examples, a vector computed
 * by hand (and checked with an independent few lines of Python), every M-subset of a 3-of-5 split, and the
 * refusals of impossible parameters.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { combine, gfInv, gfMul, split, type Share } from '../../backend/src/recovery/shamir.ts';

/** FIPS-197 section 4.2 and 4.2.1: {57}*{83} = {c1}, {57}*{13} = {fe}, and the xtime chain of {57}. */
const MUL_VECTORS: [number, number, number][] = [
  [0x57, 0x83, 0xc1],
  [0x57, 0x13, 0xfe],
  [0x57, 0x02, 0xae],
  [0x57, 0x04, 0x47],
  [0x57, 0x08, 0x8e],
  [0x57, 0x10, 0x07],
  [0x00, 0xff, 0x00],
  [0x01, 0xab, 0xab],
];

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

describe('GF(2^8) with the AES polynomial', () => {
  for (const [a, b, product] of MUL_VECTORS)
    test(`{${a.toString(16)}} * {${b.toString(16)}} = {${product.toString(16)}}`, () => {
      assert.equal(gfMul(a, b), product);
      assert.equal(gfMul(b, a), product);
    });

  test('every non-zero element has an inverse (FIPS-197 section 4.2: {53}^-1 = {ca})', () => {
    assert.equal(gfInv(0x53), 0xca);
    for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfInv(a)), 1, `a = ${a}`);
    assert.throws(() => gfInv(0), { code: 'RECOVERY_SHARES_INVALID' });
  });
});

describe('combine', () => {
  // Secret [42 a5]; byte 0 from f(x) = 42 + x + x^2, byte 1 from f(x) = a5 + 57x + 83x^2, evaluated by hand.
  const vector: Share[] = [
    { x: 1, y: Uint8Array.of(0x42, 0x71) },
    { x: 2, y: Uint8Array.of(0x44, 0x31) },
    { x: 3, y: Uint8Array.of(0x44, 0xe5) },
    { x: 4, y: Uint8Array.of(0x56, 0x0a) },
  ];

  test('a fixed known vector, from any three of its four shares', () => {
    for (const subset of subsets(vector, 3)) assert.deepEqual(combine(subset), Uint8Array.of(0x42, 0xa5));
    assert.deepEqual(combine(vector), Uint8Array.of(0x42, 0xa5), 'more than M shares agree too');
  });

  test('refuses repeated indexes, indexes outside 1..255, unequal lengths and a single share', () => {
    const y = Uint8Array.of(1, 2);
    assert.throws(() => combine([vector[0]!, { x: 1, y }]), { code: 'RECOVERY_SHARES_INVALID' });
    assert.throws(() => combine([vector[0]!, { x: 0, y }]), { code: 'RECOVERY_SHARES_INVALID' });
    assert.throws(() => combine([vector[0]!, { x: 256, y }]), { code: 'RECOVERY_SHARES_INVALID' });
    assert.throws(() => combine([vector[0]!, { x: 2, y: Uint8Array.of(1) }]), { code: 'RECOVERY_SHARES_INVALID' });
    assert.throws(() => combine([vector[0]!]), { code: 'RECOVERY_TOO_FEW_SHARES' });
  });
});

describe('split', () => {
  test('3 of 5: every 3-subset rebuilds the secret; each 2-subset gives another value', () => {
    const secret = randomBytes(48);
    const shares = split(secret, 5, 3);
    assert.deepEqual(
      shares.map((s) => s.x),
      [1, 2, 3, 4, 5],
    );
    for (const subset of subsets(shares, 3)) assert.deepEqual(Buffer.from(combine(subset)), secret);
    // Not a proof of secrecy: two shares of a degree-2 polynomial fit a line whose value at 0 is some other number,
    // equal to the secret only by a 2^-384 chance here. That M-1 shares reveal nothing is Shamir's theorem, not
    // something a test can show.
    for (const subset of subsets(shares, 2)) assert.notDeepEqual(Buffer.from(combine(subset)), secret);
  });

  test('every pair of N and M at the edges: 2 of 2 and 255 of 255 and 2 of 255', () => {
    const secret = randomBytes(4);
    for (const [n, m] of [
      [2, 2],
      [255, 255],
      [255, 2],
    ] as const) {
      const shares = split(secret, n, m);
      assert.equal(shares.length, n);
      assert.deepEqual(Buffer.from(combine(shares.slice(n - m))), secret, `${m} of ${n}`);
    }
  });

  test('refuses impossible parameters', () => {
    const secret = randomBytes(4);
    for (const [n, m] of [
      [5, 1],
      [3, 4],
      [256, 3],
      [5, 2.5],
      [0, 0],
    ])
      assert.throws(() => split(secret, n!, m!), { code: 'RECOVERY_SHARES_INVALID' }, `${m} of ${n}`);
    assert.throws(() => split(new Uint8Array(0), 5, 3), { code: 'RECOVERY_SHARES_INVALID' });
  });

  test('two splits of the same secret differ (the coefficients are random)', () => {
    const secret = randomBytes(16);
    assert.notDeepEqual(split(secret, 3, 2)[0]!.y, split(secret, 3, 2)[0]!.y);
  });
});
