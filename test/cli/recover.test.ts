/**
 * `smime-admin recover` (issue 17) as custodians run it: a subprocess against the database, three of five share
 * files, a user with three keys in their history. On the embedded database and on the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../backend/src/config.ts';
import { withDb } from '../../backend/src/cli/database.ts';
import { generateCa, issueUser, buildPkcs12 } from '../../backend/src/demo/pki.ts';
import { createLogger } from '../../backend/src/log.ts';
import { wrapForRecovery } from '../../backend/src/recovery/escrow.ts';
import { createRecoveryKey, type RecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { split } from '../../backend/src/recovery/shamir.ts';
import { writeShareFile } from '../../backend/src/recovery/share-file.ts';
import { createServices } from '../../backend/src/services.ts';
import { listAudit } from '../../backend/src/store/audit.ts';
import { insertRecoveryWrap, recordRecoveryCertificate } from '../../backend/src/store/recovery.ts';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { databaseTargets } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { CUSTODIANS, makeSet, password, TEST_KDF } from '../helpers/recovery-shares.ts';

const USER = 'rita@example.com';
const NEW_P12_PASSWORD = 'recovered p12 password 7';
const TIMEOUT = 180_000;

const cli = (args: string[], env: Record<string, string>, input?: string) => runCli(args, env, input);

let recovery: RecoveryKey;
let shareJson: string[];
const pkcs8B64: string[] = [];

before(
  async () => {
    recovery = await createRecoveryKey();
    shareJson = await Promise.all(
      split(recovery.pkcs8, 5, 3).map((share, i) =>
        writeShareFile(
          { setId: recovery.setId, share, threshold: 3, shares: 5, custodian: CUSTODIANS[i]!, password: password(i) },
          { kdf: TEST_KDF },
        ),
      ),
    );
  },
  { timeout: TIMEOUT },
);

for (const target of await databaseTargets()) {
  describe(`smime-admin recover on ${target.name}`, { timeout: TIMEOUT * 4 }, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: (() => Promise<void>) | undefined;
    const keyIds: string[] = [];

    /** Write the share files at `idx` (and their password files) into a fresh folder; the CLI arguments. */
    function shareArgs(idx: number[], sub: string, json = shareJson, pw = password): string[] {
      const d = join(dir, sub);
      rmSync(d, { recursive: true, force: true });
      const args: string[] = [];
      for (const i of idx) {
        const f = join(d, `share-${i}.json`);
        const p = join(d, `pw-${i}.txt`);
        mkdirSync(d, { recursive: true });
        writeFileSync(f, json[i]!);
        writeFileSync(p, `${pw(i)}\n`);
        args.push('--share', f, '--share-password-file', p);
      }
      return args;
    }

    before(
      async () => {
        dir = mkdtempSync(join(tmpdir(), 'smime-recover-'));
        env = { SMIME_DATA_DIR: dir, SMIME_JWT_SECRET: TEST_JWT_SECRET, SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
        if (target.name === 'postgres') {
          const opened = await target.open();
          env.DATABASE_URL = opened.url!;
          drop = opened.drop;
        }
        assert.equal(cli(['migrate'], env).code, 0);
        const config = loadConfig({ ...env, PATH: process.env.PATH });
        const ca = await generateCa('Recovery test CA');
        await withDb(config, async (db) => {
          await recordRecoveryCertificate(db, {
            setId: recovery.setId,
            certificate: recovery.certificate,
            subject: 'CN=S/MIME key recovery',
          });
          const vault = createServices(config, db, createLogger('error')).vault;
          for (let k = 0; k < 3; k++) {
            const issued = await issueUser(ca, { name: `Rita ${k}`, email: USER });
            const p12 = await buildPkcs12({ ...issued, chain: [ca.certificate], password: 'x', friendlyName: 'r' });
            const row = await vault.placeKey({ actor: 'admin:cli', userEmail: USER, p12, p12Password: 'x' });
            keyIds.push(row.id);
            pkcs8B64.push(Buffer.from(issued.pkcs8).toString('base64'));
            const envelope = await wrapForRecovery(issued.pkcs8, {
              certificate: recovery.certificate,
              setId: recovery.setId,
              subject: 'CN=S/MIME key recovery',
            });
            await insertRecoveryWrap(db, { keyId: row.id, setId: recovery.setId, envelope });
          }
          await vault.placeKey({
            actor: 'admin:cli',
            userEmail: 'nowrap@example.com',
            p12: await buildPkcs12({
              ...(await issueUser(ca, { name: 'No Wrap', email: 'nowrap@example.com' })),
              password: 'x',
              friendlyName: 'n',
            }),
            p12Password: 'x',
          });
        });
      },
      { timeout: TIMEOUT },
    );
    after(() =>
      cleanUp(
        () => rmSync(dir, { recursive: true, force: true }),
        () => drop?.(),
      ),
    );

    async function recoveredAudits() {
      const config = loadConfig({ ...env, PATH: process.env.PATH });
      return withDb(config, async (db) =>
        (await listAudit(db, { userEmail: USER })).filter((e) => e.action === 'key.recovered'),
      );
    }

    function assertNoSecrets(r: { out: string; err: string }): void {
      const all = r.out + r.err;
      assert.doesNotMatch(all, /PRIVATE KEY/);
      assert.ok(!all.includes(NEW_P12_PASSWORD));
      for (let i = 0; i < 5; i++) assert.ok(!all.includes(password(i)), 'no custodian password');
      for (const b of pkcs8B64) assert.ok(!all.includes(b.slice(0, 40)), 'no PKCS#8');
      assert.ok(!all.includes(Buffer.from(recovery.pkcs8).toString('base64').slice(0, 40)));
    }

    test(
      '2 of 5 shares: refused, 1 more custodian needed, nothing written or audited',
      { timeout: TIMEOUT },
      async () => {
        const out = join(dir, 'two.p12');
        const r = cli(['recover', '--user', USER, ...shareArgs([0, 1], 'two'), '--out', out], {
          ...env,
          SMIME_P12_PASSWORD: NEW_P12_PASSWORD,
        });
        assert.equal(r.code, 1, r.err + r.out);
        assert.match(r.err, /RECOVERY_TOO_FEW_SHARES/);
        assert.match(r.err, /2 of 3 shares given: 1 more custodian is needed/);
        assert.equal(readdirSync(dir).filter((f) => f.startsWith('two') && f.endsWith('.p12')).length, 0);
        assert.equal((await recoveredAudits()).length, 0);
        assertNoSecrets(r);
      },
    );

    test('a wrong password among 3: rejected without naming the file', { timeout: TIMEOUT }, () => {
      const out = join(dir, 'wrong.p12');
      const wrongPw = (i: number) => (i === 1 ? 'not the password' : password(i));
      const r = cli(['recover', '--user', USER, ...shareArgs([0, 1, 2], 'wrong', shareJson, wrongPw), '--out', out], {
        ...env,
        SMIME_P12_PASSWORD: NEW_P12_PASSWORD,
      });
      assert.equal(r.code, 1);
      assert.match(r.err, /RECOVERY_SHARE_REJECTED/);
      assert.doesNotMatch(r.out + r.err, /share-1|bob/);
      assert.ok(!existsSync(join(dir, 'wrong-1.p12')));
      assertNoSecrets(r);
    });

    test('a forged share (valid password, wrong y): RECOVERY_KEY_MISMATCH', { timeout: TIMEOUT }, async () => {
      const forged = [...shareJson];
      const [s] = split(new Uint8Array(recovery.pkcs8.length).fill(7), 5, 3);
      forged[2] = await writeShareFile(
        {
          setId: recovery.setId,
          share: { x: 3, y: s!.y },
          threshold: 3,
          shares: 5,
          custodian: 'carol',
          password: password(2),
        },
        { kdf: TEST_KDF },
      );
      const r = cli(
        ['recover', '--user', USER, ...shareArgs([0, 1, 2], 'forged', forged), '--out', join(dir, 'f.p12')],
        {
          ...env,
          SMIME_P12_PASSWORD: NEW_P12_PASSWORD,
        },
      );
      assert.equal(r.code, 1);
      assert.match(r.err, /RECOVERY_KEY_MISMATCH/);
      assert.ok(!existsSync(join(dir, 'f-1.p12')));
      assert.equal((await recoveredAudits()).length, 0);
    });

    test('a tampered share file (one byte changed): rejected', { timeout: TIMEOUT }, () => {
      const tampered = [...shareJson];
      tampered[0] = tampered[0]!.replace('"custodian": "alice"', '"custodian": "alicf"');
      assert.notEqual(tampered[0], shareJson[0]);
      const r = cli(
        ['recover', '--user', USER, ...shareArgs([0, 1, 2], 'tamper', tampered), '--out', join(dir, 't.p12')],
        {
          ...env,
          SMIME_P12_PASSWORD: NEW_P12_PASSWORD,
        },
      );
      assert.equal(r.code, 1);
      assert.match(r.err, /RECOVERY_SHARE_REJECTED/);
      assert.ok(!existsSync(join(dir, 't-1.p12')));
    });

    test('a user without copies: RECOVERY_NOT_COVERED', { timeout: TIMEOUT }, () => {
      const r = cli(
        ['recover', '--user', 'nowrap@example.com', ...shareArgs([0, 1, 2], 'nowrap'), '--out', join(dir, 'n.p12')],
        { ...env, SMIME_P12_PASSWORD: NEW_P12_PASSWORD },
      );
      assert.equal(r.code, 1);
      assert.match(r.err, /RECOVERY_NOT_COVERED/);
      assert.match(r.err, /before it was configured/);
    });

    test(
      'shares of a set this database never recorded: RECOVERY_SET_UNKNOWN, not "not covered"',
      { timeout: TIMEOUT },
      async () => {
        const other = await makeSet(randomBytes(32));
        const r = cli(
          ['recover', '--user', USER, ...shareArgs([0, 1, 2], 'otherset', other.files), '--out', join(dir, 'o.p12')],
          { ...env, SMIME_P12_PASSWORD: NEW_P12_PASSWORD },
        );
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, /RECOVERY_SET_UNKNOWN/);
        assert.match(r.err, /another deployment/);
        assert.doesNotMatch(r.err, /RECOVERY_NOT_COVERED/);
        assert.ok(!existsSync(join(dir, 'o-1.p12')));
        assert.equal((await recoveredAudits()).length, 0);
      },
    );

    test('an existing target: refused before anything is audited', { timeout: TIMEOUT }, async () => {
      writeFileSync(join(dir, 'exists-2.p12'), 'keep me');
      const r = cli(['recover', '--user', USER, ...shareArgs([0, 1, 2], 'exists'), '--out', join(dir, 'exists.p12')], {
        ...env,
        SMIME_P12_PASSWORD: NEW_P12_PASSWORD,
      });
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /already exists/);
      assert.ok(!existsSync(join(dir, 'exists-1.p12')));
      assert.equal((await recoveredAudits()).length, 0);
    });

    test(
      "3 of 5: three .p12 files that OpenSSL opens, one audit entry in the user's log",
      { timeout: TIMEOUT },
      async () => {
        const out = join(dir, 'rita.p12');
        const r = cli(['recover', '--user', USER, ...shareArgs([0, 2, 4], 'ok'), '--out', out], {
          ...env,
          SMIME_P12_PASSWORD: NEW_P12_PASSWORD,
        });
        assert.equal(r.code, 0, r.err + r.out);
        assert.match(r.out, /import-p12 --user rita@example.com/);
        assertNoSecrets(r);
        for (let k = 1; k <= 3; k++) {
          const f = join(dir, `rita-${k}.p12`);
          const key = spawnSync('openssl', [
            'pkcs12',
            '-in',
            f,
            '-nocerts',
            '-nodes',
            '-passin',
            `pass:${NEW_P12_PASSWORD}`,
          ]);
          assert.equal(key.status, 0, key.stderr.toString());
          const cert = spawnSync('openssl', [
            'pkcs12',
            '-in',
            f,
            '-clcerts',
            '-nokeys',
            '-passin',
            `pass:${NEW_P12_PASSWORD}`,
          ]);
          const pubOfKey = spawnSync('openssl', ['pkey', '-pubout'], { input: key.stdout }).stdout.toString();
          const pubOfCert = spawnSync('openssl', ['x509', '-noout', '-pubkey'], {
            input: cert.stdout,
          }).stdout.toString();
          assert.ok(pubOfKey.includes('PUBLIC KEY'));
          assert.equal(pubOfKey, pubOfCert, `key ${k} matches its certificate`);
        }
        const audits = await recoveredAudits();
        assert.equal(audits.length, 1);
        const d = audits[0]!.details as { keyIds: string[]; custodians: string[] };
        assert.equal(audits[0]!.actor, 'admin:cli');
        assert.equal(audits[0]!.user_email, USER);
        assert.deepEqual(d.keyIds, keyIds);
        assert.deepEqual(d.custodians, ['alice', 'carol', 'erin']);
      },
    );
  });
}
