/**
 * Attacks on the custodian share files of organisational key recovery (issue 17): editing a file, splicing two
 * files together, renumbering a share, mixing in a share of another set, and what fewer than M shares reveal.
 *
 * What this layer cannot stop, and who does: a custodian who knows their own password can write a well-formed file
 * holding a wrong y (or a share of another split of the same certificate), and the combination is then a wrong key
 * with no error here. Shamir's scheme has no integrity of its own; the rebuilt key is checked against the recovery
 * certificate (its public key, whose DER hash is the setId) by `smime-admin recover`; the tests below show both halves:
 * the share layer accepts such a file, and the recovery key check refuses the result.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { openShares, readShareFile, writeShareFile, type ShareFile } from '../../backend/src/recovery/share-file.ts';
import { checkRecoveryKey, createRecoveryKey, type RecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { combine, split } from '../../backend/src/recovery/shamir.ts';
import {
  CUSTODIANS,
  flipBit,
  makeSet,
  password,
  pick,
  REJECTED,
  TEST_KDF,
  type ShareSet,
} from '../helpers/recovery-shares.ts';

const parse = (json: string): ShareFile => JSON.parse(json) as ShareFile;

describe('tampering with share files', () => {
  const secret = randomBytes(32);
  let set: ShareSet;
  before(async () => {
    set = await makeSet(secret);
  });

  test('an edited file among valid ones stops the recovery, without saying which file', async () => {
    const files = pick(set.files, [0, 1, 2]);
    const f = parse(files[1]!.json);
    f.ciphertext = flipBit(f.ciphertext, 0);
    files[1]!.json = JSON.stringify(f);
    await assert.rejects(openShares(files), (e: any) => {
      assert.equal(e.code, REJECTED.code);
      assert.equal(e.message, REJECTED.message);
      assert.deepEqual(e.details, { rejected: 1 });
      assert.doesNotMatch(JSON.stringify(e.details) + e.message, /bob|index|2/i, 'nothing names the file');
      return true;
    });
  });

  test("splicing: one file's header with another file's ciphertext does not open with either password", async () => {
    const a = parse(set.files[0]!);
    const b = parse(set.files[1]!);
    for (const spliced of [
      { ...a, ciphertext: b.ciphertext },
      { ...a, ciphertext: b.ciphertext, iv: b.iv, kdf: b.kdf },
      { ...b, index: a.index, custodian: a.custodian },
    ])
      for (const pw of [password(0), password(1)])
        await assert.rejects(readShareFile(JSON.stringify(spliced), pw), REJECTED);
  });

  test('renumbering a share (to pass it off as a missing one) is detected', async () => {
    const f = parse(set.files[0]!);
    f.index = 4;
    f.custodian = CUSTODIANS[3]!;
    await assert.rejects(
      openShares([...pick(set.files, [1, 2]), { json: JSON.stringify(f), password: password(0) }]),
      REJECTED,
    );
  });

  test('lowering the threshold in every file is detected', async () => {
    const files = pick(set.files, [0, 1]).map(({ json, password }) => {
      const f = parse(json);
      f.threshold = 2;
      return { json: JSON.stringify(f), password };
    });
    await assert.rejects(openShares(files), REJECTED);
  });

  test('a file asking for an absurd Argon2 cost is refused before any derivation', async () => {
    const f = parse(set.files[0]!);
    f.kdf.memoryKiB = 2 ** 32;
    const started = process.hrtime.bigint();
    await assert.rejects(readShareFile(JSON.stringify(f), password(0)), REJECTED);
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'answered at once, no 4 TiB allocation tried');
  });
});

describe('forged shares', () => {
  const secret = randomBytes(32);
  let set: ShareSet;
  before(async () => {
    set = await makeSet(secret);
  });

  test('a share that opens fine but belongs to another set (another certificate) is refused by its setId', async () => {
    const other = await makeSet(randomBytes(32));
    // The forged file is genuine in itself: it opens with its password.
    assert.equal((await readShareFile(other.files[2]!, password(2))).header.setId, other.setId);
    await assert.rejects(openShares([...pick(set.files, [0, 1]), { json: other.files[2]!, password: password(2) }]), {
      code: 'RECOVERY_SHARES_MIXED',
    });
  });

  test("a header copied from this set cannot carry another set's share: the AAD binds the setId", async () => {
    const other = await makeSet(randomBytes(32));
    const forged = { ...parse(other.files[2]!), setId: set.setId };
    await assert.rejects(readShareFile(JSON.stringify(forged), password(2)), REJECTED);
  });
});

/**
 * What the share layer cannot see (a custodian who knows their password writes a wrong y; a share of an earlier split
 * of the same certificate) and what stops it: `smime-admin recover` checks the rebuilt key against the recorded
 * recovery certificate (checkRecoveryKey) before it opens any copy. test/cli/recover.test.ts runs the forged case
 * through the command itself.
 */
