/**
 * The OpenAPI document (issue 15) against itself and against the server: valid OpenAPI 3.1; every route the running
 * app registers is documented and every documented route exists; and real answers of a real server (PGlite; the
 * schema does not depend on the database) conform to the schemas documented for their status, every documented
 * operation exercised at least once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../backend/src/api/app.ts';
import { OPENAPI_MAX_AGE_S, OPENAPI_PATH, openApiDocument } from '../../backend/src/api/openapi.ts';
import { demoRouters } from '../../backend/src/demo/entry.ts';
import { Client, TEST_ADMIN_TOKEN } from '../helpers/app.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { databaseTargets } from '../helpers/db.ts';
import { startDemoTestServer } from '../helpers/demo.ts';
import { validate } from '../helpers/json-schema.ts';
import {
  answerProblems,
  appRoutes,
  documentedRoutes,
  openApiProblems,
  templateOf,
  type Answer,
  type Doc,
} from '../helpers/openapi.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';
import { b64, CORPUS_CA, corpusP12, mail, startServerTrusting, thunderbird } from '../security/world.ts';

const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const OWN = 'bob chose this passphrase';
const CAROL_OWN = 'carol chose hers';
const TEST_TIMEOUT_MS = 120_000;
const NO_CORPUS = corpusUnavailable('the OpenAPI answer tests (Bob.p12 and a signed message of the corpus)');
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

const doc = openApiDocument() as Doc;

/** GET with If-None-Match and nothing else, as a cache revalidates. */
function conditionalGet(url: string, etag: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'if-none-match': etag } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers, text, body: text });
      });
    }).on('error', reject);
  });
}
const clone = (): Doc => structuredClone(doc);

describe('the OpenAPI document', () => {
  test('is a valid OpenAPI 3.1 document', () => {
    assert.deepEqual(openApiProblems(doc), []);
    assert.equal(doc.openapi, '3.1.0');
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string };
    assert.equal(doc.info.version, pkg.version);
  });

  test('the structural check finds what breaks a document (it can fail)', () => {
    const cases: [string, (d: Doc) => void, RegExp][] = [
      ['wrong version', (d) => (d.openapi = '3.0.3'), /openapi: not 3\.1/],
      ['no responses', (d) => (d.paths['/api/v1/me'].get.responses = {}), /GET \/api\/v1\/me: no responses/],
      ['dangling $ref', (d) => (d.components.schemas.Me = { $ref: '#/components/schemas/Nope' }), /does not resolve/],
      ['undeclared {id}', (d) => (d.paths['/api/v1/keys/{id}'].get.parameters = []), /\{id\} is not declared/],
      ['unknown keyword', (d) => (d.components.schemas.Me.propertys = {}), /unknown schema keyword propertys/],
      ['unknown scheme', (d) => (d.paths['/api/v1/me'].get.security = [{ nope: [] }]), /nope is not declared/],
      ['reused operationId', (d) => (d.paths['/api/v1/me/audit'].get.operationId = 'getMe'), /operationId/],
      ['bad status', (d) => (d.paths['/api/v1/me'].get.responses['2xx'] = { description: '' }), /not a status/],
    ];
    for (const [what, breakIt, expected] of cases) {
      const d = clone();
      breakIt(d);
      assert.match(openApiProblems(d).join('\n'), expected, what);
    }
  });

  test('every component schema is used', () => {
    const text = JSON.stringify(doc.paths) + JSON.stringify(doc.components.schemas);
    for (const name of Object.keys(doc.components.schemas))
      assert.ok(text.includes(`"#/components/schemas/${name}"`), `${name} is never referenced`);
  });
});

