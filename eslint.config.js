// Lint configuration: typescript-eslint's recommended rules, type-aware where it pays (floating promises are
// how a Koa handler turns into an unhandled rejection, and one of those is a crash).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Reaching into the engine past its entry point, or into the demo from the product. */
const ENGINE_ENTRY_ONLY = {
  regex: '(^|/)smime/(?!index\\.ts$)',
  message: 'Import the engine through backend/src/smime/index.ts only (issue 13).',
};
const NOT_THE_DEMO = {
  regex: '(^|/)demo/',
  message: 'The product does not import the demo; the demo imports the product (issue 12).',
};
const NO_HTTP = [
  { name: 'koa', message: 'Only api/ knows HTTP.' },
  { name: '@koa/router', message: 'Only api/ knows HTTP.' },
];

/** Modules through which code reaches the network or serves it: the engine never does either. */
const NETWORK_AND_SERVERS = [
  'node:http',
  'node:https',
  'node:net',
  'node:dns',
  'node:tls',
  'node:dgram',
  'node:child_process',
  'pg',
  'koa',
  '@koa/router',
  'ldapts',
  '@electric-sql/pglite',
].map((name) => ({
  name,
  message: 'The engine is pure (issue 13): the network and the database are handed to it, never imported.',
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'test-output/**', 'plugin/dist/**', 'frontend/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/test return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // ---- Layer boundaries (issue 13; STYLE.md "the shape of the house"). Data flows one way:
  // api -> (vault, smime, directory, mail) -> store. A boundary broken here is an error, not a review comment.
  {
    // The engine is pure: bytes and options in, evidence out. It imports nothing of the product (only the one error
    // registry, ../errors.ts, which imports nothing), no HTTP, no database, no network, no environment.
    files: ['backend/src/smime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...NETWORK_AND_SERVERS,
            { name: 'node:fs', message: 'The engine does no I/O.' },
            { name: 'node:fs/promises', message: 'The engine does no I/O.' },
          ],
          patterns: [
            {
              regex:
                '^(\\.\\./)+(?!errors\\.ts$)(store|vault|mail|api|directory|audit|auth|cli|demo|net)/|^(\\.\\./)+(config|production|server|services|log|secrets|trust-anchors|main)\\.ts$',
              message:
                'The engine is pure (issue 13): it gets what it needs as arguments (a Fetcher, anchors, keys), never from the product.',
            },
          ],
        },
      ],
    },
  },
  {
    // Outside the engine, only its entry point: backend/src/smime/index.ts.
    files: ['backend/src/**/*.ts'],
    ignores: ['backend/src/smime/**', 'backend/src/demo/**', 'backend/src/api/contract.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [ENGINE_ENTRY_ONLY, NOT_THE_DEMO],
        },
      ],
    },
  },
  {
    // The demo, benchmarks and scripts may use the demo's PKI, but they too reach the engine through its entry only.
    files: ['backend/src/demo/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'plugin/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [ENGINE_ENTRY_ONLY],
        },
      ],
    },
  },
  {
    // The API contract may also take the status vocabulary itself: the frontend bundles this file, and index.ts would
    // pull the whole engine (node:crypto) into the browser bundle.
    files: ['backend/src/api/contract.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)smime/(?!types\\.ts$)', message: 'The contract imports only the status vocabulary.' },
          ],
        },
      ],
    },
  },
  {
    // Store, vault, directory, mail, audit and recovery know no HTTP; the store knows nothing above it.
    files: [
      'backend/src/store/**/*.ts',
      'backend/src/recovery/**/*.ts',
      'backend/src/vault/**/*.ts',
      'backend/src/directory/**/*.ts',
      'backend/src/mail/**/*.ts',
      'backend/src/audit/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NO_HTTP,
          patterns: [
            {
              regex: '(^|/)api/(?!contract\\.ts$)',
              message: 'Only api/ knows HTTP (data flows api -> vault/smime/directory/mail -> store).',
            },
            ENGINE_ENTRY_ONLY,
            NOT_THE_DEMO,
          ],
        },
      ],
    },
  },
  {
    files: ['backend/src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NO_HTTP,
          patterns: [
            {
              regex: '^\\.\\./(api|vault|mail|directory|audit|cli)/',
              message: 'The store knows nothing above it: it is called, it calls nothing of the product.',
            },
            ENGINE_ENTRY_ONLY,
            NOT_THE_DEMO,
          ],
        },
      ],
    },
  },
  {
    // The frontend talks to the backend over HTTP only; it compiles against the API contract and nothing else of it.
    files: ['frontend/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)backend/(?!src/api/contract\\.ts$)',
              message: 'The frontend knows the backend only through the HTTP API (backend/src/api/contract.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    // Size (issue 13): a file holds one job and a function one step, so that a reader sees either whole. Counted without
    // blank lines and comments, so explaining code never pushes it over. A longer function says why in its disable
    // comment (`-- reason`).
    files: ['backend/src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // Tests read JSON answers loosely; the API's types are asserted by the assertions themselves.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // The Roundcube plugin's browser half: a classic script in Roundcube's pages, beside Roundcube's own globals.
    files: ['plugin/roundcube/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        Event: 'readonly',
        DOMParser: 'readonly',
        setInterval: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
