/** The user's key history (issue 2): list, details, the signing default, and deletion behind proof and confirmation. */
import { AppError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import * as keys from '../store/keys.ts';
import type { KeyRow } from '../store/keys.ts';
import { findUserByEmail, type UserRow } from '../store/users.ts';
import { provePassphrase, userActor, type VaultContext } from './context.ts';
import { status } from './unlock.ts';

export function listKeys(ctx: VaultContext, user: UserRow): Promise<KeyRow[]> {
  return keys.listKeys(ctx.db, user.id);
}

export async function getKey(ctx: VaultContext, user: UserRow, keyId: string): Promise<KeyRow> {
  const row = await keys.getKey(ctx.db, user.id, keyId);
  if (!row) throw new AppError('KEY_NOT_FOUND');
  return row;
}

export async function setDefault(ctx: VaultContext, user: UserRow, keyId: string): Promise<KeyRow> {
  return ctx.db.transaction(async (tx) => {
    if (!(await keys.setDefaultKey(tx, user.id, keyId))) throw new AppError('KEY_NOT_FOUND');
    await appendAudit(tx, {
      actor: userActor(user),
      userEmail: user.email,
      action: 'key.default_set',
      details: { keyId },
    });
    return (await keys.getKey(tx, user.id, keyId))!;
  });
}

/**
 * Delete one of the user's keys. Needs the user, not just their host's token (issue 12): a live unlock session of
 * theirs, or their passphrase (checked and throttled like an unlock), and the key's SHA-256 fingerprint as
 * confirmation (deletion loses mail encrypted to it), which a refusal never gives away.
 */
export async function deleteKey(
  ctx: VaultContext,
  user: UserRow,
  keyId: string,
  confirmFingerprint: string | undefined,
  proof: { unlockToken?: string; passphrase?: string },
): Promise<void> {
  const row = await getKey(ctx, user, keyId);
  if (!confirmFingerprint || confirmFingerprint.toLowerCase().replace(/:/g, '') !== row.fingerprint_sha256)
    throw new AppError(
      'CONFIRMATION_REQUIRED',
      'Deleting a key makes mail encrypted to it unreadable. ' +
        "Confirm with the key's SHA-256 fingerprint (?confirm=...).",
    );
  if (proof.passphrase !== undefined) await provePassphrase(ctx, user, row, proof.passphrase);
  else if (!(await status(ctx, user, proof.unlockToken)).unlocked)
    throw new AppError('LOCKED', 'Deleting a key needs your passphrase or your keys unlocked.');
  await ctx.db.transaction(async (tx) => {
    if (!(await keys.getKey(tx, user.id, keyId))) throw new AppError('KEY_NOT_FOUND');
    await keys.deleteKey(tx, user.id, keyId);
    await appendAudit(tx, {
      actor: userActor(user),
      userEmail: user.email,
      action: 'key.deleted',
      details: { keyId, fingerprint: row.fingerprint_sha256, subject: row.subject },
    });
  });
}

/**
 * IT removes a key from a user's profile (issue 17): after a recovery, a key that had no recovery copy stays under
 * the passphrase the user forgot and keeps them from taking over the keys put back. Nothing can open it any more;
 * removing it loses only what was already lost. The fingerprint confirms which key, as at the user's own deletion.
 */
export async function removeKey(
  ctx: VaultContext,
  input: { actor: string; userEmail: string; keyId: string; confirmFingerprint: string | undefined },
): Promise<KeyRow> {
  const user = await findUserByEmail(ctx.db, input.userEmail);
  if (!user) throw new AppError('USER_NOT_FOUND');
  // An id that is no UUID names no key (and must not reach the database as one).
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.keyId))
    throw new AppError('KEY_NOT_FOUND');
  const row = await getKey(ctx, user, input.keyId.toLowerCase());
  const confirm = input.confirmFingerprint?.toLowerCase().replace(/:/g, '');
  if (confirm !== row.fingerprint_sha256)
    throw new AppError(
      'CONFIRMATION_REQUIRED',
      "Removing a key makes mail encrypted to it unreadable. Confirm with the key's SHA-256 fingerprint.",
    );
  await ctx.db.transaction(async (tx) => {
    if (!(await keys.deleteKey(tx, user.id, row.id))) throw new AppError('KEY_NOT_FOUND');
    await appendAudit(tx, {
      actor: input.actor,
      userEmail: user.email,
      action: 'key.deleted',
      details: { keyId: row.id, fingerprint: row.fingerprint_sha256, subject: row.subject },
    });
  });
  return row;
}