describe('wrong shares with valid passwords are caught by the recovery key check', () => {
  let recovery: RecoveryKey;
  before(
    async () => {
      // 2048 bits: the check is the same at any size, and the test need not wait for a 4096-bit key.
      recovery = await createRecoveryKey({ bits: 2048 });
    },
    { timeout: 60_000 },
  );

  test('a custodian who writes a wrong y under their own password: the share layer cannot tell, recover refuses with RECOVERY_KEY_MISMATCH', async () => {
    const set = await makeSet(recovery.pkcs8, 5, 3, Buffer.from(recovery.certificate));
    const mine = await readShareFile(set.files[2]!, password(2));
    const wrong = Uint8Array.from(mine.share.y, (b) => b ^ 0x5a);
    const h = mine.header;
    const forged = await writeShareFile(
      {
        setId: h.setId,
        share: { x: h.index, y: wrong },
        threshold: h.threshold,
        shares: h.shares,
        custodian: h.custodian,
        password: password(2),
      },
      { kdf: TEST_KDF },
    );
    const r = await openShares([...pick(set.files, [0, 1]), { json: forged, password: password(2) }]);
    assert.notDeepEqual(Buffer.from(r.secret), Buffer.from(recovery.pkcs8), 'no error at the share layer');
    assert.throws(() => checkRecoveryKey(r.secret, recovery.certificate), { code: 'RECOVERY_KEY_MISMATCH' });
    const good = await openShares(pick(set.files, [0, 1, 2]));
    assert.doesNotThrow(() => checkRecoveryKey(good.secret, recovery.certificate), 'the check is not always failing');
  });

  test('a share of an earlier split of the same certificate (same setId) mixes in at the share layer, recover refuses with RECOVERY_KEY_MISMATCH', async () => {
    const old = await makeSet(recovery.pkcs8, 5, 3, Buffer.from(recovery.certificate));
    const current = await makeSet(recovery.pkcs8, 5, 3, Buffer.from(recovery.certificate));
    assert.equal(old.setId, current.setId);
    const r = await openShares([...pick(current.files, [0, 1]), { json: old.files[2]!, password: password(2) }]);
    assert.notDeepEqual(Buffer.from(r.secret), Buffer.from(recovery.pkcs8));
    assert.throws(() => checkRecoveryKey(r.secret, recovery.certificate), { code: 'RECOVERY_KEY_MISMATCH' });
  });
});

describe('fewer than M shares', () => {
  // Information-theoretic secrecy, checked exhaustively for one byte: two shares of a 3-of-5 split are completed by
  // each of the 256 possible third shares to each of the 256 possible secrets exactly once, so every secret is equally
  // consistent with what the two holders know.
  test('two shares of a 3-of-N split are consistent with every possible secret byte, each exactly once', () => {
    const [s1, s2] = split(Uint8Array.of(0x2a), 5, 3);
    const reached = new Set<number>();
    for (let y3 = 0; y3 < 256; y3++) reached.add(combine([s1!, s2!, { x: 3, y: Uint8Array.of(y3) }])[0]!);
    assert.equal(reached.size, 256);
  });
});
