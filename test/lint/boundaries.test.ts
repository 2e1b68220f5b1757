/**
 * The layer rules of eslint.config.js (issue 13) refuse what they must and allow what they must: each case lints one
 * import line as if it were in the named file. `npm run lint` proves the tree obeys them; this proves they are not
 * vacuous (a pattern that matches nothing would pass the tree too).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT as repoRoot } from '../helpers/paths.ts';

// Only the boundary rule, and no type information: the files below do not exist, and the rule needs none.
const eslint = new ESLint({
  cwd: repoRoot,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

async function refused(file: string, specifier: string): Promise<boolean> {
  const code = `import * as m from '${specifier}';\nexport const x = m;\n`;
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, file) });
  if (result!.messages.some((m) => m.ruleId !== 'no-restricted-imports'))
    throw new Error(JSON.stringify(result!.messages));
  return result!.messages.length > 0;
}

const CASES: { file: string; specifier: string; refused: boolean; why: string }[] = [
  // The engine is pure.
  { file: 'backend/src/smime/x.ts', specifier: 'node:http', refused: true, why: 'engine opens no socket' },
  { file: 'backend/src/smime/x509/x.ts', specifier: 'node:dns', refused: true, why: 'engine resolves no name' },
  { file: 'backend/src/smime/x.ts', specifier: 'pg', refused: true, why: 'engine touches no database' },
  { file: 'backend/src/smime/x.ts', specifier: 'koa', refused: true, why: 'engine knows no HTTP' },
  { file: 'backend/src/smime/x.ts', specifier: '../store/db.ts', refused: true, why: 'engine knows no store' },
  { file: 'backend/src/smime/x.ts', specifier: '../vault/vault.ts', refused: true, why: 'engine knows no vault' },
  {
    file: 'backend/src/smime/mime/x.ts',
    specifier: '../../mail/service.ts',
    refused: true,
    why: 'engine knows no mail service',
  },
  { file: 'backend/src/smime/x.ts', specifier: '../net/fetcher.ts', refused: true, why: 'the fetcher is handed in' },
  { file: 'backend/src/smime/x.ts', specifier: '../config.ts', refused: true, why: 'engine reads no settings' },
  { file: 'backend/src/smime/x.ts', specifier: '../errors.ts', refused: false, why: 'the one error registry' },
  { file: 'backend/src/smime/x.ts', specifier: 'node:crypto', refused: false, why: 'crypto is what it does' },
  { file: 'backend/src/smime/x.ts', specifier: './lib/der.ts', refused: false, why: 'its own insides' },
  // One entry point.
  { file: 'backend/src/mail/x.ts', specifier: '../smime/x509/chain.ts', refused: true, why: 'not through index.ts' },
  {
    file: 'backend/src/api/keys/x.ts',
    specifier: '../../smime/mime/address.ts',
    refused: true,
    why: 'not through index.ts',
  },
  { file: 'bench/x.ts', specifier: '../backend/src/smime/outgoing.ts', refused: true, why: 'not through index.ts' },
  { file: 'backend/src/mail/x.ts', specifier: '../smime/index.ts', refused: false, why: 'the entry point' },
  {
    file: 'backend/src/api/contract.ts',
    specifier: '../smime/types.ts',
    refused: false,
    why: 'the vocabulary, for the bundle',
  },
  {
    file: 'backend/src/api/contract.ts',
    specifier: '../smime/cms/signed/verify.ts',
    refused: true,
    why: 'only the vocabulary',
  },
  // Only api/ knows HTTP; the store knows nothing above it.
  { file: 'backend/src/vault/x.ts', specifier: 'koa', refused: true, why: 'vault knows no HTTP' },
  { file: 'backend/src/recovery/x.ts', specifier: 'koa', refused: true, why: 'recovery knows no HTTP (issue 17)' },
  {
    file: 'backend/src/recovery/x.ts',
    specifier: '../api/middleware/errors.ts',
    refused: true,
    why: 'recovery knows no API',
  },
  {
    file: 'backend/src/directory/x.ts',
    specifier: '../api/middleware/errors.ts',
    refused: true,
    why: 'directory knows no API',
  },
  {
    file: 'backend/src/store/x.ts',
    specifier: '../vault/vault.ts',
    refused: true,
    why: 'store calls nothing above it',
  },
  { file: 'backend/src/store/x.ts', specifier: '@koa/router', refused: true, why: 'store knows no HTTP' },
  {
    file: 'backend/src/mail/x.ts',
    specifier: '../api/contract.ts',
    refused: false,
    why: 'the contract is plain types',
  },
  // The product does not import the demo.
  { file: 'backend/src/server.ts', specifier: './demo/entry.ts', refused: true, why: 'the demo mounts itself' },
  { file: 'backend/src/api/x.ts', specifier: '../demo/routes.ts', refused: true, why: 'the demo mounts itself' },
  { file: 'backend/src/demo/x.ts', specifier: '../server.ts', refused: false, why: 'the demo builds on the product' },
  // The frontend knows the backend through the HTTP API's contract only.
  { file: 'frontend/src/x.ts', specifier: '../../backend/src/errors.ts', refused: true, why: 'HTTP only' },
  {
    file: 'frontend/src/api/x.ts',
    specifier: '../../../backend/src/api/contract.ts',
    refused: false,
    why: 'the contract',
  },
];

describe('layer boundaries (eslint.config.js)', { timeout: 60_000 }, () => {
  for (const c of CASES) {
    test(`${c.file} importing ${c.specifier}: ${c.refused ? 'refused' : 'allowed'} (${c.why})`, async () => {
      assert.equal(await refused(c.file, c.specifier), c.refused);
    });
  }
});
