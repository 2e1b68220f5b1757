/**
 * What a passphrase must be, and which keys are under the user's own (issue 2). Keys placed by IT are wrapped under
 * the .p12 password (or an initial passphrase IT chose) and marked must_change_passphrase ("pending") until the user
 * gives them a passphrase of their own; admins can never read, set or reset it.
 */
import { AppError } from '../errors.ts';
import type { KeyRow } from '../store/keys.ts';

/** A key IT placed that the user has not yet taken under their own passphrase. */
export function isPending(row: KeyRow): boolean {
  return row.must_change_passphrase;
}

/** PASSPHRASE_TOO_WEAK unless the new passphrase has `minLength` characters (code points, after NFC). */
export function checkNewPassphrase(p: string, minLength: number): void {
  if ([...p.normalize('NFC')].length < minLength)
    throw new AppError('PASSPHRASE_TOO_WEAK', `The passphrase must have at least ${minLength} characters.`, {
      minLength,
    });
}

/** PASSPHRASE_UNCHANGED when the new passphrase is the current one (as the user would type it: NFC). */
export function checkChanged(current: string, next: string): void {
  if (current.normalize('NFC') === next.normalize('NFC')) throw new AppError('PASSPHRASE_UNCHANGED');
}
