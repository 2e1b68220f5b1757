/** /api/v1/keys: the user's own private keys (key history): list, import, details, default, adopt, delete. */
import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { certificateToPem } from '../../smime/certificate.ts';
import type { AppState, Services } from '../context.ts';
import { readJson, validate } from '../middleware/body.ts';
import { requireUser } from '../middleware/auth.ts';
import { presentKey } from '../presenters.ts';
import { base64Bytes, keyIdParam, passphrase } from '../schemas.ts';

const importBody = z.strictObject({ p12: base64Bytes, password: z.string().max(1024), passphrase: passphrase.optional() });
const adoptBody = z.strictObject({ keyPassword: passphrase, passphrase });

function keyId(raw: string | undefined): string {
  const r = keyIdParam.safeParse(raw);
  // A malformed id cannot name a key: same answer as a key that does not exist (or belongs to someone else).
  if (!r.success) throw new AppError('KEY_NOT_FOUND');
  return r.data;
}

export function keyRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/keys' });
  r.use(requireUser(s));

  r.get('/', async (ctx) => {
    ctx.body = { keys: (await s.vault.listKeys(ctx.state.user!)).map(presentKey) };
  });

  r.post('/', async (ctx) => {
    const body = await readJson(ctx, importBody, s.config.SMIME_MAX_JSON_BYTES);
    const row = await s.vault.importKey(ctx.state.user!, {
      p12: body.p12,
      p12Password: body.password,
      passphrase: body.passphrase,
    });
    ctx.status = 201;
    ctx.body = { key: presentKey(row) };
  });

  r.get('/:id', async (ctx) => {
    ctx.body = { key: presentKey(await s.vault.getKey(ctx.state.user!, keyId(ctx.params.id))) };
  });

  r.get('/:id/certificate', async (ctx) => {
    const row = await s.vault.getKey(ctx.state.user!, keyId(ctx.params.id));
    ctx.type = 'application/pem-certificate-chain';
    ctx.body = [row.certificate, ...row.chain].map(certificateToPem).join('');
  });

  r.put('/:id/default', async (ctx) => {
    ctx.body = { key: presentKey(await s.vault.setDefault(ctx.state.user!, keyId(ctx.params.id))) };
  });

  r.post('/:id/adopt', async (ctx) => {
    const id = keyId(ctx.params.id);
    const body = await readJson(ctx, adoptBody, s.config.SMIME_MAX_JSON_BYTES);
    ctx.body = { key: presentKey(await s.vault.adoptKey(ctx.state.user!, id, body.keyPassword, body.passphrase)) };
  });

  r.delete('/:id', async (ctx) => {
    const id = keyId(ctx.params.id);
    const confirm = validate(z.string().max(200).optional(), ctx.query.confirm);
    await s.vault.deleteKey(ctx.state.user!, id, confirm);
    ctx.body = { deleted: true, id };
  });
  return r;
}
