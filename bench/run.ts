/** `npm run bench`: every benchmark, one table each, our figures beside a reference measured in the same run. */
import { benchDirectory } from './directory.ts';
import { benchLoad } from './load.ts';
import { benchRoundcube } from './roundcube.ts';
import { benchSmime } from './smime.ts';
import { benchSmimeRate } from './smime-rate.ts';
import { benchVault } from './vault.ts';
import { printTable } from './table.ts';

console.log(
  `# Benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} cores)`,
);
printTable('Key vault (issue 2)', await benchVault());
printTable('S/MIME beside openssl cms (issues 3 and 6)', await benchSmime());
printTable('S/MIME sign+encrypt rate beside openssl speed (issue 6)', await benchSmimeRate());
printTable('Directory sync beside ldapsearch (issue 4)', await benchDirectory());
printTable('Load: outgoing and incoming on PostgreSQL (issue 6)', await benchLoad());
printTable('Roundcube: opening a message with and without the plugin (issue 11)', await benchRoundcube());
