/**
 * SHA-1 signatures (Outlook still sends them; issue 14). By default they are `weak-algorithm`: intact, the signer
 * named, the content shown, and clearly not a failed signature. An administrator may accept SHA-1 signatures that
 * claim a signing time before a cutoff (SMIME_SHA1_SIGNED_BEFORE) as `valid`, with a warning saying why; after the
 * cutoff, without a signing time, or with SHA-1 anywhere else, nothing changes. Real Thunderbird (NSS) mail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadConfig } from '../../backend/src/config.ts';
import { analyzeMessage, type VerifyPolicy } from '../../backend/src/smime/index.ts';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import { FIXTURES, SHARED_CORPUS } from '../helpers/paths.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

const NO_CORPUS = corpusUnavailable('the SHA-1 cutoff tests');
const NOW = new Date('2026-11-22T00:00:00Z');
const file = (name: string) => readFileSync(`${SHARED_CORPUS}thunderbird/mailnews-test-data-smime/${name}`);

async function signatureOf(name: string, policy?: Partial<VerifyPolicy>) {
  const anchors = pemToDer(readFileSync(`${FIXTURES}corpus/TestCA.pem`, 'utf8'));
  const a = await analyzeMessage(file(name), {
    verify: { trustAnchors: anchors, now: NOW, ...(policy ? { policy } : {}) },
    keys: async () => [],
  });
  const layer = a.layers[0]!;
  assert.equal(layer.kind, 'signed');
  return { analysis: a, sig: layer.kind === 'signed' ? layer.signatures[0]! : undefined! };
}

describe('SHA-1 signatures', { skip: NO_CORPUS, timeout: 60_000 }, () => {
  test('default: weak-algorithm, signer named, content shown, every other check passed', async () => {
    const { analysis, sig } = await signatureOf('alice.dsig.SHA1.multipart.eml');
    assert.equal(sig.status, 'weak-algorithm');
    assert.equal(sig.digestAlgorithm, 'sha1');
    assert.ok(sig.signer?.emails.includes('alice@example.com'), JSON.stringify(sig.signer));
    assert.ok(analysis.unwrapped && analysis.content.length > 0, 'the signed content is shown');
    const failed = sig.checks.filter((c) => c.outcome === 'fail').map((c) => c.name);
    assert.deepEqual(failed, ['algorithm']);
    assert.match(sig.checks.find((c) => c.name === 'algorithm')!.detail!, /SHA-1 in the signature/);
    assert.equal(sig.warnings, undefined);
  });

  test('signed before the cutoff: valid, with a warning naming the signing time and the cutoff', async () => {
    const { sig } = await signatureOf('alice.dsig.SHA1.multipart.eml', { sha1SignedBefore: new Date('2027-01-01') });
    assert.ok(sig.signingTime, 'the corpus message has a signing time');
    assert.equal(sig.status, 'valid', JSON.stringify(sig.checks));
    assert.equal(sig.checks.find((c) => c.name === 'algorithm')!.outcome, 'pass');
    assert.equal(sig.warnings?.length, 1);
    assert.match(sig.warnings![0]!, /SHA-1 signature accepted/);
    assert.match(sig.warnings![0]!, /2027-01-01/);
  });

  test('signed after the cutoff: still weak-algorithm', async () => {
    const { sig } = await signatureOf('alice.dsig.SHA1.multipart.eml', { sha1SignedBefore: new Date('2020-01-01') });
    assert.equal(sig.status, 'weak-algorithm');
    assert.equal(sig.warnings, undefined);
  });

  test('a SHA-256 signature is untouched by the setting', async () => {
    const { sig } = await signatureOf('alice.dsig.SHA256.multipart.eml', { sha1SignedBefore: new Date('2027-01-01') });
    assert.equal(sig.status, 'valid');
    assert.equal(sig.warnings, undefined);
  });
});

test('SMIME_SHA1_SIGNED_BEFORE: a date, or refused', () => {
  assert.equal(loadConfig({ SMIME_DATA_DIR: 'test-output/data' }).SMIME_SHA1_SIGNED_BEFORE, undefined);
  const c = loadConfig({ SMIME_DATA_DIR: 'test-output/data', SMIME_SHA1_SIGNED_BEFORE: '2020-01-01' });
  assert.equal(c.SMIME_SHA1_SIGNED_BEFORE?.toISOString(), '2020-01-01T00:00:00.000Z');
  assert.throws(() => loadConfig({ SMIME_DATA_DIR: 'test-output/data', SMIME_SHA1_SIGNED_BEFORE: 'soon' }));
});
