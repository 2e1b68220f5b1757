/**
 * smime-admin works from any folder (found while bulk placement was built): the PKCS#12 worker loaded its TypeScript
 * loader by a bare name, resolved from the working directory, so `import-p12` run outside the project failed with
 * "Cannot find package 'tsx'".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

test('import-p12 from a folder outside the project places the key', { timeout: 120_000 }, () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'smime-cli-elsewhere-'));
  try {
    const r = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/smime-admin.js'),
        'import-p12',
        '--user',
        'alice@example.com',
        '--file',
        join(REPO_ROOT, 'test/fixtures/corpus/Alice.p12'),
      ],
      {
        cwd: elsewhere,
        encoding: 'utf8',
        timeout: 100_000,
        env: { ...process.env, SMIME_DATA_DIR: join(elsewhere, 'data'), SMIME_P12_PASSWORD: 'nss', DATABASE_URL: '' },
      },
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /placed key/);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test(
  'smime-admin doctor runs from the command line: a missing database fails with its fix, exit 1',
  { timeout: 120_000 },
  () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'smime-cli-doctor-'));
    try {
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/smime-admin.js'), 'doctor'], {
        cwd: elsewhere,
        encoding: 'utf8',
        timeout: 100_000,
        env: { ...process.env, SMIME_DATA_DIR: join(elsewhere, 'data'), DATABASE_URL: '', NODE_ENV: 'development' },
      });
      assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /FAIL\s+database/);
      assert.match(r.stdout, /fix: run smime-admin migrate/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  },
);
