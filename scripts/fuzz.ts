/**
 * `npm run fuzz`: mutates the corpus messages, certificates, .p12 files and CMS blobs and feeds them to every parser
 * entry point of the engine (test/fuzz/targets.ts), then fuzzes the HTTP API of a real server (test/fuzz/api.ts).
 * Prints one table: per target the inputs, outcomes, error codes, findings and the slowest input. Exit 1 on any
 * finding; each one is saved under test/fuzz/findings/ (replayed by test/fuzz/engine.test.ts as a regression case).
 *
 * Settings (environment):
 *   FUZZ_SEED          run seed (default 6); every input is a pure function of (seed, target, index)
 *   FUZZ_ITERATIONS    inputs per engine target (default 20000)
 *   FUZZ_API_ITERATIONS requests to the API (default 20000)
 *   FUZZ_SECONDS       time budget per target, seconds (default 600): no new input starts after it
 *   FUZZ_TIMEOUT_MS    one input running longer than this is a hang (default 30000: a .p12 at the documented KDF
 *                      limit, 3,000,000 iterations, takes about 8 s of one core; the table shows the slowest input)
 *   FUZZ_API_TIMEOUT_MS an API answer later than this is a hang (default 60000: unlocks and key imports derive Argon2
 *                      keys, SMIME_ARGON2_CONCURRENCY at a time, and queue behind each other on a busy machine)
 *   FUZZ_TARGETS       comma-separated subset (mime,incoming,envelope,verify,certificate,pem,pkcs12,pkcs7,outgoing,api)
 *   FUZZ_FROM          first input index (to replay one input: FUZZ_FROM=n FUZZ_ITERATIONS=1)
 *   FUZZ_JOBS          targets run at once (default 1; each in its own worker thread)
 *   FUZZ_SAVE          0: do not write findings to test/fuzz/findings/
 */
import { runApiFuzz, type ApiStats } from '../test/fuzz/api.ts';
import { runTarget, saveFinding, signature, type Finding, type TargetStats } from '../test/fuzz/runner.ts';
import { TARGETS } from '../test/fuzz/targets.ts';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${raw}`);
  return n;
}

const seed = intEnv('FUZZ_SEED', 6);
const iterations = intEnv('FUZZ_ITERATIONS', 20_000);
const apiIterations = intEnv('FUZZ_API_ITERATIONS', 20_000);
const budgetMs = intEnv('FUZZ_SECONDS', 600) * 1000;
const timeoutMs = intEnv('FUZZ_TIMEOUT_MS', 30_000);
const apiTimeoutMs = intEnv('FUZZ_API_TIMEOUT_MS', 60_000);
const from = intEnv('FUZZ_FROM', 0);
const jobs = Math.max(1, intEnv('FUZZ_JOBS', 1));
const save = process.env.FUZZ_SAVE !== '0';
const known = [...TARGETS.map((t) => t.name), 'api'];
const selected = (process.env.FUZZ_TARGETS ?? known.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of selected)
  if (!known.includes(s)) throw new Error(`FUZZ_TARGETS: unknown target ${s}; known: ${known.join(', ')}`);

console.log(
  `fuzz: seed ${seed}, ${iterations} inputs per engine target, ${apiIterations} API requests, budget ${budgetMs / 1000} s per target, hang limit ${timeoutMs} ms (API ${apiTimeoutMs} ms), ${jobs} job(s), node ${process.version}`,
);

const results: TargetStats[] = [];
const saved = new Map<Finding, string>();
const queue = TARGETS.filter((t) => selected.includes(t.name)).map((t) => t.name);
async function worker(): Promise<void> {
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const stats = await runTarget({ target: name, seed, from, count: iterations, timeoutMs, budgetMs });
    results.push(stats);
    // Saved at once: a later target (or the API run) failing must not lose them.
    if (save) for (const f of stats.findings.slice(0, 20)) saved.set(f, saveFinding(f));
    const top = [...stats.outcomes]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(
      `  ${name}: ${stats.inputs} inputs in ${(stats.elapsedMs / 1000).toFixed(1)} s, ${stats.findings.length} findings (${top})`,
    );
  }
}
await Promise.all(Array.from({ length: jobs }, () => worker()));

let api: ApiStats | undefined;
if (selected.includes('api')) {
  try {
    api = await runApiFuzz({ seed, count: apiIterations, timeoutMs: apiTimeoutMs, budgetMs });
    console.log(
      `  api: ${api.requests} requests in ${(api.elapsedMs / 1000).toFixed(1)} s (setup ${(api.setupMs / 1000).toFixed(1)} s), ${api.findings.length} findings`,
    );
  } catch (e) {
    console.error('  api: the API fuzz run itself failed:', e);
    process.exitCode = 1;
  }
}

// ---- the table ----
const order = TARGETS.map((t) => t.name);
results.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target));
const codesOf = (s: TargetStats) =>
  [...s.outcomes]
    .filter(([k]) => !k.startsWith('ok'))
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.replace(/^error /, '')} ${v}`)
    .join(', ');
console.log(
  '\n| target | entry point | inputs | time (s) | ok | refused with a documented code | findings | slowest input (ms) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const s of results) {
  const entry = TARGETS.find((t) => t.name === s.target)!.entry;
  console.log(
    `| ${s.target} | ${entry} | ${s.inputs} | ${(s.elapsedMs / 1000).toFixed(1)} | ${s.ok} | ${codesOf(s) || '-'} | ${s.findings.length} | ${s.slowestMs.toFixed(0)} |`,
  );
}
if (api) {
  const statuses = [...api.statuses]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const codes = [...api.codes]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `| api | every endpoint of the real server (PGlite) | ${api.requests} | ${(api.elapsedMs / 1000).toFixed(1)} | ${api.ok} | ${statuses}; ${codes} | ${api.findings.length} | ${api.slowestMs.toFixed(0)} |`,
  );
}

// ---- documented refusals that wrap a TypeError/RangeError: not findings, but the parser met something unexpected ----
for (const s of results)
  for (const [label, n] of s.outcomes)
    if (label.includes('(wraps '))
      console.log(`note: ${s.target} ${label} x${n} (first at index ${s.firstIndex.get(label)})`);

// ---- findings ----
const engineFindings = results.flatMap((s) => s.findings);
const apiFindings = api?.findings ?? [];
if (engineFindings.length || apiFindings.length) {
  const groups = new Map<string, Finding[]>();
  for (const f of engineFindings) groups.set(signature(f), [...(groups.get(signature(f)) ?? []), f]);
  console.log(`\n${engineFindings.length + apiFindings.length} findings, ${groups.size} distinct in the engine:`);
  for (const [sig, list] of groups) {
    const f = list[0]!;
    console.log(
      `\n* ${sig} (x${list.length})\n  first: seed ${f.runSeed} index ${f.index} from ${f.seed}${f.aux !== undefined ? ` aux ${JSON.stringify(f.aux)}` : ''}\n  ${f.error.split('\n').slice(0, 6).join('\n  ')}`,
    );
    for (const one of list) if (saved.has(one)) console.log(`  saved test/fuzz/findings/${saved.get(one)}.bin`);
  }
  for (const f of apiFindings.slice(0, 50))
    console.log(`\n* api ${f.kind} (seed ${f.runSeed} request ${f.index}) ${f.request}: ${f.error}`);
  process.exitCode = 1;
} else {
  console.log('\nno findings');
}
