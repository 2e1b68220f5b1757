/**
 * Unlock cost and the cost of a signing-ready operation (issue 2): the Argon2id cost is a measured choice.
 * Prints one table: Argon2id alone at several costs, a full unlock of one key (throttle, derive, unwrap, session
 * re-wrap, audit) on the embedded database, and one operation with an unlocked key (session unwrap + RSA-2048
 * SHA-256 signature), beside `openssl dgst -sign` of the same key for reference.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { ARGON2_MIN } from '../backend/src/config.ts';
import { parsePkcs12 } from '../backend/src/smime/index.ts';
import { wrapPGlite } from '../backend/src/store/db.ts';
import { migrate } from '../backend/src/store/migrate.ts';
import { findUserByEmail } from '../backend/src/store/users.ts';
import { Kdf } from '../backend/src/vault/kdf.ts';
import { Vault, type VaultOptions } from '../backend/src/vault/vault.ts';
import { median, printTable, timeIt, type Row } from './table.ts';

const P12 = readFileSync(new URL('../test/fixtures/corpus/Alice.p12', import.meta.url));

export async function benchVault(): Promise<Row[]> {
  const rows: Row[] = [];
  const kdf = new Kdf(1, 0); // Argon2's own cost: at normal priority, whatever else runs on the machine
  for (const [memoryKiB, timeCost] of [
    [ARGON2_MIN.memoryKiB, ARGON2_MIN.timeCost],
    [128 * 1024, 3],
    [256 * 1024, 3],
  ] as const) {
    const salt = randomBytes(16);
    const t = await timeIt(5, () =>
      kdf.derive('a passphrase of usual length', salt, { memoryKiB, timeCost, parallelism: 4 }),
    );
    rows.push({
      what: `Argon2id m=${memoryKiB / 1024} MiB t=${timeCost} p=4`,
      ours: median(t),
      unit: 'ms',
      note: memoryKiB === ARGON2_MIN.memoryKiB ? 'default' : '',
    });
  }

  const pg = new PGlite();
  await pg.waitReady;
  const db = wrapPGlite(pg as never);
  await migrate(db);
  const options: VaultOptions = {
    argon2: { memoryKiB: ARGON2_MIN.memoryKiB, timeCost: 3, parallelism: 4 },
    kdfConcurrency: 2,
    idleTimeoutS: 900,
    maxLifetimeS: 3600,
    throttle: { freeAttempts: 1000, baseDelayS: 1, maxDelayS: 1 },
    passphraseMinLength: 10,
    maxP12Bytes: 1 << 20,
  };
  const vault = new Vault(db, options);
  await vault.placeKey({ actor: 'bench', userEmail: 'alice@example.com', p12: P12, p12Password: 'nss' });
  const user = (await findUserByEmail(db, 'alice@example.com'))!;
  await vault.changePassphrase(user, 'nss', 'bench passphrase 123');
  let token = '';
  const unlock = await timeIt(5, async () => {
    const r = await vault.unlock(user, 'bench passphrase 123');
    if (!r.session) throw new Error('the key is still pending after the passphrase change');
    token = r.session.token;
  });
  rows.push({ what: 'unlock one key (full path, PGlite)', ours: median(unlock), unit: 'ms', note: 'default cost' });
  const data = randomBytes(32);
  const op = await timeIt(200, () =>
    vault.withUnlockedKeys(user, token, async ([k]) => createSign('sha256').update(data).sign(k!.privateKey)),
  );
  // Reference: OpenSSL signing with the same key, per signature, measured by `openssl speed`-style repetition.
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  try {
    const { privateKey } = await parsePkcs12(P12, 'nss');
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(privateKey).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
    writeFileSync(join(dir, 'k.pem'), keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'd'), data);
    const speed = execFileSync('openssl', ['speed', '-seconds', '2', 'rsa2048'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const m = /rsa 2048 bits\s+([\d.]+)s/.exec(speed);
    rows.push({
      what: 'signing-ready operation (session unwrap + RSA-2048 sign)',
      ours: median(op),
      ref: m ? Number(m[1]) * 1000 : undefined,
      unit: 'ms',
      note: 'ref: openssl speed rsa2048 (sign only)',
    });
    const keyObject = createPrivateKey(keyPem);
    rows.push({
      what: 'RSA-2048 sign alone, parsed key (node:crypto)',
      ours: median(await timeIt(200, () => createSign('sha256').update(data).sign(keyObject))),
      ref: m ? Number(m[1]) * 1000 : undefined,
      unit: 'ms',
      note: 'the rest of the row above is session lookup + unwrap',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pg.close();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) printTable('Key vault', await benchVault());
