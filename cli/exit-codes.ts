/**
 * Exit codes, as the command-line contract fixes them: 0 done; 1 failed; 2 usage or
 * invalid options; 3 done_with_failures; 4 cancelled; 5 Redis unreachable, out of memory
 * or misconfigured; 6 lost; 130 interrupted by Ctrl-C.
 */
import { RedmapError } from '../shared/errors.js';
import { isRedisFull } from '../shared/redis/redis-connection.js';
import { isAccessRefused } from '../shared/redis/redis-errors.js';
import type { RunState } from '../shared/run/run-state.js';

export const EXIT = {
  done: 0,
  failed: 1,
  usage: 2,
  doneWithFailures: 3,
  cancelled: 4,
  redis: 5,
  lost: 6,
  interrupted: 130,
} as const;

export function exitCodeForState(state: RunState): number {
  switch (state) {
    case 'done':
      return EXIT.done;
    case 'done_with_failures':
      return EXIT.doneWithFailures;
    case 'cancelled':
      return EXIT.cancelled;
    case 'lost':
      return EXIT.lost;
    default:
      return EXIT.failed;
  }
}

export function exitCodeForError(error: unknown): number {
  if (!(error instanceof RedmapError)) return isRedisFull(error) || isAccessRefused(error) ? EXIT.redis : EXIT.failed;
  switch (error.code) {
    case 'USAGE':
    case 'INVALID_OPTION':
    case 'JOB_NOT_FOUND':
    case 'JOB_INVALID':
    case 'INPUT_INVALID':
    case 'RUN_EXISTS':
      return EXIT.usage;
    case 'REDIS_UNREACHABLE':
    case 'REDIS_MISCONFIGURED':
    case 'REDIS_OUT_OF_MEMORY':
    case 'REDIS_TOO_FEW_REPLICAS':
      return EXIT.redis;
    case 'RUN_LOST':
      return EXIT.lost;
    default:
      return EXIT.failed;
  }
}
