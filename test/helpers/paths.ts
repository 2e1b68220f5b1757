import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TEST_OUTPUT = `${REPO_ROOT}test-output/`;
export const TEMPLATE_PATH = `${TEST_OUTPUT}pglite-template.tar.gz`;
export const FIXTURES = `${REPO_ROOT}test/fixtures/`;

/**
 * The shared S/MIME corpus sits beside the repository (../shared), on developer machines and on CI alike.
 * SMIME_CORPUS_DIR points it elsewhere: test/runner/missing-corpus.test.ts sets it to an empty folder to prove that
 * a run without the corpus fails fast (CI) or skips loudly (a laptop) instead of hanging (issue 13).
 */
export const SHARED_CORPUS = process.env.SMIME_CORPUS_DIR
  ? `${process.env.SMIME_CORPUS_DIR.replace(/\/+$/, '')}/`
  : fileURLToPath(new URL('../../../shared/smime-corpus/', import.meta.url));
/** The Thunderbird/NSS part of the corpus (MPL-2.0, see shared/smime-corpus/README.md). */
export const THUNDERBIRD_CORPUS = `${SHARED_CORPUS}thunderbird/`;
