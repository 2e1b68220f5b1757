/**
 * The bounded CI version of `npm run fuzz` (issue 6): every engine parser gets a few thousand mutated inputs with a
 * fixed seed (other inputs than the full run's default seed), each in a worker with a hang limit, and every saved
 * finding under test/fuzz/findings/ is replayed as a regression case. An input must end in a result or a documented
 * refusal (SmimeError / MimeError with a registry code, the directory's Pkcs7Error); anything else fails the test and
 * names the input (seed and index: `FUZZ_SEED=<seed> FUZZ_TARGETS=<target> FUZZ_FROM=<index> FUZZ_ITERATIONS=1 npm
 * run fuzz` makes it again and saves it).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadFindings, runTarget, signature, type TargetStats } from './runner.ts';
import { TARGETS } from './targets.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

/** The seeds are the corpus messages. */
const NO_CORPUS = corpusUnavailable();

const SEED = 0xc1;
/** Inputs per target: the expensive parsers (key derivation in every .p12, pkijs parsing) get fewer. */
const COUNTS: Record<string, number> = {
  mime: 2000,
  incoming: 1200,
  envelope: 1500,
  verify: 2000,
  certificate: 2000,
  pem: 2000,
  pkcs12: 600,
  pkcs7: 1000,
  outgoing: 600,
};
/** A safety net against hangs, far above the slowest legitimate input (a .p12 at the KDF limits: a few seconds). */
const HANG_MS = 30_000;

function report(stats: TargetStats): string {
  return stats.findings
    .map(
      (f) =>
        `${signature(f)}\n  seed ${f.runSeed} index ${f.index} from ${f.seed}\n  ${f.error.split('\n').slice(0, 5).join('\n  ')}`,
    )
    .join('\n');
}

describe('fuzz: engine parsers', { skip: NO_CORPUS }, () => {
  test('every target has a count', () =>
    assert.deepEqual(Object.keys(COUNTS).sort(), TARGETS.map((t) => t.name).sort()));

  for (const target of TARGETS) {
    test(`${target.name}: ${COUNTS[target.name]} mutated inputs end in a result or a documented refusal`, async () => {
      const stats = await runTarget({
        target: target.name,
        seed: SEED,
        count: COUNTS[target.name]!,
        timeoutMs: HANG_MS,
      });
      assert.equal(stats.findings.length, 0, report(stats));
      assert.equal(stats.inputs, COUNTS[target.name]);
      // The mutators must reach both sides: inputs the parser accepts and inputs it refuses.
      const refused = [...stats.outcomes].filter(([k]) => k.startsWith('error ')).reduce((n, [, v]) => n + v, 0);
      assert.ok(stats.ok > 0 && refused > 0, `outcomes ${JSON.stringify([...stats.outcomes])}`);
    });
  }

  const saved = loadFindings();
  test(`the ${saved.length} saved findings replay as results or documented refusals`, async () => {
    const byTarget = new Map<string, typeof saved>();
    for (const f of saved) byTarget.set(f.meta.target, [...(byTarget.get(f.meta.target) ?? []), f]);
    for (const [target, list] of byTarget) {
      if (target === 'api') continue;
      const stats = await runTarget({
        target,
        seed: 0,
        count: list.length,
        timeoutMs: HANG_MS,
        replay: list.map((f) => ({
          bytes: f.bytes,
          seed: f.meta.file,
          ...(f.meta.aux !== undefined ? { aux: f.meta.aux } : {}),
        })),
      });
      assert.equal(stats.findings.length, 0, report(stats));
      assert.equal(stats.inputs, list.length);
    }
  });
});
