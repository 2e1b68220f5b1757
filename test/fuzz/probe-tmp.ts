import { loadFindings } from './runner.ts';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12.ts';
for (const f of loadFindings().filter((x) => x.meta.target === 'pkcs12')) {
  const t = performance.now();
  let out = 'ok';
  try { await parsePkcs12(f.bytes, f.meta.aux ?? ''); } catch (e) { out = `${(e as any).code} ${(e as Error).message}`; }
  console.log(f.meta.file, f.meta.seed, f.bytes.length, (performance.now() - t).toFixed(0), 'ms', out);
}
