/**
 * Attack: a forged X-Forwarded-For behind the reverse proxy. With SMIME_TRUST_PROXY on, the client address (which
 * keys the per-client rate limit) was the left-most X-Forwarded-For entry: the one the client writes itself. A fresh
 * made-up address per request escaped the rate limit entirely; the same trick would put someone else's address in
 * the logs.
 *
 * Defence: the address the outermost trusted proxy saw, counted from the right (SMIME_TRUST_PROXY_HOPS, default 1:
 * the entry the proxy appended); whatever the client put to its left is ignored.
 *
 * What the test proves: behind one proxy (the header as nginx builds it: client's own header, then the address it
 * saw), requests with a different forged address each are limited together once the bucket is empty (429
 * RATE_LIMITED), while another real client is not. Runs on PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const [pglite] = await databaseTargets();
const PER_MINUTE = 5;

describe('X-Forwarded-For spoofing behind a trusted proxy', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let drop: () => Promise<void>;
  before(async () => {
    const opened = await pglite!.open();
    drop = opened.drop;
    srv = await startServer(opened.db, { SMIME_TRUST_PROXY: true, SMIME_RATE_LIMIT_PER_MINUTE: PER_MINUTE });
  });
  after(() =>
    cleanUp(
      () => srv?.close(),
      () => drop?.(),
    ),
  );

  const get = (xff: string) => fetch(`${srv.url}/api/v1/me`, { headers: { 'x-forwarded-for': xff } });

  test('a forged left-most address per request does not escape the per-client limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_MINUTE + 3; i++) statuses.push((await get(`198.51.100.${i + 1}, 203.0.113.7`)).status);
    assert.deepEqual(statuses.slice(0, PER_MINUTE), Array(PER_MINUTE).fill(401), 'the bucket allows the burst');
    assert.ok(
      statuses.slice(PER_MINUTE).every((s) => s === 429),
      `then 429 for the same real client: ${statuses.join(',')}`,
    );
    // Another client behind the same proxy has a bucket of its own.
    assert.equal((await get('198.51.100.1, 203.0.113.8')).status, 401);
  });
});
