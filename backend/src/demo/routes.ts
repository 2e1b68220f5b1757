/**
 * The demo webmail's own small API, under /demo/api (issue 5), and its pages under /demo. It stands in for what a real
 * webmail already has: a login (here: pick a demo user, get a token) and a mailbox (store what was sent, list and
 * fetch messages). All S/MIME work goes through the plugin and the documented /api/v1 routes, never through here.
 *
 * Since issue 12 these routers are mounted by the demo's entry module (demo/entry.ts), never by the product's app; a
 * login token is signed with the demo's own key (demo/tokens.ts); "send" takes no more than the API does
 * (SMIME_MAX_MESSAGE_BYTES per message) and each demo user's stored mail is bounded (SMIME_DEMO_MAILBOX_MAX_BYTES).
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { parseMessage } from '../mail/outgoing.ts';
import { decodeEncodedWords, getHeader, parseAddressList } from '../smime/index.ts';
import type { AppState, Services } from '../api/context.ts';
import { readJson, validate } from '../api/middleware/body.ts';
import { requireUser } from '../api/middleware/auth.ts';
import { emailParam } from '../api/schemas.ts';
import { DIST, fileRoutes, type StaticFile } from '../api/static.ts';
import type { DemoMailFiles } from './mail-files.ts';
import { DEMO_USERS } from './seed.ts';
import {
  findDemoUser,
  getDemoMessage,
  insertDemoMessage,
  listDemoMessages,
  listDemoUsers,
  markDemoMessageTampered,
  trimDemoMailbox,
} from './store.ts';
import { tamper } from './tamper.ts';
import type { DemoTokens } from './tokens.ts';

/** Lifetime of a demo login token; the page asks for a new one before it runs out. */
export const DEMO_TOKEN_LIFETIME_S = 600;
/** Copies in one send: one per Bcc recipient plus the main one. */
const MAX_COPIES_PER_SEND = 100;
/** Room for the JSON around the base64 of the copies (field names, addresses, commas). */
const SEND_JSON_OVERHEAD_BYTES = 64 * 1024;

/** What the demo's routes need besides the services (demo/entry.ts's DemoHost). */
export interface DemoRouteContext {
  tokens: DemoTokens;
  mail: DemoMailFiles;
  mailboxMaxBytes: number;
}

const DEMO_WEB = fileURLToPath(new URL('./web/', import.meta.url));

const DEMO_FILES: Record<string, StaticFile> = {
  '/demo': { file: `${DEMO_WEB}index.html`, type: 'text/html; charset=utf-8' },
  '/demo/': { file: `${DEMO_WEB}index.html`, type: 'text/html; charset=utf-8' },
  '/demo/demo.css': { file: `${DEMO_WEB}demo.css`, type: 'text/css; charset=utf-8' },
  '/demo/demo-app.js': { file: `${DIST}demo-app.js`, type: 'text/javascript; charset=utf-8' },
  '/demo/demo-app.js.map': { file: `${DIST}demo-app.js.map`, type: 'application/json' },
};

/** The demo webmail's page and bundle. */
export function demoPageRoutes(): Router<AppState> {
  return fileRoutes(DEMO_FILES);
}

const sendBody = z.strictObject({
  messages: z
    .array(z.strictObject({ bcc: emailParam.nullable(), message: z.base64() }))
    .min(1)
    .max(MAX_COPIES_PER_SEND),
});

function addresses(header: string | undefined): string[] {
  return header ? parseAddressList(header).map((a) => a.address.toLowerCase()) : [];
}

function messageId(raw: string | undefined): string {
  const r = z.uuid().safeParse(raw);
  if (!r.success) throw new AppError('DEMO_MESSAGE_NOT_FOUND');
  return r.data;
}

interface Stored {
  owner: string;
  folder: 'inbox' | 'sent';
  id: string;
}

type Send = { raw: Buffer; rows: (Stored & { sender: string; recipients: string[]; subject: string })[] };

