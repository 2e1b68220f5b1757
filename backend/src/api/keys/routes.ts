/** /api/v1/keys: the user's own private keys (key history): list, import, details, default, adopt, export, delete. */
import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { certificateToPem } from '../../smime/index.ts';
import type { AppState, Services } from '../context.ts';
import { readJson, validate } from '../middleware/body.ts';
import { requireUser } from '../middleware/auth.ts';
import { rateLimit } from '../middleware/rate-limit.ts';
import { presentKey } from '../presenters.ts';
import { unlockToken } from '../session/routes.ts';
import { base64Bytes, idFromPath, passphrase } from '../schemas.ts';

export const importBody = z.strictObject({
  p12: base64Bytes,
  password: z.string().max(1024),
  passphrase: passphrase.optional(),
});
export const adoptBody = z.strictObject({ keyPassword: passphrase, passphrase });
export const deleteBody = z.strictObject({ passphrase: passphrase.optional() });
/** Shortest export password: the file leaves the server and can be attacked offline for as long as it exists. */
export const MIN_EXPORT_PASSWORD_CHARS = 8;
export const exportBody = z.strictObject({
  passphrase,
  exportPassword: z.string().min(MIN_EXPORT_PASSWORD_CHARS).max(1024),
});

/** `<email>-<first 8 characters of the key id>.p12`, with anything a filename or a header should not hold replaced. */
export function exportFilename(email: string, keyId: string): string {
  return `${email}-${keyId.slice(0, 8)}.p12`.replace(/[^A-Za-z0-9@._+-]/g, '_');
}

/** SMIME_P12_IMPORTS_PER_HOUR per user and instance, for one kind of PKCS#12 work (a limiter each). */
function p12Limit(s: Services): ReturnType<typeof rateLimit> {
  return rateLimit({
    perMinute: s.config.SMIME_P12_IMPORTS_PER_HOUR / 60,
    burst: Math.min(5, s.config.SMIME_P12_IMPORTS_PER_HOUR),
    key: (ctx) => ctx.state.user!.email,
  });
}

/** POST /:id/export: the PKCS#12 as an attachment, never cached. */
function exportHandler(s: Services): RouterMiddleware<AppState> {
  return async (ctx) => {
    const id = idFromPath(ctx.params.id, 'KEY_NOT_FOUND');
    const body = await readJson(ctx, exportBody, s.config.SMIME_MAX_JSON_BYTES);
    const user = ctx.state.user!;
    const { row, p12 } = await s.vault.exportKey(user, id, body.passphrase, body.exportPassword);
    ctx.set('Content-Disposition', `attachment; filename="${exportFilename(user.email, row.id)}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/x-pkcs12';
    ctx.body = Buffer.from(p12.buffer, p12.byteOffset, p12.byteLength);
  };
}

export function keyRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/keys' });
  r.use(requireUser(s));

  r.get('/', async (ctx) => {
    ctx.body = { keys: (await s.vault.listKeys(ctx.state.user!)).map(presentKey) };
  });

  // Self-service imports per user, counted before the file is read: each one may cost seconds of PKCS#12 key
  // derivation, and a user's token must not buy unlimited CPU (issue 12). Per instance, like the client rate limit.
  const importLimit = p12Limit(s);

  r.post('/', importLimit, async (ctx) => {
    const body = await readJson(ctx, importBody, s.config.SMIME_MAX_JSON_BYTES);
    const row = await s.vault.importKey(ctx.state.user!, {
      p12: body.p12,
      p12Password: body.password,
      passphrase: body.passphrase,
    });
    ctx.status = 201;
    ctx.body = { key: presentKey(row) };
  });

  // Key backup (issue 17): the passphrase is required even while the keys are unlocked (see vault/export.ts).
  // Exports are counted like imports, in a budget of their own: each costs an Argon2id and a PBKDF2 derivation.
  r.post('/:id/export', p12Limit(s), exportHandler(s));

  r.get('/:id', async (ctx) => {
    ctx.body = { key: presentKey(await s.vault.getKey(ctx.state.user!, idFromPath(ctx.params.id, 'KEY_NOT_FOUND'))) };
  });

  r.get('/:id/certificate', async (ctx) => {
    const row = await s.vault.getKey(ctx.state.user!, idFromPath(ctx.params.id, 'KEY_NOT_FOUND'));
    ctx.type = 'application/pem-certificate-chain';
    ctx.body = [row.certificate, ...row.chain].map(certificateToPem).join('');
  });

  r.put('/:id/default', async (ctx) => {
    const row = await s.vault.setDefault(ctx.state.user!, idFromPath(ctx.params.id, 'KEY_NOT_FOUND'));
    ctx.body = { key: presentKey(row) };
  });

  r.post('/:id/adopt', async (ctx) => {
    const id = idFromPath(ctx.params.id, 'KEY_NOT_FOUND');
    const body = await readJson(ctx, adoptBody, s.config.SMIME_MAX_JSON_BYTES);
    ctx.body = { key: presentKey(await s.vault.adoptKey(ctx.state.user!, id, body.keyPassword, body.passphrase)) };
  });

  r.delete('/:id', async (ctx) => {
    const id = idFromPath(ctx.params.id, 'KEY_NOT_FOUND');
    const confirm = validate(z.string().max(200).optional(), ctx.query.confirm);
    // Proof that the user is there: their passphrase in the body, or an unlocked session (header or cookie).
    const body = ctx.request.length ? await readJson(ctx, deleteBody, s.config.SMIME_MAX_JSON_BYTES) : {};
    const user = ctx.state.user!;
    await s.vault.deleteKey(user, id, confirm, { unlockToken: unlockToken(ctx, user), passphrase: body.passphrase });
    ctx.body = { deleted: true, id };
  });
  return r;
}
