/** The OpenAPI description of /api/v1/admin (issue 15; ../openapi.ts assembles the document). */
import { z } from 'zod';
import { arrayOf, bool, closedObject, fromZod, int, openObject, ref, str, strings } from '../openapi/json-schema.ts';
import { emailPathParam, json, P12_ERRORS, queryParameters, type PathSpecs } from '../openapi/operation.ts';
import { aliasBody, expectHeadQuery, placeBody, syncBody } from './routes.ts';

export const ADMIN_PATHS: PathSpecs = {
  '/api/v1/admin/users/{email}/keys': {
    post: {
      operationId: 'placeKey',
      tag: 'admin',
      summary: "Place a PKCS#12 into a user's profile (IT)",
      description:
        'The user must choose their own passphrase before the key is used. A key type the engine cannot use is refused even with `force`. ' +
        'A key already in the profile is refused (KEY_ALREADY_PRESENT) unless `replace`: then, after a recovery (the passphrase is lost), ' +
        'the same key is put back under the new initial passphrase, its id kept, and every unlock session of the user ends.',
      auth: 'admin',
      parameters: [emailPathParam],
      body: { json: fromZod(placeBody), required: true },
      ok: {
        status: 201,
        description: 'placed (or, with `replace`, put back)',
        content: json(
          closedObject({ user: str(), key: ref('OwnKey'), replaced: bool('The key was already there: put back') }),
        ),
      },
      errors: [...P12_ERRORS, 'PASSPHRASE_TOO_WEAK', 'CONCURRENT_CHANGE'],
    },
    get: {
      operationId: 'getUserKeys',
      tag: 'admin',
      summary: "A user's keys (public facts) and aliases",
      auth: 'admin',
      parameters: [emailPathParam],
      ok: {
        status: 200,
        description: 'the keys',
        content: json(closedObject({ user: str(), aliases: strings(), keys: arrayOf(ref('OwnKey')) })),
      },
      errors: ['BAD_REQUEST', 'USER_NOT_FOUND'],
    },
  },
  '/api/v1/admin/users/{email}/aliases': {
    post: {
      operationId: 'addAlias',
      tag: 'admin',
      summary: 'Add an alias address to a user',
      auth: 'admin',
      parameters: [emailPathParam],
      body: { json: fromZod(aliasBody), required: true },
      ok: {
        status: 201,
        description: 'added',
        content: json(closedObject({ user: str(), alias: str() })),
      },
      errors: ['ALIAS_TAKEN'],
    },
  },
  '/api/v1/admin/audit/verify': {
    get: {
      operationId: 'verifyAudit',
      tag: 'admin',
      summary: 'Check the audit chain, against every checkpoint in the checkpoint file',
      auth: 'admin',
      parameters: queryParameters(z.object({ expectHead: expectHeadQuery }), {
        expectHead: 'the head hash the caller expects (from its own records)',
      }),
      ok: { status: 200, description: 'the verification', content: json(ref('AuditVerification')) },
      errors: ['BAD_REQUEST'],
    },
  },
  '/api/v1/admin/audit/checkpoint': {
    post: {
      operationId: 'writeAuditCheckpoint',
      tag: 'admin',
      summary: 'Sign and write a checkpoint of the audit chain now',
      auth: 'admin',
      ok: {
        status: 201,
        description: 'written',
        content: json(closedObject({ checkpoint: ref('Checkpoint'), file: str() })),
      },
      errors: ['AUDIT_CHECKPOINT_KEY_MISSING', 'AUDIT_CHECKPOINT_REFUSED', 'AUDIT_CHECKPOINT_WRITE_FAILED'],
    },
  },
  '/api/v1/admin/directory/sync': {
    post: {
      operationId: 'syncDirectory',
      tag: 'admin',
      summary: 'Run a directory sync and answer when it ends',
      description: 'On failure the stored copy is unchanged. Audited as `admin:api`.',
      auth: 'admin',
      body: { json: fromZod(syncBody), required: false },
      ok: {
        status: 200,
        description: 'the sync summary',
        content: json(
          openObject(
            {
              summary: openObject(
                {
                  mode: str(),
                  entriesSeen: int(),
                  certificatesAdded: int(),
                  certificatesUpdated: int(),
                  certificatesRemoved: int(),
                  certificatesRejected: int(),
                  rejected: arrayOf({ type: 'object' }),
                  conflictCount: int(),
                  conflicts: arrayOf({ type: 'object' }),
                  durationMs: { type: 'number' },
                },
                ['mode'],
              ),
            },
            ['summary'],
          ),
        ),
      },
      errors: [
        'DIRECTORY_NOT_CONFIGURED',
        'DIRECTORY_SYNC_RUNNING',
        'DIRECTORY_UNREACHABLE',
        'DIRECTORY_TLS_FAILED',
        'DIRECTORY_BIND_FAILED',
        'DIRECTORY_BAD_BASE_DN',
        'DIRECTORY_SEARCH_FAILED',
        'DIRECTORY_EMPTY',
      ],
    },
  },
  '/api/v1/admin/directory/status': {
    get: {
      operationId: 'directoryStatus',
      tag: 'admin',
      summary: 'How the last directory sync went, and what is stored',
      auth: 'admin',
      ok: { status: 200, description: 'the status', content: json(ref('DirectoryStatus')) },
      errors: [],
    },
  },
  '/api/v1/admin/recovery/status': {
    get: {
      operationId: 'recoveryStatus',
      tag: 'admin',
      summary: 'How many stored keys the recovery certificate covers',
      description:
        "With `SMIME_RECOVERY_CERTIFICATE` configured, every key stored is also wrapped to it; keys stored before are wrapped at their owner's next unlock. `uncoveredUsers` lists (at most `SMIME_DIRECTORY_REPORT_LIMIT`) users with a key not yet covered.",
      auth: 'admin',
      ok: { status: 200, description: 'the coverage', content: json(ref('RecoveryStatus')) },
      errors: [],
    },
  },
};
