/**
 * A worker thread of the PKCS#12 pool (p12-pool.ts): reads .p12 files off the event loop. The PKCS#12 key derivation
 * (RFC 7292 appendix B, in JavaScript, up to 3,000,000 iterations per file) costs seconds of CPU for a few KB of
 * input; here it costs one pool slot instead of every other user's requests.
 */
import { parentPort } from 'node:worker_threads';
import { parsePkcs12 } from '../smime/index.ts';

export interface P12Job {
  id: number;
  der: Uint8Array;
  password: string;
}

export type P12Answer =
  | { id: number; ok: { privateKey: Uint8Array; certificate: Uint8Array; chain: Uint8Array[]; protection: unknown } }
  | { id: number; error: { code?: string; message: string; smime: boolean } };

/** A copy in a buffer of its own, so that it can be transferred (a Buffer may be a view of node's shared pool). */
function own(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

parentPort!.on('message', (job: P12Job) => {
  void (async () => {
    try {
      const c = await parsePkcs12(job.der, job.password);
      const privateKey = own(c.privateKey);
      c.privateKey.fill(0);
      const answer: P12Answer = {
        id: job.id,
        ok: { privateKey, certificate: own(c.certificate), chain: c.chain.map(own), protection: c.protection },
      };
      // Transferred, not copied: the key leaves this thread's memory with the message.
      parentPort!.postMessage(answer, [privateKey.buffer as ArrayBuffer]);
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown; name?: unknown };
      const answer: P12Answer = {
        id: job.id,
        error: {
          ...(typeof err.code === 'string' ? { code: err.code } : {}),
          message: typeof err.message === 'string' ? err.message : 'PKCS#12 reading failed',
          smime: err.name === 'SmimeError',
        },
      };
      parentPort!.postMessage(answer);
    } finally {
      job.der.fill(0);
    }
  })();
});
