/**
 * /api/v1/session: unlock, lock, status, passphrase change.
 *
 * The unlock credential reaches browsers as an HttpOnly cookie (script on the page cannot read it) and server-to-server
 * clients, on request, in the response body; they send it back in the X-Smime-Unlock header.
 */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { UserRow } from '../../store/users.ts';
import type { SessionStatus as VaultSessionStatus, UnlockResult as VaultUnlockResult } from '../../vault/vault.ts';
import type { AppState, Services } from '../context.ts';
import type { SessionStatus, UnlockResult } from '../contract.ts';
import { readJson } from '../middleware/body.ts';
import { requireUser } from '../middleware/auth.ts';
import { passphrase } from '../schemas.ts';

export const UNLOCK_HEADER = 'x-smime-unlock';

/** One cookie per user, so two users of one browser (a shared desk, the demo) do not lock each other out. */
export function unlockCookieName(user: Pick<UserRow, 'email'>): string {
  return `smime_unlock_${createHash('sha256').update(user.email).digest('hex').slice(0, 12)}`;
}

export function unlockToken(ctx: Context, user: UserRow): string | undefined {
  return ctx.get(UNLOCK_HEADER) || ctx.cookies.get(unlockCookieName(user)) || undefined;
}

export const unlockBody = z.strictObject({ passphrase, delivery: z.enum(['cookie', 'header']).default('cookie') });
export const changeBody = z.strictObject({ currentPassphrase: passphrase, newPassphrase: passphrase });

function presentStatus(st: VaultSessionStatus): SessionStatus {
  return {
    unlocked: st.unlocked,
    ...(st.sessionId ? { sessionId: st.sessionId } : {}),
    ...(st.expiresAt ? { expiresAt: st.expiresAt.toISOString() } : {}),
    ...(st.idleExpiresAt ? { idleExpiresAt: st.idleExpiresAt.toISOString() } : {}),
    idleTimeoutS: st.idleTimeoutS,
    unlockedKeyIds: st.unlockedKeyIds,
  };
}

/** The unlock answer; the credential is in it only when asked for by header delivery (a cookie carries it otherwise). */
function presentUnlock(result: VaultUnlockResult, delivery: 'cookie' | 'header'): UnlockResult {
  const { session, idleTimeoutS, lockedKeyIds, pendingKeyIds } = result;
  if (!session)
    return {
      unlocked: false,
      idleTimeoutS,
      unlockedKeyIds: [],
      lockedKeyIds,
      pendingKeyIds,
      mustChangePassphrase: true,
    };
  return {
    unlocked: true,
    sessionId: session.id,
    expiresAt: session.expiresAt.toISOString(),
    idleTimeoutS,
    unlockedKeyIds: session.keyIds,
    lockedKeyIds,
    pendingKeyIds,
    mustChangePassphrase: result.mustChangePassphrase,
    ...(delivery === 'header' ? { unlockToken: session.token, header: 'X-Smime-Unlock' as const } : {}),
  };
}

export function sessionRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/session' });
  r.use(requireUser(s));
  const cookieOpts = () => ({
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: s.config.SMIME_COOKIE_SECURE,
    path: s.config.SMIME_COOKIE_PATH,
    overwrite: true,
  });
  const setCookie = (ctx: Context, user: UserRow, value: string | null, extra: { maxAge?: number } = {}) => {
    // Koa's cookie jar refuses a Secure cookie on a plain-HTTP connection (a 500), yet browsers accept one from
    // http://localhost (`npm start`, the demo), and behind a TLS proxy without SMIME_TRUST_PROXY the request looks plain.
    if (s.config.SMIME_COOKIE_SECURE) ctx.cookies.secure = true;
    ctx.cookies.set(unlockCookieName(user), value, { ...cookieOpts(), ...extra });
  };

  r.get('/', async (ctx) => {
    const user = ctx.state.user!;
    ctx.body = presentStatus(await s.vault.status(user, unlockToken(ctx, user)));
  });

  r.post('/unlock', async (ctx) => {
    const user = ctx.state.user!;
    const body = await readJson(ctx, unlockBody, s.config.SMIME_MAX_JSON_BYTES);
    const result = await s.vault.unlock(user, body.passphrase);
    if (result.session && body.delivery === 'cookie')
      setCookie(ctx, user, result.session.token, { maxAge: s.config.SMIME_UNLOCK_MAX_LIFETIME_S * 1000 });
    ctx.body = presentUnlock(result, body.delivery);
  });

  r.delete('/unlock', async (ctx) => {
    const user = ctx.state.user!;
    const all = ctx.query.all === 'true';
    const locked = await s.vault.lock(user, unlockToken(ctx, user), all);
    setCookie(ctx, user, null);
    ctx.body = { unlocked: false, sessionsLocked: locked };
  });

  r.post('/passphrase', async (ctx) => {
    const user = ctx.state.user!;
    const body = await readJson(ctx, changeBody, s.config.SMIME_MAX_JSON_BYTES);
    // The session this request proves (if any) survives the change; every other one of the user ends.
    const keep = (await s.vault.status(user, unlockToken(ctx, user))).sessionId;
    const { rewrapped, sessionsEnded } = await s.vault.changePassphrase(
      user,
      body.currentPassphrase,
      body.newPassphrase,
      keep,
    );
    ctx.body = { changed: true, rewrappedKeyIds: rewrapped, sessionsEnded };
  });

  r.all('/', () => {
    throw new AppError('METHOD_NOT_ALLOWED');
  });
  return r;
}
