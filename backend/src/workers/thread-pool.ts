/**
 * A pool of worker threads with a bounded queue (issue 12 for PKCS#12, issue 16 for large messages): CPU-heavy work
 * runs beside the event loop instead of on it, at most `concurrency` jobs at once, at most `queue` waiting; beyond,
 * the caller gets 503 SERVER_BUSY with Retry-After at once, before any work is done.
 *
 * A job may call back into the main thread while it runs (`calls`): the worker asks, the main thread answers, the
 * job goes on. This is how a message analysed in a worker still reaches the user's keys, the database and the network,
 * which stay where they are (worker-side.ts is the other half).
 *
 * Workers start on first use and end after a minute without work. A worker that dies takes its own job with it
 * (rejected), never the queue.
 */
import { Worker, type Transferable } from 'node:worker_threads';
import { AppError, ERRORS, type ErrorCode } from '../errors.ts';
import { SMIME_ERROR_CODES, SmimeError, type SmimeErrorCode } from '../smime/index.ts';
import { describeError, type ErrorShape, type FromWorker, type ToWorker } from './worker-side.ts';

/** A worker without work for this long ends (its thread and its share of memory come back). */
const IDLE_EXIT_MS = 60_000;

// Worker threads do not inherit tsx's loader from --import: register it, then load the TypeScript worker. Absolute:
// an eval'd worker resolves bare specifiers from the working directory, which need not be this project's (smime-admin
// run from another folder could not find tsx).
const TSX_API = import.meta.resolve('tsx/esm/api');
function boot(workerUrl: string): string {
  return `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(workerUrl)}); });`;
}

/** A code that crossed the thread boundary as a string is the engine's only if the registry has it. */
function isEngineCode(code: string | undefined): code is SmimeErrorCode {
  return code !== undefined && Object.hasOwn(SMIME_ERROR_CODES, code);
}

/** An error as the worker described it, rebuilt on this side: the engine's and the API's keep their codes. */
export function rebuildError(e: ErrorShape): Error {
  if (e.kind === 'smime' && isEngineCode(e.code)) return new SmimeError(e.code, e.message);
  if (e.kind === 'app' && e.code !== undefined && Object.hasOwn(ERRORS, e.code))
    return new AppError(e.code as ErrorCode, e.message, e.details);
  return new Error(e.message);
}

/** What the main thread answers a job's call with: a value, and the buffers to transfer with it. */
export type CallHandler = (method: string, args: unknown[]) => Promise<{ value: unknown; transfer?: Transferable[] }>;

export interface ThreadPoolOptions {
  /** For messages: "PKCS#12", "message". */
  name: string;
  /** file: URL of the worker module (it calls serveJobs from worker-side.ts). */
  workerUrl: string;
  concurrency: number;
  queue: number;
  /** Retry-After of SERVER_BUSY: about one job's time at the limits. */
  retryAfterSeconds: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
  calls?: CallHandler;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** The job it runs. */
  jobId?: number;
  idle?: ReturnType<typeof setTimeout>;
}

export class ThreadPool<Job, Result> {
  private readonly slots: Slot[] = [];
  private readonly queue: { id: number; job: Job; transfer: Transferable[]; pending: Pending }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly options: ThreadPoolOptions) {}

  /**
   * Run a job in a worker; SERVER_BUSY when every worker is busy and the queue is full. Buffers in `transfer` move
   * to the worker (they are unusable here afterwards): the caller must not need them again.
   */
  run(job: Job, transfer: Transferable[] = [], calls?: CallHandler): Promise<Result> {
    if (!this.hasRoom())
      return Promise.reject(
        new AppError('SERVER_BUSY', undefined, { retryAfterSeconds: this.options.retryAfterSeconds }),
      );
    return new Promise<Result>((resolve, reject) => {
      const pending: Pending = { resolve: resolve as (v: unknown) => void, reject, ...(calls ? { calls } : {}) };
      this.queue.push({ id: this.nextId++, job, transfer, pending });
      this.dispatch();
    });
  }

  /** Whether a job given now would be taken (run at once or queued). */
  hasRoom(): boolean {
    const busy = this.slots.filter((s) => s.busy).length;
    return busy < this.options.concurrency || this.queue.length < this.options.queue;
  }

  /** Jobs running and waiting (for tests and the admin's view of load). */
  load(): { running: number; queued: number } {
    return { running: this.slots.filter((s) => s.busy).length, queued: this.queue.length };
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    for (const s of slots) clearTimeout(s.idle);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.busy);
      if (!slot && this.slots.length < this.options.concurrency) slot = this.spawn();
      if (!slot) return;
      const { id, job, transfer, pending } = this.queue.shift()!;
      clearTimeout(slot.idle);
      slot.busy = true;
      slot.jobId = id;
      this.pending.set(id, pending);
      const message: ToWorker<Job> = { type: 'job', id, job };
      slot.worker.postMessage(message, transfer);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(boot(this.options.workerUrl), { eval: true });
    // An idle pool must not keep the process alive (tests, the CLI).
    worker.unref();
    const slot: Slot = { worker, busy: false };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'call') return this.answerCall(slot, m);
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      slot.busy = false;
      slot.jobId = undefined;
      if (p) {
        if (m.type === 'done') p.resolve(m.result);
        else p.reject(rebuildError(m.error));
      }
      slot.idle = setTimeout(() => this.retire(slot), IDLE_EXIT_MS);
      slot.idle.unref();
      this.dispatch();
    });
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) this.fail(slot, new Error(`${this.options.name} worker exited (${code})`));
    });
    this.slots.push(slot);
    return slot;
  }

  /** A running job asks the main thread for something; the answer (or the error) goes back to that job. */
  private answerCall(slot: Slot, m: Extract<FromWorker, { type: 'call' }>): void {
    const p = this.pending.get(m.id);
    const reply = (message: ToWorker<Job>, transfer: Transferable[] = []) => {
      // The job may have ended (its worker died) while the answer was being prepared.
      if (slot.jobId === m.id) slot.worker.postMessage(message, transfer);
    };
    if (!p?.calls) {
      reply({ type: 'reply', id: m.id, callId: m.callId, error: { kind: 'other', message: 'no calls here' } });
      return;
    }
    p.calls(m.method, m.args).then(
      (r) => reply({ type: 'reply', id: m.id, callId: m.callId, value: r.value }, r.transfer),
      (e: unknown) =>
        reply({ type: 'reply', id: m.id, callId: m.callId, error: describeError(e, `${m.method} failed`) }),
    );
  }

  private retire(slot: Slot): void {
    if (slot.busy) return;
    this.slots.splice(this.slots.indexOf(slot), 1);
    void slot.worker.terminate();
  }

  private fail(slot: Slot, err: unknown): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    clearTimeout(slot.idle);
    const p = slot.jobId === undefined ? undefined : this.pending.get(slot.jobId);
    if (p) {
      this.pending.delete(slot.jobId!);
      p.reject(err);
    }
    this.dispatch();
  }
}
