/**
 * Creates the embedded-database template once per test run: a fresh PGlite takes seconds to initialise but a clone
 * of a dumped data folder opens in well under a second. scripts/run-tests.mjs runs this before the test files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { wrapPGlite } from '../../backend/src/store/db.ts';
import { migrate } from '../../backend/src/store/migrate.ts';
import { TEMPLATE_PATH } from './paths.ts';

const pg = new PGlite();
await pg.waitReady;
await migrate(wrapPGlite(pg as never));
const dump = await pg.dumpDataDir('gzip');
mkdirSync(new URL('.', `file://${TEMPLATE_PATH}`).pathname, { recursive: true });
writeFileSync(TEMPLATE_PATH, Buffer.from(await dump.arrayBuffer()));
await pg.close();
console.log(`PGlite template written to ${TEMPLATE_PATH}`);
