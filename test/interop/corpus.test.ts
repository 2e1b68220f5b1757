/**
 * Every message of the Thunderbird/NSS corpus (../shared/smime-corpus/thunderbird) gets the outcome its MANIFEST
 * records (issue 3, "Done when"). The manifest's OpenSSL column gives the cryptographic outcome of each layer, outer
 * first ("sig OK/chain OK; decrypt Bob"); we compare our layers to it one by one:
 *   sig OK/chain OK   -> the signature and chain checks pass; status valid, or a policy status on top
 *                        (weak-algorithm for SHA-1, email-mismatch when the From is someone else's)
 *   sig FAIL/...      -> invalid-signature or malformed, never valid
 *   decrypt X         -> decrypted with X's key (the reading user holds Bob's, Fran's and Fran-ec's keys)
 * and the plaintext the manifest names is in the innermost content whenever every layer opened.
 * Policy cases the manifest explains are asserted as policy (see POLICY below).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { createPrivateKey } from 'node:crypto';
import { pemToDer } from '../../backend/src/smime/x509/pem.ts';
import type { DecryptionKey } from '../../backend/src/smime/cms/enveloped/index.ts';
import { analyzeMessage, type Layer, type MessageAnalysis } from '../../backend/src/smime/message/incoming.ts';
import { parsePkcs12 } from '../../backend/src/smime/pkcs12/pkcs12.ts';
import { FIXTURES, SHARED_CORPUS } from '../helpers/paths.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

const ROOT = `${SHARED_CORPUS}thunderbird/`;
const NO_CORPUS = corpusUnavailable();

interface Row {
  file: string;
  kind: string;
  openssl: string[];
  thunderbird: string;
  notes: string;
}

function manifestRows(): Row[] {
  const text = readFileSync(`${ROOT}MANIFEST.md`, 'utf8');
  const section = text.slice(text.indexOf('## Messages'));
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+\.(?:eml|env))` \|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const cols = m[2]!.split('|').map((c) => c.trim());
    if (cols.length < 6) continue; // the per-file provenance table further down has other columns
    // file | kind | structure | decrypt | OpenSSL | Thunderbird | notes
    rows.push({
      file: m[1]!,
      kind: cols[0]!,
      openssl: cols[3]!
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean),
      thunderbird: cols[4]!,
      notes: cols[5] ?? '',
    });
  }
  return rows;
}

const rows = NO_CORPUS ? [] : manifestRows();
const NOW = new Date('2026-11-22T00:00:00Z');

let keys: DecryptionKey[];
const keyOwner = new Map<string, string>();
let anchors: Uint8Array[];

async function analyze(file: string): Promise<MessageAnalysis> {
  return analyzeMessage(readFileSync(ROOT + file), {
    verify: { trustAnchors: anchors, now: NOW },
    keys: async () => keys,
  });
}

function isCryptoOk(layer: Layer): boolean {
  if (layer.kind !== 'signed') return false;
  return layer.signatures.every(
    (s) =>
      s.checks.some((c) => c.name === 'signature' && c.outcome === 'pass') &&
      s.checks.some((c) => c.name === 'chain' && c.outcome === 'pass'),
  );
}

/** Layers as OpenSSL saw them: the protected chain, or for an unprotected multipart the S/MIME parts inside it. */
function observed(a: MessageAnalysis): Layer[] {
  return a.layers.length > 0 ? a.layers : a.parts.map((p) => p.layer);
}

/** Policy decisions the manifest documents, asserted as such instead of the raw OpenSSL outcome. */
const POLICY: Record<string, (a: MessageAnalysis) => void> = {
  // Two separately encrypted alternatives (bait and prey): reported, never opened into one trusted view.
  'mail-test-browser-smime-data/multipart-alternative.eml': (a) => {
    assert.equal(a.layers.length, 0, 'the message itself is not encrypted');
    assert.equal(a.parts.length, 2);
    for (const p of a.parts) {
      assert.equal(p.layer.kind, 'encrypted');
      assert.notEqual(p.layer.status, 'decrypted');
    }
    assert.doesNotMatch(Buffer.from(a.content).toString('latin1'), /This is a test message/);
  },
};

