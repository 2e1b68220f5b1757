/**
 * The worker thread's half of thread-pool.ts: take jobs, run them, answer; and let a running job call back into the
 * main thread (`call`), which answers over the same port. Messages are plain data (structured clone): buffers listed
 * for transfer move instead of being copied, and KeyObjects are cloned by reference to the same native key.
 */
import { parentPort, type Transferable } from 'node:worker_threads';
import { AppError } from '../errors.ts';

/** An error as it crosses the thread boundary. */
export interface ErrorShape {
  kind: 'smime' | 'app' | 'other';
  code?: string;
  message: string;
  details?: Record<string, unknown>;
}

export type ToWorker<Job> =
  | { type: 'job'; id: number; job: Job }
  | { type: 'reply'; id: number; callId: number; value?: unknown; error?: ErrorShape };

export type FromWorker =
  | { type: 'done'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: ErrorShape }
  | { type: 'call'; id: number; callId: number; method: string; args: unknown[] };

/** Ask the main thread; resolves with its answer, or rejects with its error rebuilt as an Error with the code. */
export type Call = (method: string, ...args: unknown[]) => Promise<unknown>;

export interface JobOutcome<Result> {
  result: Result;
  /** Buffers of the result to move to the main thread rather than copy. */
  transfer?: Transferable[];
}

/** An error from the main thread, carrying its code and kind so that the job can tell what happened. */
export class RemoteError extends Error {
  constructor(readonly shape: ErrorShape) {
    super(shape.message);
    this.name = 'RemoteError';
  }
}

/** Describe an error for the other thread (the only fields that cross: kind, code, message, details). */
export function describeError(e: unknown, fallback: string): ErrorShape {
  if (e instanceof RemoteError) return e.shape;
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  const kind = err.name === 'SmimeError' ? 'smime' : e instanceof AppError ? 'app' : 'other';
  return {
    kind,
    ...(typeof err.code === 'string' ? { code: err.code } : {}),
    message: typeof err.message === 'string' ? err.message : fallback,
    ...(e instanceof AppError && e.details ? { details: e.details } : {}),
  };
}

/**
 * Serve jobs: `handle` runs each one (several may be in flight while they wait on calls) and returns its result; a
 * thrown error is described and sent back instead.
 */
export function serveJobs<Job, Result>(handle: (job: Job, call: Call) => Promise<JobOutcome<Result>>): void {
  const port = parentPort!;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextCall = 1;
  port.on('message', (m: ToWorker<Job>) => {
    if (m.type === 'reply') {
      const w = waiting.get(m.callId);
      waiting.delete(m.callId);
      if (w) {
        if (m.error) w.reject(new RemoteError(m.error));
        else w.resolve(m.value);
      }
      return;
    }
    const call: Call = (method, ...args) =>
      new Promise((resolve, reject) => {
        const callId = nextCall++;
        waiting.set(callId, { resolve, reject });
        const out: FromWorker = { type: 'call', id: m.id, callId, method, args };
        port.postMessage(out);
      });
    handle(m.job, call).then(
      (o) => port.postMessage({ type: 'done', id: m.id, result: o.result } satisfies FromWorker, o.transfer ?? []),
      (e: unknown) =>
        port.postMessage({ type: 'failed', id: m.id, error: describeError(e, 'the job failed') } satisfies FromWorker),
    );
  });
}
