/**
 * The demo webmail's own small API, under /demo/api (issue 5). It stands in for what a real webmail already has:
 * a login (here: pick a demo user, get the token the host would sign) and a mailbox (store what was sent, list and
 * fetch messages). All S/MIME work goes through the plugin and the documented /api/v1 routes, never through here.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import { issueUserToken } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import { decodeEncodedWords, getHeader, parseAddressList, parseEntity } from '../smime/mime/index.ts';
import type { AppState, Services } from '../api/context.ts';
import { readJson, validate } from '../api/middleware/body.ts';
import { requireUser } from '../api/middleware/auth.ts';
import { emailParam } from '../api/schemas.ts';
import { DEMO_USERS } from './seed.ts';
import { findDemoUser, getDemoMessage, insertDemoMessage, listDemoMessages, listDemoUsers, replaceDemoMessageRaw } from './store.ts';
import { tamper } from './tamper.ts';

/** Lifetime of a demo login token; the page asks for a new one before it runs out. */
export const DEMO_TOKEN_LIFETIME_S = 600;

const sendBody = z.strictObject({
  messages: z.array(z.strictObject({ bcc: emailParam.nullable(), message: z.base64() })).min(1).max(100),
});

function addresses(header: string | undefined): string[] {
  return header ? parseAddressList(header).map((a) => a.address.toLowerCase()) : [];
}

function messageId(raw: string | undefined): string {
  const r = z.uuid().safeParse(raw);
  if (!r.success) throw new AppError('DEMO_MESSAGE_NOT_FOUND');
  return r.data;
}

export function demoRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/demo/api' });

  r.get('/users', async (ctx) => {
    const rows = await listDemoUsers(s.db);
    ctx.body = {
      users: rows.map((u) => {
        const d = DEMO_USERS.find((x) => x.email === u.email);
        return { email: u.email, name: u.display_name, passphrase: d?.passphrase ?? null, note: d?.note ?? '' };
      }),
    };
  });

  r.post('/login', async (ctx) => {
    const { email } = await readJson(ctx, z.strictObject({ email: emailParam }), s.config.SMIME_MAX_JSON_BYTES);
    if (!(await findDemoUser(s.db, email))) throw new AppError('DEMO_USER_UNKNOWN');
    const lifetime = Math.min(DEMO_TOKEN_LIFETIME_S, s.config.SMIME_JWT_MAX_LIFETIME_S);
    ctx.body = { token: await issueUserToken(s.config, email, lifetime), expiresInS: lifetime };
  });

  // The mailbox: the same host token as /api/v1.
  const mailbox = new Router<AppState>();
  mailbox.use(requireUser(s));
  mailbox.use(async (ctx, next) => {
    if (!(await findDemoUser(s.db, ctx.state.user!.email))) throw new AppError('DEMO_USER_UNKNOWN');
    await next();
  });

  mailbox.get('/messages', async (ctx) => {
    const { folder } = validate(z.object({ folder: z.enum(['inbox', 'sent']).default('inbox') }), ctx.query);
    const rows = await listDemoMessages(s.db, ctx.state.user!.email, folder);
    ctx.body = {
      messages: rows.map((m) => ({
        id: m.id,
        folder: m.folder,
        from: m.sender,
        to: m.recipients,
        subject: m.subject,
        tampered: m.tampered,
        date: new Date(m.created_at).toISOString(),
      })),
    };
  });

  mailbox.get('/messages/:id/raw', async (ctx) => {
    const m = await getDemoMessage(s.db, ctx.state.user!.email, messageId(ctx.params.id));
    if (!m) throw new AppError('DEMO_MESSAGE_NOT_FOUND');
    ctx.type = 'message/rfc822';
    ctx.body = Buffer.from(m.raw);
  });

  // "Send": deliver each copy to the demo mailboxes it is addressed to, and file the main copy as Sent.
  mailbox.post('/messages', async (ctx) => {
    const user = ctx.state.user!;
    const body = await readJson(ctx, sendBody, Math.ceil(s.config.SMIME_MAX_MESSAGE_BYTES * 1.4));
    const demoUsers = new Set((await listDemoUsers(s.db)).map((u) => u.email));
    const delivered: string[] = [];
    const undeliverable: string[] = [];
    await s.db.transaction(async (tx) => {
      for (const copy of body.messages) {
        const raw = Buffer.from(copy.message, 'base64');
        let entity;
        try {
          entity = parseEntity(raw);
        } catch {
          throw new AppError('MESSAGE_MALFORMED');
        }
        const from = addresses(getHeader(entity, 'from'));
        if (from.length !== 1 || from[0] !== user.email) throw new AppError('FROM_NOT_USER');
        const subject = decodeEncodedWords(getHeader(entity, 'subject') ?? '').slice(0, 500);
        const to = [...new Set([...addresses(getHeader(entity, 'to')), ...addresses(getHeader(entity, 'cc'))])];
        const targets = copy.bcc ? [copy.bcc] : to;
        for (const rcpt of targets) {
          if (!demoUsers.has(rcpt)) {
            undeliverable.push(rcpt);
            continue;
          }
          await insertDemoMessage(tx, { id: randomUUID(), owner: rcpt, folder: 'inbox', sender: user.email, recipients: to, subject, raw });
          delivered.push(rcpt);
        }
        if (!copy.bcc)
          await insertDemoMessage(tx, { id: randomUUID(), owner: user.email, folder: 'sent', sender: user.email, recipients: to, subject, raw });
      }
    });
    ctx.status = 201;
    ctx.body = { delivered, undeliverable };
  });

  mailbox.post('/messages/:id/tamper', async (ctx) => {
    const owner = ctx.state.user!.email;
    const id = messageId(ctx.params.id);
    const m = await getDemoMessage(s.db, owner, id);
    if (!m) throw new AppError('DEMO_MESSAGE_NOT_FOUND');
    await replaceDemoMessageRaw(s.db, owner, id, tamper(m.raw));
    ctx.body = { tampered: true, id };
  });

  r.use(mailbox.routes());
  return r;
}
