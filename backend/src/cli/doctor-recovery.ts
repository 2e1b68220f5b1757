/**
 * The doctor's key recovery check (issue 17): whether a recovery certificate is configured, and how many of the stored
 * keys it covers. Not configured is a finding, not a failure: recovery is opt-in. Keys not yet covered are a warning
 * naming how many users still have to unlock once, with where the list is.
 */
import type { Config } from '../config.ts';
import type { Database } from '../store/db.ts';
import { recoveryCoverage } from '../store/recovery.ts';
import { message, type Add } from './doctor-check.ts';

export async function recoveryCheck(
  db: Database | undefined,
  schemaReady: boolean,
  config: Config | undefined,
  add: Add,
): Promise<void> {
  const name = 'key recovery';
  if (!config) {
    add({ name, status: 'skipped', detail: 'the configuration did not load' });
    return;
  }
  const target = config.recovery;
  if (!target) {
    add({
      name,
      status: 'ok',
      detail: 'not configured: a user who forgets their passphrase loses the mail encrypted to their keys',
    });
    return;
  }
  const what = `recovery certificate ${target.subject} (set ${target.setId.slice(0, 16)})`;
  if (!db || !schemaReady) {
    add({ name, status: 'skipped', detail: `${what}; ${db ? 'migrations are not applied' : 'no database'}` });
    return;
  }
  try {
    const c = await recoveryCoverage(db, target.setId);
    const detail = `${what}: ${c.covered} of ${c.keys} keys covered, ${c.usersCovered} of ${c.users} users wholly`;
    if (c.covered === c.keys) add({ name, status: 'ok', detail });
    else
      add({
        name,
        status: 'warn',
        detail,
        fix: `${c.users - c.usersCovered} users have a key stored before the recovery certificate was configured: it is covered at their next unlock (GET /api/v1/admin/recovery/status lists them)`,
      });
  } catch (e) {
    add({ name, status: 'fail', detail: `${what}: cannot count the covered keys: ${message(e)}` });
  }
}
