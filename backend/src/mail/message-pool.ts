/**
 * Large messages are analysed (received) and protected (sent) in worker threads (issue 16). A 25 MB verify, decrypt,
 * sign or encrypt held the event loop for 0.2-0.4 s (MIME parsing, base64, the digest or the content cipher), and
 * every other user's request waited behind it. In a worker it costs one pool slot; the main thread only moves buffers
 * and answers the worker's questions (keys, known signers, revocation, downloads). A signing key crosses as a
 * KeyObject (node clones the handle; its bytes are never serialised).
 *
 * Small messages stay on the event loop: below SMIME_WORKER_MIN_BYTES the round trip to a worker costs more than the
 * work (bench/http.ts measures both). The pool has SMIME_WORKERS threads and a queue of SMIME_WORKER_QUEUE; a message
 * that finds both full is refused with 503 SERVER_BUSY and Retry-After, before its body is read (messages/routes.ts).
 */
import { AppError } from '../errors.ts';
import type { AnalyzeOptions, MessageAnalysis, VerifyOptions } from '../smime/index.ts';
import { ThreadPool, type CallHandler } from '../workers/thread-pool.ts';
import type {
  EncryptionTargets,
  OutgoingAddresses,
  OutgoingRequest,
  OutgoingSigner,
  ProtectedCopy,
} from './outgoing.ts';

/** Retry-After of SERVER_BUSY: a 25 MB message takes about a second on this class of machine. */
const BUSY_RETRY_AFTER_S = 2;

/** The verification options that cross to the worker as data; the callbacks become calls back to this thread. */
type SerialVerify = Omit<VerifyOptions, 'fromAddresses' | 'fromProblem' | 'revocation' | 'fetcher' | 'knownSigners'> & {
  revocation: boolean;
  fetcher: boolean;
  knownSigners: boolean;
};

export interface MessageJob {
  kind: 'analyze';
  raw: Uint8Array;
  verify: SerialVerify;
}

/** produceCopies (outgoing.ts) in a worker: everything it needs is data, the signing key a cloneable KeyObject. */
export interface ProtectJob {
  kind: 'protect';
  raw: Uint8Array;
  req: OutgoingRequest;
  signer: OutgoingSigner | undefined;
  targets: EncryptionTargets | undefined;
  addresses: OutgoingAddresses;
  outputLimit: number;
}

type PoolJob = MessageJob | ProtectJob;
type PoolResult = MessageJobResult | ProtectedCopy[];

export interface MessageJobResult {
  analysis: MessageAnalysis;
  /** The content in base64, as ASCII bytes: what the JSON answer carries (made in the worker too). */
  contentBase64: Uint8Array;
}

export interface MessagePoolOptions {
  concurrency: number;
  queue: number;
  /** Messages this large and larger go to a worker. */
  minBytes: number;
}

/** `b` itself when it is the whole of its buffer (it can move to a worker), else a copy that is. */
function ownBuffer(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

export class MessagePool {
  private readonly pool: ThreadPool<PoolJob, PoolResult>;

  constructor(readonly options: MessagePoolOptions) {
    this.pool = new ThreadPool({
      name: 'message',
      workerUrl: new URL('./message-worker.ts', import.meta.url).href,
      concurrency: options.concurrency,
      queue: options.queue,
      retryAfterSeconds: BUSY_RETRY_AFTER_S,
    });
  }

  /** Whether a message of this size is analysed in a worker. */
  takes(bytes: number): boolean {
    return bytes >= this.options.minBytes;
  }

  /** A message of this size given now would find every worker busy and the queue full: 503 SERVER_BUSY. */
  refuseWhenFull(bytes: number): void {
    if (this.takes(bytes) && !this.pool.hasRoom())
      throw new AppError('SERVER_BUSY', undefined, { retryAfterSeconds: BUSY_RETRY_AFTER_S });
  }

  load(): { running: number; queued: number } {
    return this.pool.load();
  }

  /**
   * analyzeMessage in a worker. `raw` moves to the worker when it is a buffer of its own (it is unusable here
   * afterwards), else it is copied; the answer's content and base64 come back moved, not copied.
   */
  analyze(raw: Uint8Array, options: AnalyzeOptions): Promise<MessageJobResult> {
    const mine = ownBuffer(raw);
    const { revocation, fetcher, knownSigners, ...verify } = options.verify;
    const job: MessageJob = {
      kind: 'analyze',
      raw: mine,
      verify: { ...verify, revocation: !!revocation, fetcher: !!fetcher, knownSigners: !!knownSigners },
    };
    const calls: CallHandler = async (method, args) => {
      if (method === 'keys') return { value: await options.keys() };
      if (method === 'knownSigners' && knownSigners) return { value: await knownSigners(args[0] as readonly string[]) };
      if (method === 'checkPath' && revocation) {
        const [path, at, labels] = args as [Uint8Array[], Date, string[]];
        return { value: await revocation.checkPath(path, at, (i) => labels[i] ?? `certificate ${i}`) };
      }
      if (method === 'fetch' && fetcher) {
        const body = await fetcher.fetch(args[0] as Parameters<typeof fetcher.fetch>[0]);
        return { value: body };
      }
      throw new Error(`the message worker asked for ${method}, which this job does not offer`);
    };
    return this.pool.run(job, [mine.buffer as ArrayBuffer], calls) as Promise<MessageJobResult>;
  }

  /**
   * produceCopies in a worker, for a message that `takes`: `raw` moves there as in analyze; the copies come back as
   * pieces over the same buffer, moved too. The output budget is applied there, as produceCopies does here.
   */
  protect(job: Omit<ProtectJob, 'kind'>): Promise<ProtectedCopy[]> {
    const raw = ownBuffer(job.raw);
    return this.pool.run({ kind: 'protect', ...job, raw }, [raw.buffer as ArrayBuffer]) as Promise<ProtectedCopy[]>;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
