/** The OpenAPI description of /api/v1/messages (issue 15; ../openapi.ts assembles the document). */
import { CONTENT_CIPHERS } from '../contract.ts';
import { arrayOf, base64, closedObject, nullable, ref, str } from '../openapi/json-schema.ts';
import { ENGINE_CODES, json, queryParameters, type PathSpecs } from '../openapi/operation.ts';
import { outgoingQuery } from './routes.ts';

export const MESSAGES_PATHS: PathSpecs = {
  '/api/v1/messages/outgoing': {
    post: {
      operationId: 'protectOutgoing',
      tag: 'messages',
      summary: 'Sign and/or encrypt a composed message',
      description:
        'Signing needs an unlocked key; encryption a usable certificate for every To/Cc/Bcc address (`RECIPIENT_CERTIFICATE_MISSING` with `missing: [{email, reasons}]`), and encrypts to the sender too. With Bcc recipients and encryption each Bcc gets a copy of their own: ask for application/json. `protectHeaders=true` adds RFC 9788 header protection. Nothing is produced when anything is missing.',
      auth: 'user+unlock',
      parameters: queryParameters(outgoingQuery, {
        sign: 'sign with the default key',
        encrypt: 'encrypt to every recipient and the sender',
        format: 'signed only: multipart/signed (default) or opaque application/pkcs7-mime',
        cipher: `content cipher (${CONTENT_CIPHERS.join(', ')})`,
        protectHeaders: 'RFC 9788 header protection',
      }),
      body: 'rfc822',
      ok: {
        status: 200,
        description: 'the protected message; as JSON, one copy per Bcc recipient and one for the others',
        content: {
          'message/rfc822': { schema: { type: 'string', contentMediaType: 'message/rfc822' } },
          'application/json': {
            schema: closedObject({
              messages: arrayOf(
                closedObject({
                  bcc: nullable(str('the Bcc recipient this copy is for; null: the copy for the others')),
                  message: base64('the protected message'),
                }),
              ),
            }),
          },
        },
      },
      errors: [
        ...ENGINE_CODES,
        'BAD_REQUEST',
        'LOCKED',
        'PASSPHRASE_CHANGE_REQUIRED',
        'NO_KEYS',
        'RECIPIENT_CERTIFICATE_MISSING',
        'SENDER_CERTIFICATE_MISSING',
        'SIGNING_CERT_EXPIRED',
        'SIGNING_CERT_NOT_YET_VALID',
        'SIGNER_EMAIL_MISMATCH',
        'FROM_NOT_USER',
        'FROM_NOT_PLAIN',
        'TOO_MANY_RECIPIENTS',
        'OUTPUT_TOO_LARGE',
        'MESSAGE_TOO_LARGE',
        'MESSAGE_MALFORMED',
        'BCC_NEEDS_SEPARATE_COPIES',
      ],
    },
  },
  '/api/v1/messages/incoming': {
    post: {
      operationId: 'analyzeIncoming',
      tag: 'messages',
      summary: 'Verify and decrypt a received message',
      description:
        'Every S/MIME layer outer first with its status and evidence, S/MIME parts inside an unprotected multipart, the certificates harvested, and the innermost MIME entity to render. Decryption needs an unlocked key (else the layer is `locked`).',
      auth: 'user+unlock',
      body: 'rfc822',
      ok: { status: 200, description: 'the analysis', content: json(ref('IncomingAnalysis')) },
      errors: [...ENGINE_CODES, 'MESSAGE_TOO_LARGE', 'MESSAGE_MALFORMED'],
    },
  },
};
