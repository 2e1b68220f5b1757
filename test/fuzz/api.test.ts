/**
 * The bounded CI version of the API fuzzing in `npm run fuzz` (issue 6): a real server on the embedded PGlite, users
 * with the NSS corpus keys, and a fixed-seed run of mutated requests to every endpoint (messages, key import and IT
 * placement with mutated .p12 files, JSON bodies, paths, methods, content types and credentials). Every answer must
 * be documented (a 2xx, or a JSON error whose code is in a registry with that status), none a 5xx, none past the hang
 * limit, no "unhandled error" in the server's log, and the server still answers /healthz at the end.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runApiFuzz } from './api.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

/** The seeds are the corpus messages. */
const NO_CORPUS = corpusUnavailable();

const SEED = 0xc1;
const REQUESTS = 1000;
/** Unlocks and imports queue for Argon2 (SMIME_ARGON2_CONCURRENCY at a time): generous on a loaded CI machine. */
const HANG_MS = 60_000;

describe('fuzz: HTTP API', { skip: NO_CORPUS }, () => {
  test(`${REQUESTS} mutated requests get documented answers, never a 5xx`, async () => {
    const stats = await runApiFuzz({ seed: SEED, count: REQUESTS, timeoutMs: HANG_MS });
    const findings = stats.findings.map((f) => `${f.kind} #${f.index} ${f.request}: ${f.error}`).join('\n');
    assert.equal(stats.findings.length, 0, findings);
    assert.equal(stats.requests, REQUESTS);
    // The run must reach the parsers behind the API, not only the front door: accepted requests, engine refusals
    // (mutated .p12 files and messages) and input validation all occur.
    assert.ok(stats.ok > 0, JSON.stringify([...stats.statuses]));
    for (const code of ['P12_MALFORMED', 'BAD_REQUEST', 'UNAUTHENTICATED'])
      assert.ok(stats.codes.get(code), `${code}: ${JSON.stringify([...stats.codes])}`);
  });
});
