/**
 * The OpenAPI 3.1 document of the whole HTTP API (issue 15), served at GET /api/v1/openapi.json.
 *
 * Where each part comes from, so that the document cannot drift from the server unnoticed:
 * - request bodies and query strings: the routes' own zod schemas (z.toJSONSchema, input side), so what is documented
 *   is what is validated;
 * - answers: JSON Schema beside the contract types (openapi/components.ts; ./contract.ts is the one source of truth
 *   for answers), tied to them by `objectSchema<T>()` so that the compiler checks field names and optionality;
 * - errors: the codes each operation may answer, with their statuses and messages from the one registry (../errors.ts);
 * - routes: each resource describes its own (keys/openapi.ts beside keys/routes.ts, ...); test/api/openapi.test.ts
 *   walks the routers of the running app and compares them with `paths` both ways, then validates real answers against
 *   the schemas documented for their status.
 * The demo's routes (backend/src/demo) are not part of the product's API and are not documented here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { ADMIN_PATHS } from './admin/openapi.ts';
import { CERTIFICATES_PATHS } from './certificates/openapi.ts';
import type { AppState } from './context.ts';
import { KEYS_PATHS } from './keys/openapi.ts';
import { ME_PATHS } from './me/openapi.ts';
import { MESSAGES_PATHS } from './messages/openapi.ts';
import { API_ERROR, SCHEMAS } from './openapi/components.ts';
import { ref } from './openapi/json-schema.ts';
import { json, operation, type PathSpecs } from './openapi/operation.ts';
import { SESSION_PATHS } from './session/openapi.ts';
import { PLUGIN_FILES } from './static.ts';

/** Where the document is served. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * How long a client or proxy may keep the document without asking again. It holds no secret and changes only with a
 * deployment: five minutes bounds how long a client sees the old one after an upgrade; the ETag makes asking cheap.
 */
export const OPENAPI_MAX_AGE_S = 300;

/** The plugin bundle's files (./static.ts), each a GET. */
const PLUGIN_PATHS: PathSpecs = {};
for (const [path, file] of Object.entries(PLUGIN_FILES)) {
  const name = path.slice('/plugin/'.length);
  PLUGIN_PATHS[path] = {
    get: {
      operationId: `getPlugin_${name.replace(/[^A-Za-z0-9]+/g, '_')}`,
      tag: 'plugin',
      summary: `The plugin bundle's ${name}`,
      description: 'The ES module a host webmail loads with one script tag (plugin/README.md), and its companions.',
      auth: 'none',
      ok: {
        status: 200,
        description: name,
        // The source map is a JSON object; the scripts and styles are text.
        content: {
          [file.type.split(';')[0]!]: {
            schema: file.type.startsWith('application/json') ? { type: 'object' } : { type: 'string' },
          },
        },
      },
      errors: ['FRONTEND_NOT_BUILT'],
    },
  };
}

/** Health and this document. */
const SERVER_PATHS: PathSpecs = {
  '/healthz': {
    get: {
      operationId: 'health',
      tag: 'server',
      summary: 'Liveness and readiness',
      description: 'Answered before the rate limit, for load balancers.',
      auth: 'none',
      notRateLimited: true,
      ok: { status: 200, description: 'migrations ran: ready', content: json(ref('Health')) },
      extra: { '503': { description: 'starting: migrations have not run yet', content: json(ref('Health')) } },
      errors: [],
    },
  },
  [OPENAPI_PATH]: {
    get: {
      operationId: 'openApiDocument',
      tag: 'server',
      summary: 'This document',
      description: `Without authentication (it holds no secret); cacheable for ${OPENAPI_MAX_AGE_S} s, with an ETag.`,
      auth: 'none',
      ok: {
        status: 200,
        description: 'the OpenAPI 3.1 document',
        content: json({ type: 'object', required: ['openapi', 'info', 'paths'] }),
      },
      extra: { '304': { description: 'not modified (If-None-Match matched the ETag)' } },
      errors: [],
    },
  },
};

/** Every route's description, by path: the order of the document. */
const PATHS: PathSpecs = {
  ...SERVER_PATHS,
  ...PLUGIN_PATHS,
  ...ME_PATHS,
  ...SESSION_PATHS,
  ...KEYS_PATHS,
  ...MESSAGES_PATHS,
  ...CERTIFICATES_PATHS,
  ...ADMIN_PATHS,
};

/** How clients authenticate (middleware/auth.ts, session/routes.ts). */
const SECURITY_SCHEMES = {
  userToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A short-lived JWT the host webmail signs per user: `sub` the email, `aud` SMIME_JWT_AUDIENCE, `iat` and `exp` (lifetime at most SMIME_JWT_MAX_LIFETIME_S). Not accepted on admin routes.',
  },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token (SMIME_ADMIN_TOKEN). Accepted on admin routes only.',
  },
  unlockHeader: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Smime-Unlock',
    description: "The unlock credential of POST /api/v1/session/unlock with delivery 'header'.",
  },
  unlockCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'smime_unlock_{hash}',
    description:
      "The unlock credential as the HttpOnly cookie set by POST /api/v1/session/unlock (delivery 'cookie'); its name is `smime_unlock_` followed by the first 12 hex digits of the SHA-256 of the user's email, so two users of one browser do not lock each other out.",
  },
};

const TAGS = [
  { name: 'server', description: 'health and this document' },
  { name: 'plugin', description: 'the plugin bundle for host webmails' },
  { name: 'me', description: 'the user' },
  { name: 'session', description: 'unlocking the keys, the passphrase' },
  { name: 'keys', description: "the user's own private keys" },
  { name: 'messages', description: 'protecting outgoing and reading incoming mail' },
  { name: 'certificates', description: 'the public keys the user can encrypt to' },
  { name: 'admin', description: 'what IT does; admin token only' },
];

/** package.json's version: the document describes this build. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The whole document, as a plain object. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(PATHS)) {
    paths[path] = Object.fromEntries(Object.entries(methods).map(([m, spec]) => [m, operation(spec)]));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'S/MIME webmail backend',
      version: packageVersion(),
      summary: "S/MIME for webmail: key custody under the user's passphrase, signing, encryption, verification.",
      description:
        'Errors are `{"error": {"code", "message", ...}}` with a stable `code` (backend/src/errors.ts) whose kind decides the status; a 5xx never carries an internal message. Every answer but this document carries `Cache-Control: no-store`. A method a path does not take is 405 `METHOD_NOT_ALLOWED`; a method no route knows is 501 `METHOD_NOT_IMPLEMENTED`. README.md, section HTTP API, says the same in prose.',
      license: { name: 'MPL-2.0', identifier: 'MPL-2.0' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/', description: 'this server' }],
    tags: TAGS,
    paths,
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: { ApiError: API_ERROR, ...SCHEMAS },
    },
  };
}

/** GET /api/v1/openapi.json: no authentication, cacheable, with an ETag. */
export function openApiRoutes(): Router<AppState> {
  const r = new Router<AppState>();
  let cached: { body: string; etag: string } | undefined;
  r.get(OPENAPI_PATH, (ctx) => {
    cached ??= (() => {
      const body = JSON.stringify(openApiDocument());
      return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    })();
    ctx.state.cacheControl = `public, max-age=${OPENAPI_MAX_AGE_S}`;
    ctx.status = 200;
    ctx.etag = cached.etag;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'application/json';
    ctx.body = cached.body;
  });
  return r;
}
