/**
 * The periodic sync (SMIME_DIRECTORY_SYNC_INTERVAL_S, started by main.ts when LDAP_URL is set). Every instance runs
 * the timer; the advisory lock lets one of them sync and the others skip that round. Each run is 'auto': incremental,
 * or full when the last full sync is older than SMIME_DIRECTORY_FULL_SYNC_INTERVAL_S (that is what removes entries
 * deleted from the directory).
 */
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/db.ts';
import type { DirectoryOptions } from './options.ts';
import { syncDirectory } from './sync.ts';

/** The first run after start-up waits this long (or the interval, if shorter): let the server settle first. */
const FIRST_RUN_DELAY_MS = 15_000;

export interface Schedule {
  stop(): void;
}

export function startDirectorySchedule(db: Database, opts: DirectoryOptions, intervalS: number, log: Logger): Schedule {
  if (intervalS <= 0) return { stop() {} };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    try {
      await syncDirectory(db, opts, { mode: 'auto', actor: 'system:schedule', log });
    } catch (e) {
      if (e instanceof AppError && e.code === 'DIRECTORY_SYNC_RUNNING')
        log.debug('directory sync skipped: another one is running');
      // Failures were logged and recorded by syncDirectory; anything else is a bug worth a stack.
      else if (!(e instanceof AppError)) log.error({ err: e }, 'directory sync crashed');
    }
  };
  const next = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      void run().finally(() => next(intervalS * 1000));
    }, ms);
    timer.unref();
  };
  next(Math.min(FIRST_RUN_DELAY_MS, intervalS * 1000));
  log.info({ intervalS, fullSyncIntervalS: opts.fullSyncIntervalS }, 'directory sync scheduled');
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
