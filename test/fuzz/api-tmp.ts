import { runApiFuzz } from './api.ts';
const s = await runApiFuzz({ seed: Number(process.env.S ?? 6), count: Number(process.env.N ?? 300), timeoutMs: 15000 });
console.log(s.requests, s.setupMs, s.elapsedMs, s.ok, JSON.stringify([...s.statuses]), JSON.stringify([...s.codes]), s.slowestMs.toFixed(0), s.slowestRequest);
for (const f of s.findings.slice(0, 20)) console.log(f.kind, f.index, f.request, '::', f.error.slice(0, 300));
console.log('findings', s.findings.length);
