/**
 * Key-encryption keys from passphrases: Argon2id (RFC 9106). Each derivation takes tens of MiB and a few hundred
 * milliseconds of CPU on several threads (one per lane), so (issue 6: a burst of unlocks must not stall signing):
 *  - they go through a small FIFO semaphore: a burst of unlocks queues here instead of exhausting memory; a queued
 *    derivation holds nothing else (no database connection, no transaction: see Vault.unlock);
 *  - they run in a separate worker process (kdf-worker.mjs) at a lower CPU priority, so they neither occupy the
 *    server's libuv threadpool (4 threads, which signing, encryption and WebCrypto need) nor take the cores from the
 *    event loop; idle CPU still goes to them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Argon2Params {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

export const KEK_BYTES = 32;
export const SALT_BYTES = 16;

/**
 * A FIFO counting semaphore. A finishing holder hands its slot straight to the first waiter, so a caller arriving
 * between the release and the waiter's wake-up cannot take the slot too (which would exceed the limit and jump the
 * queue).
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over, still counted
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get queued(): number {
    return this.waiting.length;
  }
}

/**
 * Passphrases are compared as Unicode NFC, so the same passphrase typed on systems that compose accents differently
 * (macOS input methods produce NFD) opens the same keys (RFC 8265 section 4.2, OpaqueString profile).
 */
export function passphraseBytes(passphrase: string): Buffer {
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

/** Default nice value of the worker (SMIME_ARGON2_NICE): CFS gives a nice-0 thread ~9 times its weight. */
export const ARGON2_NICE = 10;
/** The worker is stopped after this long without work (it starts again, in ~100 ms, for the next derivation). */
const WORKER_IDLE_MS = 60_000;
const WORKER_PATH = fileURLToPath(new URL('./kdf-worker.mjs', import.meta.url));

interface Pending {
  resolve: (hash: Buffer) => void;
  reject: (e: Error) => void;
}

/** One worker process per Kdf, started on first use, running up to `concurrency` derivations at once. */
class KdfWorker {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly concurrency: number,
    private readonly nice: number,
  ) {}

  private start(): ChildProcess {
    const child = fork(WORKER_PATH, [String(this.nice)], {
      execArgv: [], // a bare node: no TypeScript loader, no inspector, no test-runner flags
      serialization: 'advanced', // Buffers cross as bytes
      env: { UV_THREADPOOL_SIZE: String(this.concurrency) }, // nothing else: the server's secrets stay with the server
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (m: { id?: number; hash?: Uint8Array; error?: string }) => {
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id!);
      if (m.hash) p.resolve(Buffer.from(m.hash.buffer, m.hash.byteOffset, m.hash.byteLength));
      else p.reject(new Error(`Argon2 failed: ${m.error ?? 'unknown'}`));
      this.settle();
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const err = new Error(`Argon2 worker ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.settle();
    };
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    child.on('error', (e) => gone(`failed: ${e.message}`));
    return child;
  }

  /** Keep the process alive only while derivations are pending; stop the worker after a quiet minute. */
  private settle(): void {
    clearTimeout(this.idleTimer);
    const busy = this.pending.size > 0;
    if (this.child) {
      if (busy) {
        this.child.ref();
        this.child.channel?.ref();
      } else {
        this.child.unref();
        this.child.channel?.unref();
        const child = this.child;
        this.idleTimer = setTimeout(() => {
          if (this.child === child && this.pending.size === 0) {
            this.child = undefined;
            child.kill();
          }
        }, WORKER_IDLE_MS);
        this.idleTimer.unref();
      }
    }
  }

  hash(password: Buffer, salt: Uint8Array, p: Argon2Params, hashLength: number): Promise<Buffer> {
    this.child ??= this.start();
    const id = this.nextId++;
    const result = new Promise<Buffer>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.settle();
    this.child.send({
      id,
      password,
      salt,
      memoryCost: p.memoryKiB,
      timeCost: p.timeCost,
      parallelism: p.parallelism,
      hashLength,
    });
    return result;
  }

  /** Derivations sent to the worker and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }
}

export class Kdf {
  /** Exposed for tests, which hold its slots to observe the queue deterministically. */
  readonly semaphore: Semaphore;
  private readonly worker: KdfWorker;
  constructor(concurrency: number, nice = ARGON2_NICE) {
    this.semaphore = new Semaphore(concurrency);
    this.worker = new KdfWorker(concurrency, nice);
  }

  /** Derive a 256-bit key-encryption key. The caller wipes it (fill(0)) when done. */
  derive(passphrase: string, salt: Uint8Array, p: Argon2Params): Promise<Buffer> {
    return this.semaphore.run(async () => {
      const pw = passphraseBytes(passphrase);
      try {
        // The bytes are copied into the IPC message synchronously by send(); wiping after the await is safe.
        return await this.worker.hash(pw, salt, p, KEK_BYTES);
      } finally {
        pw.fill(0);
      }
    });
  }

  /** Derivations waiting for a slot. */
  get queued(): number {
    return this.semaphore.queued;
  }

  /** Derivations running in the worker. */
  get running(): number {
    return this.worker.inFlight;
  }
}

export function weakerThan(a: Argon2Params, b: Argon2Params): boolean {
  return a.memoryKiB < b.memoryKiB || a.timeCost < b.timeCost || a.parallelism < b.parallelism;
}
