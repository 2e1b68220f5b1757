/**
 * Supervisor of the fuzz workers: runs a target's inputs in a worker thread with a per-input time limit. A worker
 * that overruns the limit (a hang in synchronous code or a promise that never settles), dies (stack exhaustion in
 * native code, out of memory) or reports an undocumented exception produces a finding; the supervisor saves the
 * input and starts a new worker after it, so one run finds more than one bug.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { inputRng } from './lib.ts';
import { corpusOf, generate, targetByName } from './targets.ts';
import type { WorkerData, WorkerMessage } from './worker.ts';

export const FINDINGS_DIR = new URL('./findings/', import.meta.url);

export interface Finding {
  target: string;
  /** Input index in the run (with runSeed, enough to make it again); -1 for a replayed file. */
  index: number;
  runSeed: number;
  seed: string;
  kind: 'exception' | 'contract' | 'hang' | 'crash';
  error: string;
  bytes: Uint8Array;
  aux?: string;
  ms: number;
}

export interface TargetStats {
  target: string;
  inputs: number;
  ok: number;
  /** Outcome label -> count ("ok valid", "error CMS_MALFORMED", ...). */
  outcomes: Map<string, number>;
  /** Outcome label -> the first input index that had it (to replay an odd one: FUZZ_FROM). */
  firstIndex: Map<string, number>;
  findings: Finding[];
  slowestMs: number;
  slowestIndex: number;
  /** Wall time of the whole target, setup included. */
  elapsedMs: number;
  /** Sum of per-input times, for the rate. */
  busyMs: number;
}

export interface RunOptions {
  target: string;
  seed: number;
  from?: number;
  count: number;
  /** A single input running longer than this is a hang. */
  timeoutMs: number;
  /** No new input starts after this many ms. */
  budgetMs?: number;
  /** Replay saved inputs instead of generating. */
  replay?: WorkerData['replay'];
  /** Worker heap limit: a mutated length that makes a parser allocate gigabytes is a finding, not a dead machine. */
  maxHeapMb?: number;
  onProgress?: (stats: TargetStats) => void;
}

const WORKER_BOOT = new URL('./worker.ts', import.meta.url).href;

