import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TEST_OUTPUT = `${REPO_ROOT}test-output/`;
export const TEMPLATE_PATH = `${TEST_OUTPUT}pglite-template.tar.gz`;
export const FIXTURES = `${REPO_ROOT}test/fixtures/`;
/** The shared S/MIME corpus sits beside the repository (../shared), on developer machines and on CI alike. */
export const SHARED_CORPUS = fileURLToPath(new URL('../../../shared/smime-corpus/', import.meta.url));
