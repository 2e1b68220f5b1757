/**
 * One S/MIME operation in a process of its own, so its peak memory can be read (`/usr/bin/time -f %M`), the same way
 * as for `openssl cms`. Usage: node --import tsx bench/smime-op.ts <sign|encrypt|sign-encrypt|verify|decrypt> <dir>
 * The folder holds the inputs written by bench/smime.ts. Prints the operation's wall time in ms on stdout.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { pemToDer } from '../backend/src/smime/certificate.ts';
import { decryptEnvelope, encryptEnvelope } from '../backend/src/smime/envelope.ts';
import { analyzeMessage } from '../backend/src/smime/incoming.ts';
import { protectMessage } from '../backend/src/smime/outgoing.ts';

const [op, dir] = process.argv.slice(2) as [string, string];
const key = createPrivateKey(readFileSync(`${dir}/key.pem`));
const cert = pemToDer(readFileSync(`${dir}/cert.pem`, 'utf8'))[0]!;
const ca = pemToDer(readFileSync(`${dir}/ca.pem`, 'utf8'));
const signer = { certificate: cert, chain: [], privateKey: key };
const encryptFn = (content: Uint8Array) => encryptEnvelope(content, [{ certificate: cert }], { cipher: 'aes-256-cbc' });

const start = process.hrtime.bigint();
let out: Uint8Array;
switch (op) {
  case 'sign':
    out = await protectMessage(readFileSync(`${dir}/message.eml`), { sign: { signer } });
    break;
  case 'encrypt':
    out = await protectMessage(readFileSync(`${dir}/message.eml`), { encrypt: { encryptFn } });
    break;
  case 'sign-encrypt':
    out = await protectMessage(readFileSync(`${dir}/message.eml`), { sign: { signer }, encrypt: { encryptFn } });
    break;
  case 'verify': {
    const a = await analyzeMessage(readFileSync(`${dir}/signed.eml`), { verify: { trustAnchors: ca }, keys: async () => [] });
    if (a.layers[0]?.kind !== 'signed' || !a.layers[0].signatures[0]?.checks.some((c) => c.name === 'signature' && c.outcome === 'pass'))
      throw new Error(`verify failed: ${JSON.stringify(a.layers)}`);
    out = a.content;
    break;
  }
  case 'decrypt': {
    const der = readFileSync(`${dir}/enveloped.der`);
    const r = await decryptEnvelope(der, [{ keyId: 'k', certificate: cert, privateKey: key }]);
    if (r.status !== 'decrypted') throw new Error(`decrypt failed: ${r.status}`);
    out = r.content;
    break;
  }
  default:
    throw new Error(`unknown op ${op}`);
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
writeFileSync(`${dir}/out-${op}`, out);
console.log(ms.toFixed(2));
