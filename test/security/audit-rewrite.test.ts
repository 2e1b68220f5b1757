/**
 * Attack: the owner of the database rewrites the audit log so that it verifies again. The audit log's trigger refuses
 * UPDATE, DELETE and TRUNCATE, and each entry's hash commits to the one before, but the table's owner (here the
 * superuser `postgres`, as a DBA or anyone with the owner's credentials would be) can disable the trigger, change an
 * entry (erase the wrong-passphrase attempts on a user's keys, say), recompute every hash after it and enable the
 * trigger again; or cut off the newest entries. The chain is then valid, and `--expect-head` cannot tell a rewrite
 * from the growth that changed the head anyway.
 *
 * Defence: signed checkpoints outside the database (backend/src/audit/checkpoints.ts). A checkpoint names an entry,
 * its position and its hash and is signed with a key the database never holds (SMIME_AUDIT_CHECKPOINT_KEY_FILE);
 * it is appended to a file (SMIME_AUDIT_CHECKPOINT_FILE) and optionally sent to syslog. Verification (admin API,
 * `smime-admin audit-verify --checkpoints FILE`) checks each signature and that the chain still holds each
 * checkpointed entry with the same hash, i.e. that the chain up to it is unchanged and only grew after it. A new
 * checkpoint is refused for a chain that does not extend the last one, so a rewrite never gets anchored.
 *
 * What the test proves, on PGlite and on PostgreSQL: after the owner's rewrite the chain alone verifies (the attack
 * works against today's check), but verification against the checkpoints fails and names the checkpoint and the
 * range of entries that changed, both through the admin API and (PostgreSQL) through the CLI of an auditor who holds
 * only the public key; the next checkpoint is refused with AUDIT_CHECKPOINT_REFUSED and nothing is appended. Cutting
 * off the entries after a checkpoint is caught the same way (checkpoint-missing). A checkpoint forged with another key
 * or edited in the file anchors nothing.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditCheckpoints, checkpointLine, signCheckpoint } from '../../backend/src/audit/checkpoints.ts';
import { generateSigningKeyPem, parseSigningKey, publicKeyPem } from '../../backend/src/audit/keys.ts';
import { createLogger } from '../../backend/src/log.ts';
import { entryHash, verifyAudit, type AuditEntry } from '../../backend/src/store/audit.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { Client, startServer, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { adminClient, mail, placeKey, send, unlockHeader } from './world.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const ALICE = 'alice@example.com';
const PASS = 'alice own passphrase 1';
const TEST_TIMEOUT_MS = 120_000;

type Row = AuditEntry;

/** What the owner of the table can do: anything, once the append-only trigger is off. */
async function asOwner(db: Database, fn: (tx: Parameters<Parameters<Database['transaction']>[0]>[0]) => Promise<void>) {
  await db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await fn(tx);
    await tx.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
  });
}

async function allRows(db: Database): Promise<Row[]> {
  return db.query<Row>(
    'SELECT seq, at, actor, user_email, action, details, prev_hash, hash FROM audit_log ORDER BY seq',
  );
}

/** The attacker's rewrite: change entry `seq`, then recompute every hash from it to the head so the chain is valid. */
async function rewriteAndRecompute(db: Database, seq: number, change: (r: Row) => Row) {
  await asOwner(db, async (tx) => {
    const rows = await tx.query<Row>(
      'SELECT seq, at, actor, user_email, action, details, prev_hash, hash FROM audit_log WHERE seq >= $1 ORDER BY seq',
      [seq - 1],
    );
    let prev = rows[0]!.seq === seq ? rows[0]!.prev_hash : rows[0]!.hash;
    for (const original of rows.filter((r) => r.seq >= seq)) {
      const r = original.seq === seq ? change(original) : original;
      const next = { ...r, at: new Date(r.at), prev_hash: prev };
      const hash = entryHash(next);
      await tx.query(
        'UPDATE audit_log SET actor = $2, user_email = $3, action = $4, details = $5, prev_hash = $6, hash = $7 WHERE seq = $1',
        [r.seq, r.actor, r.user_email, r.action, JSON.stringify(r.details), prev, hash],
      );
      prev = hash;
    }
  });
}

/** Put the log back as it was, between attacks. */
async function restore(db: Database, rows: Row[]) {
  await asOwner(db, async (tx) => {
    await tx.query('DELETE FROM audit_log');
    for (const r of rows)
      await tx.query(
        'INSERT INTO audit_log (seq, at, actor, user_email, action, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [r.seq, r.at, r.actor, r.user_email, r.action, JSON.stringify(r.details), r.prev_hash, r.hash],
      );
  });
}

