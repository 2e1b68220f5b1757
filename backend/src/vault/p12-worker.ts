/**
 * A worker thread of the PKCS#12 pool (p12-pool.ts): reads .p12 files off the event loop. The PKCS#12 key derivation
 * (RFC 7292 appendix B, in JavaScript, up to 3,000,000 iterations per file) costs seconds of CPU for a few KB of
 * input; here it costs one pool slot instead of every other user's requests.
 */
import { parsePkcs12, type Pkcs12Contents } from '../smime/index.ts';
import { serveJobs } from '../workers/worker-side.ts';

export interface P12Job {
  der: Uint8Array;
  password: string;
}

/** A copy in a buffer of its own, so that it can be transferred (a Buffer may be a view of node's shared pool). */
function own(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

serveJobs<P12Job, Pkcs12Contents>(async (job) => {
  try {
    const c = await parsePkcs12(job.der, job.password);
    const privateKey = own(c.privateKey);
    c.privateKey.fill(0);
    // Transferred, not copied: the key leaves this thread's memory with the message.
    return {
      result: { ...c, privateKey, certificate: own(c.certificate), chain: c.chain.map(own) },
      transfer: [privateKey.buffer as ArrayBuffer],
    };
  } finally {
    job.der.fill(0);
  }
});
