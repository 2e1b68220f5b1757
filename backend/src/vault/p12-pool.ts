/**
 * Reading PKCS#12 files off the event loop (issue 12): a few worker threads (SMIME_P12_CONCURRENCY) and a bounded
 * queue (SMIME_P12_QUEUE). Before, one self-service import of a crafted 3.4 KB file cost 2-3 s of the server's only
 * thread and twenty at once kept it busy for 48 s. A full queue answers 503 SERVER_BUSY with Retry-After at once.
 * Workers start on first use and end after a minute without work.
 */
import { Worker } from 'node:worker_threads';
import { AppError } from '../errors.ts';
import { type Pkcs12Contents, SMIME_ERROR_CODES, SmimeError, type SmimeErrorCode } from '../smime/index.ts';
import type { P12Answer, P12Job } from './p12-worker.ts';

/** A worker without work for this long ends (its thread and its share of memory come back). */
const IDLE_EXIT_MS = 60_000;
/** Retry-After of SERVER_BUSY: about one file's derivation at the limits. */
const BUSY_RETRY_AFTER_S = 5;

const WORKER_URL = new URL('./p12-worker.ts', import.meta.url).href;
// Worker threads do not inherit tsx's loader from --import: register it, then load the TypeScript worker.
/** Absolute: an eval'd worker resolves bare specifiers from the working directory, which need not be this project's
 * (smime-admin run from another folder could not find tsx). */
const TSX_API = import.meta.resolve('tsx/esm/api');
const BOOT = `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL)}); });`;

/** A code that crossed the thread boundary as a string is the engine's only if the registry has it. */
function isEngineCode(code: string | undefined): code is SmimeErrorCode {
  return code !== undefined && Object.hasOwn(SMIME_ERROR_CODES, code);
}

interface Pending {
  resolve: (c: Pkcs12Contents) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** The job it runs. */
  jobId?: number;
  idle?: ReturnType<typeof setTimeout>;
}

export class Pkcs12Pool {
  private readonly slots: Slot[] = [];
  private readonly queue: { job: P12Job; pending: Pending }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly options: { concurrency: number; queue: number }) {}

  /** parsePkcs12 in a worker thread; SERVER_BUSY when every worker is busy and the queue is full. */
  parse(der: Uint8Array, password: string): Promise<Pkcs12Contents> {
    const busy = this.slots.filter((s) => s.busy).length;
    if (busy >= this.options.concurrency && this.queue.length >= this.options.queue)
      return Promise.reject(new AppError('SERVER_BUSY', undefined, { retryAfterSeconds: BUSY_RETRY_AFTER_S }));
    return new Promise<Pkcs12Contents>((resolve, reject) => {
      // The worker gets (and wipes) a copy; the caller keeps and wipes its own.
      this.queue.push({ job: { id: this.nextId++, der: new Uint8Array(der), password }, pending: { resolve, reject } });
      this.dispatch();
    });
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
      const { job, pending } = this.queue.shift()!;
      clearTimeout(slot.idle);
      slot.busy = true;
      slot.jobId = job.id;
      this.pending.set(job.id, pending);
      slot.worker.postMessage(job, [job.der.buffer as ArrayBuffer]);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(BOOT, { eval: true });
    // An idle pool must not keep the process alive (tests, the CLI).
    worker.unref();
    const slot: Slot = { worker, busy: false };
    worker.on('message', (a: P12Answer) => {
      const p = this.pending.get(a.id);
      this.pending.delete(a.id);
      slot.busy = false;
      slot.jobId = undefined;
      if (p) {
        if ('ok' in a) p.resolve(a.ok as Pkcs12Contents);
        else if (a.error.smime && isEngineCode(a.error.code)) p.reject(new SmimeError(a.error.code, a.error.message));
        else p.reject(new Error(a.error.message));
      }
      slot.idle = setTimeout(() => this.retire(slot), IDLE_EXIT_MS);
      slot.idle.unref();
      this.dispatch();
    });
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) this.fail(slot, new Error(`PKCS#12 worker exited (${code})`));
    });
    this.slots.push(slot);
    return slot;
  }

  private retire(slot: Slot): void {
    if (slot.busy) return;
    this.slots.splice(this.slots.indexOf(slot), 1);
    void slot.worker.terminate();
  }

  /** A worker that died takes its job with it (rejected), never the queue. */
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
