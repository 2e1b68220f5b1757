/**
 * Recovery copies (issue 17): with a recovery certificate configured (SMIME_RECOVERY_CERTIFICATE), every private key
 * the vault stores is also wrapped to it, and keys stored before it was configured are wrapped the next time their
 * owner's passphrase opens them (unlock, passphrase change, adoption): the only moments the server holds them in
 * plaintext. The copy is public-key encryption (recovery/escrow.ts), so the server can make copies but never open
 * one: that takes the recovery private key, which only M custodians together can rebuild, off the server.
 *
 * The copies are recorded in the audit log, so a user sees that their key can be recovered by the organisation.
 */
import type { RecoveryTarget } from '../recovery/escrow.ts';
import { wrapForRecovery } from '../recovery/escrow.ts';
import { appendAudit } from '../store/audit.ts';
import type { Queryable } from '../store/db.ts';
import * as recovery from '../store/recovery.ts';
import type { UserRow } from '../store/users.ts';
import type { VaultContext } from './context.ts';

export interface RecoveryCopy {
  keyId: string;
  envelope: Uint8Array;
}

/** Wrap each key to the recovery certificate; none when recovery is not configured. */
export async function makeRecoveryCopies(
  ctx: VaultContext,
  opened: Iterable<readonly [keyId: string, pkcs8: Uint8Array]>,
): Promise<RecoveryCopy[]> {
  const target = ctx.options.recovery;
  if (!target) return [];
  const out: RecoveryCopy[] = [];
  for (const [keyId, pkcs8] of opened) out.push({ keyId, envelope: await wrapForRecovery(pkcs8, target) });
  return out;
}

/** Store copies in the caller's transaction (the certificate recorded first); the ids of the keys newly covered. */
export async function storeRecoveryCopies(
  tx: Queryable,
  target: RecoveryTarget,
  copies: readonly RecoveryCopy[],
): Promise<string[]> {
  if (copies.length === 0) return [];
  await recovery.recordRecoveryCertificate(tx, target);
  const added: string[] = [];
  for (const c of copies)
    if (await recovery.insertRecoveryWrap(tx, { keyId: c.keyId, setId: target.setId, envelope: c.envelope }))
      added.push(c.keyId);
  return added;
}

/**
 * Cover the opened keys that have no copy for the configured certificate yet (an audit entry 'key.recovery_wrapped'
 * names them). Never fails the operation that opened the keys: a failure is logged, and the key is covered at a later
 * unlock; the admin status counts what is not covered.
 */
export async function coverOpenedKeys(ctx: VaultContext, user: UserRow, opened: Map<string, Buffer>): Promise<void> {
  const target = ctx.options.recovery;
  if (!target || opened.size === 0) return;
  try {
    const missing = await recovery.keysWithoutWrap(ctx.db, [...opened.keys()], target.setId);
    if (missing.length === 0) return;
    const copies = await makeRecoveryCopies(
      ctx,
      missing.map((id) => [id, opened.get(id)!] as const),
    );
    await ctx.db.transaction(async (tx) => {
      const added = await storeRecoveryCopies(tx, target, copies);
      if (added.length > 0)
        await appendAudit(tx, {
          actor: 'system',
          userEmail: user.email,
          action: 'key.recovery_wrapped',
          details: { keyIds: added, recoverySetId: target.setId, recoveryCertificate: target.subject },
        });
    });
  } catch (e) {
    ctx.log?.error({ err: e, user: user.email }, 'recovery copy not stored; retried at the next unlock');
  }
}
