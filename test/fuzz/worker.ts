/**
 * One fuzz worker: runs inputs [from, to) of one target and reports each outcome to the supervisor (runner.ts). The
 * shared `clock` says which input is running and since when, so the supervisor can stop a worker stuck in
 * synchronous code (a hang) and start a new one after the culprit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inputRng } from './lib.ts';
import { ContractViolation, corpusOf, documentedCode, generate, targetByName } from './targets.ts';

export interface WorkerData {
  target: string;
  seed: number;
  from: number;
  to: number;
  /** Epoch ms after which no new input starts. */
  deadline: number;
  /** Epoch ms the clock's offsets count from. */
  base: number;
  clock: SharedArrayBuffer;
  /** Replay these inputs instead of generating (regression runs). */
  replay?: { bytes: Uint8Array; aux?: string; seed: string }[];
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; index: number; label: string; ms: number }
  | {
      type: 'finding';
      index: number;
      ms: number;
      kind: 'exception' | 'contract';
      error: string;
      bytes: Uint8Array;
      aux?: string;
      seed: string;
    }
  | { type: 'done' };

const data = workerData as WorkerData;
const port = parentPort!;
/** [index running, its start in ms after base, 1 while an input runs] */
const clock = new Int32Array(data.clock);
const target = targetByName(data.target);
let current: { index: number; bytes: Uint8Array; aux?: string; seed: string } | undefined;

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 8).join('\n')}`;
  return `non-Error thrown: ${String(e)}`;
}

/** A refusal whose cause is a TypeError/RangeError: documented, but the parser met something it did not expect. */
function maskedCause(e: unknown): string {
  for (
    let c = (e as { cause?: unknown }).cause, depth = 0;
    c !== undefined && depth < 5;
    c = (c as { cause?: unknown }).cause, depth++
  ) {
    if (c instanceof TypeError || c instanceof RangeError || c instanceof ReferenceError)
      return ` (wraps ${c.name}: ${c.message.replace(/\d+/g, 'N').slice(0, 80)})`;
  }
  return '';
}

process.on('unhandledRejection', (reason) => {
  if (!current) return;
  port.postMessage({
    type: 'finding',
    index: current.index,
    ms: 0,
    kind: 'exception',
    error: `unhandled rejection: ${describe(reason)}`,
    bytes: current.bytes,
    seed: current.seed,
    ...(current.aux !== undefined ? { aux: current.aux } : {}),
  } satisfies WorkerMessage);
});

const context = await target.setup();
const corpus = data.replay ? undefined : corpusOf(target);
port.postMessage({ type: 'ready' } satisfies WorkerMessage);

const end = data.replay ? data.replay.length : data.to;
for (let index = data.replay ? 0 : data.from; index < end; index++) {
  if (Date.now() > data.deadline) break;
  const input = data.replay ? data.replay[index]! : generate(target, corpus!, inputRng(data.seed, target.name, index));
  current = { index, ...input };
  Atomics.store(clock, 0, index);
  Atomics.store(clock, 1, Date.now() - data.base);
  Atomics.store(clock, 2, 1);
  const started = performance.now();
  let message: WorkerMessage;
  try {
    const label = await target.run(input, context as never);
    message = { type: 'result', index, label, ms: performance.now() - started };
  } catch (e) {
    const ms = performance.now() - started;
    const code = e instanceof ContractViolation ? undefined : documentedCode(e);
    message = code
      ? { type: 'result', index, label: `error ${code}${maskedCause(e)}`, ms }
      : {
          type: 'finding',
          index,
          ms,
          kind: e instanceof ContractViolation ? 'contract' : 'exception',
          error: describe(e),
          bytes: input.bytes,
          seed: input.seed,
          ...(input.aux !== undefined ? { aux: input.aux } : {}),
        };
  }
  Atomics.store(clock, 2, 0);
  port.postMessage(message);
}
current = undefined;
port.postMessage({ type: 'done' } satisfies WorkerMessage);
