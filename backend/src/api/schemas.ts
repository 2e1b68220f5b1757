/** Input schemas shared by routes. Unknown fields are refused (strict), so a typo is an error, not a silent default. */
import { z } from 'zod';

/** Upper bound on any passphrase or password we accept: Argon2 takes any length, but nothing legitimate is longer. */
export const MAX_PASSPHRASE_CHARS = 1024;

export const passphrase = z.string().min(1).max(MAX_PASSPHRASE_CHARS);
export const base64Bytes = z
  .string()
  .transform((s) => s.replace(/\s+/g, ''))
  .pipe(z.base64())
  .transform((s) => new Uint8Array(Buffer.from(s, 'base64')));
export const keyIdParam = z.uuid();
export const emailParam = z.string().trim().toLowerCase().pipe(z.email()).pipe(z.string().max(254));
