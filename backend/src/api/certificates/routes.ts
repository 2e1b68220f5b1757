/**
 * /api/v1/certificates: the public keys the user can encrypt to, each with its source: the user's exchanged ones
 * (harvested from signed mail) and the directory's (synced for everyone, issue 4); and recipient resolution.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { certificateToPem } from '../../smime/index.ts';
import type { Resolution as RecipientResolution } from '../../mail/recipients.ts';
import { appendAudit } from '../../store/audit.ts';
import { deleteExchanged, getExchanged, listExchanged, type ExchangedCertRow } from '../../store/certificates.ts';
import {
  getDirectoryCertificate,
  listDirectoryCertificates,
  type DirectoryCertWithEntry,
} from '../../store/directory.ts';
import type { AppState, Services } from '../context.ts';
import type { PublicCertificate, Resolution } from '../contract.ts';
import { validate } from '../middleware/body.ts';
import { requireUser } from '../middleware/auth.ts';
import { keyStatus, presentCertificateFacts } from '../presenters.ts';
import { emailParam, idFromPath } from '../schemas.ts';

/** Addresses one resolve call may ask about: a long recipient list, not a directory dump. */
export const MAX_RESOLVE_EMAILS = 500;
/** Directory certificates one list answer carries: the directory may hold tens of thousands; filter to see others. */
const MAX_LIST_DIRECTORY = 500;

function present(r: ExchangedCertRow) {
  return {
    id: r.id,
    email: r.email,
    source: r.source,
    ...presentCertificateFacts(r),
    capabilities: r.capabilities,
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.last_seen_at).toISOString(),
  } satisfies PublicCertificate;
}

function presentDirectory(r: DirectoryCertWithEntry, email?: string) {
  return {
    id: r.id,
    email: email && r.addresses.includes(email) ? email : (r.addresses[0] ?? r.entry_addresses[0] ?? null),
    source: 'directory' as const,
    addresses: r.addresses,
    dn: r.dn,
    attribute: r.attribute,
    ...presentCertificateFacts(r),
    usable: r.usable && keyStatus(r) === 'valid',
    reason: r.reason ?? (keyStatus(r) === 'valid' ? null : `${r.subject}: ${keyStatus(r)}`),
    capabilities: [] as string[],
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.updated_at).toISOString(),
  } satisfies PublicCertificate;
}

export const listQuery = z.object({
  email: emailParam.optional(),
  q: z.string().max(200).optional(),
  source: z.enum(['directory', 'exchanged', 'harvested', 'imported']).optional(),
});

function presentResolution(x: RecipientResolution): Resolution {
  return {
    email: x.email,
    ready: x.ready,
    reasons: x.reasons,
    warnings: x.warnings,
    certificate: x.certificate
      ? {
          id: x.certificate.id,
          source: x.certificate.source,
          subject: x.certificate.subject,
          fingerprintSha256: x.certificate.fingerprintSha256,
          notAfter: x.certificate.notAfter.toISOString(),
          // Directory certificates (issue 12): good, unknown (shown, used unless configured to block), none, off.
          ...(x.certificate.revocation ? { revocation: x.certificate.revocation } : {}),
        }
      : null,
  };
}

export function certificateRoutes(s: Services): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/v1/certificates' });
  r.use(requireUser(s));

  r.get('/', async (ctx) => {
    const q = validate(listQuery, ctx.query);
    const filter = { email: q.email, q: q.q };
    const exchanged =
      q.source === 'directory'
        ? []
        : (await listExchanged(s.db, ctx.state.user!.id, filter)).filter(
            (r) => !q.source || q.source === 'exchanged' || r.source === q.source,
          );
    const directory =
      !q.source || q.source === 'directory'
        ? await listDirectoryCertificates(s.db, { ...filter, limit: MAX_LIST_DIRECTORY })
        : { rows: [], total: 0 };
    ctx.body = {
      // Directory first: that is the order in which recipient resolution prefers them.
      certificates: [...directory.rows.map((r) => presentDirectory(r, q.email)), ...exchanged.map(present)],
      directoryTotal: directory.total,
      directoryTruncated: directory.total > directory.rows.length,
    };
  });

  r.get('/resolve', async (ctx) => {
    const raw = ctx.query.email;
    const emails = validate(
      z.array(emailParam).min(1).max(MAX_RESOLVE_EMAILS),
      Array.isArray(raw) ? raw : raw ? [raw] : [],
    );
    const resolutions = await s.mail.resolve(ctx.state.user!, emails);
    ctx.body = { recipients: resolutions.map(presentResolution) };
  });

  r.get('/:id', async (ctx) => {
    const id = idFromPath(ctx.params.id, 'CERTIFICATE_NOT_FOUND');
    const row = await getExchanged(s.db, ctx.state.user!.id, id);
    if (row) {
      ctx.body = { certificate: { ...present(row), pem: certificateToPem(row.certificate) } };
      return;
    }
    const dir = await getDirectoryCertificate(s.db, id);
    if (!dir) throw new AppError('CERTIFICATE_NOT_FOUND');
    ctx.body = { certificate: { ...presentDirectory(dir), pem: certificateToPem(dir.certificate) } };
  });

  r.delete('/:id', async (ctx) => {
    const id = idFromPath(ctx.params.id, 'CERTIFICATE_NOT_FOUND');
    const user = ctx.state.user!;
    await s.db.transaction(async (tx) => {
      const row = await getExchanged(tx, user.id, id);
      if (!row && (await getDirectoryCertificate(tx, id))) throw new AppError('DIRECTORY_CERTIFICATE_READ_ONLY');
      if (!row || !(await deleteExchanged(tx, user.id, id))) throw new AppError('CERTIFICATE_NOT_FOUND');
      await appendAudit(tx, {
        actor: `user:${user.email}`,
        userEmail: user.email,
        action: 'certificate.deleted',
        details: { email: row.email, fingerprint: row.fingerprint_sha256 },
      });
    });
    ctx.body = { deleted: true, id };
  });
  return r;
}