describe('the document and the routes of the app', () => {
  const documented = documentedRoutes(doc);
  let routes: Set<string>;
  let demoRoutes: Set<string>;
  let close: () => Promise<void>;
  before(async () => {
    const target = (await databaseTargets()).find((t) => t.name === 'pglite')!;
    const { db, drop } = await target.open();
    const srv = await startDemoTestServer(db);
    close = () => cleanUp(() => srv.close(), drop);
    // The apps main.ts serves, without and with the demo, built from the same services: their routers are what the
    // walk reads.
    routes = appRoutes(createApp(srv.services));
    demoRoutes = appRoutes(createApp(srv.services, demoRouters(srv.services, srv.host)));
  });
  after(async () => {
    await close?.();
  });

  test('every route of the app is documented', () => {
    assert.ok(routes.size > 20, `the walk found only ${[...routes].join(', ')}`);
    assert.deepEqual([...routes].filter((r) => !documented.has(r)).sort(), []);
  });

  test('every documented route exists in the app', () => {
    assert.deepEqual([...documented].filter((r) => !routes.has(r)).sort(), []);
  });

  test("the README's route tables name the same routes as the document", () => {
    const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
    const section = readme.slice(
      readme.indexOf('## HTTP API'),
      readme.indexOf('\n## ', readme.indexOf('## HTTP API') + 1),
    );
    // A row starts with its method and path: `DELETE /api/v1/keys/{id}?confirm=...`, `GET /api/v1/session/unlock[?all=true]`.
    const inReadme = new Set(
      [...section.matchAll(/^\| `(GET|POST|PUT|DELETE|PATCH) (\/[^`?[\s]*)/gm)].map((m) => `${m[1]} ${m[2]}`),
    );
    assert.ok(inReadme.size > 20, `found only ${[...inReadme].join(', ')}`);
    const api = [...documented].filter((r) => / \/(api\/v1|healthz)/.test(r) && !r.endsWith(OPENAPI_PATH));
    assert.deepEqual([...inReadme].filter((r) => !documented.has(r)).sort(), [], 'in the README, not documented');
    assert.deepEqual(api.filter((r) => !inReadme.has(r)).sort(), [], 'documented, not in the README tables');
    assert.ok(section.includes(OPENAPI_PATH), 'the README names where the document is served');
  });

  test('the demo is not part of the document, and with the demo on, only its routes under /demo are added', () => {
    assert.deepEqual(
      Object.keys(doc.paths).filter((p) => p.startsWith('/demo')),
      [],
    );
    const added = [...demoRoutes].filter((r) => !routes.has(r));
    assert.ok(added.length > 0, 'the walk sees the demo routers');
    assert.deepEqual(
      added.filter((r) => !/^[A-Z]+ \/demo(\/|$)/.test(r)),
      [],
    );
    assert.deepEqual(
      [...routes].filter((r) => !demoRoutes.has(r)),
      [],
      'the demo hides no product route',
    );
  });

  test('a path template matches concrete paths, literal segments first', () => {
    assert.equal(templateOf(doc, '/api/v1/certificates/resolve'), '/api/v1/certificates/resolve');
    assert.equal(templateOf(doc, `/api/v1/certificates/${NO_SUCH_ID}`), '/api/v1/certificates/{id}');
    assert.equal(templateOf(doc, '/api/v1/admin/users/a%40b.example/keys'), '/api/v1/admin/users/{email}/keys');
    assert.equal(templateOf(doc, '/api/v1/nothing'), undefined);
  });
});

describe('the validator of the answer tests', () => {
  const me = { $ref: '#/components/schemas/Me' };
  const good = {
    email: BOB,
    aliases: [],
    keys: 1,
    mustChangePassphrase: false,
    unlockIdleTimeoutS: 900,
    passphraseMinLength: 12,
  };
  test('accepts a conforming body and rejects each kind of departure (it can fail)', () => {
    assert.deepEqual(validate(good, me, doc), []);
    const missing: Record<string, unknown> = { ...good };
    delete missing.email;
    const cases: [unknown, RegExp][] = [
      [missing, /missing email/],
      [{ ...good, keys: 1.5 }, /is not integer/],
      [{ ...good, keys: '1' }, /string is not integer/],
      [{ ...good, secret: 'x' }, /unexpected property secret/],
      [{ ...good, aliases: [1] }, /\$\.aliases\[0\]: number is not string/],
    ];
    for (const [body, expected] of cases) assert.match(validate(body, me, doc).join('\n'), expected);
    const layer = { $ref: '#/components/schemas/Layer' };
    assert.match(validate({ kind: 'signed', format: 'x', status: 'fine', signatures: [] }, layer, doc).join(), /oneOf/);
    assert.match(
      validate({ at: 'yesterday' }, { properties: { at: { format: 'date-time' } } }, doc).join(),
      /date-time/,
    );
    assert.match(validate(1, { type: 'integer', exclusiveMinimum: 0 }, doc).join(), /unsupported keyword/);
  });
});

