/**
 * Attack: HTTP methods nobody routes (TRACE, PROPFIND, MKCOL, made-up ones) sent to every kind of path. They reached
 * the router's "not implemented" branch, which the error handler did not know: a 500 INTERNAL with an error line in
 * the log for every probe, so a scanner could fill the logs and hide real faults among its noise.
 *
 * Defence: a method outside the standard set is answered 501 METHOD_NOT_IMPLEMENTED (with Allow) before any route
 * runs; a standard method a route does not take stays 405 METHOD_NOT_ALLOWED.
 *
 * What the test proves: TRACE, PROPFIND, MKCOL, LOCK and SEARCH get 501 with the stable code on API,
 * static and unknown paths, a made-up method is refused by node's parser (400), PATCH stays with the routes,
 * and none of them logs an error line. Runs on PGlite.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const [pglite] = await databaseTargets();

/** node:http, not fetch: fetch refuses TRACE and other methods outright. */
function raw(url: string, method: string, path: string): Promise<{ status: number; body: string; allow?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, allow: res.headers.allow }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('unknown HTTP methods', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let drop: () => Promise<void>;
  before(async () => {
    const opened = await pglite!.open();
    drop = opened.drop;
    srv = await startServer(opened.db);
  });
  after(() =>
    cleanUp(
      () => srv?.close(),
      () => drop?.(),
    ),
  );

  test('TRACE, PROPFIND, MKCOL, LOCK, SEARCH: 501 METHOD_NOT_IMPLEMENTED, nothing logged as an error', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'SEARCH'])
      for (const path of ['/api/v1/me', '/api/v1/keys', '/plugin/smime-plugin.js', '/healthz', '/nowhere']) {
        const r = await raw(srv.url, method, path);
        assert.equal(r.status, 501, `${method} ${path}: ${r.status} ${r.body}`);
        assert.equal(JSON.parse(r.body).error.code, 'METHOD_NOT_IMPLEMENTED', `${method} ${path}`);
        assert.match(r.allow ?? '', /GET/);
      }
    // A name the HTTP parser does not know at all never reaches the application: node answers 400 itself.
    assert.equal((await raw(srv.url, 'BREW', '/api/v1/me')).status, 400);
    // A standard method stays with the routes: authentication first (401 without a token), then 405.
    const patch = await raw(srv.url, 'PATCH', '/api/v1/session');
    assert.equal(patch.status, 401);
    assert.deepEqual(
      srv.logs.filter((l) => /"level":5\d/.test(l)),
      [],
    );
  });
});
