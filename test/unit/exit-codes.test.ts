import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeForError, exitCodeForState } from '../../cli/exit-codes.js';
import {
  CallTimeoutError,
  InputError,
  InvalidOptionError,
  JobDefinitionError,
  MapOutputError,
  NonRetryableError,
  RedisError,
  RunError,
  TaskStalledError,
  UsageError,
} from '../../shared/errors.js';
import { RUN_STATES } from '../../shared/run/run-state.js';

describe('exit codes', () => {
  it('follow the command-line contract', () => {
    expect(EXIT).toEqual({ done: 0, failed: 1, usage: 2, doneWithFailures: 3, cancelled: 4, redis: 5, lost: 6, interrupted: 130 });
  });

  it.each([
    ['done', 0],
    ['done_with_failures', 3],
    ['cancelled', 4],
    ['lost', 6],
    ['failed', 1],
    ['submitting', 1],
    ['mapping', 1],
    ['reducing', 1],
  ] as const)('a run that ends %s exits with %i', (state, code) => {
    expect(exitCodeForState(state)).toBe(code);
  });

  it('gives every run state a code', () => {
    for (const state of RUN_STATES) expect(Object.values(EXIT)).toContain(exitCodeForState(state));
  });

  it.each([
    ['a usage error', new UsageError('x'), 2],
    ['an invalid option', new InvalidOptionError('attempts', 'x'), 2],
    ['a missing job', new JobDefinitionError('JOB_NOT_FOUND', 'x'), 2],
    ['an invalid job', new JobDefinitionError('JOB_INVALID', 'x'), 2],
    ['an invalid input', new InputError(0, 'x'), 2],
    ['a run that already exists', new RunError('RUN_EXISTS', 'r', 'x'), 2],
    ['an unreachable Redis', new RedisError('REDIS_UNREACHABLE', 'x'), 5],
    ['a misconfigured Redis', new RedisError('REDIS_MISCONFIGURED', 'x'), 5],
    ['a full Redis', new RedisError('REDIS_OUT_OF_MEMORY', 'x'), 5],
    ['a primary with too few replicas for --min-replicas', new RedisError('REDIS_TOO_FEW_REPLICAS', 'x'), 5],
    ['a command the Redis user may not run', new Error("NOPERM User w has no permissions to run the 'xadd' command"), 5],
    ['a lost run', new RunError('RUN_LOST', 'r', 'x'), 6],
    ['a missing run', new RunError('RUN_NOT_FOUND', 'r', 'x'), 1],
    ['a run in the wrong state', new RunError('RUN_STATE', 'r', 'x'), 1],
    ['a non-retryable error', new NonRetryableError('x'), 1],
    ['a bad map output', new MapOutputError('x'), 1],
    ['a call timeout', new CallTimeoutError('x'), 1],
    ['a stalled task', new TaskStalledError('x'), 1],
    ['an ordinary Error', new Error('x'), 1],
    ['a thrown string', 'x', 1],
    ['an error-like object with a usage code', { code: 'USAGE' }, 1],
  ])('%s exits with %i', (_, error, code) => {
    expect(exitCodeForError(error)).toBe(code);
  });
});
