/** Small helpers shared by the benchmarks: timing, medians and a plain-text table. */
export interface Row {
  what: string;
  ours: number;
  ref?: number | undefined;
  unit: 'ms' | 'MiB' | 'ops/s';
  note: string;
}

export async function timeIt(n: number, fn: () => unknown): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function printTable(title: string, rows: Row[]): void {
  const fmt = (v: number | undefined) =>
    v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
  const lines = [
    ['what', 'ours', 'reference', 'ratio', 'unit', 'note'],
    ...rows.map((r) => [r.what, fmt(r.ours), fmt(r.ref), r.ref ? (r.ours / r.ref).toFixed(2) : '-', r.unit, r.note]),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  console.log(`\n## ${title}\n`);
  for (const [i, l] of lines.entries()) {
    console.log(`| ${l.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
}
