/**
 * What a suite does when something it needs is missing (a tool, a service, the shared corpus): on a developer's
 * machine it skips, loudly; with CI=true it fails at once with the reason, because a CI run that silently skips
 * tests proves nothing (issue 13).
 */
import { existsSync } from 'node:fs';
import { THUNDERBIRD_CORPUS } from './paths.ts';

export const IN_CI = process.env.CI === 'true';

/**
 * `reason` says what is missing and how to get it. Returns the skip reason to give node:test (`{ skip: reason }`)
 * after printing it where a developer sees it; throws under CI=true, so the file fails before any setup runs.
 */
export function unavailable(reason: string, what = 'the tests of this file'): string {
  if (IN_CI) throw new Error(`${reason}; CI=true requires it`);
  console.warn(`\n!!!!! SKIPPING ${what}: ${reason} !!!!!\n`);
  return reason;
}

/**
 * Why the shared corpus cannot be read (a skip reason for `{ skip }`, see unavailable()), or false when it can. Call
 * it in the module body, before anything reads the corpus: under CI=true it throws there, so the file fails at once
 * with this message instead of a setup error in the middle of a suite.
 */
export function corpusUnavailable(what?: string): string | false {
  if (existsSync(`${THUNDERBIRD_CORPUS}mailnews-test-data-smime/TestCA.pem`)) return false;
  return unavailable(
    `the shared S/MIME corpus is missing at ${THUNDERBIRD_CORPUS} (check out ../shared/smime-corpus beside the repository, or set SMIME_CORPUS_DIR)`,
    what,
  );
}
