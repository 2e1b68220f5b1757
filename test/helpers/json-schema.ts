/**
 * A small JSON Schema validator: the subset of draft 2020-12 that the OpenAPI document uses (issue 15), enough to hold
 * real answers of the server against the schemas documented for them. A keyword it does not know is an error, never
 * silently ignored, so a schema can only pass because every constraint in it was checked.
 */

export type Schema = { [keyword: string]: unknown };

/** Keywords that constrain a value, each implemented below. */
const ASSERTIONS = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'oneOf',
  'anyOf',
  'allOf',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'pattern',
  'format',
]);
/** Keywords that only annotate (JSON Schema 2020-12 sections 9 and 8.3: metadata, content). */
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', 'contentEncoding', 'contentMediaType']);

export const KNOWN_KEYWORDS: ReadonlySet<string> = new Set([...ASSERTIONS, ...ANNOTATIONS]);

const FORMATS: Record<string, (s: string) => boolean> = {
  // RFC 3339 section 5.6, as Date#toISOString writes it and more.
  'date-time': (s) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  email: (s) => /^[^\s@]+@[^\s@]+$/.test(s),
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function hasType(v: unknown, t: string): boolean {
  if (t === 'integer') return Number.isInteger(v);
  if (t === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeOf(v) === t;
}

/** Resolves a local reference (`#/components/schemas/X`) as a JSON pointer (RFC 6901) into `root`. */
export function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * The ways `value` breaks `schema` (empty: it conforms). `root` is the document that local references point into;
 * `at` names where the value sits, for the messages.
 */
export function validate(value: unknown, schema: Schema, root: unknown, at = '$'): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(schema)) if (!KNOWN_KEYWORDS.has(k)) errors.push(`${at}: unsupported keyword ${k}`);
  if (typeof schema.$ref === 'string') {
    const target = resolvePointer(root, schema.$ref);
    if (target === undefined || typeof target !== 'object') errors.push(`${at}: unresolved ${schema.$ref}`);
    else errors.push(...validate(value, target as Schema, root, at));
  }
  errors.push(...checkScalar(value, schema, at));
  errors.push(...checkCombinators(value, schema, root, at));
  if (Array.isArray(value)) errors.push(...checkArray(value, schema, root, at));
  else if (typeOf(value) === 'object') errors.push(...checkObject(value as Record<string, unknown>, schema, root, at));
  return errors;
}

function checkScalar(value: unknown, schema: Schema, at: string): string[] {
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) errors.push(`${at}: ${typeOf(value)} is not ${types.join(' or ')}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value))
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ('const' in schema && schema.const !== value)
    errors.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) errors.push(`${at}: too short`);
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) errors.push(`${at}: too long`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (typeof schema.format === 'string') {
      const check = FORMATS[schema.format];
      if (!check) errors.push(`${at}: unsupported format ${schema.format}`);
      else if (!check(value)) errors.push(`${at}: ${JSON.stringify(value)} is not a ${schema.format}`);
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
  }
  return errors;
}

function checkCombinators(value: unknown, schema: Schema, root: unknown, at: string): string[] {
  const errors: string[] = [];
  if (Array.isArray(schema.allOf))
    for (const [i, s] of (schema.allOf as Schema[]).entries())
      errors.push(...validate(value, s, root, `${at}(allOf ${i})`));
  for (const kw of ['anyOf', 'oneOf'] as const) {
    if (!Array.isArray(schema[kw])) continue;
    const results = (schema[kw] as Schema[]).map((s) => validate(value, s, root, at));
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0)
      errors.push(`${at}: matches none of ${kw}: ${results.map((r, i) => `[${i}] ${r.join('; ')}`).join(' | ')}`);
    else if (kw === 'oneOf' && passing > 1) errors.push(`${at}: matches ${passing} branches of oneOf, not exactly one`);
  }
  return errors;
}

function checkArray(value: unknown[], schema: Schema, root: unknown, at: string): string[] {
  const errors: string[] = [];
  if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${at}: too few items`);
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errors.push(`${at}: too many items`);
  if (schema.items && typeof schema.items === 'object')
    for (const [i, item] of value.entries())
      errors.push(...validate(item, schema.items as Schema, root, `${at}[${i}]`));
  return errors;
}

function checkObject(value: Record<string, unknown>, schema: Schema, root: unknown, at: string): string[] {
  const errors: string[] = [];
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  if (Array.isArray(schema.required))
    for (const name of schema.required as string[]) if (!(name in value)) errors.push(`${at}: missing ${name}`);
  for (const [name, v] of Object.entries(value)) {
    if (properties[name]) errors.push(...validate(v, properties[name], root, `${at}.${name}`));
    else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property ${name}`);
    else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
      errors.push(...validate(v, schema.additionalProperties as Schema, root, `${at}.${name}`));
  }
  return errors;
}
