/** What every check of `smime-admin doctor` reports, and the helpers they share (doctor.ts runs them). */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  /** What was found: names settings, paths and counts, never a secret's value. */
  detail: string;
  /** For warn and fail: what to set or run. */
  fix?: string;
}

/** Where a check puts what it found. */
export type Add = (c: DoctorCheck) => void;

export const set = (v: string | undefined): v is string => v !== undefined && v !== '';
export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

class Timeout extends Error {}

/** `p`, or a Timeout after `ms`; the timer never keeps the process alive. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
