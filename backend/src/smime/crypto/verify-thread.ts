// Signature verification on a thread of its own (issue 16): a directory sync verifies one signature per certificate,
// 10,000 and more, which on the main thread was a quarter of the sync. node:crypto's callback form (libuv's thread
// pool) was tried first: each call still costs the main thread a third of a synchronous verification, and its four
// threads on a two-core machine took the main thread's core (and contended inside OpenSSL), so the sync got no faster.
// Here the calls are gathered into batches, each batch posted to one worker thread in one message (the signed bytes
// packed into one transferred buffer), and answered with one message.

import type { KeyObject, VerifyKeyObjectInput, VerifyPublicKeyInput } from 'node:crypto';
import { verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** One verification: node:crypto's verify(algorithm, data, key, signature). */
export interface VerifyJob {
  algorithm: string | null;
  key: KeyObject;
  /** RSA padding, PSS salt length, ECDSA signature encoding: as for verify's key argument. */
  padding?: number;
  saltLength?: number;
  dsaEncoding?: 'der' | 'ieee-p1363';
  data: Uint8Array;
  signature: Uint8Array;
}

/**
 * Verifications per message: a batch is posted as soon as it is this large (so the thread starts while the main thread
 * is still producing the rest), else at the end of the current turn of the event loop.
 */
const BATCH = 64;
/** The thread ends after this long without work (a sync runs every few minutes at most), its memory coming back. */
const IDLE_EXIT_MS = 30_000;

/** The worker's code, plain JavaScript evaluated in the thread (no loader needed). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { verify } = require('node:crypto');
parentPort.on('message', ({ id, keys, jobs, bytes }) => {
  const out = new Uint8Array(jobs.length);
  const all = new Uint8Array(bytes);
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i];
    const key = { key: keys[j.k] };
    if (j.padding !== undefined) key.padding = j.padding;
    if (j.saltLength !== undefined) key.saltLength = j.saltLength;
    if (j.dsaEncoding !== undefined) key.dsaEncoding = j.dsaEncoding;
    try {
      out[i] = verify(j.algorithm, all.subarray(j.d, j.d + j.dl), key, all.subarray(j.s, j.s + j.sl)) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
`;

function keyInput(j: VerifyJob): VerifyKeyObjectInput | VerifyPublicKeyInput {
  return {
    key: j.key,
    ...(j.padding !== undefined ? { padding: j.padding } : {}),
    ...(j.saltLength !== undefined ? { saltLength: j.saltLength } : {}),
    ...(j.dsaEncoding !== undefined ? { dsaEncoding: j.dsaEncoding } : {}),
  };
}

/** On the calling thread: what the worker does for one job (and what a job gets when the worker is gone). */
export function verifyHere(j: VerifyJob): boolean {
  try {
    return verify(j.algorithm, j.data, keyInput(j), j.signature);
  } catch {
    return false;
  }
}

interface Queued {
  job: VerifyJob;
  resolve: (ok: boolean) => void;
}

class VerifyThread {
  private worker: Worker | undefined;
  private queue: Queued[] = [];
  private flushScheduled = false;
  private readonly sent = new Map<number, Queued[]>();
  private nextId = 1;
  private idle: ReturnType<typeof setTimeout> | undefined;

  verify(job: VerifyJob): Promise<boolean> {
    return new Promise((resolve) => {
      this.queue.push({ job, resolve });
      if (this.queue.length >= BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let worker: Worker;
    try {
      worker = this.start();
    } catch {
      for (const q of batch) q.resolve(verifyHere(q.job));
      return;
    }
    const keys: KeyObject[] = [];
    const keyIndex = new Map<KeyObject, number>();
    let size = 0;
    for (const { job } of batch) size += job.data.length + job.signature.length;
    const bytes = new Uint8Array(size);
    let at = 0;
    const jobs = batch.map(({ job }) => {
      let k = keyIndex.get(job.key);
      if (k === undefined) keyIndex.set(job.key, (k = keys.push(job.key) - 1));
      bytes.set(job.data, at);
      bytes.set(job.signature, at + job.data.length);
      const entry = {
        algorithm: job.algorithm,
        k,
        padding: job.padding,
        saltLength: job.saltLength,
        dsaEncoding: job.dsaEncoding,
        d: at,
        dl: job.data.length,
        s: at + job.data.length,
        sl: job.signature.length,
      };
      at += job.data.length + job.signature.length;
      return entry;
    });
    const id = this.nextId++;
    this.sent.set(id, batch);
    clearTimeout(this.idle);
    worker.ref();
    worker.postMessage({ id, keys, jobs, bytes: bytes.buffer }, [bytes.buffer]);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      const batch = this.sent.get(id);
      this.sent.delete(id);
      batch?.forEach((q, i) => q.resolve(out[i] === 1));
      if (this.sent.size === 0) {
        // Nothing outstanding: the thread must not keep the process alive (tests, the CLI), and ends when idle.
        worker.unref();
        this.idle = setTimeout(() => this.stop(worker), IDLE_EXIT_MS);
        this.idle.unref();
      }
    });
    // A thread that died takes no answer with it: what it had is verified here.
    const fail = () => this.stop(worker);
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
    return worker;
  }

  private stop(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    clearTimeout(this.idle);
    void worker.terminate();
    const sent = [...this.sent.values()];
    this.sent.clear();
    for (const batch of sent) for (const q of batch) q.resolve(verifyHere(q.job));
  }
}

const thread = new VerifyThread();

/** verify(algorithm, data, key, signature) on the verification thread; false where verify throws. */
export function verifyOnThread(job: VerifyJob): Promise<boolean> {
  return thread.verify(job);
}