before(async () => {
  anchors = pemToDer(readFileSync(`${FIXTURES}corpus/TestCA.pem`, 'utf8'));
  keys = [];
  for (const name of ['Bob', 'Fran', 'Fran-ec']) {
    const p = await parsePkcs12(readFileSync(`${FIXTURES}corpus/${name}.p12`), 'nss');
    const keyId = `key-${name}`;
    keyOwner.set(keyId, name);
    keys.push({
      keyId,
      certificate: p.certificate,
      privateKey: createPrivateKey({ key: Buffer.from(p.privateKey), format: 'der', type: 'pkcs8' }),
    });
  }
});

describe('Thunderbird/NSS corpus: every message gets its manifest outcome', { skip: NO_CORPUS }, () => {
  test('the manifest lists the messages', () => {
    assert.ok(rows.length >= 70, `found ${rows.length} rows`);
  });

  for (const row of rows) {
    test(`${row.file}: ${row.openssl.join('; ') || '(no OpenSSL outcome)'}`, async () => {
      const a = await analyze(row.file);
      const policy = POLICY[row.file];
      if (policy) return policy(a);
      const layers = observed(a);
      assert.equal(
        layers.length,
        row.openssl.length,
        `layers: ${JSON.stringify(layers.map((l) => [l.kind, l.status]))}`,
      );
      row.openssl.forEach((expected, i) => {
        const layer = layers[i]!;
        const where = `layer ${i} (${expected})`;
        if (expected.startsWith('decrypt ')) {
          assert.equal(layer.kind, 'encrypted', where);
          assert.equal(layer.status, 'decrypted', `${where}: ${JSON.stringify(layer)}`);
          assert.equal(keyOwner.get((layer as { keyId?: string }).keyId ?? ''), expected.slice(8), where);
        } else if (expected === 'sig OK/chain OK') {
          assert.equal(layer.kind, 'signed', where);
          assert.ok(
            isCryptoOk(layer),
            `${where}: ${JSON.stringify(layer.kind === 'signed' && layer.signatures.map((s) => s.checks))}`,
          );
          assert.ok(['valid', 'weak-algorithm', 'email-mismatch'].includes(layer.status), `${where}: ${layer.status}`);
          if (layer.status === 'weak-algorithm') assert.match(row.file, /SHA1/, `${where}: weak only for SHA-1`);
        } else if (expected.startsWith('sig FAIL')) {
          assert.equal(layer.kind, 'signed', where);
          assert.ok(['invalid-signature', 'malformed'].includes(layer.status), `${where}: ${layer.status}`);
        } else {
          assert.fail(`unknown manifest outcome ${expected}`);
        }
      });
      // When every layer opened, the innermost content is the plaintext the manifest names.
      const allOpen = a.layers.length > 0 && a.layers.every((l) => l.kind === 'signed' || l.status === 'decrypted');
      if (allOpen && a.layers.some((l) => l.kind === 'encrypted')) {
        assert.match(Buffer.from(a.content).toString('latin1'), /This is a test message (from Alice to Bob|to Fran)\./);
      }
    });
  }
});

