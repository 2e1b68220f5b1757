/**
 * Periodic audit checkpoints (SMIME_AUDIT_CHECKPOINT_INTERVAL_S, started by main.ts). Every instance runs its own
 * timer and writes to its own file: more copies of the anchors, and no instance depends on another. A refused
 * checkpoint (the chain no longer extends the last one) is logged as an error at every round until someone looks:
 * that is the alarm.
 */
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Queryable } from '../store/db.ts';
import type { AuditCheckpoints } from './checkpoints.ts';

/** The first checkpoint after start-up waits this long (or the interval, if shorter): anchor the state the server starts on. */
const FIRST_RUN_DELAY_MS = 5_000;

export interface CheckpointSchedule {
  /** Stop the timer; waits for a checkpoint being written. */
  stop(): Promise<void>;
}

export function startAuditCheckpointSchedule(
  db: Queryable,
  checkpoints: AuditCheckpoints,
  intervalS: number,
  log: Logger,
): CheckpointSchedule {
  if (intervalS <= 0) return { stop: async () => {} };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    try {
      await checkpoints.write(db);
    } catch (e) {
      // write() logged refusals and write failures with their details; anything else is a bug worth a stack.
      if (!(e instanceof AppError)) log.error({ err: e }, 'audit checkpoint crashed');
    }
  };
  const next = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(() => next(intervalS * 1000));
    }, ms);
    timer.unref();
  };
  next(Math.min(FIRST_RUN_DELAY_MS, intervalS * 1000));
  log.info({ intervalS, file: checkpoints.file }, 'audit checkpoints scheduled');
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
