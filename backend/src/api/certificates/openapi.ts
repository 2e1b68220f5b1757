/** The OpenAPI description of /api/v1/certificates (issue 15; ../openapi.ts assembles the document). */
import { arrayOf, bool, closedObject, int, ref } from '../openapi/json-schema.ts';
import { deletedAnswer, idParam, json, queryParameters, type PathSpecs } from '../openapi/operation.ts';
import { listQuery, MAX_RESOLVE_EMAILS } from './routes.ts';

export const CERTIFICATES_PATHS: PathSpecs = {
  '/api/v1/certificates': {
    get: {
      operationId: 'listCertificates',
      tag: 'certificates',
      summary: 'The public keys the user can encrypt to',
      description:
        "The directory's (shared, first, at most 500: `directoryTotal`, `directoryTruncated`) and the user's exchanged ones (harvested from verified signed mail, or imported).",
      auth: 'user',
      parameters: queryParameters(listQuery, {
        email: 'only certificates for this address',
        q: 'a substring of address or subject',
        source: 'only this source',
      }),
      ok: {
        status: 200,
        description: 'the certificates',
        content: json({
          type: 'object',
          properties: {
            certificates: arrayOf(ref('PublicCertificate')),
            directoryTotal: int(),
            directoryTruncated: bool(),
          },
          required: ['certificates', 'directoryTotal', 'directoryTruncated'],
          additionalProperties: false,
        }),
      },
      errors: ['BAD_REQUEST'],
    },
  },
  '/api/v1/certificates/resolve': {
    get: {
      operationId: 'resolveRecipients',
      tag: 'certificates',
      summary: 'Per address: whether mail to it can be encrypted, and with which certificate',
      auth: 'user',
      parameters: [
        {
          name: 'email',
          in: 'query',
          required: true,
          style: 'form',
          explode: true,
          description: 'repeat for each address',
          schema: {
            type: 'array',
            minItems: 1,
            maxItems: MAX_RESOLVE_EMAILS,
            items: { type: 'string', format: 'email' },
          },
        },
      ],
      ok: {
        status: 200,
        description: 'one resolution per address',
        content: json(closedObject({ recipients: arrayOf(ref('Resolution')) })),
      },
      errors: ['BAD_REQUEST'],
    },
  },
  '/api/v1/certificates/{id}': {
    get: {
      operationId: 'getCertificate',
      tag: 'certificates',
      summary: 'Details and PEM (exchanged or directory)',
      auth: 'user',
      parameters: [idParam('certificate')],
      ok: {
        status: 200,
        description: 'the certificate',
        content: json(closedObject({ certificate: ref('PublicCertificateWithPem') })),
      },
      errors: ['CERTIFICATE_NOT_FOUND'],
    },
    delete: {
      operationId: 'deleteCertificate',
      tag: 'certificates',
      summary: 'Delete an exchanged certificate',
      auth: 'user',
      parameters: [idParam('certificate')],
      ok: { status: 200, description: 'deleted', content: deletedAnswer },
      errors: ['CERTIFICATE_NOT_FOUND', 'DIRECTORY_CERTIFICATE_READ_ONLY'],
    },
  },
};
