/**
 * Checking the OpenAPI document (issue 15): its structure as OpenAPI 3.1 requires it, the routes the running app
 * really registers, and real answers against the schemas documented for them. Not a test file itself.
 */
import { METHODS } from 'node:http';
import type Router from '@koa/router';
import type Koa from 'koa';
import { KNOWN_KEYWORDS, resolvePointer, validate, type Schema } from './json-schema.ts';

export type Doc = Record<string, any>;

/** OpenAPI 3.1 section 4.8.9: the fields of a Path Item Object. */
const OPERATION_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PATH_ITEM_KEYS = new Set([...OPERATION_KEYS, '$ref', 'summary', 'description', 'servers', 'parameters']);
const PARAMETER_IN = new Set(['query', 'header', 'path', 'cookie']);
const SECURITY_TYPES = new Set(['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect']);
/** Schema keywords that hold one subschema, a list of them, or a map of them. */
const SUBSCHEMA = new Set(['items', 'additionalProperties']);
const SUBSCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every `$ref` anywhere in the document, with where it sits. */
function refs(node: unknown, at: string, out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) node.forEach((n, i) => refs(n, `${at}[${i}]`, out));
  else if (isObject(node))
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refs(v, `${at}.${k}`, out);
    }
  return out;
}

/** The problems of a schema: keywords outside what the document may use (and the validator checks). */
function schemaProblems(schema: unknown, at: string): string[] {
  if (!isObject(schema)) return [`${at}: a schema must be an object`];
  const problems: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!KNOWN_KEYWORDS.has(k)) problems.push(`${at}: unknown schema keyword ${k}`);
    if (k === 'properties' && isObject(v))
      for (const [name, s] of Object.entries(v)) problems.push(...schemaProblems(s, `${at}.properties.${name}`));
    if (SUBSCHEMA.has(k) && typeof v !== 'boolean') problems.push(...schemaProblems(v, `${at}.${k}`));
    if (SUBSCHEMA_LISTS.has(k)) {
      if (!Array.isArray(v) || v.length === 0) problems.push(`${at}.${k}: must be a non-empty array`);
      else v.forEach((s, i) => problems.push(...schemaProblems(s, `${at}.${k}[${i}]`)));
    }
    if (k === 'required' && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
      problems.push(`${at}.required: must be an array of names`);
  }
  return problems;
}

function contentProblems(content: unknown, at: string): string[] {
  if (!isObject(content) || Object.keys(content).length === 0) return [`${at}: content must name a media type`];
  const problems: string[] = [];
  for (const [type, media] of Object.entries(content)) {
    if (!/^[a-z]+\/[a-z0-9.+-]+$/.test(type)) problems.push(`${at}: ${type} is not a media type`);
    if (!isObject(media) || !isObject(media.schema)) problems.push(`${at}.${type}: a schema is required`);
    else problems.push(...schemaProblems(media.schema, `${at}.${type}.schema`));
  }
  return problems;
}

function parameterProblems(path: string, params: unknown, at: string): string[] {
  const problems: string[] = [];
  const list = (params ?? []) as Record<string, unknown>[];
  if (!Array.isArray(list)) return [`${at}.parameters: must be an array`];
  const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  for (const [i, p] of list.entries()) {
    if (typeof p.name !== 'string' || !PARAMETER_IN.has(p.in as string))
      problems.push(`${at}.parameters[${i}]: needs name and a valid in`);
    if (!isObject(p.schema)) problems.push(`${at}.parameters[${i}]: needs a schema`);
    else problems.push(...schemaProblems(p.schema, `${at}.parameters[${i}].schema`));
    if (p.in === 'path' && p.required !== true) problems.push(`${at}: path parameter ${p.name} must be required`);
    if (p.in === 'path' && !templated.includes(p.name as string))
      problems.push(`${at}: path parameter ${p.name} is not in the path`);
  }
  for (const name of templated)
    if (!list.some((p) => p.in === 'path' && p.name === name)) problems.push(`${at}: {${name}} is not declared`);
  const keys = list.map((p) => `${p.in} ${p.name}`);
  if (new Set(keys).size !== keys.length) problems.push(`${at}: a parameter is declared twice`);
  return problems;
}

function operationProblems(doc: Doc, path: string, method: string, op: Doc, ids: Set<string>): string[] {
  const at = `${method.toUpperCase()} ${path}`;
  const problems: string[] = [];
  if (typeof op.operationId !== 'string' || ids.has(op.operationId))
    problems.push(`${at}: operationId missing or reused`);
  ids.add(op.operationId);
  const tags = new Set(((doc.tags ?? []) as Doc[]).map((t) => t.name));
  for (const t of op.tags ?? []) if (!tags.has(t)) problems.push(`${at}: tag ${t} is not declared`);
  problems.push(...parameterProblems(path, op.parameters, at));
  if (op.requestBody !== undefined) problems.push(...contentProblems(op.requestBody.content, `${at} requestBody`));
  if (!isObject(op.responses) || Object.keys(op.responses).length === 0) problems.push(`${at}: no responses`);
  for (const [status, r] of Object.entries((op.responses ?? {}) as Doc)) {
    if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) problems.push(`${at}: ${status} is not a status`);
    if (typeof r.description !== 'string') problems.push(`${at} ${status}: a description is required`);
    if (r.content !== undefined) problems.push(...contentProblems(r.content, `${at} ${status}`));
  }
  const schemes = (doc.components?.securitySchemes ?? {}) as Doc;
  for (const requirement of (op.security ?? doc.security ?? []) as Doc[])
    for (const [name, scopes] of Object.entries(requirement))
      if (!schemes[name] || !Array.isArray(scopes)) problems.push(`${at}: security scheme ${name} is not declared`);
  return problems;
}

