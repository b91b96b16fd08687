/**
 * Counts, per run, what its committed and failed sets cannot tell: attempts that failed and
 * were retried, and commits ignored because the task had already committed (at-least-once
 * delivery made visible). Both are fields of the run record, so `status` reads them in its
 * one O(1) round trip.
 */
import type { Logger } from '../shared/logger.js';
import { loadLuaScript, runScript } from '../shared/redis/lua-scripts.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { runKeys } from '../shared/redis/redis-keys.js';
import type { TaskOutcome, WorkerObserver } from '../shared/workers/worker-observer.js';

const countRunOutcomeScript = loadLuaScript(new URL('./count-run-outcome.lua', import.meta.url));

/** The run record field each counted outcome goes to. */
const COUNTED: Partial<Record<TaskOutcome, 'retries' | 'duplicates'>> = { retried: 'retries', duplicate: 'duplicates' };

/**
 * An observer that counts outcomes in the run record. It does not wait for Redis: the count
 * is sent on the worker's connection ahead of anything the task does next, so it lands
 * before the run can end. A count refused (Redis full) is lost, and only logged.
 */
export function countRunOutcomes(client: RedisClient, prefix: string, log: Logger): WorkerObserver {
  return {
    taskEnded({ runId, outcome }) {
      const field = COUNTED[outcome];
      if (field === undefined || runId === '') return;
      runScript(client, countRunOutcomeScript, [runKeys(prefix, runId).meta], [field]).catch((error: unknown) =>
        log.debug({ err: error, runId, field }, 'could not count a task outcome in the run record'),
      );
    },
  };
}
