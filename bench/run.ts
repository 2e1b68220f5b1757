/**
 * `npm run bench`: every benchmark, one table each, our figures beside a reference measured in the same run.
 * BENCH_ONLY: a comma-separated subset of vault, smime, smime-rate, directory, load, roundcube, http
 * (`BENCH_ONLY=http npm run bench`, or `npm run bench:http`, runs only the issue-16 HTTP rows).
 */
import { benchDirectory } from './directory.ts';
import { benchHttp } from './http.ts';
import { benchLoad } from './load.ts';
import { benchRoundcube } from './roundcube.ts';
import { benchSmime } from './smime.ts';
import { benchSmimeRate } from './smime-rate.ts';
import { benchVault } from './vault.ts';
import { printTable, type Row } from './table.ts';

const BENCHMARKS: [name: string, title: string, run: () => Promise<Row[]>][] = [
  ['vault', 'Key vault (issue 2)', benchVault],
  ['smime', 'S/MIME beside openssl cms (issues 3 and 6)', benchSmime],
  ['smime-rate', 'S/MIME sign+encrypt rate beside openssl speed (issue 6)', benchSmimeRate],
  ['directory', 'Directory sync beside ldapsearch (issue 4)', benchDirectory],
  ['load', 'Load: outgoing and incoming on PostgreSQL (issue 6)', benchLoad],
  ['roundcube', 'Roundcube: opening a message with and without the plugin (issue 11)', benchRoundcube],
  ['http', 'HTTP: what the server adds to the engine (issue 16)', benchHttp],
];
const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim());
const unknown = only?.filter((n) => !BENCHMARKS.some(([name]) => name === n)) ?? [];
if (unknown.length)
  throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')}; one of ${BENCHMARKS.map(([n]) => n).join(', ')}`);

console.log(
  `# Benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} cores)`,
);
for (const [name, title, run] of BENCHMARKS) if (!only || only.includes(name)) printTable(title, await run());
