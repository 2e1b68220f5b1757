/**
 * Key backup (issue 17): the user takes one of their keys away as a PKCS#12 file under an export password of their
 * choice. Only the passphrase proves the user is there: an unlocked session is not enough, since a session left open
 * on a shared computer must not hand the private key out. The passphrase goes through the same throttle as an unlock.
 */
import { AppError } from '../errors.ts';
import { writePkcs12 } from '../smime/index.ts';
import { appendAudit } from '../store/audit.ts';
import * as throttle from '../store/throttle.ts';
import type { KeyRow } from '../store/keys.ts';
import type { UserRow } from '../store/users.ts';
import { beginAttempt, failAttempt, tryUnwrap, userActor, type VaultContext } from './context.ts';
import { getKey } from './history.ts';
import { isPending } from './passphrase-policy.ts';

export interface ExportedKey {
  row: KeyRow;
  /** The PKCS#12 file (see smime/pkcs12/write.ts for its protection). */
  p12: Uint8Array;
}

/**
 * The key `keyId` with its certificate and stored chain as a PKCS#12 under `exportPassword`, if `passphrase` opens
 * it. A key IT placed (pending) is refused with PASSPHRASE_CHANGE_REQUIRED before any passphrase is tried: it is not
 * the user's until they chose their own passphrase. The unwrapped key is wiped whatever happens.
 */
export async function exportKey(
  ctx: VaultContext,
  user: UserRow,
  keyId: string,
  passphrase: string,
  exportPassword: string,
): Promise<ExportedKey> {
  const row = await getKey(ctx, user, keyId);
  if (isPending(row)) throw new AppError('PASSPHRASE_CHANGE_REQUIRED', undefined, { keyId: row.id });
  await beginAttempt(ctx, user);
  const pkcs8 = await tryUnwrap(ctx, row, passphrase);
  if (!pkcs8) return failAttempt(ctx, user, 'unlock.failure');
  try {
    const p12 = await writePkcs12({
      certificate: row.certificate,
      chain: row.chain,
      pkcs8,
      password: exportPassword,
      friendlyName: row.emails[0] ?? user.email,
    });
    await ctx.db.transaction(async (tx) => {
      await throttle.recordSuccess(tx, user.id);
      await appendAudit(tx, {
        actor: userActor(user),
        userEmail: user.email,
        action: 'key.exported',
        details: { keyId: row.id, fingerprint: row.fingerprint_sha256 },
      });
    });
    return { row, p12 };
  } finally {
    pkcs8.fill(0);
  }
}
