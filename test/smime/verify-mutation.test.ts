/**
 * Mutation loop over real signatures (issue 3): a few thousand byte flips, bit flips, truncations, insertions and
 * length-byte edits of the corpus and PKI p7s/p7m blobs. Every call must end with a result or a SmimeError (never
 * another exception type), within a time bound (never a hang). Seeded, so a failure is reproducible.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prng } from '../helpers/rng.ts';
import { isSmimeError } from '../../backend/src/smime/errors.ts';
import { explicit, readOne, sequence } from '../../backend/src/smime/asn1/reader.ts';
import { SIGNATURE_STATUSES } from '../../backend/src/smime/types.ts';
import { verifySignedData } from '../../backend/src/smime/cms/signed/verify.ts';
import { CONTENT, PKI_NOW, ROOT, message } from '../fixtures/pki/pki.ts';
import { CORPUS_NOW, corpusMessage, NO_CORPUS, NSS_TEST_CA } from '../fixtures/pki/corpus.ts';

const MUTATIONS = 3000;
/** One verification of a mutated few-KiB blob: milliseconds normally; a second means something went quadratic. */
const MAX_MS_PER_CALL = 2000;
const SEED = 0x5eed_3;

interface Sample {
  name: string;
  cms: Uint8Array;
  content?: Uint8Array;
  anchors: Uint8Array[];
  now: Date;
}

function samples(): Sample[] {
  const tca = NSS_TEST_CA;
  const out: Sample[] = [];
  for (const file of [
    'mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml',
    'mailnews-test-data-smime/alice.dsig.SHA1.multipart.eml',
    'mailnews-test-data-smime/alice.sig.SHA512.opaque.eml',
    'mail-test-browser-smime-data/nested-sigs.eml',
  ]) {
    const m = corpusMessage(file);
    out.push({ name: file, cms: m.cms, ...(m.signed ? { content: m.signed } : {}), anchors: tca, now: CORPUS_NOW });
  }
  for (const name of [
    'signer-sha256.p7s',
    'signer-pss.p7s',
    'ec.p7s',
    'two-signers.p7s',
    'signer-keyid.p7s',
    'signer-noattr.p7s',
  ]) {
    out.push({ name, cms: message(name), content: CONTENT, anchors: [ROOT], now: PKI_NOW });
  }
  for (const name of ['signer-opaque.p7m', 'signer-stream-opaque.p7m'])
    out.push({ name, cms: message(name), anchors: [ROOT], now: PKI_NOW });
  return out;
}

function mutate(input: Uint8Array, rand: () => number): { bytes: Uint8Array; how: string } {
  const at = Math.floor(rand() * input.length);
  const kind = Math.floor(rand() * 6);
  const b = new Uint8Array(input);
  switch (kind) {
    case 0:
      b[at] = Math.floor(rand() * 256);
      return { bytes: b, how: `byte ${at} := ${b[at]}` };
    case 1:
      b[at] ^= 1 << Math.floor(rand() * 8);
      return { bytes: b, how: `bit flip at ${at}` };
    case 2:
      return { bytes: input.subarray(0, at), how: `truncate at ${at}` };
    case 3: {
      const out = new Uint8Array(input.length + 1);
      out.set(input.subarray(0, at));
      out[at] = Math.floor(rand() * 256);
      out.set(input.subarray(at), at + 1);
      return { bytes: out, how: `insert at ${at}` };
    }
    case 4: {
      // Length bytes are where parsers break: make one long-form or indefinite.
      const values = [0x80, 0x81, 0x84, 0xff, 0x00];
      b[at] = values[Math.floor(rand() * values.length)]!;
      return { bytes: b, how: `length-ish byte ${at} := ${b[at]}` };
    }
    default: {
      const len = 1 + Math.floor(rand() * 16);
      for (let i = at; i < Math.min(b.length, at + len); i++) b[i] = 0;
      return { bytes: b, how: `zero ${len} bytes at ${at}` };
    }
  }
}

describe('mutation loop', { skip: NO_CORPUS }, () => {
  test(`${MUTATIONS} mutations of corpus and PKI signatures: a result or a SmimeError, never anything else, never slow`, async () => {
    const rand = prng(SEED);
    const list = samples();
    const outcomes = new Map<string, number>();
    let slowest = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const sample = list[i % list.length]!;
      const { bytes, how } = mutate(sample.cms, rand);
      const started = performance.now();
      let key: string;
      try {
        const r = await verifySignedData(bytes, sample.content, { trustAnchors: sample.anchors, now: sample.now });
        assert.ok(r.signatures.length > 0, `${sample.name} ${how}: no signature evidence`);
        for (const s of r.signatures)
          assert.ok(SIGNATURE_STATUSES.includes(s.status), `${sample.name} ${how}: status ${s.status}`);
        key = r.signatures.map((s) => s.status).join('+');
      } catch (e) {
        if (!isSmimeError(e)) assert.fail(`${sample.name} ${how}: ${e instanceof Error ? e.stack : String(e)}`);
        key = `SmimeError ${e.code}`;
      }
      const elapsed = performance.now() - started;
      slowest = Math.max(slowest, elapsed);
      assert.ok(elapsed < MAX_MS_PER_CALL, `${sample.name} ${how}: ${elapsed} ms`);
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // The loop must exercise both the typed-error path and the evidence path, not just one of them.
    assert.ok(outcomes.get('SmimeError CMS_MALFORMED'), JSON.stringify([...outcomes]));
    assert.ok(outcomes.get('malformed') && outcomes.get('invalid-signature'), JSON.stringify([...outcomes]));
    console.log(
      `mutation outcomes (slowest ${slowest.toFixed(1)} ms):`,
      Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
    );
  });

  // Stronger than "not a crash": a single bit flipped anywhere in a valid signature must change the verdict. The one
  // exception is SignedData.digestAlgorithms, a hint for one-pass processors that nothing signs or uses.
  for (const sample of ['alice.dsig.SHA256.multipart.eml', 'signer-sha256.p7s']) {
    test(`${sample}: every single-bit flip outside digestAlgorithms leaves it not valid`, async () => {
      const s = samples().find((x) => x.name.endsWith(sample))!;
      const sd = sequence(
        explicit(sequence(readOne(s.cms, 'ContentInfo'), 'ContentInfo')[1], 0, 'content'),
        'SignedData',
      );
      const hint = sd[1]!;
      const stillValid: number[] = [];
      for (let at = 0; at < s.cms.length; at++) {
        if (at >= hint.start && at < hint.end) continue;
        const b = new Uint8Array(s.cms);
        b[at] ^= 0x01;
        try {
          const r = await verifySignedData(b, s.content, { trustAnchors: s.anchors, now: s.now });
          if (r.signatures.some((x) => x.status === 'valid')) stillValid.push(at);
        } catch (e) {
          if (!isSmimeError(e)) throw e;
        }
      }
      assert.deepEqual(stillValid, []);
    });
  }
});