describe('real answers conform to the document (PGlite)', { timeout: 10 * TEST_TIMEOUT_MS, skip: NO_CORPUS }, () => {
  let world: Awaited<ReturnType<typeof startServerTrusting>>;
  const exercised = new Set<string>();
  const problems: string[] = [];
  let base: string;

  /** One request, its answer checked against the document; the answer for further assertions. */
  async function call(
    client: Client,
    method: string,
    path: string,
    opts: Parameters<Client['request']>[2] = {},
  ): Promise<{ status: number; body: any; headers: Headers; text: string }> {
    const res = await client.request(method, path, opts);
    problems.push(...answerProblems(doc, method, path, res));
    const template = templateOf(doc, new URL(path, 'http://x').pathname);
    exercised.add(`${method} ${template}`);
    return res;
  }
  const rfc822 = (raw: Uint8Array, accept = 'application/json') => ({
    body: raw,
    headers: { 'content-type': 'message/rfc822', accept },
  });

  before(async () => {
    const [pglite] = (await databaseTargets()).filter((t) => t.name === 'pglite');
    assert.ok(pglite, 'the PGlite target');
    world = await startServerTrusting(pglite, [CORPUS_CA]);
    base = world.srv.url;
  });
  after(async () => {
    await world?.close();
  });

  test(
    'server: health, this document (cacheable, with an ETag), the plugin bundle',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const anon = new Client(base);
      assert.equal((await call(anon, 'GET', '/healthz')).status, 200);
      const d = await call(anon, 'GET', OPENAPI_PATH);
      assert.equal(d.status, 200, d.text);
      assert.deepEqual(d.body, JSON.parse(JSON.stringify(doc)), 'the served document is the module');
      assert.equal(d.headers.get('cache-control'), `public, max-age=${OPENAPI_MAX_AGE_S}`);
      const etag = d.headers.get('etag');
      assert.ok(etag);
      // fetch() sends `Cache-Control: no-cache` with a conditional request (Fetch standard, HTTP-network-or-cache
      // fetch), which rightly forbids a 304: ask as a cache would, with node:http.
      const again = await conditionalGet(base + OPENAPI_PATH, etag);
      problems.push(...answerProblems(doc, 'GET', OPENAPI_PATH, again));
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
      for (const path of Object.keys(doc.paths).filter((p) => p.startsWith('/plugin/'))) {
        const r = await call(anon, 'GET', path);
        assert.ok(r.status === 200 || r.status === 503, `${path}: ${r.status}`);
        // An error is never cacheable, whatever the route.
        if (r.status === 503) assert.equal(r.headers.get('cache-control'), 'no-store');
      }
    },
  );

  test('admin: place keys, aliases, audit, directory', { timeout: TEST_TIMEOUT_MS }, async () => {
    const admin = new Client(base, TEST_ADMIN_TOKEN);
    const place = (email: string, file: string) =>
      call(admin, 'POST', `/api/v1/admin/users/${encodeURIComponent(email)}/keys`, {
        json: { p12: b64(corpusP12(file)), password: 'nss' },
      });
    assert.equal((await place(BOB, 'Bob.p12')).status, 201);
    assert.equal((await place(CAROL, 'Dave.p12')).status, 422, 'Dave.p12 is not for carol');
    assert.equal((await call(admin, 'GET', `/api/v1/admin/users/${BOB}/keys`)).status, 200);
    assert.equal((await call(admin, 'GET', '/api/v1/admin/users/nobody%40example.com/keys')).status, 404);
    const alias = await call(admin, 'POST', `/api/v1/admin/users/${BOB}/aliases`, {
      json: { alias: 'robert@example.com' },
    });
    assert.equal(alias.status, 201, alias.text);
    assert.equal((await call(admin, 'GET', '/api/v1/admin/audit/verify')).status, 200);
    assert.equal((await call(admin, 'GET', '/api/v1/admin/audit/verify?expectHead=nothex')).status, 400);
    const cp = await call(admin, 'POST', '/api/v1/admin/audit/checkpoint');
    assert.ok(cp.status === 201 || cp.status === 409, cp.text);
    assert.equal((await call(admin, 'GET', '/api/v1/admin/directory/status')).status, 200);
    assert.equal((await call(admin, 'POST', '/api/v1/admin/directory/sync')).status, 409);
    assert.equal((await call(admin, 'GET', '/api/v1/admin/recovery/status')).status, 200);
    const asUser = new Client(base, await world.srv.token(BOB));
    assert.equal((await call(asUser, 'GET', '/api/v1/admin/directory/status')).status, 401);
  });

  test(
    'me and session: passphrase, unlock (header and cookie), status, lock',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      assert.equal((await call(new Client(base), 'GET', '/api/v1/me')).status, 401);
      assert.equal((await call(new Client(base, 'not-a-jwt'), 'GET', '/api/v1/me')).status, 401);
      const bob = new Client(base, await world.srv.token(BOB));
      const me = await call(bob, 'GET', '/api/v1/me');
      assert.equal(me.status, 200);
      assert.equal(me.body.mustChangePassphrase, true);
      const pending = await call(bob, 'POST', '/api/v1/session/unlock', { json: { passphrase: 'nss' } });
      assert.equal(pending.body.unlocked, false, 'a placed key joins no session');
      const change = await call(bob, 'POST', '/api/v1/session/passphrase', {
        json: { currentPassphrase: 'nss', newPassphrase: OWN },
      });
      assert.equal(change.status, 200, change.text);
      const header = await call(bob, 'POST', '/api/v1/session/unlock', {
        json: { passphrase: OWN, delivery: 'header' },
      });
      assert.equal(header.body.unlocked, true, header.text);
      const status = await call(bob, 'GET', '/api/v1/session', {
        headers: { 'x-smime-unlock': header.body.unlockToken },
      });
      assert.equal(status.body.unlocked, true);
      assert.equal((await call(bob, 'POST', '/api/v1/session/unlock', { json: { passphrase: OWN } })).status, 200);
      assert.equal((await call(bob, 'GET', '/api/v1/session')).body.unlocked, true, 'by cookie');
      assert.equal((await call(bob, 'DELETE', '/api/v1/session/unlock')).status, 200);
      assert.equal((await call(bob, 'GET', '/api/v1/session')).body.unlocked, false);
      assert.equal((await call(bob, 'GET', '/api/v1/me/audit')).status, 200);
      assert.equal((await call(bob, 'POST', '/api/v1/session/unlock', { json: {} })).status, 400);
      const bad = await call(bob, 'POST', '/api/v1/session/unlock', {
        body: '{',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(bad.status, 400);
      const media = await call(bob, 'POST', '/api/v1/session/unlock', {
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(media.status, 415);
    },
  );

  test(
    'keys: list, one, certificate, default, adopt, export, import, delete',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bob = new Client(base, await world.srv.token(BOB));
      const list = await call(bob, 'GET', '/api/v1/keys');
      assert.equal(list.status, 200);
      const id = list.body.keys[0].id as string;
      assert.equal((await call(bob, 'GET', `/api/v1/keys/${id}`)).status, 200);
      assert.equal((await call(bob, 'GET', `/api/v1/keys/${NO_SUCH_ID}`)).status, 404);
      assert.equal((await call(bob, 'GET', '/api/v1/keys/not-an-id')).status, 404);
      const pem = await call(bob, 'GET', `/api/v1/keys/${id}/certificate`);
      assert.match(pem.text, /-----BEGIN CERTIFICATE-----/);
      assert.equal((await call(bob, 'PUT', `/api/v1/keys/${id}/default`)).status, 200);
      const adopt = await call(bob, 'POST', `/api/v1/keys/${id}/adopt`, {
        json: { keyPassword: 'nss', passphrase: OWN },
      });
      assert.equal(adopt.status, 409, 'already his own');
      const exported = await call(bob, 'POST', `/api/v1/keys/${id}/export`, {
        json: { passphrase: OWN, exportPassword: 'bob backup password' },
      });
      assert.equal(exported.status, 200, exported.text);
      assert.equal(exported.headers.get('content-type'), 'application/x-pkcs12');
      const noPassword = await call(bob, 'POST', `/api/v1/keys/${id}/export`, { json: { passphrase: OWN } });
      assert.equal(noPassword.status, 400);
      const other = await call(bob, 'POST', '/api/v1/keys', {
        json: { p12: b64(corpusP12('Alice.p12')), password: 'nss', passphrase: OWN },
      });
      assert.equal(other.status, 422, `Alice's key is not Bob's: ${other.text}`);
      assert.equal((await call(bob, 'DELETE', `/api/v1/keys/${id}`)).status, 400, 'not confirmed');

      // Carol's first import (her first passphrase with it): a key for another address is refused.
      const carol = new Client(base, await world.srv.token(CAROL));
      const imported = await call(carol, 'POST', '/api/v1/keys', {
        json: {
          p12: b64(readFileSync(`${REPO_ROOT}test/fixtures/corpus/Bob.p12`)),
          password: 'nss',
          passphrase: CAROL_OWN,
        },
      });
      assert.equal(imported.status, 422, `Bob's key is not Carol's: ${imported.text}`);
    },
  );

  test(
    'messages and certificates: a signed message read, its certificate harvested, resolved, deleted',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bob = new Client(base, await world.srv.token(BOB));
      const token = (
        await call(bob, 'POST', '/api/v1/session/unlock', { json: { passphrase: OWN, delivery: 'header' } })
      ).body.unlockToken as string;
      const unlocked = { 'x-smime-unlock': token };
      const signed = thunderbird('mailnews-test-data-smime/alice.dsig.SHA256.multipart.eml');
      const read = await call(bob, 'POST', '/api/v1/messages/incoming', rfc822(signed));
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.signed, true);
      assert.equal((await call(bob, 'POST', '/api/v1/messages/incoming', rfc822(Buffer.from('hello')))).status, 422);

      const list = await call(bob, 'GET', '/api/v1/certificates');
      assert.equal(list.status, 200);
      const alice = (list.body.certificates as { id: string; email: string }[]).find(
        (c) => c.email === 'alice@example.com',
      );
      assert.ok(alice, `alice harvested: ${list.text}`);
      assert.equal(
        (await call(bob, 'GET', `/api/v1/certificates?email=alice@example.com&source=harvested`)).status,
        200,
      );
      assert.equal((await call(bob, 'GET', '/api/v1/certificates?source=nope')).status, 400);
      assert.equal((await call(bob, 'GET', `/api/v1/certificates/${alice.id}`)).status, 200);
      assert.equal((await call(bob, 'GET', `/api/v1/certificates/${NO_SUCH_ID}`)).status, 404);
      const resolve = await call(
        bob,
        'GET',
        '/api/v1/certificates/resolve?email=alice@example.com&email=nobody@example.com',
      );
      assert.equal(resolve.status, 200);
      assert.equal((await call(bob, 'GET', '/api/v1/certificates/resolve')).status, 400);

      const composed = mail(BOB, 'alice@example.com', 'hello Alice');
      const asJson = await call(bob, 'POST', '/api/v1/messages/outgoing?sign=true&encrypt=true', {
        ...rfc822(composed),
        headers: { ...rfc822(composed).headers, ...unlocked },
      });
      assert.equal(asJson.status, 200, asJson.text);
      const asMessage = await call(bob, 'POST', '/api/v1/messages/outgoing?sign=true&protectHeaders=true', {
        body: composed,
        headers: { 'content-type': 'message/rfc822', accept: 'message/rfc822', ...unlocked },
      });
      assert.equal(asMessage.status, 200, asMessage.text);
      const missing = await call(bob, 'POST', '/api/v1/messages/outgoing?encrypt=true', rfc822(mail(BOB, CAROL, 'hi')));
      assert.equal(missing.status, 422, missing.text);
      const locked = await call(bob, 'POST', '/api/v1/messages/outgoing?sign=true', rfc822(composed));
      assert.equal(locked.status, 403, locked.text);

      assert.equal((await call(bob, 'DELETE', `/api/v1/certificates/${alice.id}`)).status, 200);
      assert.equal((await call(bob, 'DELETE', `/api/v1/certificates/${alice.id}`)).status, 404);
    },
  );

  test('a wrong passphrase, then a key deleted', { timeout: TEST_TIMEOUT_MS }, async () => {
    const bob = new Client(base, await world.srv.token(BOB));
    const wrong = await call(bob, 'POST', '/api/v1/session/unlock', { json: { passphrase: 'not it' } });
    assert.equal(wrong.status, 403, wrong.text);
    const key = (await call(bob, 'GET', '/api/v1/keys')).body.keys[0];
    // Throttled after the wrong passphrase: wait it out (SMIME_THROTTLE_BASE_DELAY_S is 1 in tests).
    let del;
    for (let i = 0; i < 10; i++) {
      del = await call(bob, 'DELETE', `/api/v1/keys/${key.id}?confirm=${key.fingerprintSha256}`, {
        json: { passphrase: OWN },
      });
      if (del.status !== 429) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(del?.status, 200, del?.text);
  });

  test('every answer conformed, and every documented operation was exercised', () => {
    assert.deepEqual(problems, []);
    assert.deepEqual([...documentedRoutes(doc)].filter((r) => !exercised.has(r)).sort(), []);
  });
});
