/**
 * `smime-admin remove-key` (issue 17): IT takes a key out of a user's profile, confirmed by its fingerprint. Meant for
 * the end of a recovery: a key without a recovery copy stays under the passphrase the user forgot and keeps them from
 * taking over the keys put back. Audited as `key.deleted` by admin:cli, which the user sees.
 */
import { AppError } from '../errors.ts';
import { createServices } from '../services.ts';
import { type CommandContext, ExplainedError, need, stringOption } from './command.ts';
import { withDb } from './database.ts';
import { errorLine, explain } from './explain.ts';

export async function cmdRemoveKey({ config, log, values }: CommandContext): Promise<number> {
  const user = need(values, 'user', 'remove-key');
  const keyId = need(values, 'key', 'remove-key');
  const confirm = stringOption(values, 'confirm');
  try {
    const row = await withDb(config, (db) =>
      createServices(config, db, log).vault.removeKey({
        actor: 'admin:cli',
        userEmail: user,
        keyId,
        confirmFingerprint: confirm,
      }),
    );
    console.log(`removed key ${row.id} of ${user.toLowerCase()}`);
    console.log(`  subject     ${row.subject}`);
    console.log(`  fingerprint ${row.fingerprint_sha256}`);
    return 0;
  } catch (e) {
    if (e instanceof AppError && e.code === 'CONFIRMATION_REQUIRED')
      throw new ExplainedError(
        errorLine({
          code: e.code,
          reason: `Removing key ${keyId} makes mail encrypted to it unreadable for good`,
          fix: `check it with smime-admin list-keys --user ${user}, then repeat with --confirm and its full SHA-256 fingerprint`,
        }),
      );
    if (e instanceof AppError && e.code === 'KEY_NOT_FOUND')
      throw new ExplainedError(
        errorLine({
          code: e.code,
          reason: `${user} has no key ${keyId}`,
          fix: `smime-admin list-keys --user ${user} lists the key ids`,
        }),
      );
    throw new ExplainedError(errorLine(explain(e, { user })));
  }
}
