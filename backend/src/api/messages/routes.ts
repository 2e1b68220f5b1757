/**
 * /api/v1/messages: protect an outgoing message, analyse an incoming one (issue 3). Bodies are message/rfc822, the
 * exact bytes: signatures are checked over what arrived, so nothing here re-encodes the input.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { CertificateSummary, Layer, SignatureEvidence } from '../../smime/index.ts';
import type { AppState, Services } from '../context.ts';
import type { EncryptedLayer, IncomingAnalysis, SignatureInfo, SignedLayer } from '../contract.ts';
import { readRaw, validate } from '../middleware/body.ts';
import { requireUser } from '../middleware/auth.ts';
import { unlockToken } from '../session/routes.ts';

const RFC822 = ['message/rfc822'];
/** Where the content goes in a streamed /incoming answer; no other value of the answer can contain it. */
const CONTENT_SLOT = `content-${randomUUID()}`;
const flag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');
export const outgoingQuery = z.object({
  sign: flag,
  encrypt: flag,
  format: z.enum(['multipart-signed', 'opaque']).optional(),
  cipher: z.enum(['aes-256-cbc', 'aes-128-cbc', 'aes-256-gcm', 'aes-128-gcm']).optional(),
  protectHeaders: flag,
});

function presentSignature(s: SignatureEvidence) {
  return {
    status: s.status,
    signer: s.signer,
    chain: s.chain satisfies CertificateSummary[],
    digestAlgorithm: s.digestAlgorithm,
    signatureAlgorithm: s.signatureAlgorithm,
    signingTime: s.signingTime,
    checks: s.checks,
    ...(s.warnings ? { warnings: s.warnings } : {}),
  } satisfies SignatureInfo;
}

export function presentLayer(l: Layer): SignedLayer | EncryptedLayer {
  if (l.kind === 'signed')
    return { kind: l.kind, format: l.format, status: l.status, signatures: l.signatures.map(presentSignature) };
  return {
    kind: l.kind,
    format: l.format,
    status: l.status,
    contentCipher: l.contentCipher,
    keyId: l.keyId,
    recipients: l.recipients,
    detail: l.detail,
  };
}

/** Largest answer joined into one buffer before it is written (see /outgoing). */
const JOIN_ANSWER_BYTES = 1024 * 1024;

export function messageRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/messages' });
  r.use(requireUser(s));

  r.post('/outgoing', async (ctx) => {
    const q = validate(outgoingQuery, ctx.query);
    // A large message when every worker is busy and the queue is full: refused before its body is read (issue 16).
    s.mail.messagePool.refuseWhenFull(Number(ctx.get('content-length') || 0));
    const raw = await readRaw(ctx, s.config.SMIME_MAX_MESSAGE_BYTES, RFC822);
    const user = ctx.state.user!;
    const copies = await s.mail.protectOutgoing(user, unlockToken(ctx, user), raw, {
      sign: q.sign,
      encrypt: q.encrypt,
      format: q.format,
      cipher: q.cipher,
      protectHeaders: q.protectHeaders,
    });
    if (ctx.accepts('message/rfc822', 'application/json') === 'application/json') {
      ctx.body = {
        messages: copies.map((c) => ({ bcc: c.bcc ?? null, message: Buffer.concat(c.pieces).toString('base64') })),
      };
      return;
    }
    if (copies.length > 1) throw new AppError('BCC_NEEDS_SEPARATE_COPIES', undefined, { copies: copies.length });
    ctx.type = 'message/rfc822';
    // A large answer is written piece by piece: the pieces are mostly views of the request body, never joined into
    // one more copy. A small one is joined and written at once: a stream body costs Koa a pipeline, an
    // AbortController and its AbortError per response (issue 16: 0.04 ms of a 10 KB request's CPU).
    const pieces = copies[0]!.pieces;
    const length = pieces.reduce((n, p) => n + p.length, 0);
    ctx.body =
      length <= JOIN_ANSWER_BYTES ? Buffer.concat(pieces, length) : Readable.from(pieces, { objectMode: false });
    ctx.length = length;
  });

  r.post('/incoming', async (ctx) => {
    // A large message when every worker is busy and the queue is full: refused before its body is read (issue 16).
    s.mail.messagePool.refuseWhenFull(Number(ctx.get('content-length') || 0));
    const raw = await readRaw(ctx, s.config.SMIME_MAX_MESSAGE_BYTES, RFC822);
    const user = ctx.state.user!;
    const { analysis, harvested, contentBase64 } = await s.mail.analyzeIncoming(user, unlockToken(ctx, user), raw);
    const answer = {
      layers: analysis.layers.map(presentLayer),
      signed: analysis.layers.some((l) => l.kind === 'signed'),
      encrypted: analysis.layers.some((l) => l.kind === 'encrypted'),
      parts: analysis.parts.map((p) => ({ path: p.path, ...presentLayer(p.layer) })),
      harvested,
      unwrapped: analysis.unwrapped,
      content: contentBase64 ? CONTENT_SLOT : Buffer.from(analysis.content).toString('base64'),
      ...(analysis.headerProtection ? { headerProtection: analysis.headerProtection } : {}),
    } satisfies IncomingAnalysis;
    // The worker made the content's base64: the JSON is written around it, never stringified, escaped or copied
    // again on the event loop (base64 needs no JSON escaping).
    const around = contentBase64 ? JSON.stringify(answer).split(`"${CONTENT_SLOT}"`) : [];
    if (around.length !== 2) {
      ctx.body = contentBase64 ? { ...answer, content: Buffer.from(contentBase64).toString('latin1') } : answer;
      return;
    }
    const pieces = [Buffer.from(`${around[0]}"`), contentBase64!, Buffer.from(`"${around[1]}`)];
    ctx.type = 'application/json';
    ctx.length = pieces.reduce((n, p) => n + p.length, 0);
    ctx.body = Readable.from(pieces, { objectMode: false });
  });
  return r;
}
