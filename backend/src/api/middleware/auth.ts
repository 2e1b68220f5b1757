/**
 * Authentication. User routes need `Authorization: Bearer <host-signed JWT>`; admin routes need
 * `Authorization: Bearer <admin token>` and accept no user token (and vice versa), so neither credential can stand in
 * for the other. The user row is found or created from the token's subject.
 */
import type { Context, Next } from 'koa';
import { AppError } from '../../errors.ts';
import { adminTokenMatches } from '../../auth/tokens.ts';
import { ensureUser, findUserWithAliases } from '../../store/users.ts';
import type { AppState, Services } from '../context.ts';

export function bearer(ctx: Context): string | undefined {
  const h = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

export function requireUser(s: Services) {
  return async (ctx: Context & { state: AppState }, next: Next): Promise<void> => {
    const token = bearer(ctx);
    if (!token) throw new AppError('UNAUTHENTICATED');
    const { email } = await s.tokens.verify(token);
    // The aliases come with the row: the mail routes need the user's addresses on every message (one query less).
    ctx.state.user = (await findUserWithAliases(s.db, email)) ?? (await ensureUser(s.db, email));
    await next();
  };
}

export function requireAdmin(s: Services) {
  return async (ctx: Context & { state: AppState }, next: Next): Promise<void> => {
    if (!adminTokenMatches(bearer(ctx), s.config.adminToken)) throw new AppError('ADMIN_UNAUTHENTICATED');
    ctx.state.admin = true;
    await next();
  };
}
