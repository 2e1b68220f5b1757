/** The OpenAPI description of /api/v1/keys (issue 15; ../openapi.ts assembles the document). */
import { arrayOf, closedObject, fromZod, ref } from '../openapi/json-schema.ts';
import { deletedAnswer, idParam, json, keyAnswer, P12_ERRORS, type PathSpecs } from '../openapi/operation.ts';
import { adoptBody, deleteBody, exportBody, importBody } from './routes.ts';

export const KEYS_PATHS: PathSpecs = {
  '/api/v1/keys': {
    get: {
      operationId: 'listKeys',
      tag: 'keys',
      summary: "The user's keys (key history), default first",
      auth: 'user',
      ok: {
        status: 200,
        description: 'the keys',
        content: json(closedObject({ keys: arrayOf(ref('OwnKey')) })),
      },
      errors: [],
    },
    post: {
      operationId: 'importKey',
      tag: 'keys',
      summary: 'Self-service import of a PKCS#12',
      description:
        '`p12` is the file, base64; `password` its password; `passphrase` the current one (or the first one, for a first key). Limited to SMIME_P12_IMPORTS_PER_HOUR per user.',
      auth: 'user',
      body: { json: fromZod(importBody), required: true },
      ok: { status: 201, description: 'imported', content: keyAnswer },
      errors: [
        ...P12_ERRORS,
        'PASSPHRASE_CHANGE_REQUIRED',
        'PASSPHRASE_REQUIRED',
        'PASSPHRASE_TOO_WEAK',
        'WRONG_PASSPHRASE',
        'THROTTLED',
        'CONCURRENT_CHANGE',
      ],
    },
  },
  '/api/v1/keys/{id}': {
    get: {
      operationId: 'getKey',
      tag: 'keys',
      summary: 'One key',
      auth: 'user',
      parameters: [idParam('key')],
      ok: { status: 200, description: 'the key', content: keyAnswer },
      errors: ['KEY_NOT_FOUND'],
    },
    delete: {
      operationId: 'deleteKey',
      tag: 'keys',
      summary: 'Delete a key',
      description:
        'Needs `confirm` (the key’s SHA-256 fingerprint, which the refusal does not name) and proof that the user is there: the passphrase in the body, or an unlocked session (cookie or X-Smime-Unlock).',
      auth: 'user+unlock',
      parameters: [
        idParam('key'),
        {
          name: 'confirm',
          in: 'query',
          description: "the key's SHA-256 fingerprint",
          schema: { type: 'string', maxLength: 200 },
        },
      ],
      body: { json: fromZod(deleteBody), required: false },
      ok: { status: 200, description: 'deleted', content: deletedAnswer },
      errors: ['KEY_NOT_FOUND', 'CONFIRMATION_REQUIRED', 'LOCKED', 'WRONG_PASSPHRASE', 'THROTTLED'],
    },
  },
  '/api/v1/keys/{id}/certificate': {
    get: {
      operationId: 'getKeyCertificate',
      tag: 'keys',
      summary: "The key's certificate and chain, PEM",
      auth: 'user',
      parameters: [idParam('key')],
      ok: {
        status: 200,
        description: 'PEM certificate and chain',
        content: { 'application/pem-certificate-chain': { schema: { type: 'string' } } },
      },
      errors: ['KEY_NOT_FOUND'],
    },
  },
  '/api/v1/keys/{id}/default': {
    put: {
      operationId: 'setDefaultKey',
      tag: 'keys',
      summary: 'Make it the signing default',
      auth: 'user',
      parameters: [idParam('key')],
      ok: { status: 200, description: 'the key, now the default', content: keyAnswer },
      errors: ['KEY_NOT_FOUND', 'CONCURRENT_CHANGE'],
    },
  },
  '/api/v1/keys/{id}/adopt': {
    post: {
      operationId: 'adoptKey',
      tag: 'keys',
      summary: "Take a key IT placed under the user's own passphrase",
      auth: 'user',
      parameters: [idParam('key')],
      body: { json: fromZod(adoptBody), required: true },
      ok: { status: 200, description: 'the key, now under the passphrase', content: keyAnswer },
      errors: [
        'KEY_NOT_FOUND',
        'KEY_NOT_PENDING',
        'WRONG_PASSPHRASE',
        'THROTTLED',
        'PASSPHRASE_TOO_WEAK',
        'PASSPHRASE_UNCHANGED',
        'CONCURRENT_CHANGE',
        'SERVER_BUSY',
      ],
    },
  },
  '/api/v1/keys/{id}/export': {
    post: {
      operationId: 'exportKey',
      tag: 'keys',
      summary: 'Back up the key as a PKCS#12',
      description:
        'Needs the passphrase even while the keys are unlocked. The file holds the key, its certificate and stored chain under `exportPassword`: PBES2 (PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-CBC), SHA-256 MAC; OpenSSL 3 and current mail clients import it. Audited (`key.exported`). Limited to SMIME_P12_IMPORTS_PER_HOUR per user, counted apart from imports.',
      auth: 'user',
      parameters: [idParam('key')],
      body: { json: fromZod(exportBody), required: true },
      ok: {
        status: 200,
        description: 'the PKCS#12 file, as an attachment named `<email>-<key id, 8 characters>.p12`',
        content: { 'application/x-pkcs12': { schema: { type: 'string', format: 'binary' } } },
      },
      errors: ['KEY_NOT_FOUND', 'PASSPHRASE_CHANGE_REQUIRED', 'WRONG_PASSPHRASE', 'THROTTLED'],
    },
  },
};
