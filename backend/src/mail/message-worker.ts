/**
 * A worker thread of the message pool (message-pool.ts, issue 16): analyses a large received message (MIME parsing,
 * base64, digests, content decryption, the JSON answer's base64) or protects a large outgoing one (signature,
 * content encryption, base64) beside the event loop. What the analysis needs from
 * the main thread it asks for while it runs: the user's keys (as KeyObjects, cloned by reference, never as bytes), the
 * sender's known certificates, revocation answers and downloads, all through the main thread's one cache and policy.
 */
import { analyzeMessage, type DecryptionKey, type Fetcher, type KnownSigner } from '../smime/index.ts';
import { serveJobs, type Call } from '../workers/worker-side.ts';
import type { MessageJob, MessageJobResult, ProtectJob } from './message-pool.ts';
import { OutputBudget, produceCopies, type ProtectedCopy } from './outgoing.ts';

/** A copy in a buffer of its own, so that it can be transferred without dragging the buffer it is a view of. */
function own(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * Every buffer in the evidence as a copy of its own: a certificate read out of a 25 MB signature is a view of that
 * signature's buffer, and sending the view to the main thread would copy the whole buffer with it.
 */
function compact<T>(value: T): T {
  if (value instanceof Uint8Array) return own(value) as T;
  if (Array.isArray(value)) return value.map(compact) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)])) as T;
  return value;
}

async function analyze(job: MessageJob, call: Call) {
  const { revocation, fetcher, knownSigners, ...verify } = job.verify;
  const analysis = await analyzeMessage(job.raw, {
    verify: {
      ...verify,
      ...(revocation
        ? {
            revocation: {
              checkPath: (path, at, label) =>
                call(
                  'checkPath',
                  path,
                  at,
                  path.slice(0, -1).map((_, i) => label(i)),
                ) as never,
            },
          }
        : {}),
      ...(fetcher ? { fetcher: { fetch: (req) => call('fetch', req) as ReturnType<Fetcher['fetch']> } } : {}),
      ...(knownSigners ? { knownSigners: (from) => call('knownSigners', from) as Promise<KnownSigner[]> } : {}),
    },
    keys: () => call('keys') as Promise<DecryptionKey[] | { keys?: DecryptionKey[]; locked: Uint8Array[] }>,
  });
  const content = own(analysis.content);
  // The answer's base64, made here: 25 MB of it is tens of milliseconds the event loop need not spend.
  const contentBase64 = Buffer.from(Buffer.from(content.buffer, content.byteOffset, content.length).toString('base64'));
  const result: MessageJobResult = {
    analysis: { ...compact({ ...analysis, content: undefined }), content },
    contentBase64,
  };
  return { result, transfer: [contentBase64.buffer as ArrayBuffer, content.buffer as ArrayBuffer] };
}

/** Below this a piece is copied into a buffer of its own rather than moved with the buffer it is a view of. */
const MOVE_MIN_BYTES = 64 * 1024;

/**
 * The copies of an outgoing message (issue 16), and what to move back: the message's own buffer (most pieces are
 * views of it) and each large buffer the engine made (the ciphertext, the base64). A small piece may be a view of
 * node's shared 8 KiB pool, which must not move: it is copied into a buffer of its own.
 */
async function protect(job: ProtectJob) {
  const budget = new OutputBudget(job.raw.length, job.req, job.addresses, job.outputLimit);
  const copies = await produceCopies(job.raw, job.req, job.signer, job.targets, budget);
  const transfer = new Set<ArrayBuffer>([job.raw.buffer as ArrayBuffer]);
  const result: ProtectedCopy[] = copies.map((c) => ({
    ...c,
    pieces: c.pieces.map((p) => {
      const buffer = p.buffer as ArrayBuffer;
      if (transfer.has(buffer)) return p;
      if (buffer.byteLength >= MOVE_MIN_BYTES && p.byteLength >= buffer.byteLength / 2) {
        transfer.add(buffer);
        return p;
      }
      const copy = new Uint8Array(p);
      transfer.add(copy.buffer);
      return copy;
    }),
  }));
  return { result, transfer: [...transfer] };
}

serveJobs<MessageJob | ProtectJob, MessageJobResult | ProtectedCopy[]>((job, call) =>
  job.kind === 'protect' ? protect(job) : analyze(job, call),
);
