/**
 * One S/MIME operation in a process of its own, so its peak memory can be read (`/usr/bin/time -f %M`), the same way
 * as for `openssl cms`. Usage: node --import tsx bench/smime-op.ts <sign|encrypt|sign-encrypt|verify|decrypt|idle> <dir>
 * The folder holds the inputs written by bench/smime.ts. Prints on stdout the operation's wall time in ms (from the
 * input bytes in memory to the output in memory, as the server has it once a request body has arrived and before it
 * writes the answer: for sign, encrypt and sign+encrypt the pieces of protectMessagePieces, which the server writes
 * to the socket one after the other), then the time it took to read the input file, which OpenSSL's figure includes.
 * The output is written to a file after the timing, piece by piece (joining would add a copy to the peak memory).
 */
import { createPrivateKey } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { analyzeMessage, decryptEnvelope, pemToDer, protectMessagePieces } from '../backend/src/smime/index.ts';

const [op, dir] = process.argv.slice(2) as [string, string];
const key = createPrivateKey(readFileSync(`${dir}/key.pem`));
const cert = pemToDer(readFileSync(`${dir}/cert.pem`, 'utf8'))[0]!;
const ca = pemToDer(readFileSync(`${dir}/ca.pem`, 'utf8'));
const signer = { certificate: cert, chain: [], privateKey: key };
const encrypt = { recipients: [{ certificate: cert }], options: { cipher: 'aes-256-cbc' as const } };

if (op === 'idle') process.exit(0); // the baseline: every module loaded, nothing read or made

const INPUTS: Record<string, string> = { verify: 'signed.eml', decrypt: 'enveloped.der' };
const readStart = process.hrtime.bigint();
const input = readFileSync(`${dir}/${INPUTS[op] ?? 'message.eml'}`);
const start = process.hrtime.bigint();
let out: Uint8Array[];
switch (op) {
  case 'sign':
    out = await protectMessagePieces(input, { sign: { signer } });
    break;
  case 'encrypt':
    out = await protectMessagePieces(input, { encrypt });
    break;
  case 'sign-encrypt':
    out = await protectMessagePieces(input, { sign: { signer }, encrypt });
    break;
  case 'verify': {
    const a = await analyzeMessage(input, { verify: { trustAnchors: ca }, keys: async () => [] });
    if (
      a.layers[0]?.kind !== 'signed' ||
      !a.layers[0].signatures[0]?.checks.some((c) => c.name === 'signature' && c.outcome === 'pass')
    )
      throw new Error(`verify failed: ${JSON.stringify(a.layers)}`);
    out = [a.content];
    break;
  }
  case 'decrypt': {
    const r = await decryptEnvelope(input, [{ keyId: 'k', certificate: cert, privateKey: key }]);
    if (r.status !== 'decrypted') throw new Error(`decrypt failed: ${r.status}`);
    out = [r.content];
    break;
  }
  default:
    throw new Error(`unknown op ${op}`);
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const fd = openSync(`${dir}/out-${op}`, 'w');
for (const piece of out) writeSync(fd, piece);
closeSync(fd);
console.log(ms.toFixed(2), (Number(start - readStart) / 1e6).toFixed(2));
