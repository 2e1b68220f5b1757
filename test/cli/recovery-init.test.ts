/**
 * `smime-admin recovery-init` (issue 17) as an administrator runs it: a subprocess on a fresh directory. The files it
 * writes, their modes, that any M of them rebuild the recovery key and M-1 do not, that the private key is in no
 * file and no output, and every refusal with nothing written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pemToDer } from '../../backend/src/smime/index.ts';
import { checkRecoveryKey } from '../../backend/src/recovery/recovery-key.ts';
import { openShares } from '../../backend/src/recovery/share-file.ts';
import { runCli } from '../helpers/cli.ts';

/** RSA-4096 generation plus five Argon2id derivations of 256 MiB on a loaded 2-core machine. */
const CEREMONY_MS = 300_000;
const LABELS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const PASSWORDS = LABELS.map((l) => `${l}-correct-horse-${l.length}`);

const cli = (args: string[], input?: string) => runCli(args, {}, input ?? '', CEREMONY_MS);

function passwordFiles(dir: string, passwords: readonly string[]): string[] {
  return passwords.flatMap((p, i) => {
    const f = join(dir, `pw-${i}`);
    writeFileSync(f, `${p}\n`);
    return ['--share-password-file', f];
  });
}

const custodianArgs = (labels: readonly string[]) => labels.flatMap((l) => ['--custodian', l]);

