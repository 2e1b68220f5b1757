/**
 * JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as far as the OpenAPI document uses it, and the helpers that
 * write it (issue 15). `objectSchema<T>()` ties a schema to a contract type (../contract.ts): the compiler checks that
 * every field of the type is documented, that no other is, and that exactly the optional ones are optional.
 */
import { z } from 'zod';

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: readonly (string | number | boolean | null)[];
  const?: string | number | boolean | null;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  contentEncoding?: string;
  contentMediaType?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
}

/** A field the contract type marks optional (or that may be undefined, which JSON leaves out). */
export interface OptionalField {
  optional: JsonSchema;
}
export const opt = (schema: JsonSchema): OptionalField => ({ optional: schema });

/** For each field of T: a schema, wrapped in `opt()` exactly when the field may be absent from the JSON. */
export type Fields<T> = { [K in keyof T]-?: undefined extends T[K] ? OptionalField : JsonSchema };

/**
 * A closed object schema for the contract type T: the compiler checks the field names and which are optional; the
 * API test checks the values against real answers. Closed (no other properties), so a presenter that starts to send a
 * field the contract does not have fails the test instead of leaking it.
 */
export function objectSchema<T>(fields: Fields<T>, description?: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, f] of Object.entries(fields) as [string, JsonSchema | OptionalField][]) {
    if ('optional' in f) properties[name] = f.optional;
    else {
      properties[name] = f;
      required.push(name);
    }
  }
  return { type: 'object', ...(description ? { description } : {}), properties, required, additionalProperties: false };
}

/** An object schema for answers that have no contract type (admin reports): named fields, others allowed. */
export function openObject(
  properties: Record<string, JsonSchema>,
  required: string[],
  description?: string,
): JsonSchema {
  return { type: 'object', ...(description ? { description } : {}), properties, required };
}

/** An answer's envelope (`{ key }`, `{ keys }`, ...): exactly these fields, all present. */
export function closedObject(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

/** A component schema (test/api/openapi.test.ts checks that every one resolves). */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
export const dateTime = (description?: string): JsonSchema => ({ ...str(description), format: 'date-time' });
export const int = (description?: string): JsonSchema => ({ type: 'integer', ...(description ? { description } : {}) });
export const bool = (description?: string): JsonSchema => ({
  type: 'boolean',
  ...(description ? { description } : {}),
});
export const arrayOf = (items: JsonSchema, description?: string): JsonSchema => ({
  type: 'array',
  ...(description ? { description } : {}),
  items,
});
export const strings = (description?: string): JsonSchema => arrayOf(str(), description);
export const nullable = (s: JsonSchema): JsonSchema => ({ ...s, type: [s.type as JsonType, 'null'] });
export const base64 = (description: string): JsonSchema => ({ type: 'string', contentEncoding: 'base64', description });
export const fingerprint = (): JsonSchema => ({
  type: 'string',
  pattern: '^[0-9a-f]{64}$',
  description: 'SHA-256, hex',
});

/** A zod input schema as JSON Schema (the input side: what a client sends, before defaults and transforms). */
export function fromZod(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as { $schema?: string } & JsonSchema;
  // The document names its dialect once (jsonSchemaDialect); a $schema inside it would be noise.
  delete out.$schema;
  return out;
}
