/** Input schemas shared by routes. Unknown fields are refused (strict), so a typo is an error, not a silent default. */
import { z } from 'zod';
import { AppError } from '../errors.ts';

/** Upper bound on any passphrase or password we accept: Argon2 takes any length, but nothing legitimate is longer. */
export const MAX_PASSPHRASE_CHARS = 1024;

export const passphrase = z.string().min(1).max(MAX_PASSPHRASE_CHARS);
export const base64Bytes = z
  .string()
  .transform((s) => s.replace(/\s+/g, ''))
  .pipe(z.base64())
  .transform((s) => new Uint8Array(Buffer.from(s, 'base64')));
const resourceId = z.uuid();

/**
 * The id in a resource's path (a key, a certificate). A malformed id cannot name anything: same answer (`notFound`)
 * as an id that does not exist or belongs to someone else.
 */
export function idFromPath(raw: string | undefined, notFound: 'KEY_NOT_FOUND' | 'CERTIFICATE_NOT_FOUND'): string {
  const r = resourceId.safeParse(raw);
  if (!r.success) throw new AppError(notFound);
  return r.data;
}
export const emailParam = z.string().trim().toLowerCase().pipe(z.email()).pipe(z.string().max(254));