/**
 * What makes `doc` not a valid OpenAPI 3.1 document, as far as this API's document can go wrong (OpenAPI 3.1.0,
 * sections 4.8.1 to 4.8.27); empty when it is valid.
 */
export function openApiProblems(doc: Doc): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) problems.push('openapi: not 3.1.x');
  if (!isObject(doc.info) || typeof doc.info.title !== 'string' || typeof doc.info.version !== 'string')
    problems.push('info: title and version are required');
  if (!isObject(doc.paths)) return [...problems, 'paths: required'];
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Doc)) {
    if (!path.startsWith('/')) problems.push(`${path}: a path starts with /`);
    for (const key of Object.keys(item)) if (!PATH_ITEM_KEYS.has(key)) problems.push(`${path}: unknown field ${key}`);
    for (const method of OPERATION_KEYS)
      if (item[method]) problems.push(...operationProblems(doc, path, method, item[method], ids));
  }
  for (const [name, s] of Object.entries((doc.components?.securitySchemes ?? {}) as Doc)) {
    if (!SECURITY_TYPES.has(s.type)) problems.push(`securitySchemes.${name}: unknown type`);
    if (s.type === 'apiKey' && (typeof s.name !== 'string' || !['query', 'header', 'cookie'].includes(s.in)))
      problems.push(`securitySchemes.${name}: apiKey needs name and in`);
    if (s.type === 'http' && typeof s.scheme !== 'string') problems.push(`securitySchemes.${name}: http needs scheme`);
  }
  for (const [name, s] of Object.entries((doc.components?.schemas ?? {}) as Doc))
    problems.push(...schemaProblems(s, `components.schemas.${name}`));
  for (const [at, ref] of refs(doc, '$'))
    if (!ref.startsWith('#/') || resolvePointer(doc, ref) === undefined)
      problems.push(`${at}: ${ref} does not resolve`);
  return problems;
}

/** "GET /api/v1/keys/{id}" for every operation of the document. */
export function documentedRoutes(doc: Doc): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Doc))
    for (const method of OPERATION_KEYS) if (item[method]) out.add(`${method.toUpperCase()} ${path}`);
  return out;
}

/**
 * "GET /api/v1/keys/{id}" for every route of the app's routers (each `app.use(router.routes())` leaves a dispatch
 * function that knows its router). A GET route also answers HEAD (@koa/router adds it): that HEAD is not a route of its
 * own. A catch-all (`router.all`, every method) only answers 405 and is not a route either.
 */
export function appRoutes(app: Koa): Set<string> {
  const out = new Set<string>();
  for (const mw of app.middleware) {
    const router = (mw as { router?: Router }).router;
    if (!router) continue;
    for (const layer of router.stack) {
      if (layer.methods.length === 0 || METHODS.every((m) => layer.methods.includes(m))) continue;
      const path = String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of layer.methods)
        if (!(method === 'HEAD' && layer.methods.includes('GET'))) out.add(`${method} ${path}`);
    }
  }
  return out;
}

/** The documented path template a concrete path falls under, literal segments before parameters. */
export function templateOf(doc: Doc, path: string): string | undefined {
  const matching = Object.keys(doc.paths).filter((t) =>
    new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`).test(path),
  );
  return matching.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/**
 * How a real answer departs from the document (empty: it conforms): the operation must be documented, the status
 * among its responses, the media type among that response's, and a JSON body valid against its schema.
 */
export function answerProblems(doc: Doc, method: string, url: string, answer: Answer): string[] {
  const path = new URL(url, 'http://x').pathname;
  const template = templateOf(doc, path);
  const op = template ? (doc.paths[template] as Doc)[method.toLowerCase()] : undefined;
  if (!op) return [`${method} ${path}: not documented`];
  const at = `${method} ${template} ${answer.status}`;
  const response = op.responses[String(answer.status)] as Doc | undefined;
  if (!response) return [`${at}: status not documented (${answer.text.slice(0, 200)})`];
  if (!response.content) return answer.text === '' ? [] : [`${at}: documented without a body, but has one`];
  const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const media = response.content[type] as Doc | undefined;
  if (!media) return [`${at}: media type ${type} not documented`];
  if (type !== 'application/json') return [];
  return validate(answer.body, media.schema as Schema, doc, at);
}
