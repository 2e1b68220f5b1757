// The MIME layer's errors, shaped like the engine's (../errors.ts): codes, kinds and messages live in the backend's one
// registry (../../errors.ts, MIME_ERRORS). Callers switch on `code`, never on the message. Malformed input makes this
// layer throw a MimeError and nothing else; any other exception escaping it is a bug.
import { AppError, MIME_ERRORS } from '../../errors.ts';

export type MimeErrorCode = keyof typeof MIME_ERRORS;

/** Each MIME code with its default message (a view of the registry, for callers that list the codes). */
export const MIME_ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.entries(MIME_ERRORS).map(([code, entry]) => [code, entry.message])),
) as { readonly [C in MimeErrorCode]: string };

/** Every error this layer throws on bad input or bad arguments. */
export class MimeError extends AppError<MimeErrorCode> {
  constructor(code: MimeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
    this.name = 'MimeError';
  }
}

export function isMimeError(value: unknown, code?: MimeErrorCode): value is MimeError {
  return value instanceof MimeError && (code === undefined || value.code === code);
}
