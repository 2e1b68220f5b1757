import { runTarget } from './runner.ts';
const names = (process.env.T ?? 'outgoing').split(',');
for (const target of names) {
  const s = await runTarget({ target, seed: Number(process.env.S ?? 1), count: Number(process.env.N ?? 300), timeoutMs: 15000 });
  console.log(target, s.inputs, 'elapsed', s.elapsedMs, 'busy', s.busyMs.toFixed(0), 'per', (s.busyMs / s.inputs).toFixed(2), 'slowest', s.slowestMs.toFixed(0), 'findings', s.findings.length, JSON.stringify(Object.fromEntries([...s.outcomes].sort((a,b)=>b[1]-a[1]))));
  for (const f of s.findings.slice(0, 10)) console.log('  F', f.index, f.seed, f.aux, f.kind, f.error.split('\n').slice(0,4).join(' | '));
}
