/**
 * /api/v1/admin: what IT does. Place a PKCS#12 into a user's profile, add aliases, list a user's keys (public facts
 * only), verify the audit chain against its signed checkpoints and write one, sync the directory and see how the last
 * sync went. There is deliberately no route that reads, sets or resets a passphrase.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { directoryOptions } from '../../directory/options.ts';
import { directoryStatus } from '../../directory/status.ts';
import { syncDirectory } from '../../directory/sync.ts';
import { AppError } from '../../errors.ts';
import { countDirectory } from '../../store/directory.ts';
import { appendAudit } from '../../store/audit.ts';
import { listKeys } from '../../store/keys.ts';
import { recoveryCoverage, uncoveredUsers } from '../../store/recovery.ts';
import { addAlias, ensureUser, findUserByEmail, listAliases } from '../../store/users.ts';
import type { AppState, Services } from '../context.ts';
import { readJson, validate } from '../middleware/body.ts';
import { requireAdmin } from '../middleware/auth.ts';
import { presentKey } from '../presenters.ts';
import { base64Bytes, emailParam, passphrase } from '../schemas.ts';

export const placeBody = z.strictObject({
  p12: base64Bytes,
  password: z.string().max(1024),
  initialPassphrase: passphrase.optional(),
  force: z.boolean().default(false),
  /** After a recovery: the key is already in the profile under a lost passphrase; put it back. */
  replace: z.boolean().default(false),
});
export const aliasBody = z.strictObject({ alias: emailParam });
export const syncBody = z.strictObject({ full: z.boolean().default(false) });
export const expectHeadQuery = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .optional();

export function adminRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/admin' });
  r.use(requireAdmin(s));
  userRoutes(r, s);
  auditRoutes(r, s);
  directoryRoutes(r, s);
  recoveryRoutes(r, s);
  return r;
}

/**
 * Organisational key recovery (issue 17): how many keys the configured recovery certificate covers, and who still has
 * a key without a copy (they are covered at their next unlock). Recovery itself is never done by the server.
 */
function recoveryRoutes(r: Router<AppState>, s: Services): void {
  r.get('/recovery/status', async (ctx) => {
    const target = s.config.recovery;
    if (!target) {
      ctx.body = { configured: false };
      return;
    }
    const limit = s.config.SMIME_DIRECTORY_REPORT_LIMIT;
    ctx.body = {
      configured: true,
      setId: target.setId,
      subject: target.subject,
      ...(await recoveryCoverage(s.db, target.setId)),
      uncoveredUsers: await uncoveredUsers(s.db, target.setId, limit),
    };
  });
}

/** IT's placement of keys and aliases for a user. */
function userRoutes(r: Router<AppState>, s: Services): void {
  r.post('/users/:email/keys', async (ctx) => {
    const email = validate(emailParam, ctx.params.email);
    const body = await readJson(ctx, placeBody, s.config.SMIME_MAX_JSON_BYTES);
    const row = await s.vault.placeKey({
      actor: 'admin:api',
      userEmail: email,
      p12: body.p12,
      p12Password: body.password,
      initialPassphrase: body.initialPassphrase,
      force: body.force,
      replace: body.replace,
    });
    ctx.status = 201;
    ctx.body = { user: email, key: presentKey(row), replaced: row.replaced };
  });

  r.get('/users/:email/keys', async (ctx) => {
    const user = await findUserByEmail(s.db, validate(emailParam, ctx.params.email));
    if (!user) throw new AppError('USER_NOT_FOUND');
    ctx.body = {
      user: user.email,
      aliases: await listAliases(s.db, user.id),
      keys: (await listKeys(s.db, user.id)).map(presentKey),
    };
  });

  r.post('/users/:email/aliases', async (ctx) => {
    const email = validate(emailParam, ctx.params.email);
    const { alias } = await readJson(ctx, aliasBody, s.config.SMIME_MAX_JSON_BYTES);
    await s.db.transaction(async (tx) => {
      const user = await ensureUser(tx, email);
      if (alias === user.email) return;
      if (!(await addAlias(tx, user.id, alias))) throw new AppError('ALIAS_TAKEN');
      await appendAudit(tx, { actor: 'admin:api', userEmail: user.email, action: 'alias.added', details: { alias } });
    });
    ctx.status = 201;
    ctx.body = { user: email, alias };
  });
}

function auditRoutes(r: Router<AppState>, s: Services): void {
  // The whole chain, and every checkpoint in the server's checkpoint file when there is one (issue 12). An auditor
  // who does not trust this server runs `smime-admin audit-verify --checkpoints` with their own copy instead.
  r.get('/audit/verify', async (ctx) => {
    const expectHead = validate(expectHeadQuery, ctx.query.expectHead);
    ctx.body = await s.auditCheckpoints.verify(s.db, { expectHead });
  });

  // A checkpoint now, besides the scheduled ones (before a maintenance window, after an incident review).
  r.post('/audit/checkpoint', async (ctx) => {
    const checkpoint = await s.auditCheckpoints.write(s.db);
    ctx.status = 201;
    ctx.body = { checkpoint, file: s.auditCheckpoints.file };
  });
}

function directoryRoutes(r: Router<AppState>, s: Services): void {
  // Directory sync (issue 4). Answers when the sync is done (a large directory takes a while): the summary, or a
  // DIRECTORY_* error with the last good copy kept; 409 DIRECTORY_SYNC_RUNNING if one runs on any instance.
  r.post('/directory/sync', async (ctx) => {
    const opts = directoryOptions(s.config);
    if (!opts) throw new AppError('DIRECTORY_NOT_CONFIGURED');
    const { full } = ctx.request.length
      ? await readJson(ctx, syncBody, s.config.SMIME_MAX_JSON_BYTES)
      : { full: false };
    const summary = await syncDirectory(s.db, opts, { mode: full ? 'full' : 'auto', actor: 'admin:api', log: s.log });
    ctx.body = { summary };
  });

  r.get('/directory/status', async (ctx) => {
    const status = await directoryStatus(s.db, s.config.LDAP_URL !== undefined, s.config.SMIME_DIRECTORY_REPORT_LIMIT);
    ctx.body = { ...status, stored: await countDirectory(s.db) };
  });
}
