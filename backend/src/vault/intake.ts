/**
 * Taking a key in (issue 2): IT places a PKCS#12 into a user's profile, or the user imports their own. The file is
 * read off the event loop (p12-pool.ts), its certificate must be for one of the user's addresses and for email (the
 * engine's rule, smime/usable.ts) unless IT forces it, and the key is wrapped before it is stored.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import {
  allowsEmailProtection,
  type CertificateInfo,
  describeCertificate,
  namesAnAddress,
  ownKeyUnsupportedReason,
  type Pkcs12Contents,
  validityAt,
} from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import { recordOf } from '../store/certificate-record.ts';
import type { Queryable } from '../store/db.ts';
import * as keys from '../store/keys.ts';
import * as sessions from '../store/sessions.ts';
import type { KeyRow, WrappedKey } from '../store/keys.ts';
import { ensureUser, userAddresses, type UserRow } from '../store/users.ts';
import { provePassphrase, userActor, type VaultContext, wrapKey } from './context.ts';
import { checkNewPassphrase, isPending } from './passphrase-policy.ts';
import { makeRecoveryCopies, storeRecoveryCopies } from './recovery-copies.ts';

/** A key IT placed; `replaced` when it was already in the profile and was put back under a new wrap. */
export type PlacedKey = KeyRow & { replaced: boolean };

interface ReadP12 {
  contents: Pkcs12Contents;
  info: CertificateInfo;
}

async function readP12(ctx: VaultContext, p12: Uint8Array, password: string): Promise<ReadP12> {
  if (p12.length > ctx.options.maxP12Bytes) throw new AppError('P12_TOO_LARGE');
  // An engine error (SmimeError) is an AppError of the one registry: it reaches the API as it is.
  const contents = await ctx.p12Pool.parse(p12, password);
  const info = describeCertificate(contents.certificate);
  // Even IT's force does not store a key nothing could be done with (issue 14: Ed25519 was accepted silently).
  const unsupported = ownKeyUnsupportedReason(info);
  if (unsupported)
    throw new AppError('KEY_TYPE_UNSUPPORTED', `${unsupported}.`, {
      keyAlgorithm: info.namedCurve ? `${info.keyAlgorithm} ${info.namedCurve}` : info.keyAlgorithm,
    });
  return { contents, info };
}

async function checkCertificateFor(
  ctx: VaultContext,
  user: UserRow,
  info: CertificateInfo,
  force: boolean,
): Promise<void> {
  if (force) return;
  const addresses = await userAddresses(ctx.db, user);
  if (!namesAnAddress(info.emails, addresses))
    throw new AppError(
      'CERT_EMAIL_MISMATCH',
      `The certificate is for ${info.emails.join(', ') || 'no email address'}, not for ${addresses.join(', ')}.`,
      { certificateEmails: info.emails, userAddresses: addresses },
    );
  const eku = info.extendedKeyUsage;
  if (!allowsEmailProtection(eku)) throw new AppError('CERT_NOT_FOR_EMAIL', undefined, { extendedKeyUsage: eku });
}

/** A new key becomes the signing default when it is valid and the current default is not, or lasts longer. */
async function becomesDefault(tx: Queryable, userId: number, info: CertificateInfo): Promise<boolean> {
  const current = (await keys.listKeys(tx, userId)).find((k) => k.is_default);
  if (!current) return true;
  const currentValid = validityAt({ notBefore: current.not_before, notAfter: current.not_after }) === 'valid';
  return validityAt(info) === 'valid' && (!currentValid || info.notAfter > current.not_after);
}

interface StoreMeta {
  source: 'admin' | 'user';
  mustChange: boolean;
  actor: string;
  action: 'key.placed' | 'key.imported';
  forced: boolean;
}

async function storeKey(
  ctx: VaultContext,
  user: UserRow,
  read: ReadP12,
  wrapped: WrappedKey,
  keyId: string,
  meta: StoreMeta,
): Promise<KeyRow> {
  const { contents, info } = read;
  const target = ctx.options.recovery;
  const copies = await makeRecoveryCopies(ctx, [[keyId, contents.privateKey]]);
  return ctx.db.transaction(async (tx) => {
    if (await keys.findKeyByFingerprint(tx, user.id, info.fingerprintSha256)) throw new AppError('KEY_ALREADY_PRESENT');
    await keys.insertKey(tx, {
      id: keyId,
      userId: user.id,
      certificate: contents.certificate,
      chain: contents.chain,
      ...recordOf(info),
      emails: info.emails,
      wrapped,
      mustChangePassphrase: meta.mustChange,
      isDefault: await becomesDefault(tx, user.id, info),
      source: meta.source,
    });
    // In the same transaction as the key: no key stored without its recovery copy while recovery is configured.
    if (target) await storeRecoveryCopies(tx, target, copies);
    const { fingerprintSha256: fingerprint, subject } = info;
    await appendAudit(tx, {
      actor: meta.actor,
      userEmail: user.email,
      action: meta.action,
      details: {
        keyId,
        fingerprint,
        subject,
        notAfter: info.notAfter.toISOString(),
        forced: meta.forced,
        protection: contents.protection,
        recoverySetId: target?.setId,
      },
    });
    return (await keys.getKey(tx, user.id, keyId))!;
  });
}

