/** `npm run bench`: every benchmark, one table each, our figures beside a reference measured in the same run. */
import { benchVault } from './vault.ts';
import { printTable } from './table.ts';

console.log(`# Benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} cores)`);
printTable('Key vault (issue 2)', await benchVault());
