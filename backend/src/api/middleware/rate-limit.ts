/**
 * A per-client token bucket in memory, first in every route's chain. It bounds what one client can make one instance
 * do; it is not the passphrase throttle (that one lives in the database and follows the user across instances).
 */
import type { Context, Next } from 'koa';
import { AppError } from '../../errors.ts';

/** Buckets kept at most; beyond it the oldest are dropped so a flood of addresses cannot grow memory. */
const MAX_BUCKETS = 100_000;

export function rateLimit(opts: { perMinute: number; burst: number; key: (ctx: Context) => string }) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const ratePerMs = opts.perMinute / 60_000;
  return async (ctx: Context, next: Next): Promise<void> => {
    const k = opts.key(ctx);
    const now = Date.now();
    const b = buckets.get(k) ?? { tokens: opts.burst, at: now };
    b.tokens = Math.min(opts.burst, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
    buckets.delete(k);
    buckets.set(k, b);
    if (buckets.size > MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) {
      const retry = Math.ceil((1 - b.tokens) / ratePerMs / 1000);
      ctx.set('Retry-After', String(retry));
      throw new AppError('RATE_LIMITED', undefined, { retryAfterSeconds: retry });
    }
    b.tokens -= 1;
    await next();
  };
}
