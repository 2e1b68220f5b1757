/** The OpenAPI description of /api/v1/me (issue 15; ../openapi.ts assembles the document). */
import { arrayOf, closedObject, ref } from '../openapi/json-schema.ts';
import { json, type PathSpecs } from '../openapi/operation.ts';

export const ME_PATHS: PathSpecs = {
  '/api/v1/me': {
    get: {
      operationId: 'getMe',
      tag: 'me',
      summary: 'Who the token says the user is',
      auth: 'user',
      ok: { status: 200, description: 'the user', content: json(ref('Me')) },
      errors: [],
    },
  },
  '/api/v1/me/audit': {
    get: {
      operationId: 'getMyAudit',
      tag: 'me',
      summary: "The user's own audit entries (the latest 200)",
      auth: 'user',
      ok: {
        status: 200,
        description: 'audit entries',
        content: json(closedObject({ entries: arrayOf(ref('AuditEntry')) })),
      },
      errors: [],
    },
  },
};