/**
 * A key the user can no longer open (passphrase forgotten), recovered by the custodians (issue 17) and placed back by
 * IT: the same private key (the file's key matches the certificate, whose fingerprint matches the row) under a new
 * wrap the user must take over. The row and its id stay, so its recovery copies stay valid; every unlock session of
 * the user ends, as at a passphrase change.
 */
async function replaceKey(
  ctx: VaultContext,
  user: UserRow,
  read: ReadP12,
  wrapped: WrappedKey,
  present: KeyRow,
  meta: { actor: string; forced: boolean },
): Promise<KeyRow> {
  const target = ctx.options.recovery;
  const copies = await makeRecoveryCopies(ctx, [[present.id, read.contents.privateKey]]);
  return ctx.db.transaction(async (tx) => {
    if (!(await keys.replaceWrap(tx, user.id, present.id, wrapped))) throw new AppError('CONCURRENT_CHANGE');
    if (target) await storeRecoveryCopies(tx, target, copies);
    const sessionsEnded = await sessions.deleteUserSessions(tx, user.id);
    await appendAudit(tx, {
      actor: meta.actor,
      userEmail: user.email,
      action: 'key.replaced',
      details: {
        keyId: present.id,
        fingerprint: present.fingerprint_sha256,
        subject: read.info.subject,
        forced: meta.forced,
        protection: read.contents.protection,
        sessionsEnded,
        recoverySetId: target?.setId,
      },
    });
    return (await keys.getKey(tx, user.id, present.id))!;
  });
}

/**
 * IT places a PKCS#12 into a user's profile (CLI import-p12 or the admin endpoint). The .p12 password becomes the
 * initial passphrase unless `initialPassphrase` is given; either way the key must get the user's own passphrase
 * before it can be used.
 */
export async function placeKey(
  ctx: VaultContext,
  input: {
    actor: string;
    userEmail: string;
    p12: Uint8Array;
    p12Password: string;
    initialPassphrase?: string;
    force?: boolean;
    /** The key is already in the profile (its passphrase forgotten): put it back under the initial passphrase. */
    replace?: boolean;
  },
): Promise<PlacedKey> {
  const read = await readP12(ctx, input.p12, input.p12Password);
  try {
    const user = await ensureUser(ctx.db, input.userEmail);
    const forced = input.force ?? false;
    await checkCertificateFor(ctx, user, read.info, forced);
    // Placing the same file again (a re-run of a bulk import, issue 15) is answered before the costly wrap; storeKey
    // checks again inside its transaction against a concurrent placement. `replace` puts a recovered key back.
    const present = await keys.findKeyByFingerprint(ctx.db, user.id, read.info.fingerprintSha256);
    if (present && !input.replace) throw new AppError('KEY_ALREADY_PRESENT', undefined, { keyId: present.id });
    if (input.initialPassphrase !== undefined)
      checkNewPassphrase(input.initialPassphrase, ctx.options.passphraseMinLength);
    const keyId = present?.id ?? randomUUID();
    const passphrase = input.initialPassphrase ?? input.p12Password;
    const wrapped = await wrapKey(ctx, user.id, keyId, passphrase, read.contents.privateKey);
    if (present)
      return {
        ...(await replaceKey(ctx, user, read, wrapped, present, { actor: input.actor, forced })),
        replaced: true,
      };
    const meta: StoreMeta = { source: 'admin', mustChange: true, actor: input.actor, action: 'key.placed', forced };
    return { ...(await storeKey(ctx, user, read, wrapped, keyId, meta)), replaced: false };
  } finally {
    read.contents.privateKey.fill(0);
  }
}

/**
 * The user imports their own PKCS#12. With keys already under a passphrase, `passphrase` must be that passphrase
 * (checked, throttled); a first key takes `passphrase` as the new passphrase.
 */
export async function importKey(
  ctx: VaultContext,
  user: UserRow,
  input: { p12: Uint8Array; p12Password: string; passphrase?: string },
): Promise<KeyRow> {
  const read = await readP12(ctx, input.p12, input.p12Password);
  try {
    await checkCertificateFor(ctx, user, read.info, false);
    if (!input.passphrase) throw new AppError('PASSPHRASE_REQUIRED');
    const existing = await keys.listKeys(ctx.db, user.id);
    const own = existing.filter((k) => !isPending(k));
    // Only keys IT placed and the user has not taken over: no passphrase of the user's own exists yet to prove, and
    // a passphrase given here would become it, so the token alone could plant a key that takes over as the signing
    // default and receives every encrypt-to-self copy (issue 12). The user takes over IT's key first.
    if (existing.length > 0 && own.length === 0)
      throw new AppError(
        'PASSPHRASE_CHANGE_REQUIRED',
        'Take over the key IT placed for you (choose your passphrase) before importing another.',
      );
    if (own.length > 0) await provePassphrase(ctx, user, own[0]!, input.passphrase);
    else checkNewPassphrase(input.passphrase, ctx.options.passphraseMinLength);
    const keyId = randomUUID();
    const wrapped = await wrapKey(ctx, user.id, keyId, input.passphrase, read.contents.privateKey);
    const meta: StoreMeta = {
      source: 'user',
      mustChange: false,
      actor: userActor(user),
      action: 'key.imported',
      forced: false,
    };
    return await storeKey(ctx, user, read, wrapped, keyId, meta);
  } finally {
    read.contents.privateKey.fill(0);
  }
}
