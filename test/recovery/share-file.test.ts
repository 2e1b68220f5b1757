/**
 * Custodian share files (issue 17): the format, a 3-of-5 round trip, too few shares, wrong passwords and altered
 * files answered identically, shares of two sets refused. Argon2id runs at a test cost (1 MiB, 1 pass) except where
 * the default cost itself is checked. The attacks are test/security/recovery-share-tampering.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  DEFAULT_SHARE_KDF,
  openShares,
  readShareFile,
  writeShareFile,
  type ShareFile,
} from '../../backend/src/recovery/share-file.ts';
import { split } from '../../backend/src/recovery/shamir.ts';
import { flipBit, makeSet, password, pick, REJECTED, TEST_KDF } from '../helpers/recovery-shares.ts';

describe('share files', () => {
  const secret = randomBytes(32);
  let set: { setId: string; files: string[] };
  before(async () => {
    set = await makeSet(secret);
  });

  test('the file holds exactly the documented fields, and no secret in clear', () => {
    const f = JSON.parse(set.files[1]!) as ShareFile;
    assert.deepEqual(Object.keys(f).sort(), [
      'ciphertext',
      'custodian',
      'format',
      'index',
      'iv',
      'kdf',
      'setId',
      'shares',
      'threshold',
      'version',
    ]);
    assert.equal(f.format, 'smime-recovery-share');
    assert.equal(f.version, 1);
    assert.equal(f.setId, set.setId);
    assert.deepEqual([f.index, f.threshold, f.shares, f.custodian], [2, 3, 5, 'bob']);
    assert.deepEqual(Object.keys(f.kdf).sort(), ['iterations', 'memoryKiB', 'name', 'parallelism', 'salt']);
    assert.equal(f.kdf.name, 'argon2id');
    assert.equal(Buffer.from(f.iv, 'base64').length, 12);
    assert.equal(Buffer.from(f.ciphertext, 'base64').length, 32 + 16, 'the share plus the GCM tag');
  });

  test('3 of 5 rebuild the secret, whichever three', async () => {
    for (const idx of [
      [0, 1, 2],
      [4, 2, 0],
      [1, 3, 4],
    ]) {
      const r = await openShares(pick(set.files, idx));
      assert.deepEqual(Buffer.from(r.secret), secret, `shares ${idx}`);
      assert.equal(r.setId, set.setId);
      assert.deepEqual(
        r.indexes,
        idx.map((i) => i + 1),
      );
    }
    const all = await openShares(pick(set.files, [0, 1, 2, 3, 4]));
    assert.deepEqual(Buffer.from(all.secret), secret, 'all five agree');
  });

  test('2 of 5 are refused, saying one is missing', async () => {
    await assert.rejects(openShares(pick(set.files, [3, 1])), (e: any) => {
      assert.equal(e.code, 'RECOVERY_TOO_FEW_SHARES');
      assert.deepEqual(e.details, { have: 2, need: 3, missing: 1 });
      return true;
    });
  });

  test('the same share twice does not count twice', async () => {
    await assert.rejects(openShares(pick(set.files, [0, 0, 1])), { code: 'RECOVERY_SHARES_INVALID' });
  });

  test('a wrong password gives the same code and message whichever share it is', async () => {
    const errors: { code: string; message: string; details: unknown }[] = [];
    for (let bad = 0; bad < 5; bad++) {
      const files = pick(set.files, [0, 1, 2, 3, 4]);
      files[bad]!.password = 'wrong password';
      await assert.rejects(openShares(files), (e: any) => {
        errors.push({ code: e.code, message: e.message, details: e.details });
        return true;
      });
      await assert.rejects(readShareFile(set.files[bad]!, 'wrong password'), REJECTED);
    }
    for (const e of errors) assert.deepEqual(e, { ...REJECTED, details: { rejected: 1 } });
  });

  test('a password differing only in Unicode normalisation opens the share (NFC, as the vault)', async () => {
    const share = { x: 1, y: Uint8Array.of(7, 8, 9) };
    const input = { setId: set.setId, share, threshold: 2, shares: 2, custodian: 'zoë' };
    const json = await writeShareFile({ ...input, password: 'caf\u00e9' }, { kdf: TEST_KDF });
    assert.deepEqual((await readShareFile(json, 'cafe\u0301')).share.y, share.y);
  });

  describe('any change to the file is detected, with the same answer as a wrong password', () => {
    const edits: [string, (f: any) => void][] = [
      ['a flipped bit in the ciphertext', (f) => (f.ciphertext = flipBit(f.ciphertext, 3))],
      ['a flipped bit in the tag', (f) => (f.ciphertext = flipBit(f.ciphertext, 40))],
      ['the index', (f) => (f.index = 4)],
      ['the threshold', (f) => (f.threshold = 2)],
      ['the share count', (f) => (f.shares = 4)],
      ['the custodian', (f) => (f.custodian = 'mallory')],
      ['the set id', (f) => (f.setId = 'a'.repeat(64))],
      ['the iv', (f) => (f.iv = flipBit(f.iv, 0))],
      ['the salt', (f) => (f.kdf.salt = flipBit(f.kdf.salt, 0))],
      ['the Argon2 cost', (f) => (f.kdf.iterations = 2)],
      ['an added field', (f) => (f.note = 'hi')],
      ['a removed field', (f) => delete f.custodian],
      ['a cost beyond the limit', (f) => (f.kdf.memoryKiB = 2 ** 40)],
      ['the format', (f) => (f.format = 'something-else')],
      ['the version', (f) => (f.version = 2)],
    ];
    for (const [what, edit] of edits)
      test(what, async () => {
        const f = JSON.parse(set.files[0]!);
        edit(f);
        await assert.rejects(readShareFile(JSON.stringify(f), password(0)), REJECTED);
      });
    test('not JSON, or not a share file at all', async () => {
      for (const text of ['', '{', 'null', '[]', '"x"', set.files[0]!.slice(0, 100)])
        await assert.rejects(readShareFile(text, password(0)), REJECTED);
    });
  });

  test('shares of two different sets are refused', async () => {
    const other = await makeSet(randomBytes(32));
    await assert.rejects(openShares([...pick(set.files, [0, 1]), { json: other.files[2]!, password: password(2) }]), {
      code: 'RECOVERY_SHARES_MIXED',
    });
  });

  test('refuses bad parameters and unknown options when writing', async () => {
    const share = split(randomBytes(8), 3, 2)[0]!;
    const input = { setId: set.setId, share, threshold: 2, shares: 3, custodian: 'x', password: 'p' };
    const bad = [
      { ...input, setId: 'not hex' },
      { ...input, threshold: 4 },
      { ...input, custodian: '' },
      { ...input, password: '' },
      { ...input, share: { x: 4, y: share.y } },
    ];
    for (const b of bad)
      await assert.rejects(writeShareFile(b, { kdf: TEST_KDF }), { code: 'RECOVERY_SHARES_INVALID' });
    await assert.rejects(writeShareFile(input, { kdf: TEST_KDF, fast: true } as never), {
      code: 'RECOVERY_SHARES_INVALID',
    });
    await assert.rejects(writeShareFile(input, { kdf: { memoryKiB: 0 } }), { code: 'RECOVERY_SHARES_INVALID' });
  });

  test('the default cost is 256 MiB and 3 passes, and a file written at it opens', async () => {
    assert.deepEqual(DEFAULT_SHARE_KDF, { memoryKiB: 262144, iterations: 3, parallelism: 4 });
    const share = { x: 2, y: Uint8Array.of(1, 2, 3) };
    const json = await writeShareFile({
      setId: set.setId,
      share,
      threshold: 2,
      shares: 2,
      custodian: 'default cost',
      password: 'p',
    });
    const f = JSON.parse(json) as ShareFile;
    assert.deepEqual([f.kdf.memoryKiB, f.kdf.iterations, f.kdf.parallelism], [262144, 3, 4]);
    assert.deepEqual((await readShareFile(json, 'p')).share, share);
  });
});