describe('recovery-init', () => {
  test(
    '3 of 5 with password files: the files, their modes, any 3 rebuild the key, 2 do not, no key anywhere',
    { timeout: CEREMONY_MS },
    async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'smime-recovery-init-'));
      try {
        const out = join(tmp, 'set');
        const r = cli([
          'recovery-init',
          '--shares',
          '5',
          '--threshold',
          '3',
          '--out',
          out,
          ...custodianArgs(LABELS),
          ...passwordFiles(tmp, PASSWORDS),
        ]);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, new RegExp(`SMIME_RECOVERY_CERTIFICATE=${out}/recovery-certificate.pem`));
        const shareNames = LABELS.map((l, i) => `share-${i + 1}-of-5-${l}.json`);
        assert.deepEqual(
          readdirSync(out).sort(),
          ['RECOVERY-SET.txt', 'recovery-certificate.pem', ...shareNames].sort(),
        );
        assert.equal(statSync(out).mode & 0o777, 0o700);
        assert.equal(statSync(join(out, 'recovery-certificate.pem')).mode & 0o777, 0o644);
        assert.equal(statSync(join(out, 'RECOVERY-SET.txt')).mode & 0o777, 0o644);
        for (const f of shareNames) assert.equal(statSync(join(out, f)).mode & 0o777, 0o600);
        const set = readFileSync(join(out, 'RECOVERY-SET.txt'), 'utf8');
        for (const [i, f] of shareNames.entries()) assert.ok(set.includes(`${f}  ->  ${LABELS[i]}`));
        assert.match(set, /any 3 of the 5/);

        const text = spawnSync('openssl', ['x509', '-in', join(out, 'recovery-certificate.pem'), '-noout', '-text'], {
          encoding: 'utf8',
        });
        assert.equal(text.status, 0, text.stderr);
        assert.match(text.stdout, /4096 bit/);
        assert.match(text.stdout, /Key Encipherment/);

        const cert = pemToDer(readFileSync(join(out, 'recovery-certificate.pem'), 'utf8'))[0]!;
        const file = (i: number) => ({
          json: readFileSync(join(out, shareNames[i]!), 'utf8'),
          password: PASSWORDS[i]!,
        });
        const rebuilt = await openShares([file(4), file(1), file(2)]);
        checkRecoveryKey(rebuilt.secret, cert);
        await assert.rejects(openShares([file(0), file(3)]), { code: 'RECOVERY_TOO_FEW_SHARES' });

        const der = Buffer.from(rebuilt.secret);
        const needles = [der, Buffer.from(der.toString('base64').slice(0, 64)), Buffer.from('PRIVATE KEY')];
        const haystacks = [
          ...readdirSync(out).map((f) => readFileSync(join(out, f))),
          Buffer.from(r.out),
          Buffer.from(r.err),
        ];
        for (const h of haystacks) for (const n of needles) assert.equal(h.indexOf(n), -1);
        rebuilt.secret.fill(0);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  );

  test('passwords from piped standard input, default labels', { timeout: CEREMONY_MS }, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'smime-recovery-init-'));
    try {
      const out = join(tmp, 'set');
      const r = cli(
        ['recovery-init', '--shares', '2', '--threshold', '2', '--out', out],
        'first-password-1\nsecond-password-2\n',
      );
      assert.equal(r.code, 0, r.err);
      assert.ok(readdirSync(out).includes('share-1-of-2-custodian-1.json'));
      assert.ok(readdirSync(out).includes('share-2-of-2-custodian-2.json'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const refusals: { name: string; args: (tmp: string) => string[]; code: number; message: RegExp }[] = [
    {
      name: 'threshold above shares',
      args: () => ['--shares', '3', '--threshold', '4'],
      code: 2,
      message: /--threshold \(4\) must not be more than --shares \(3\)/,
    },
    {
      name: 'threshold 1',
      args: () => ['--shares', '3', '--threshold', '1'],
      code: 2,
      message: /--threshold must be at least 2/,
    },
    {
      name: 'shares 256',
      args: () => ['--shares', '256', '--threshold', '2'],
      code: 2,
      message: /--shares must be from 2 to 255/,
    },
    {
      name: 'not a number',
      args: () => ['--shares', 'five', '--threshold', '2'],
      code: 2,
      message: /--shares must be a whole number/,
    },
    {
      name: 'wrong number of custodians',
      args: () => ['--shares', '3', '--threshold', '2', ...custodianArgs(['a', 'b'])],
      code: 2,
      message: /--custodian must be given 3 times/,
    },
    {
      name: 'duplicate custodians',
      args: () => ['--shares', '2', '--threshold', '2', ...custodianArgs(['a', 'a'])],
      code: 2,
      message: /labels must be distinct/,
    },
    {
      name: 'wrong number of password files',
      args: (t) => ['--shares', '3', '--threshold', '2', ...passwordFiles(t, PASSWORDS.slice(0, 2))],
      code: 2,
      message: /--share-password-file must be given 3 times/,
    },
    {
      name: 'empty password',
      args: (t) => ['--shares', '2', '--threshold', '2', ...passwordFiles(t, [PASSWORDS[0]!, ''])],
      code: 2,
      message: /password for share 2 is empty/,
    },
    {
      name: 'short password',
      args: (t) => ['--shares', '2', '--threshold', '2', ...passwordFiles(t, [PASSWORDS[0]!, 'short'])],
      code: 2,
      message: /shorter than SMIME_PASSPHRASE_MIN_LENGTH \(10/,
    },
    {
      name: 'equal passwords',
      args: (t) => ['--shares', '2', '--threshold', '2', ...passwordFiles(t, [PASSWORDS[0]!, PASSWORDS[0]!])],
      code: 2,
      message: /shares 1 and 2 have the same password/,
    },
  ];
  for (const c of refusals)
    test(`refuses: ${c.name}`, { timeout: 60_000 }, () => {
      const tmp = mkdtempSync(join(tmpdir(), 'smime-recovery-init-'));
      try {
        const out = join(tmp, 'set');
        const r = cli(['recovery-init', '--out', out, ...c.args(tmp)]);
        assert.equal(r.code, c.code, r.err);
        assert.match(r.err, /^error \[USAGE\]: /);
        assert.match(r.err, c.message);
        assert.throws(() => statSync(out), { code: 'ENOENT' });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });

  test('refuses a directory that is not empty, and leaves its files alone', { timeout: 60_000 }, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'smime-recovery-init-'));
    try {
      const out = join(tmp, 'set');
      mkdirSync(out);
      writeFileSync(join(out, 'recovery-certificate.pem'), 'earlier ceremony');
      const r = cli([
        'recovery-init',
        '--shares',
        '2',
        '--threshold',
        '2',
        '--out',
        out,
        ...passwordFiles(tmp, PASSWORDS.slice(0, 2)),
      ]);
      assert.equal(r.code, 1);
      assert.match(r.err, /^error \[RECOVERY_OUT_NOT_EMPTY\]: .* is not empty/);
      assert.deepEqual(readdirSync(out), ['recovery-certificate.pem']);
      assert.equal(readFileSync(join(out, 'recovery-certificate.pem'), 'utf8'), 'earlier ceremony');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
