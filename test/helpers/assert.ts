/** Assertions shared by the test files. */
import assert from 'node:assert/strict';
import { isSmimeError, type SmimeError, type SmimeErrorCode } from '../../backend/src/smime/errors.ts';

/**
 * Asserts that `work` (a promise, or a function that is called here) rejects or throws a SmimeError with `code`, or
 * with one of `code` when several outcomes are right. Asserts on the code, never on the message (STYLE.md); when
 * `secret` is given, the message must not contain it (a password must never reach an error). Returns the error.
 */
export async function rejectsWith(
  work: Promise<unknown> | (() => unknown),
  code: SmimeErrorCode | readonly SmimeErrorCode[],
  secret?: string,
): Promise<SmimeError> {
  let caught: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    caught = error;
  }
  const codes: readonly SmimeErrorCode[] = typeof code === 'string' ? [code] : code;
  assert.ok(isSmimeError(caught), `expected SmimeError ${codes.join('|')}, got ${String(caught)}`);
  assert.ok(codes.includes(caught.code), `expected ${codes.join('|')}, got ${caught.code}: ${caught.message}`);
  if (secret) assert.ok(!caught.message.includes(secret), 'the message contains the secret');
  return caught;
}
