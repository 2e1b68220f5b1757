#!/usr/bin/env node
/**
 * A V8 .cpuprofile in a few lines (issue 16): the functions with the most self time, and the inclusive time of the
 * stages of a request (any frame whose function name, or `file:function`, matches one of the patterns given, or the
 * default stages below). Usage: node scripts/cpuprofile-summary.mjs <file.cpuprofile> [--top N] [stage=regex ...]
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !a.includes('='));
if (!file) {
  console.error('usage: node scripts/cpuprofile-summary.mjs <file.cpuprofile> [--top N] [stage=regex ...]');
  process.exit(2);
}
const topAt = args.indexOf('--top');
const TOP = topAt >= 0 ? Number(args[topAt + 1]) : 30;
/** The stages of POST /messages/outgoing, by the functions that do them. */
const DEFAULT_STAGES = {
  'engine: protectMessagePieces': /:protectMessagePieces$/,
  'engine: sign (signPieces)': /:signPieces$/,
  'engine: encrypt (envelope)': /enveloped\/.*:(encryptPieces|envelope\w*|encrypt\w*)$/,
  'JWT verify (tokens.verify)': /auth\/tokens\.ts:verify$/,
  'user lookup (requireUser)': /store\/users\.ts:(findUserByEmail|ensureUser)$/,
  'session open/unwrap (openSession)': /vault\/unlock\.ts:openSession$/,
  listKeys: /vault\/history\.ts:listKeys$/,
  userAddresses: /store\/users\.ts:userAddresses$/,
  'recipients (resolve)': /mail\/service\.ts:resolve$/,
  'outgoingAddresses (MIME parse)': /mail\/outgoing\.ts:outgoingAddresses$/,
  'pg client (parse/serialize)': /node_modules\/pg(-protocol)?\//,
  'pino (logging)': /node_modules\/(pino|sonic-boom|fast-redact)/,
  'koa + router': /node_modules\/(koa|@koa)/,
  'raw-body': /node_modules\/raw-body/,
  zod: /node_modules\/zod/,
  'audit (appendAudit)': /store\/audit\.ts:appendAudit$/,
  'garbage collector': /^\(garbage collector\)$/,
  idle: /^\(idle\)$/,
  'program (native, unattributed)': /^\(program\)$/,
};
const stages = { ...DEFAULT_STAGES };
for (const a of args.filter((x) => x.includes('=') && !x.startsWith('--'))) {
  const [name, re] = a.split('=', 2);
  stages[name] = new RegExp(re);
}

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/.*?\/(node_modules|backend|bench)\//, '$1/');
  return `${url}:${f.functionName || '(anonymous)'}`;
};
const bare = (n) => n.callFrame.functionName;

const self = new Map();
const inclusive = new Map(Object.keys(stages).map((k) => [k, 0]));
let total = 0;
let idle = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // ms; delta i+1 is the time sample i lasted
  const leaf = byId.get(profile.samples[i]);
  total += dt;
  if (bare(leaf) === '(idle)') idle += dt;
  const l = label(leaf);
  self.set(l, (self.get(l) ?? 0) + dt);
  const hit = new Set();
  for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id);
    const names = [label(n), bare(n)];
    for (const [stage, re] of Object.entries(stages)) if (names.some((x) => re.test(x))) hit.add(stage);
  }
  for (const s of hit) inclusive.set(s, inclusive.get(s) + dt);
}
const busy = total - idle;
const pct = (ms) => `${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
console.log(`profile: ${total.toFixed(0)} ms, of which busy ${busy.toFixed(0)} ms (idle excluded from the %)`);
console.log('\ninclusive time per stage (a frame counted once per sample):');
for (const [s, ms] of [...inclusive].sort((a, b) => b[1] - a[1]))
  console.log(`  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${s}`);
console.log(`\ntop ${TOP} self time:`);
for (const [l, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${l}`);