for (const target of await databaseTargets()) {
  describe(`audit log rewritten by the database owner on ${target.name}`, { timeout: 10 * TEST_TIMEOUT_MS }, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let url: string | undefined;
    let srv: TestServer;
    let admin: Client;
    let work: string;
    let file: string;
    let publicKeyFile: string;
    let cp1: { seq: number; hash: string };
    let cp2: { seq: number; hash: string };
    let original: Row[];

    before(async () => {
      ({ db, drop, url } = await target.open());
      work = mkdtempSync(join(tmpdir(), 'smime-audit-rewrite-'));
      file = join(work, 'audit-checkpoints.jsonl');
      const keyPem = generateSigningKeyPem();
      writeFileSync(join(work, 'checkpoint-key.pem'), keyPem, { mode: 0o600 });
      publicKeyFile = join(work, 'checkpoint-public.pem');
      const signingKey = parseSigningKey(keyPem);
      writeFileSync(publicKeyFile, publicKeyPem(signingKey));
      srv = await startServer(db, {
        auditCheckpoint: { signingKey, verifyingKeys: [], file, syslog: undefined, intervalS: 0 },
      });
      admin = adminClient(srv);

      // Custody events, a checkpoint, the entries an attacker wants gone (wrong passphrases), a second checkpoint, and
      // more activity after it: the chain grows past the last checkpoint as it always does.
      const alice = await placeKey(srv, ALICE, 'Alice.p12', PASS);
      const first = await admin.request('POST', '/api/v1/admin/audit/checkpoint');
      assert.equal(first.status, 201, first.text);
      cp1 = first.body.checkpoint;
      for (const guess of ['guess one', 'guess two']) {
        const r = await alice.request('POST', '/api/v1/session/unlock', { json: { passphrase: guess } });
        assert.equal(r.status, 403, r.text);
      }
      const cred = await unlockHeader(alice, PASS);
      const signed = await send(alice, 'sign=true', mail(ALICE, ALICE, 'signed while the log was intact'), {
        'x-smime-unlock': cred,
      });
      assert.equal(signed.status, 200, signed.text);
      const second = await admin.request('POST', '/api/v1/admin/audit/checkpoint');
      assert.equal(second.status, 201, second.text);
      cp2 = second.body.checkpoint;
      assert.equal(
        (await alice.request('DELETE', '/api/v1/session/unlock', { headers: { 'x-smime-unlock': cred } })).status,
        200,
      );
      original = await allRows(db);
      assert.ok(
        cp1.seq >= 1 && cp2.seq > cp1.seq && original.length > cp2.seq,
        `checkpoints at ${cp1.seq}, ${cp2.seq} of ${original.length}`,
      );
    });

    after(() =>
      cleanUp(
        () => srv?.close(),
        () => drop?.(),
        () => work && rmSync(work, { recursive: true, force: true }),
      ),
    );

    test('sanity: the chain and both checkpoints verify, and the chain grew after the last one', async () => {
      const v = await admin.request('GET', '/api/v1/admin/audit/verify');
      assert.equal(v.status, 200);
      assert.equal(v.body.ok, true, JSON.stringify(v.body.problems));
      assert.equal(v.body.checkpoints.valid, 2);
      assert.equal(v.body.checkpoints.last.seq, cp2.seq);
      assert.equal(v.body.checkpoints.grownSince, original.length - cp2.seq);
    });

    test(
      'an entry rewritten and the chain recomputed: the chain alone verifies, the checkpoints name what changed',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const failure = original.find((r) => r.action === 'unlock.failure' && r.seq > cp1.seq && r.seq <= cp2.seq);
        assert.ok(failure, 'a wrong-passphrase entry between the checkpoints');
        try {
          await rewriteAndRecompute(db, failure.seq, (r) => ({ ...r, action: 'session.locked', details: {} }));
          // The attack works against the chain: every hash is right again.
          const chainOnly = await verifyAudit(db);
          assert.equal(
            chainOnly.ok,
            true,
            `the recomputed chain verifies on its own: ${JSON.stringify(chainOnly.problems)}`,
          );
          assert.equal(
            (await allRows(db)).filter((r) => r.action === 'unlock.failure').length,
            1,
            'one failure erased',
          );

          const v = await admin.request('GET', '/api/v1/admin/audit/verify');
          assert.equal(v.status, 200);
          assert.equal(v.body.ok, false, 'verification against the checkpoints detects the rewrite');
          assert.deepEqual(
            v.body.problems.map((p: any) => ({ seq: p.seq, problem: p.problem, from: p.from })),
            [{ seq: cp2.seq, problem: 'checkpoint-mismatch', from: cp1.seq + 1 }],
            'the second checkpoint fails, naming the entries after the first one (which still holds)',
          );
          assert.ok(failure.seq >= cp1.seq + 1 && failure.seq <= cp2.seq);

          // The rewrite is never anchored: the next checkpoint is refused and nothing is appended.
          const before = readFileSync(file, 'utf8');
          const refused = await admin.request('POST', '/api/v1/admin/audit/checkpoint');
          assert.equal(refused.status, 409, refused.text);
          assert.equal(refused.body.error.code, 'AUDIT_CHECKPOINT_REFUSED');
          assert.equal(readFileSync(file, 'utf8'), before);
          assert.ok(
            srv.logs.some((l) => l.includes('AUDIT_CHECKPOINT_REFUSED')),
            'the refusal is logged',
          );

          if (url) {
            // An auditor with the public key alone, from the command line.
            // Without blocking this process's event loop: the server above runs in it (keep-alive sockets).
            const r = await runCliAsync(
              ['audit-verify', '--checkpoints', file],
              {
                DATABASE_URL: url,
                SMIME_DATA_DIR: join(work, 'auditor'),
                SMIME_JWT_SECRET: TEST_JWT_SECRET,
                SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE: publicKeyFile,
              },
              TEST_TIMEOUT_MS,
            );
            assert.equal(r.code, 1, r.out + r.err);
            assert.match(
              r.out,
              new RegExp(`PROBLEM at entry ${cp2.seq}: checkpoint-mismatch: entries ${cp1.seq + 1}\\.\\.${cp2.seq} `),
            );
            assert.match(r.out, /checkpoints: 2 valid of 2 read/);
          }
        } finally {
          await restore(db, original);
        }
        assert.equal((await admin.request('GET', '/api/v1/admin/audit/verify')).body.ok, true, 'restored');
      },
    );

    test('the entries after a checkpoint cut off: a valid shorter chain, but the checkpointed entry is missing', async () => {
      try {
        await asOwner(db, (tx) => tx.query('DELETE FROM audit_log WHERE seq > $1', [cp1.seq]).then(() => {}));
        assert.equal((await verifyAudit(db)).ok, true, 'the shorter chain verifies on its own');
        const v = await admin.request('GET', '/api/v1/admin/audit/verify');
        assert.equal(v.body.ok, false);
        assert.deepEqual(
          v.body.problems.map((p: any) => ({ seq: p.seq, problem: p.problem, from: p.from })),
          [{ seq: cp2.seq, problem: 'checkpoint-missing', from: cp1.seq + 1 }],
        );
        const refused = await admin.request('POST', '/api/v1/admin/audit/checkpoint');
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, 'AUDIT_CHECKPOINT_REFUSED');
      } finally {
        await restore(db, original);
      }
    });

    test('a checkpoint signed with another key, or edited in the file, anchors nothing', async () => {
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 2);
      const attacker = generateKeyPairSync('ed25519').privateKey;
      const rows = await allRows(db);
      const head = rows.at(-1)!;
      // Edited: the genuine second checkpoint pointed at another hash.
      const edited = join(work, 'edited.jsonl');
      writeFileSync(edited, `${lines[0]}\n${lines[1]!.replace(cp2.hash, head.hash)}\n`);
      // Forged: a checkpoint of the current head signed by a key the verifier does not hold.
      const forged = join(work, 'forged.jsonl');
      writeFileSync(forged, `${lines[0]}\n`);
      appendFileSync(
        forged,
        `${checkpointLine(signCheckpoint({ seq: head.seq, hash: head.hash, entries: rows.length }, attacker))}\n`,
      );
      const auditor = new AuditCheckpoints(
        {
          signingKey: undefined,
          verifyingKeys: [createPublicKey(readFileSync(publicKeyFile))],
          file: join(work, 'none.jsonl'),
          syslog: undefined,
        },
        createLogger('silent'),
      );
      const e = await auditor.verify(db, { files: [edited] });
      assert.equal(e.ok, false);
      assert.deepEqual(
        e.problems.map((p) => p.problem),
        ['checkpoint-bad-signature'],
      );
      assert.equal(e.checkpoints.valid, 1);
      const f = await auditor.verify(db, { files: [forged] });
      assert.deepEqual(
        f.problems.map((p) => p.problem),
        ['checkpoint-unknown-key'],
      );
      // Sanity: the genuine file verifies with the public key alone.
      const g = await auditor.verify(db, { files: [file] });
      assert.equal(g.ok, true, JSON.stringify(g.problems));
      assert.equal(g.checkpoints.valid, 2);
    });
  });
}
