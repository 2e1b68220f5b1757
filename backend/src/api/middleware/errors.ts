/**
 * The one place where errors become HTTP answers: `{ "error": { "code", "message", ...details } }` with the status of
 * the code's kind (../../errors.ts: engine, MIME layer, vault, directory and API share one registry, so an engine
 * error needs no translation). Anything unexpected is logged with its stack and answered as a bare 500 INTERNAL whose
 * message says nothing of the cause.
 */
import type { Context, Next } from 'koa';
import { AppError, ERRORS, isAppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

export function errorBody(e: AppError): { error: Record<string, unknown> } {
  return { error: { code: e.code, message: e.message, ...(e.details ?? {}) } };
}

export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('NOT_FOUND');
      // JSON is serialised here, not by Koa after the chain: a failure doing so (an answer beyond what a string can
      // hold) is then this handler's 500 with a log line, instead of a response logged as 200 that never came.
      const body: unknown = ctx.body;
      if (
        body !== null &&
        typeof body === 'object' &&
        !Buffer.isBuffer(body) &&
        !(body instanceof Uint8Array) &&
        typeof (body as { pipe?: unknown }).pipe !== 'function'
      ) {
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(body);
      }
    } catch (err) {
      let e: AppError;
      if (isAppError(err)) {
        e = err;
      } else if (
        typeof err === 'object' &&
        err !== null &&
        'status' in err &&
        (err as { status: number }).status === 405
      ) {
        e = new AppError('METHOD_NOT_ALLOWED');
      } else if (
        typeof err === 'object' &&
        err !== null &&
        'status' in err &&
        (err as { status: number }).status === 501
      ) {
        // The router's answer to a method no route knows (PROPFIND, MKCOL, ...): the client's doing, not a fault.
        e = new AppError('METHOD_NOT_IMPLEMENTED');
      } else {
        log.error({ err, method: ctx.method, path: ctx.path }, 'unhandled error');
        e = new AppError('INTERNAL', ERRORS.INTERNAL.message);
      }
      ctx.status = e.status;
      ctx.body = errorBody(e);
      const retry = e.details?.retryAfterSeconds;
      if (
        (e.code === 'THROTTLED' || e.code === 'SERVER_BUSY' || e.code === 'RATE_LIMITED') &&
        typeof retry === 'number'
      )
        ctx.set('Retry-After', String(retry));
      if (e.status >= 500) ctx.set('Connection', 'close');
    }
  };
}