/** Which mailbox gets which copy: each To/Cc copy to every demo user it names, a Bcc copy to its one recipient. */
function planSends(
  copies: z.infer<typeof sendBody>['messages'],
  sender: string,
  demoUsers: Set<string>,
  limits: { maxMessage: number; mailboxMaxBytes: number },
): { sends: Send[]; delivered: string[]; undeliverable: string[] } {
  const delivered: string[] = [];
  const undeliverable: string[] = [];
  const sends: Send[] = [];
  for (const copy of copies) {
    const raw = Buffer.from(copy.message, 'base64');
    if (raw.length > limits.maxMessage)
      throw new AppError('MESSAGE_TOO_LARGE', undefined, { limitBytes: limits.maxMessage });
    if (raw.length > limits.mailboxMaxBytes)
      throw new AppError('MESSAGE_TOO_LARGE', 'The message is larger than a demo mailbox holds.', {
        limitBytes: limits.mailboxMaxBytes,
      });
    const entity = parseMessage(raw);
    const from = addresses(getHeader(entity, 'from'));
    if (from.length !== 1 || from[0] !== sender) throw new AppError('FROM_NOT_USER');
    const subject = decodeEncodedWords(getHeader(entity, 'subject') ?? '').slice(0, 500);
    const to = [...new Set([...addresses(getHeader(entity, 'to')), ...addresses(getHeader(entity, 'cc'))])];
    const rows: Send['rows'] = [];
    for (const rcpt of copy.bcc ? [copy.bcc] : to) {
      if (!demoUsers.has(rcpt)) {
        undeliverable.push(rcpt);
        continue;
      }
      rows.push({ id: randomUUID(), owner: rcpt, folder: 'inbox', sender, recipients: to, subject });
      delivered.push(rcpt);
    }
    if (!copy.bcc) rows.push({ id: randomUUID(), owner: sender, folder: 'sent', sender, recipients: to, subject });
    sends.push({ raw, rows });
  }
  return { sends, delivered, undeliverable };
}

/**
 * Bytes to files first (asynchronous I/O, off the event loop), then the rows in one transaction; a failure removes
 * the files again, and a crash in between leaves files that the next start sweeps (DemoMailFiles.sweep).
 */
async function storeSends(s: Services, demo: DemoRouteContext, sends: Send[]): Promise<void> {
  const written: string[] = [];
  let evicted: string[];
  try {
    for (const send of sends) {
      const ids = send.rows.map((row) => row.id);
      await demo.mail.write(ids, send.raw);
      written.push(...ids);
    }
    evicted = await s.db.transaction(async (tx) => {
      for (const send of sends)
        for (const row of send.rows) await insertDemoMessage(tx, { ...row, size: send.raw.length });
      // Each mailbox keeps its newest messages within SMIME_DEMO_MAILBOX_MAX_BYTES: anonymous visitors share these
      // users, so without a bound a loop of sends would fill the disk.
      const owners = new Set(sends.flatMap((send) => send.rows.map((row) => row.owner)));
      const out: string[] = [];
      for (const owner of owners) out.push(...(await trimDemoMailbox(tx, owner, demo.mailboxMaxBytes)));
      return out;
    });
  } catch (e) {
    await demo.mail.remove(written);
    throw e;
  }
  await demo.mail.remove(evicted);
}

/** The mailbox: the same tokens as /api/v1 accept in demo mode. */
function mailboxRoutes(s: Services, demo: DemoRouteContext): Router<AppState> {
  const maxMessage = s.config.SMIME_MAX_MESSAGE_BYTES;
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
    const raw = m && (await demo.mail.read(m.id));
    if (!raw) throw new AppError('DEMO_MESSAGE_NOT_FOUND');
    ctx.type = 'message/rfc822';
    ctx.body = raw;
  });

  // "Send": deliver each copy to the demo mailboxes it is addressed to, and file the main copy as Sent.
  mailbox.post('/messages', async (ctx) => {
    const user = ctx.state.user!;
    // Every copy together within what the API takes for one message (base64 is 4/3 of the bytes).
    const body = await readJson(ctx, sendBody, Math.ceil((maxMessage * 4) / 3) + SEND_JSON_OVERHEAD_BYTES);
    const demoUsers = new Set((await listDemoUsers(s.db)).map((u) => u.email));
    const { sends, delivered, undeliverable } = planSends(body.messages, user.email, demoUsers, {
      maxMessage,
      mailboxMaxBytes: demo.mailboxMaxBytes,
    });
    await storeSends(s, demo, sends);
    ctx.status = 201;
    ctx.body = { delivered, undeliverable };
  });

  mailbox.post('/messages/:id/tamper', async (ctx) => {
    const owner = ctx.state.user!.email;
    const id = messageId(ctx.params.id);
    const m = await getDemoMessage(s.db, owner, id);
    const raw = m && (await demo.mail.read(m.id));
    if (!raw) throw new AppError('DEMO_MESSAGE_NOT_FOUND');
    await demo.mail.replace(id, tamper(raw));
    await markDemoMessageTampered(s.db, owner, id);
    ctx.body = { tampered: true, id };
  });

  return mailbox;
}

export function demoRoutes(s: Services, demo: DemoRouteContext): Router<AppState> {
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
    if (!demo.tokens.isDemoAddress(email) || !(await findDemoUser(s.db, email)))
      throw new AppError('DEMO_USER_UNKNOWN');
    const lifetime = Math.min(DEMO_TOKEN_LIFETIME_S, s.config.SMIME_JWT_MAX_LIFETIME_S);
    ctx.body = { token: await demo.tokens.issue(email, lifetime), expiresInS: lifetime };
  });

  r.use(mailboxRoutes(s, demo).routes());
  return r;
}