describe('corpus: statuses a user sees', { skip: NO_CORPUS }, () => {
  test('SHA-256 multipart/signed from Alice is valid; SHA-1 is weak-algorithm; corrupted is invalid-signature', async () => {
    assert.equal(
      (await analyze('mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml')).layers[0]!.status,
      'valid',
    );
    assert.equal(
      (await analyze('mailnews-test-data-smime/alice.dsig.SHA1.multipart.eml')).layers[0]!.status,
      'weak-algorithm',
    );
    assert.equal(
      (await analyze('mailnews-test-data-smime/alice.dsig.SHA256.multipart.bad.eml')).layers[0]!.status,
      'invalid-signature',
    );
  });

  test('a detached signature carrying its own eContent is not accepted', async () => {
    const a = await analyze('mailnews-test-data-smime/alice.dsig.SHA256.multipart.mismatch-econtent.eml');
    assert.notEqual(a.layers[0]!.status, 'valid');
  });

  test('Dave re-signing Alice: Dave valid for From Dave, Alice flagged email-mismatch (From is Dave)', async () => {
    const a = await analyze('mailnews-test-data-smime/alice.env.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml');
    assert.deepEqual(
      a.layers.map((l) => [l.kind, l.status]),
      [
        ['signed', 'valid'],
        ['signed', 'email-mismatch'],
        ['encrypted', 'decrypted'],
      ],
    );
  });

  test('without the key: locked when the user must unlock, no-key when no key of theirs fits', async () => {
    const file = 'mailnews-test-data-smime/alice.env.eml';
    const certificateOf = (keyId: string) => keys.find((k) => k.keyId === keyId)!.certificate;
    const locked = await analyzeMessage(readFileSync(ROOT + file), {
      verify: { trustAnchors: anchors, now: NOW },
      keys: async () => ({ locked: [certificateOf('key-Bob')] }),
    });
    assert.equal(locked.layers[0]!.status, 'locked', 'encrypted to Bob, whose key is locked');
    const notMine = await analyzeMessage(readFileSync(ROOT + file), {
      verify: { trustAnchors: anchors, now: NOW },
      keys: async () => ({ locked: [certificateOf('key-Fran'), certificateOf('key-Fran-ec')] }),
    });
    assert.equal(notMine.layers[0]!.status, 'no-key', 'only Fran locked: no key of hers can ever open it');
    const partly = await analyzeMessage(readFileSync(ROOT + file), {
      verify: { trustAnchors: anchors, now: NOW },
      keys: async () => ({
        keys: keys.filter((k) => k.keyId !== 'key-Bob'),
        locked: [certificateOf('key-Bob')],
      }),
    });
    assert.equal(partly.layers[0]!.status, 'locked', 'other keys unlocked, Bob still locked');
    const wrong = await analyzeMessage(readFileSync(ROOT + file), {
      verify: { trustAnchors: anchors, now: NOW },
      keys: async () => keys.filter((k) => k.keyId !== 'key-Bob'),
    });
    assert.ok(['no-key', 'failed'].includes(wrong.layers[0]!.status));
  });

  test('every encrypted message also opens by trial, with keys no RecipientInfo names', async () => {
    // Trial decryption of PKCS #1 v1.5 + CBC asks for decrypted bytes shaped like a MIME header section
    // (cms/enveloped/entity-shape.ts); what NSS and OpenSSL write must pass it. The CA certificate names no recipient.
    const unnamed = keys.map((k) => ({ ...k, certificate: anchors[0]! }));
    let opened = 0;
    for (const row of rows.filter((r) => r.openssl.some((o) => o.startsWith('decrypt ')))) {
      const named = await analyze(row.file);
      const trial = await analyzeMessage(readFileSync(ROOT + row.file), {
        verify: { trustAnchors: anchors, now: NOW },
        keys: async () => unnamed,
      });
      const shape = (a: MessageAnalysis) => observed(a).map((l) => [l.kind, l.status]);
      assert.deepEqual(shape(trial), shape(named), row.file);
      assert.deepEqual(Buffer.from(trial.content), Buffer.from(named.content), row.file);
      opened += observed(trial).filter((l) => l.kind === 'encrypted' && l.status === 'decrypted').length;
    }
    assert.ok(opened >= 20, `${opened} encrypted layers opened by trial`);
  });

  test('an untrusted chain (no anchors) is untrusted, not valid', async () => {
    const a = await analyzeMessage(readFileSync(ROOT + 'mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml'), {
      verify: { trustAnchors: [], now: NOW },
      keys: async () => keys,
    });
    assert.equal(a.layers[0]!.status, 'untrusted');
  });
});
