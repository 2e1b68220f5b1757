/**
 * smime-admin as IT meets it (issue 15): help for every command of the table, suggestions for a mistyped command or
 * option, errors that say what to do next with their code in brackets, and bulk placement from a folder and from a
 * CSV with its summary, its report and a safe re-run. The real CLI runs as a subprocess on the embedded database.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../../backend/src/cli/commands.ts';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { runCli } from '../helpers/cli.ts';

const TIMEOUT = { timeout: 180_000 };

const cli = (args: string[], env: Record<string, string> = {}, input?: string) => runCli(args, env, input);

describe('smime-admin help', () => {
  test('--help and help list every command of the table, on stdout, exit 0', TIMEOUT, () => {
    for (const args of [['--help'], ['help'], ['-h']]) {
      const r = cli(args);
      assert.equal(r.code, 0, r.err);
      for (const c of COMMANDS) assert.match(r.out, new RegExp(`^  ${c.name} `, 'm'), `${args[0]}: ${c.name}`);
    }
  });

  test('every command explains every option, its default and the variables it reads', TIMEOUT, () => {
    for (const c of COMMANDS) {
      for (const args of [
        [c.name, '--help'],
        ['help', c.name],
      ]) {
        const r = cli(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
        assert.match(r.out, new RegExp(`^Usage: smime-admin ${c.name}`), c.name);
        for (const o of c.options) {
          assert.match(r.out, new RegExp(`^  --${o.name}\\b`, 'm'), `${c.name} --${o.name}`);
          if (o.default)
            assert.ok(r.out.replace(/\s+/g, ' ').includes(`Default: ${o.default}`), `${c.name} --${o.name}`);
        }
        for (const e of c.env ?? []) assert.match(r.out, new RegExp(`^  ${e.name}\\b`, 'm'), `${c.name} ${e.name}`);
      }
    }
    assert.match(cli(['import-p12', '--help']).out, /SMIME_P12_PASSWORD/);
  });

  test('an unknown command or option exits 2 with one line naming the closest match', TIMEOUT, () => {
    const command = cli(['imprt-p12']);
    assert.equal(command.code, 2);
    assert.match(command.err, /^error \[USAGE\]: unknown command "imprt-p12" \(did you mean import-p12\?\)/);
    assert.equal(command.err.trim().split('\n').length, 1);
    const option = cli(['import-p12', '--forse']);
    assert.equal(option.code, 2);
    assert.match(option.err, /unknown option --forse for import-p12 \(did you mean --force\?\)/);
    assert.equal(option.err.trim().split('\n').length, 1);
    const far = cli(['zzzzzzzz']);
    assert.equal(far.code, 2);
    assert.doesNotMatch(far.err, /did you mean/);
    assert.equal(cli(['help', 'lst-keys']).code, 2);
  });

  test('a missing option is named, with the usage line', TIMEOUT, () => {
    const r = cli(['import-p12', '--user', 'a@example.com']);
    assert.equal(r.code, 2);
    assert.match(r.err, /missing --file/);
    assert.match(r.err, /usage: smime-admin import-p12 \(--user EMAIL --file PATH \| --dir FOLDER \| --csv FILE\)/);
    const both = cli(['import-p12', '--dir', 'x', '--csv', 'y']);
    assert.equal(both.code, 2);
    assert.match(both.err, /--dir and --csv cannot be used together/);
    const alias = cli(['add-alias', '--user', 'a@example.com']);
    assert.equal(alias.code, 2);
    assert.match(alias.err, /missing --alias/);
  });
});

describe('smime-admin errors and bulk placement', () => {
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'smime-cli-usability-'));
    env = { SMIME_DATA_DIR: join(dir, 'data'), SMIME_JWT_SECRET: TEST_JWT_SECRET, SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
  });
  after(() => cleanUp(() => rmSync(dir, { recursive: true, force: true })));

  test('a wrong password and a missing file say what to do, with the code in brackets', TIMEOUT, () => {
    const file = `${FIXTURES}corpus/Alice.p12`;
    const wrong = cli(['import-p12', '--user', 'alice@example.com', '--file', file], {
      ...env,
      SMIME_P12_PASSWORD: 'nope',
    });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.err.trim(),
      `error [P12_BAD_PASSWORD]: The password does not open ${file}: check SMIME_P12_PASSWORD, or unset it and type the password at the prompt.`,
    );
    const prompted = cli(['import-p12', '--user', 'alice@example.com', '--file', file], env, 'nope\n');
    assert.match(prompted.err, /P12_BAD_PASSWORD.*type the password again/);
    const missing = cli(['import-p12', '--user', 'a@example.com', '--file', join(dir, 'none.p12')], {
      ...env,
      SMIME_P12_PASSWORD: 'x',
    });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error \[FILE_NOT_FOUND\]: .*none\.p12 does not exist: check the path/);
    const junk = join(dir, 'junk.p12');
    writeFileSync(junk, 'not a pkcs12 file at all');
    const damaged = cli(['import-p12', '--user', 'a@example.com', '--file', junk], { ...env, SMIME_P12_PASSWORD: 'x' });
    assert.match(damaged.err, /^error \[P12_MALFORMED\]: .* export the key and its certificate again/);
    assert.doesNotMatch(damaged.err, /(\w+): \1:/, 'no repeated prefix');
    const big = join(dir, 'big.p12');
    writeFileSync(big, Buffer.alloc(5000));
    const tooLarge = cli(['import-p12', '--user', 'a@example.com', '--file', big], {
      ...env,
      SMIME_P12_PASSWORD: 'x',
      SMIME_MAX_P12_BYTES: '4096',
    });
    assert.match(
      tooLarge.err,
      /^error \[P12_TOO_LARGE\]: .*5000 bytes, more than SMIME_MAX_P12_BYTES \(4096\): raise SMIME_MAX_P12_BYTES/,
    );
  });

  test('--dir places every file, writes the report, and a re-run reports "already present"', TIMEOUT, () => {
    const folder = join(dir, 'p12s');
    mkdirSync(folder);
    // Named after the address, named otherwise (the certificate's address), an extension in capitals, a damaged one.
    copyFileSync(`${FIXTURES}corpus/Alice.p12`, join(folder, 'alice@example.com.p12'));
    copyFileSync(`${FIXTURES}corpus/Bob.p12`, join(folder, 'Bob.PFX'));
    writeFileSync(join(folder, 'broken.p12'), 'damaged');
    writeFileSync(join(folder, 'notes.txt'), 'ignored');
    const report = join(dir, 'dir-report.csv');
    const first = cli(['import-p12', '--dir', folder, '--report', report], { ...env, SMIME_P12_PASSWORD: 'nss' });
    assert.equal(first.code, 1, first.err + first.out);
    assert.match(first.out, /3 files: 2 placed, 0 already present, 1 failed/);
    assert.match(first.out, /Bob\.PFX -> bob@example\.com/);
    assert.match(first.err, /error \[P12_MALFORMED\]: .*broken\.p12/);
    const rows = readFileSync(report, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'email,file,outcome,code,reason,fix,key');
    assert.equal(rows.length, 4);
    const failure = rows.find((r) => r.includes('broken.p12'))!;
    assert.match(failure, /,failed,P12_MALFORMED,.*not a readable PKCS#12.*export the key and its certificate again/);
    assert.doesNotMatch(readFileSync(report, 'utf8'), /(^|,)nss(,|$)/m, 'no password in the report');

    const again = cli(['import-p12', '--dir', folder, '--report', report], { ...env, SMIME_P12_PASSWORD: 'nss' });
    assert.match(again.out, /3 files: 0 placed, 2 already present, 1 failed/);
    assert.match(readFileSync(report, 'utf8'), /alice@example\.com,.*,already present,/);
    const keys = cli(['list-keys', '--user', 'alice@example.com'], env);
    assert.equal(keys.out.trim().split('\n').length, 1, 'placed once, not twice');
  });

  test(
    '--csv reads passwords from env:, file: and prompt, paths relative to the CSV; exit 0 when none failed',
    TIMEOUT,
    () => {
      const folder = join(dir, 'csv');
      mkdirSync(folder);
      copyFileSync(`${FIXTURES}corpus/Dave.p12`, join(folder, 'dave.p12'));
      copyFileSync(`${FIXTURES}corpus/Fran.p12`, join(folder, 'fran.p12'));
      copyFileSync(`${FIXTURES}p12/rsa-legacy.p12`, join(folder, 'rsa.p12'));
      writeFileSync(join(folder, 'fran.pass'), 'nss\n');
      const csv = join(folder, 'users.csv');
      writeFileSync(
        csv,
        [
          'email,file,password-source',
          'dave@example.com,dave.p12,env:DAVE_P12',
          ',fran.p12,file:fran.pass',
          'rsa-user@example.com,rsa.p12,prompt',
          '',
        ].join('\n'),
      );
      const report = join(dir, 'csv-report.csv');
      const r = cli(
        ['import-p12', '--csv', csv, '--report', report, '--force'],
        { ...env, DAVE_P12: 'nss' },
        'fixture-pass\n',
      );
      assert.equal(r.code, 0, r.err + r.out);
      assert.match(r.out, /3 files: 3 placed, 0 already present, 0 failed/);
      assert.match(r.out, /fran\.p12 -> fran@example\.com/);
      assert.match(readFileSync(report, 'utf8'), /rsa-user@example\.com,rsa\.p12,placed,/);

      // A bad row and an unset variable fail with their fix; the rows already placed are "already present".
      copyFileSync(`${FIXTURES}corpus/Eve.p12`, join(folder, 'eve.p12'));
      writeFileSync(
        csv,
        `${readFileSync(csv, 'utf8')}eve@example.com,eve.p12,env:EVE_P12\nbad row\nx@example.com,gone.p12,prompt\n`,
      );
      const again = cli(
        ['import-p12', '--csv', csv, '--report', report, '--force'],
        { ...env, DAVE_P12: 'nss' },
        'fixture-pass\n',
      );
      assert.equal(again.code, 1, again.err + again.out);
      assert.match(again.out, /6 files: 0 placed, 3 already present, 3 failed/);
      assert.match(
        again.err,
        /line 5: error \[PASSWORD_SOURCE_INVALID\]: The variable EVE_P12 .* is not set: export EVE_P12/,
      );
      assert.match(
        again.err,
        /line 6: error \[CSV_INVALID\]: .* has 1 columns: write three: email,file,password-source/,
      );
      assert.match(again.err, /line 7: error \[FILE_NOT_FOUND\]: gone\.p12 does not exist: .*the CSV's folder/);
      assert.match(readFileSync(report, 'utf8'), /eve\.p12,failed,PASSWORD_SOURCE_INVALID,/);
    },
  );
});
