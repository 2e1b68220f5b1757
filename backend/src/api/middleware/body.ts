/** Request bodies: content type checked, size limited, JSON parsed, then validated by a zod schema. */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { AppError } from '../../errors.ts';

export async function readRaw(ctx: Context, limitBytes: number, accept: string[]): Promise<Buffer> {
  const type = (ctx.request.type || '').toLowerCase();
  if (!accept.includes(type))
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send ${accept.join(' or ')}.`, { accepted: accept });
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes) throw new AppError('PAYLOAD_TOO_LARGE', undefined, { limitBytes });
  try {
    return await getRawBody(ctx.req, { limit: limitBytes, length: ctx.get('content-length') || undefined });
  } catch (e) {
    const type = (e as { type?: string }).type;
    if (type === 'entity.too.large') throw new AppError('PAYLOAD_TOO_LARGE', undefined, { limitBytes });
    throw new AppError('BAD_REQUEST', 'The request body could not be read.');
  }
}

export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, limitBytes: number): Promise<z.infer<S>> {
  const raw = await readRaw(ctx, limitBytes, ['application/json']);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('BAD_JSON');
  }
  return validate(schema, value);
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success)
    // Paths and messages only: a rejected value may be a passphrase.
    throw new AppError('BAD_REQUEST', 'The request is invalid.', {
      issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  return r.data;
}
