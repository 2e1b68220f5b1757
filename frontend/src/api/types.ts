/**
 * The shapes of the backend's HTTP API answers (README "HTTP API"). The frontend talks to the backend only through
 * that API; the types come from the one module the backend's presenters are checked against
 * (backend/src/api/contract.ts), so a change on one side that the other does not follow fails the typecheck.
 */
export * from '../../../backend/src/api/contract.ts';

/** One protected copy of an outgoing message, as the plugin hands it to the host. */
export interface ProtectedCopy {
  /** null: the To/Cc copy (also the Sent copy); otherwise the one Bcc recipient this copy is for. */
  bcc: string | null;
  raw: Uint8Array;
}
