/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, fields whose value is undefined left out,
 * as JSON.stringify would. What is hashed or authenticated as bytes (the audit chain and its checkpoints, the
 * associated data of a recovery share file) is this form, so that the same value always gives the same bytes.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}
