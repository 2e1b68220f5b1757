// Header look-up by name. Field names are case-insensitive (RFC 5322 section 1.2.2).
import type { MimeHeader } from './types.ts';

/** The value of the first field named `name`, or undefined. */
export function getHeader(entity: { readonly headers: readonly MimeHeader[] }, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const header of entity.headers) if (header.name.toLowerCase() === wanted) return header.value;
  return undefined;
}

/** The values of every field named `name`, in order. */
export function getHeaders(entity: { readonly headers: readonly MimeHeader[] }, name: string): string[] {
  const wanted = name.toLowerCase();
  return entity.headers.filter((h) => h.name.toLowerCase() === wanted).map((h) => h.value);
}
