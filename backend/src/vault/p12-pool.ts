/**
 * Reading PKCS#12 files off the event loop (issue 12): a few worker threads (SMIME_P12_CONCURRENCY) and a bounded
 * queue (SMIME_P12_QUEUE), on the shared thread pool (workers/thread-pool.ts). Before, one self-service import of a
 * crafted 3.4 KB file cost 2-3 s of the server's only thread and twenty at once kept it busy for 48 s. A full queue
 * answers 503 SERVER_BUSY with Retry-After at once.
 */
import type { Pkcs12Contents } from '../smime/index.ts';
import { ThreadPool } from '../workers/thread-pool.ts';
import type { P12Job } from './p12-worker.ts';

/** Retry-After of SERVER_BUSY: about one file's derivation at the limits. */
const BUSY_RETRY_AFTER_S = 5;

export class Pkcs12Pool {
  private readonly pool: ThreadPool<P12Job, Pkcs12Contents>;

  constructor(options: { concurrency: number; queue: number }) {
    this.pool = new ThreadPool({
      name: 'PKCS#12',
      workerUrl: new URL('./p12-worker.ts', import.meta.url).href,
      ...options,
      retryAfterSeconds: BUSY_RETRY_AFTER_S,
    });
  }

  /** parsePkcs12 in a worker thread; SERVER_BUSY when every worker is busy and the queue is full. */
  parse(der: Uint8Array, password: string): Promise<Pkcs12Contents> {
    // The worker gets (and wipes) a copy; the caller keeps and wipes its own.
    const copy = new Uint8Array(der);
    return this.pool.run({ der: copy, password }, [copy.buffer]);
  }

  /** Jobs running and waiting (for tests and the admin's view of load). */
  load(): { running: number; queued: number } {
    return this.pool.load();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
