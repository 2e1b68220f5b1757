// The engine's errors. Codes, kinds and messages live in the backend's one registry (../errors.ts, ENGINE_ERRORS), so
// the API maps an engine error exactly like any other: by its kind. Callers (the API, the CLI, tests) switch on
// `code`, never on the message: messages are for people and may be reworded. A message never contains a password,
// key bytes or decrypted content.
import { AppError, ENGINE_ERRORS } from '../errors.ts';

export type SmimeErrorCode = keyof typeof ENGINE_ERRORS;

/** Each engine code with its default message (a view of the registry, for callers that list the codes). */
export const SMIME_ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.entries(ENGINE_ERRORS).map(([code, entry]) => [code, entry.message])),
) as { readonly [C in SmimeErrorCode]: string };

/** Every error the S/MIME engine throws on bad input. Anything else escaping the engine is a bug. */
export class SmimeError extends AppError<SmimeErrorCode> {
  constructor(code: SmimeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
    this.name = 'SmimeError';
  }
}

export function isSmimeError(value: unknown, code?: SmimeErrorCode): value is SmimeError {
  return value instanceof SmimeError && (code === undefined || value.code === code);
}
