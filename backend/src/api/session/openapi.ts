/** The OpenAPI description of /api/v1/session (issue 15; ../openapi.ts assembles the document). */
import { fromZod, int, ref, strings } from '../openapi/json-schema.ts';
import { json, type PathSpecs } from '../openapi/operation.ts';
import { changeBody, unlockBody } from './routes.ts';

export const SESSION_PATHS: PathSpecs = {
  '/api/v1/session': {
    get: {
      operationId: 'getSession',
      tag: 'session',
      summary: 'Whether the unlock credential presented is a live session',
      auth: 'user+unlock',
      ok: { status: 200, description: 'the session', content: json(ref('SessionStatus')) },
      errors: [],
    },
  },
  '/api/v1/session/unlock': {
    post: {
      operationId: 'unlock',
      tag: 'session',
      summary: 'Unlock every key the passphrase opens',
      description:
        'Cookie delivery (default) sets an HttpOnly, SameSite=Strict cookie; header delivery returns `unlockToken`, to be sent back as `X-Smime-Unlock`. A key IT placed is never unlocked into a session: when it is all the passphrase opens, the answer is `unlocked: false` with no credential. `WRONG_PASSPHRASE` carries `failures` and `retryAfterSeconds`.',
      auth: 'user',
      body: { json: fromZod(unlockBody), required: true },
      ok: {
        status: 200,
        description: 'unlocked (or not, see mustChangePassphrase)',
        content: json(ref('UnlockResult')),
      },
      errors: ['WRONG_PASSPHRASE', 'THROTTLED', 'NO_KEYS', 'SERVER_BUSY'],
    },
    delete: {
      operationId: 'lock',
      tag: 'session',
      summary: 'Lock this session, or all of the user’s (logout)',
      auth: 'user+unlock',
      parameters: [
        {
          name: 'all',
          in: 'query',
          description: "'true': end every unlock session of the user",
          schema: { type: 'string', enum: ['true', 'false'] },
        },
      ],
      ok: {
        status: 200,
        description: 'locked',
        content: json({
          type: 'object',
          properties: { unlocked: { const: false }, sessionsLocked: int() },
          required: ['unlocked', 'sessionsLocked'],
          additionalProperties: false,
        }),
      },
      errors: [],
    },
  },
  '/api/v1/session/passphrase': {
    post: {
      operationId: 'changePassphrase',
      tag: 'session',
      summary: 'Change the passphrase',
      description:
        'Re-wraps every key the current passphrase protects, in one transaction, and ends every other unlock session of the user (the one this request presents stays).',
      auth: 'user+unlock',
      body: { json: fromZod(changeBody), required: true },
      ok: {
        status: 200,
        description: 'changed',
        content: json({
          type: 'object',
          properties: { changed: { const: true }, rewrappedKeyIds: strings(), sessionsEnded: int() },
          required: ['changed', 'rewrappedKeyIds', 'sessionsEnded'],
          additionalProperties: false,
        }),
      },
      errors: [
        'WRONG_PASSPHRASE',
        'KEYS_LEFT_UNDER_OLD_PASSPHRASE',
        'THROTTLED',
        'NO_KEYS',
        'PASSPHRASE_TOO_WEAK',
        'PASSPHRASE_UNCHANGED',
        'CONCURRENT_CHANGE',
        'SERVER_BUSY',
      ],
    },
  },
};
