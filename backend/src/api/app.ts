/**
 * The Koa application. Every request runs the same chain: error mapping -> security headers -> rate limit ->
 * (per router) authentication -> input validation -> handler -> presenter.
 */
import Koa from 'koa';
import { AppError } from '../errors.ts';
import type { Context, Next } from 'koa';
import Router from '@koa/router';
import type { AppState, Services } from './context.ts';
import { adminRoutes } from './admin/routes.ts';
import { keyRoutes } from './keys/routes.ts';
import { meRoutes } from './me/routes.ts';
import { errorHandler } from './middleware/errors.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { sessionRoutes } from './session/routes.ts';
import { messageRoutes } from './messages/routes.ts';
import { openApiRoutes } from './openapi.ts';
import { certificateRoutes } from './certificates/routes.ts';
import { staticRoutes } from './static.ts';

function securityHeaders() {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } finally {
      // Nothing this API answers may be stored by a browser or proxy cache (keys, statuses, errors alike), unless the
      // route said its answer is public (the OpenAPI document) and it is not an error.
      const cacheControl = (ctx.state as AppState).cacheControl;
      if (cacheControl && ctx.status < 400) ctx.set('Cache-Control', cacheControl);
      else {
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Pragma', 'no-cache');
      }
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('X-Frame-Options', 'DENY');
    }
  };
}

function accessLog(s: Services) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // Method, path and status only: no headers, no query string, no body.
      s.log.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Number(process.hrtime.bigint() - start) / 1e6 },
        'request',
      );
    }
  };
}

/** The standard methods (a route answers 405 to those it does not take); anything else (TRACE, PROPFIND, MKCOL, ...) is 501 before any route runs. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function knownMethods() {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!KNOWN_METHODS.has(ctx.method)) {
      ctx.set('Allow', [...KNOWN_METHODS].join(', '));
      throw new AppError('METHOD_NOT_IMPLEMENTED');
    }
    await next();
  };
}

/** GET (and HEAD) /healthz: 200 once migrations ran, 503 before. */
function healthRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>();
  r.get('/healthz', (ctx) => {
    const ready = s.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ok' : 'starting', database: s.db.kind };
  });
  return r;
}

/**
 * The product's app. `extra` routers come after the product's, behind the same chain (rate limit included): the demo's
 * entry module passes its own (issue 12); the product never mounts the demo itself.
 */
export function createApp(s: Services, extra: readonly Router<AppState>[] = []): Koa<AppState> {
  // Behind SMIME_TRUST_PROXY_HOPS trusted proxies, the client is the address the outermost of them saw: counted from
  // the right of X-Forwarded-For, since everything to its left was written by the client itself (issue 12).
  const app = new Koa<AppState>({
    proxy: s.config.SMIME_TRUST_PROXY,
    maxIpsCount: s.config.SMIME_TRUST_PROXY ? s.config.SMIME_TRUST_PROXY_HOPS : 0,
  });
  app.silent = true; // errors are handled and logged by errorHandler; Koa's default would print to stderr
  app.use(accessLog(s));
  app.use(securityHeaders());
  app.use(errorHandler(s.log));
  app.use(knownMethods());

  // Before the rate limit: load balancers poll it. Without allowedMethods: another method goes on to the 404.
  app.use(healthRoutes(s).routes());
  app.use(
    rateLimit({
      perMinute: s.config.SMIME_RATE_LIMIT_PER_MINUTE,
      burst: s.config.SMIME_RATE_LIMIT_PER_MINUTE,
      key: (ctx) => ctx.ip,
    }),
  );
  // The plugin bundle for hosts (issue 5) after the API. test/api/openapi.test.ts walks these routers (and the health
  // one) and checks that the OpenAPI document describes each route, and nothing else (issue 15).
  for (const router of [
    openApiRoutes(),
    sessionRoutes(s),
    keyRoutes(s),
    meRoutes(s),
    messageRoutes(s),
    certificateRoutes(s),
    adminRoutes(s),
    staticRoutes(),
    ...extra,
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
