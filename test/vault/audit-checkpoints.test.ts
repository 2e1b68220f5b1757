/**
 * Audit checkpoints (issue 12) as an operator meets them: the settings and what they refuse, signing with Ed25519
 * and ECDSA P-256, the checkpoint file read from its end, the schedule writing to the file and to a syslog collector
 * over UDP, concurrent writes, and verification of a chain that grew. The attack itself is
 * test/security/audit-rewrite.test.ts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import {
  AuditCheckpoints,
  checkpointLine,
  checkSignature,
  parseCheckpointLine,
  signCheckpoint,
  type AuditCheckpointSettings,
} from '../../backend/src/audit/checkpoints.ts';
import {
  generateSigningKeyPem,
  parseSigningKey,
  parseVerifyingKeys,
  publicKeyPem,
} from '../../backend/src/audit/keys.ts';
import { startAuditCheckpointSchedule } from '../../backend/src/audit/schedule.ts';
import { ConfigError, loadConfig } from '../../backend/src/config.ts';
import { createLogger } from '../../backend/src/log.ts';
import { appendAudit, GENESIS_HASH } from '../../backend/src/store/audit.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { databaseTargets } from '../helpers/db.ts';

const silent = createLogger('silent');
let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'smime-checkpoints-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function keyFile(name: string, pem: string, mode = 0o600): string {
  const path = join(work, name);
  writeFileSync(path, pem, { mode });
  return path;
}

const append = (db: Database, n = 1) =>
  (async () => {
    for (let i = 0; i < n; i++)
      await appendAudit(db, { actor: 'test', userEmail: null, action: 'alias.added', details: { i } });
  })();

describe('checkpoint settings', () => {
  test('a key file readable by others, a key that cannot sign, a bad syslog address: configuration errors', () => {
    const pem = generateSigningKeyPem();
    const cases: [Record<string, string>, RegExp][] = [
      [{ SMIME_AUDIT_CHECKPOINT_KEY_FILE: keyFile('open.pem', pem, 0o644) }, /readable by others than its owner/],
      [
        {
          SMIME_AUDIT_CHECKPOINT_KEY_FILE: keyFile(
            'rsa.pem',
            generateKeyPairSync('rsa', { modulusLength: 2048 })
              .privateKey.export({ type: 'pkcs8', format: 'pem' })
              .toString(),
          ),
        },
        /cannot sign checkpoints with a rsa key/,
      ],
      [
        {
          SMIME_AUDIT_CHECKPOINT_KEY_FILE: keyFile(
            'p384.pem',
            generateKeyPairSync('ec', { namedCurve: 'P-384' })
              .privateKey.export({ type: 'pkcs8', format: 'pem' })
              .toString(),
          ),
        },
        /on secp384r1/,
      ],
      [{ SMIME_AUDIT_CHECKPOINT_KEY_FILE: keyFile('junk.pem', 'not a key') }, /not a PEM private key/],
      [{ SMIME_AUDIT_CHECKPOINT_KEY_FILE: join(work, 'absent.pem') }, /cannot read/],
      [{ SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE: keyFile('nopub.pem', pem) }, /no PEM public key/],
      [{ SMIME_AUDIT_CHECKPOINT_SYSLOG: 'tcp://127.0.0.1:514' }, /udp:\/\/host:port/],
      [{ SMIME_AUDIT_CHECKPOINT_SYSLOG: 'udp://127.0.0.1:99999' }, /SMIME_AUDIT_CHECKPOINT_SYSLOG/],
      [{ SMIME_AUDIT_CHECKPOINT_INTERVAL_S: '-1' }, /SMIME_AUDIT_CHECKPOINT_INTERVAL_S/],
    ];
    for (const [env, message] of cases)
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
        JSON.stringify(env),
      );
  });

  test('a good key, several public keys, the defaults', () => {
    const a = generateSigningKeyPem();
    const b = generateSigningKeyPem();
    const c = loadConfig({
      SMIME_DATA_DIR: work,
      SMIME_AUDIT_CHECKPOINT_KEY_FILE: keyFile('good.pem', a),
      SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE: keyFile(
        'pubs.pem',
        publicKeyPem(parseSigningKey(a)) + publicKeyPem(parseSigningKey(b)),
        0o644,
      ),
      SMIME_AUDIT_CHECKPOINT_SYSLOG: 'udp://[::1]:514',
    });
    assert.equal(c.auditCheckpoint.signingKey?.asymmetricKeyType, 'ed25519');
    assert.equal(c.auditCheckpoint.verifyingKeys.length, 2);
    assert.equal(c.auditCheckpoint.file, join(work, 'audit-checkpoints.jsonl'));
    assert.equal(c.auditCheckpoint.intervalS, 900);
    const bare = loadConfig({});
    assert.equal(bare.auditCheckpoint.signingKey, undefined, 'generated later by withGeneratedSecrets, not here');
  });
});

describe('checkpoint signatures', () => {
  test('Ed25519 and ECDSA P-256 checkpoints verify with their public key only; a changed field or another key does not', () => {
    const ed = parseSigningKey(generateSigningKeyPem());
    const ec = parseSigningKey(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    for (const key of [ed, ec]) {
      const cp = signCheckpoint({ seq: 7, hash: 'ab'.repeat(32), entries: 7 }, key);
      const pub = parseVerifyingKeys(publicKeyPem(key));
      const parsed = parseCheckpointLine(`Dec  4 07:08:03 host smime[42]: ${checkpointLine(cp)}`);
      assert.ok(parsed && 'checkpoint' in parsed, 'found inside a syslog line');
      assert.equal(checkSignature(parsed.checkpoint, pub), 'valid', cp.alg);
      for (const change of [{ seq: 8 }, { entries: 8 }, { hash: 'cd'.repeat(32) }, { at: new Date(0).toISOString() }])
        assert.equal(checkSignature({ ...cp, ...change }, pub), 'bad-signature', `${cp.alg} ${JSON.stringify(change)}`);
      assert.equal(checkSignature(cp, parseVerifyingKeys(publicKeyPem(key === ed ? ec : ed))), 'unknown-key');
    }
    assert.equal(signCheckpoint({ seq: 1, hash: GENESIS_HASH, entries: 1 }, ec).alg, 'ES256');
    assert.equal(parseCheckpointLine('{"level":30,"msg":"something else"}'), undefined);
    assert.ok(
      parseCheckpointLine('{"type":"smime-audit-checkpoint","v":2}') &&
        'error' in parseCheckpointLine('{"type":"smime-audit-checkpoint","v":2}')!,
    );
  });
});

for (const target of await databaseTargets()) {
  describe(`checkpoints of a chain on ${target.name}`, { timeout: 120_000 }, () => {
    let db: Database;
    let drop: () => Promise<void>;
    before(async () => {
      ({ db, drop } = await target.open());
    });
    after(async () => {
      await drop?.();
    });

    const settings = (name: string, extra: Partial<AuditCheckpointSettings> = {}): AuditCheckpointSettings => ({
      signingKey: parseSigningKey(generateSigningKeyPem()),
      verifyingKeys: [],
      file: join(work, target.name, name),
      syslog: undefined,
      ...extra,
    });

    test('an empty chain, a grown chain, concurrent writes: each checkpoint extends the last and verifies', async () => {
      const cps = new AuditCheckpoints(settings('grow.jsonl'), silent);
      const empty = await cps.write(db);
      assert.deepEqual([empty.seq, empty.hash, empty.entries], [0, GENESIS_HASH, 0]);
      await append(db, 3);
      const v = await cps.verify(db);
      assert.equal(v.ok, true, JSON.stringify(v.problems));
      assert.equal(v.checkpoints.grownSince, 3);
      const written = await Promise.all([
        cps.write(db),
        cps.write(db),
        cps.write(db),
        append(db, 2).then(() => cps.write(db)),
      ]);
      assert.ok(written.every((c) => c.seq >= 3));
      const lines = readFileSync(cps.file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 5, 'one whole line per checkpoint');
      const after = await cps.verify(db);
      assert.equal(after.ok, true, JSON.stringify(after.problems));
      assert.equal(after.checkpoints.valid, 5);
      assert.equal(after.checkpoints.last!.seq, 5);
    });

    test('the last checkpoint is found behind a long tail of other lines, and a damaged line is reported', async () => {
      const s = settings('tail.jsonl');
      const cps = new AuditCheckpoints(s, silent);
      const cp = await cps.write(db);
      // A shared syslog file: much other traffic after our line, more than one read chunk of it.
      appendFileSync(s.file, `${'x'.repeat(200)} other program\n`.repeat(2000));
      assert.deepEqual(await cps.lastCheckpoint(), cp);
      appendFileSync(s.file, `${checkpointLine(cp).replace('"seq":', '"seq":"')}\n`);
      const v = await cps.verify(db);
      assert.equal(v.ok, false);
      assert.deepEqual(
        v.problems.map((p) => p.problem),
        ['checkpoint-malformed'],
      );
      assert.equal(v.checkpoints.valid, 1);
      // Without a signing key nothing is written.
      const auditor = new AuditCheckpoints(
        { ...s, signingKey: undefined, verifyingKeys: parseVerifyingKeys(publicKeyPem(s.signingKey!)) },
        silent,
      );
      await assert.rejects(auditor.write(db), (e: { code?: string }) => e.code === 'AUDIT_CHECKPOINT_KEY_MISSING');
    });

    test('the schedule writes to the file, the log and a syslog collector over UDP, and stops', async () => {
      const sock = createSocket('udp4');
      const datagrams: string[] = [];
      sock.on('message', (m) => datagrams.push(m.toString('utf8')));
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      const lines: string[] = [];
      const log = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
      const s = settings('schedule.jsonl', { syslog: `udp://127.0.0.1:${(sock.address() as AddressInfo).port}` });
      const cps = new AuditCheckpoints(s, log);
      const schedule = startAuditCheckpointSchedule(db, cps, 1, log);
      try {
        for (let i = 0; i < 100 && datagrams.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      } finally {
        await schedule.stop();
        sock.close();
      }
      assert.ok(datagrams.length >= 2, `datagrams: ${datagrams.length}`);
      // RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
      assert.match(
        datagrams[0]!,
        /^<109>1 \d{4}-\d\d-\d\dT[\d:.]+Z \S+ smime \d+ audit-checkpoint - \{"type":"smime-audit-checkpoint"/,
      );
      const fromSyslog = parseCheckpointLine(datagrams[0]!);
      assert.ok(fromSyslog && 'checkpoint' in fromSyslog);
      assert.equal(checkSignature(fromSyslog.checkpoint, cps.keys), 'valid');
      // The same checkpoints in the file and in the server's log (journald): an auditor can use either.
      const syslogFile = join(work, target.name, 'from-syslog.log');
      writeFileSync(syslogFile, datagrams.join('\n') + '\n');
      const logFile = join(work, target.name, 'from-log.log');
      writeFileSync(logFile, lines.join(''));
      for (const files of [[s.file], [syslogFile], [logFile]]) {
        const v = await cps.verify(db, { files });
        assert.equal(v.ok, true, `${files[0]}: ${JSON.stringify(v.problems)}`);
        assert.ok(v.checkpoints.valid >= 2, `${files[0]}: ${v.checkpoints.valid}`);
      }
      const written = readFileSync(s.file, 'utf8').trim().split('\n').length;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(readFileSync(s.file, 'utf8').trim().split('\n').length, written, 'no checkpoint after stop()');
    });
  });
}