function spawn(data: WorkerData, maxHeapMb: number): Worker {
  // Worker threads do not inherit tsx's loader: register it before importing the TypeScript worker.
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(WORKER_BOOT)}); });`;
  return new Worker(code, {
    eval: true,
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    stdout: false,
    stderr: false,
  });
}

export async function runTarget(options: RunOptions): Promise<TargetStats> {
  const started = Date.now();
  const from = options.from ?? 0;
  const end = options.replay ? options.replay.length : from + options.count;
  const deadline = options.budgetMs === undefined ? Number.MAX_SAFE_INTEGER : started + options.budgetMs;
  const stats: TargetStats = {
    target: options.target,
    inputs: 0,
    ok: 0,
    outcomes: new Map(),
    firstIndex: new Map(),
    findings: [],
    slowestMs: 0,
    slowestIndex: -1,
    elapsedMs: 0,
    busyMs: 0,
  };
  const count = (label: string) => stats.outcomes.set(label, (stats.outcomes.get(label) ?? 0) + 1);
  let corpus: ReturnType<typeof corpusOf> | undefined;
  /** The input a dead or stuck worker was running, made again here (it is a pure function of seed and index). */
  const regenerate = (index: number) => {
    if (options.replay) return options.replay[index]!;
    const target = targetByName(options.target);
    corpus ??= corpusOf(target);
    return generate(target, corpus, inputRng(options.seed, options.target, index));
  };

  let next = options.replay ? 0 : from;
  while (next < end && Date.now() < deadline) {
    const clockBuffer = new SharedArrayBuffer(12);
    const clock = new Int32Array(clockBuffer);
    Atomics.store(clock, 0, next);
    const data: WorkerData = {
      target: options.target,
      seed: options.seed,
      from: next,
      to: end,
      deadline,
      base: started,
      clock: clockBuffer,
      ...(options.replay ? { replay: options.replay.slice(next) } : {}),
    };
    const offset = options.replay ? next : 0;
    const worker = spawn(data, options.maxHeapMb ?? 1536);
    const ended = await new Promise<
      { kind: 'done' } | { kind: 'hang' | 'crash'; index: number; error: string; ms: number }
    >((resolve) => {
      let settled = false;
      const finish = (r: Parameters<typeof resolve>[0]) => {
        if (settled) return;
        settled = true;
        clearInterval(watch);
        resolve(r);
      };
      const watch = setInterval(() => {
        if (Atomics.load(clock, 2) !== 1) return;
        const ms = Date.now() - started - Atomics.load(clock, 1);
        if (ms > options.timeoutMs) {
          const index = Atomics.load(clock, 0) + offset;
          void worker.terminate();
          finish({ kind: 'hang', index, error: `no answer within ${options.timeoutMs} ms`, ms });
        }
      }, 50);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'result') {
          stats.inputs++;
          stats.busyMs += m.ms;
          if (m.label.startsWith('ok')) stats.ok++;
          count(m.label);
          if (!stats.firstIndex.has(m.label)) stats.firstIndex.set(m.label, m.index + offset);
          if (m.ms > stats.slowestMs) {
            stats.slowestMs = m.ms;
            stats.slowestIndex = m.index + offset;
          }
        } else if (m.type === 'finding') {
          stats.inputs++;
          stats.busyMs += m.ms;
          count(`FINDING ${m.kind}`);
          stats.findings.push({
            target: options.target,
            index: options.replay ? -1 : m.index,
            runSeed: options.seed,
            seed: m.seed,
            kind: m.kind,
            error: m.error,
            bytes: new Uint8Array(m.bytes),
            ...(m.aux !== undefined ? { aux: m.aux } : {}),
            ms: m.ms,
          });
        } else if (m.type === 'done') finish({ kind: 'done' });
        if (m.type !== 'ready' && stats.inputs % 500 === 0) options.onProgress?.(stats);
      });
      worker.on('error', (e) => {
        const index = Atomics.load(clock, 0) + offset;
        finish({
          kind: 'crash',
          index,
          error: `worker died: ${e.name}: ${e.message}`,
          ms: Date.now() - started - Atomics.load(clock, 1),
        });
      });
      worker.on('exit', () => finish({ kind: 'done' }));
    });
    if (ended.kind === 'done') break;
    const input = regenerate(ended.index);
    stats.inputs++;
    count(`FINDING ${ended.kind}`);
    stats.findings.push({
      target: options.target,
      index: options.replay ? -1 : ended.index,
      runSeed: options.seed,
      seed: input.seed,
      kind: ended.kind,
      error: ended.error,
      bytes: input.bytes,
      ...(input.aux !== undefined ? { aux: input.aux } : {}),
      ms: ended.ms,
    });
    if (ended.ms > stats.slowestMs) {
      stats.slowestMs = ended.ms;
      stats.slowestIndex = ended.index;
    }
    next = ended.index + 1;
  }
  stats.elapsedMs = Date.now() - started;
  return stats;
}

// ---------------------------------------------------------------------------------------------------------------
// Findings on disk: test/fuzz/findings/<target>-<sha256 prefix>.bin with a .json beside it
// ---------------------------------------------------------------------------------------------------------------

export interface SavedFinding {
  target: string;
  file: string;
  aux?: string;
  seed: string;
  kind: string;
  error: string;
  runSeed: number;
  index: number;
}

/** The first line of the error and the first stack frame inside our code: findings with the same one are one bug. */
export function signature(f: Pick<Finding, 'target' | 'kind' | 'error'>): string {
  const lines = f.error.split('\n');
  const frame =
    lines
      .find((l) => /backend\/src|node_modules/.test(l))
      ?.trim()
      .replace(/:\d+\)?$/, '') ?? '';
  return `${f.target} ${f.kind} ${lines[0]!.replace(/\d+/g, 'N').slice(0, 160)} ${frame}`;
}

export function saveFinding(f: Finding, dir: URL = FINDINGS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha256')
    .update(f.bytes)
    .update(f.aux ?? '')
    .digest('hex')
    .slice(0, 16);
  const base = `${f.target}-${hash}`;
  writeFileSync(new URL(`${base}.bin`, dir), f.bytes);
  const meta: SavedFinding = {
    target: f.target,
    file: `${base}.bin`,
    seed: f.seed,
    kind: f.kind,
    error: f.error.split('\n').slice(0, 4).join('\n'),
    runSeed: f.runSeed,
    index: f.index,
    ...(f.aux !== undefined ? { aux: f.aux } : {}),
  };
  writeFileSync(new URL(`${base}.json`, dir), `${JSON.stringify(meta, null, 2)}\n`);
  return base;
}

export function loadFindings(dir: URL = FINDINGS_DIR): { meta: SavedFinding; bytes: Uint8Array }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => {
      const meta = JSON.parse(readFileSync(new URL(n, dir), 'utf8')) as SavedFinding;
      return { meta, bytes: new Uint8Array(readFileSync(new URL(meta.file, dir))) };
    });
}
