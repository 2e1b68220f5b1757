/** /api/v1/me: who the token says the user is, and their own audit trail. */
import Router from '@koa/router';
import { listAudit } from '../../store/audit.ts';
import { listAliases } from '../../store/users.ts';
import type { AppState, Services } from '../context.ts';
import type { AuditTrail, Me } from '../contract.ts';
import { requireUser } from '../middleware/auth.ts';

export function meRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/me' });
  r.use(requireUser(s));
  r.get('/', async (ctx) => {
    const user = ctx.state.user!;
    const keys = await s.vault.listKeys(user);
    ctx.body = {
      email: user.email,
      aliases: await listAliases(s.db, user.id),
      keys: keys.length,
      mustChangePassphrase: keys.some((k) => k.must_change_passphrase),
      unlockIdleTimeoutS: s.config.SMIME_UNLOCK_IDLE_TIMEOUT_S,
      passphraseMinLength: s.config.SMIME_PASSPHRASE_MIN_LENGTH,
    } satisfies Me;
  });
  r.get('/audit', async (ctx) => {
    const entries = await listAudit(s.db, { userEmail: ctx.state.user!.email, limit: 200 });
    ctx.body = {
      entries: entries.map((e) => ({
        seq: e.seq,
        at: new Date(e.at).toISOString(),
        actor: e.actor,
        action: e.action,
        details: e.details,
      })),
    } satisfies AuditTrail;
  });
  return r;
}
