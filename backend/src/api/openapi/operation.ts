/**
 * One operation of the OpenAPI document from a short spec (issue 15): security from how the route authenticates, the
 * request body, the success answer, and the error answers grouped by status with their codes and messages from the
 * one registry (../../errors.ts), including those every operation of its kind can answer (authentication, body,
 * rate limit).
 */
import type { z } from 'zod';
import { ENGINE_ERRORS, ERRORS, MIME_ERRORS, type ErrorCode } from '../../errors.ts';
import { closedObject, fromZod, int, ref, str, type JsonSchema } from './json-schema.ts';

export type Auth = 'none' | 'user' | 'user+unlock' | 'admin';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: JsonSchema;
  style?: 'form';
  explode?: boolean;
}

export interface MediaType {
  schema: JsonSchema;
}

export interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Record<string, MediaType>;
}

export interface OperationSpec {
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  parameters?: Parameter[];
  /** A JSON body (its schema), or the exact bytes of a message. */
  body?: { json: JsonSchema; required: boolean } | 'rfc822';
  /** The success answer: status and what it carries. */
  ok: { status: 200 | 201; description: string; content: Record<string, MediaType> };
  /** The codes this operation answers besides the ones every operation of its kind can (auth, body, rate limit). */
  errors: readonly ErrorCode[];
  /** Answered before the rate limit (/healthz). */
  notRateLimited?: boolean;
  /** Other documented answers (/healthz's 503, the document's 304). */
  extra?: Record<string, Response>;
}

export const json = (schema: JsonSchema): Record<string, MediaType> => ({ 'application/json': { schema } });

const USER_AUTH_ERRORS: readonly ErrorCode[] = ['UNAUTHENTICATED', 'TOKEN_EXPIRED', 'TOKEN_LIFETIME_TOO_LONG'];
const JSON_BODY_ERRORS: readonly ErrorCode[] = [
  'BAD_JSON',
  'BAD_REQUEST',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
];
const MESSAGE_BODY_ERRORS: readonly ErrorCode[] = ['UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'];
/** What reading a message can answer: the engine's and the MIME layer's codes (a damaged CMS, a limit, ...). */
export const ENGINE_CODES = [...new Set([...Object.keys(ENGINE_ERRORS), ...Object.keys(MIME_ERRORS)])] as ErrorCode[];
/** What reading a PKCS#12 can answer. */
export const P12_ERRORS: readonly ErrorCode[] = [
  'P12_MALFORMED',
  'P12_BAD_PASSWORD',
  'P12_NO_KEY',
  'P12_NO_CERTIFICATE',
  'P12_KEY_MISMATCH',
  'P12_UNSUPPORTED_ALGORITHM',
  'P12_TOO_LARGE',
  'KEY_TYPE_UNSUPPORTED',
  'CERT_MALFORMED',
  'CERT_EMAIL_MISMATCH',
  'CERT_NOT_FOR_EMAIL',
  'KEY_ALREADY_PRESENT',
  'SERVER_BUSY',
];

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  none: [],
  user: [{ userToken: [] }],
  // The unlock credential is optional: without it the keys are locked (and a route says so where it matters).
  'user+unlock': [{ userToken: [], unlockHeader: [] }, { userToken: [], unlockCookie: [] }, { userToken: [] }],
  admin: [{ adminToken: [] }],
};

/** The error answers of an operation, one per status, each naming its codes (with the registry's messages). */
function errorResponses(codes: readonly ErrorCode[]): Record<string, Response> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Response> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    list.sort();
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${ERRORS[c].message}`).join('\n\n'),
      ...(status === 429 || list.includes('SERVER_BUSY')
        ? { headers: { 'Retry-After': { description: 'seconds', schema: int() } } }
        : {}),
      content: json({
        allOf: [ref('ApiError'), { properties: { error: { properties: { code: { type: 'string', enum: list } } } } }],
      }),
    };
  }
  return out;
}

export function operation(spec: OperationSpec): Record<string, unknown> {
  const errors: ErrorCode[] = [...spec.errors, 'INTERNAL'];
  if (spec.auth === 'user' || spec.auth === 'user+unlock') errors.push(...USER_AUTH_ERRORS);
  if (spec.auth === 'admin') errors.push('ADMIN_UNAUTHENTICATED');
  if (!spec.notRateLimited) errors.push('RATE_LIMITED');
  if (spec.body === 'rfc822') errors.push(...MESSAGE_BODY_ERRORS);
  else if (spec.body) errors.push(...JSON_BODY_ERRORS);
  const requestBody =
    spec.body === 'rfc822'
      ? {
          required: true,
          description: 'the message, exact bytes (signatures are checked over what arrived)',
          content: { 'message/rfc822': { schema: { type: 'string', contentMediaType: 'message/rfc822' } } },
        }
      : spec.body
        ? { required: spec.body.required, content: json(spec.body.json) }
        : undefined;
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    security: SECURITY[spec.auth],
    ...(spec.parameters?.length ? { parameters: spec.parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: {
      [String(spec.ok.status)]: { description: spec.ok.description, content: spec.ok.content },
      ...spec.extra,
      ...errorResponses(errors),
    },
  };
}

/** The properties of a zod query schema as query parameters. */
export function queryParameters(schema: z.ZodType, descriptions: Record<string, string> = {}): Parameter[] {
  const s = fromZod(schema);
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    in: 'query' as const,
    ...(required.has(name) ? { required: true } : {}),
    ...(descriptions[name] ? { description: descriptions[name] } : {}),
    schema: p,
  }));
}

export const idParam = (what: string): Parameter => ({
  name: 'id',
  in: 'path',
  required: true,
  description: `the ${what}'s id (a malformed id answers 404 like one that does not exist)`,
  schema: { type: 'string' },
});
export const emailPathParam: Parameter = {
  name: 'email',
  in: 'path',
  required: true,
  description: "the user's address",
  schema: { type: 'string', format: 'email', maxLength: 254 },
};

export const keyAnswer = json(closedObject({ key: ref('OwnKey') }));
export const deletedAnswer = json({
  type: 'object',
  properties: { deleted: { const: true }, id: str() },
  required: ['deleted', 'id'],
  additionalProperties: false,
});

/** Operations by path and method (`get`, `post`, ...). */
export type PathSpecs = Record<string, Record<string, OperationSpec>>;
