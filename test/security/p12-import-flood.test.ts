/**
 * Attack: CPU exhaustion through self-service .p12 imports. A PKCS#12 file names its own key-derivation work: a
 * 3.4 KB file near the allowed maximum (five derivations of 550,000 iterations) costs seconds of CPU before the
 * password or the certificate is even checked, and the derivation ran on the server's only thread; twenty such
 * imports at once kept the server busy for 48 s, and a user's token bought as many as it liked.
 *
 * Defence: PKCS#12 files are read in worker threads (SMIME_P12_CONCURRENCY) with a bounded queue (SMIME_P12_QUEUE):
 * beyond it, 503 SERVER_BUSY with Retry-After at once; and each user's imports are limited
 * (SMIME_P12_IMPORTS_PER_HOUR), counted before the file is read.
 *
 * What the test proves: with one worker and one place in the queue, six users importing the expensive file at once
 * get at most two answers that did the work and 503 SERVER_BUSY (Retry-After) for the rest; the server answers
 * /healthz while the derivations run; a user past the import limit gets 429 RATE_LIMITED without the file being
 * read (a body that is not even JSON). Runs on PGlite.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { b64, startServerOn } from './world.ts';
import { FIXTURES } from '../helpers/paths.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const [pglite] = await databaseTargets();

/** A .p12 asking for nearly the most key-derivation work the server allows (5 x 550,000 iterations, legacy PBE). */
function expensiveP12(dir: string): Buffer {
  const pem = join(dir, 'alice.pem');
  execFileSync(
    'openssl',
    ['pkcs12', '-in', `${FIXTURES}corpus/Alice.p12`, '-nodes', '-passin', 'pass:nss', '-out', pem],
    { stdio: 'ignore' },
  );
  const out = join(dir, 'slow.p12');
  execFileSync(
    'openssl',
    ['pkcs12', '-export', '-legacy', '-in', pem, '-iter', '550000', '-passout', 'pass:slow', '-out', out],
    { stdio: 'ignore' },
  );
  return readFileSync(out);
}

describe('PKCS#12 import flood', { timeout: 300_000 }, () => {
  let srv: TestServer;
  let close: (() => Promise<void>) | undefined;
  let work: string;
  let slow: Buffer;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'smime-p12-flood-'));
    slow = expensiveP12(work);
    ({ srv, close } = await startServerOn(pglite!, {
      SMIME_P12_CONCURRENCY: 1,
      SMIME_P12_QUEUE: 1,
      SMIME_P12_IMPORTS_PER_HOUR: 3,
    }));
  });
  after(() =>
    cleanUp(
      () => close?.(),
      () => rmSync(work, { recursive: true, force: true }),
    ),
  );

  const importAs = async (email: string, body: unknown) =>
    new Client(srv.url, await srv.token(email)).request(
      'POST',
      '/api/v1/keys',
      typeof body === 'string' ? { body, headers: { 'content-type': 'application/json' } } : { json: body },
    );

  test('six expensive imports at once: one worker, one waiting, the rest 503 SERVER_BUSY; /healthz answers meanwhile', async () => {
    const answers: { status: number; code?: string; retryAfter: string | null }[] = [];
    const all = Array.from({ length: 6 }, (_, i) =>
      importAs(`flood${i}@example.org`, { p12: b64(slow), password: 'slow', passphrase: 'a passphrase of mine' }).then(
        (r) => answers.push({ status: r.status, code: r.body?.error?.code, retryAfter: r.headers.get('retry-after') }),
      ),
    );
    // Asked after the imports started: answered while at least one derivation still runs.
    const health = await fetch(`${srv.url}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(
      answers.filter((a) => a.status !== 503).length < 2,
      'the health check was answered before the work finished',
    );
    await Promise.all(all);
    const busy = answers.filter((a) => a.code === 'SERVER_BUSY');
    assert.ok(busy.length >= 4, `at least four refused at once: ${JSON.stringify(answers)}`);
    for (const b of busy) {
      assert.equal(b.status, 503);
      assert.ok(Number(b.retryAfter) > 0);
    }
    // The ones that did the work read the whole file and failed on what it holds (not their address, or the key not
    // matching the first certificate), not on a limit that would have spared the derivations.
    const worked = answers.filter((a) => a.status !== 503);
    assert.ok(worked.length >= 1);
    assert.ok(
      worked.every((a) => a.status >= 400 && a.status < 500 && a.code !== 'P12_TOO_LARGE'),
      JSON.stringify(worked),
    );
  });

  test('past the per-user import limit: 429 RATE_LIMITED before the file is read', async () => {
    const email = 'eager@example.org';
    for (let i = 0; i < 3; i++) {
      const r = await importAs(email, {
        p12: b64(Buffer.from('not a p12')),
        password: 'x',
        passphrase: 'a passphrase of mine',
      });
      assert.notEqual(r.status, 429, `attempt ${i + 1} is within the limit`);
    }
    const r = await importAs(email, 'this is not even JSON');
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 'RATE_LIMITED');
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    // Another user is not affected.
    const other = await importAs('patient@example.org', 'this is not even JSON');
    assert.equal(other.status, 400);
  });
});
