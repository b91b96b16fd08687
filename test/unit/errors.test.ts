import { describe, expect, it } from 'vitest';
import {
  CallTimeoutError,
  describeError,
  InputChangedError,
  InputError,
  InvalidOptionError,
  isNonRetryable,
  JobDefinitionError,
  MapOutputError,
  NonRetryableError,
  RedisError,
  RedmapError,
  RunError,
  SinkError,
  TaskStalledError,
  UsageError,
} from '../../shared/errors.js';

describe('isNonRetryable', () => {
  it('is true for NonRetryableError, MapOutputError, InputError and InputChangedError', () => {
    expect(isNonRetryable(new InputChangedError('a.log', { size: 1, mtimeMs: 1 }, { size: 2, mtimeMs: 1 }))).toBe(true);
    expect(isNonRetryable(new NonRetryableError('no'))).toBe(true);
    expect(isNonRetryable(new MapOutputError('bad key'))).toBe(true);
    expect(isNonRetryable(new InputError(3, 'bad item'))).toBe(true);
  });

  it('is false for errors a retry may fix', () => {
    expect(isNonRetryable(new Error('network'))).toBe(false);
    expect(isNonRetryable(new CallTimeoutError('slow'))).toBe(false);
    expect(isNonRetryable(new TaskStalledError('stalled'))).toBe(false);
    expect(isNonRetryable(new RedisError('REDIS_UNREACHABLE', 'down'))).toBe(false);
    expect(isNonRetryable(new TypeError('x is undefined'))).toBe(false);
  });

  it('is false for things thrown that are not errors', () => {
    expect(isNonRetryable('NON_RETRYABLE')).toBe(false);
    expect(isNonRetryable({ code: 'NON_RETRYABLE' })).toBe(false);
    expect(isNonRetryable(undefined)).toBe(false);
    expect(isNonRetryable(null)).toBe(false);
  });

  it('recognises the errors of another copy of redmap by their code', () => {
    for (const code of ['NON_RETRYABLE', 'MAP_OUTPUT_INVALID', 'INPUT_INVALID', 'INPUT_CHANGED']) {
      expect(isNonRetryable(Object.assign(new Error('from another copy'), { code })), code).toBe(true);
    }
    expect(isNonRetryable(Object.assign(new Error('other'), { code: 'ECONNRESET' }))).toBe(false);
  });
});

describe('the error catalogue', () => {
  it('gives each error its stable code, its class name and RedmapError as a base', () => {
    const errors: Array<[RedmapError, string, string]> = [
      [new UsageError('u'), 'USAGE', 'UsageError'],
      [new InvalidOptionError('attempts', 'm'), 'INVALID_OPTION', 'InvalidOptionError'],
      [new JobDefinitionError('JOB_NOT_FOUND', 'm'), 'JOB_NOT_FOUND', 'JobDefinitionError'],
      [new InputError(0, 'm'), 'INPUT_INVALID', 'InputError'],
      [new InputChangedError('f', { size: 0, mtimeMs: 0 }, { size: 1, mtimeMs: 0 }), 'INPUT_CHANGED', 'InputChangedError'],
      [new NonRetryableError('m'), 'NON_RETRYABLE', 'NonRetryableError'],
      [new MapOutputError('m'), 'MAP_OUTPUT_INVALID', 'MapOutputError'],
      [new CallTimeoutError('m'), 'CALL_TIMEOUT', 'CallTimeoutError'],
      [new TaskStalledError('m'), 'TASK_STALLED', 'TaskStalledError'],
      [new RedisError('REDIS_OUT_OF_MEMORY', 'm'), 'REDIS_OUT_OF_MEMORY', 'RedisError'],
      [new RunError('RUN_NOT_FOUND', 'r1', 'm'), 'RUN_NOT_FOUND', 'RunError'],
      [new SinkError('results', 'm'), 'SINK_FAILED', 'SinkError'],
    ];
    for (const [error, code, name] of errors) {
      expect(error).toBeInstanceOf(RedmapError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
    }
  });

  it('keeps the cause and the structured fields', () => {
    const cause = new Error('root');
    expect(new UsageError('u', { cause }).cause).toBe(cause);
    expect(new InvalidOptionError('attempts', 'm').option).toBe('attempts');
    expect(new InputError(12, 'm').index).toBe(12);
    expect(new RunError('RUN_EXISTS', 'r9', 'm').runId).toBe('r9');
    expect(new SinkError('analytics.errors', 'm').table).toBe('analytics.errors');
    const changed = new InputChangedError('/logs/a.log', { size: 10, mtimeMs: 0 }, { size: 12, mtimeMs: 1000 });
    expect(changed).toMatchObject({ path: '/logs/a.log', recorded: { size: 10 }, found: { size: 12 } });
    expect(changed.message).toBe(
      'input file /logs/a.log changed after the run was submitted (then 10 bytes, modified 1970-01-01T00:00:00.000Z; ' +
        'now 12 bytes, modified 1970-01-01T00:00:01.000Z): its byte ranges would map other lines; submit the run again',
    );
  });

  it('has no cause when none is given', () => {
    expect('cause' in new UsageError('u')).toBe(false);
  });
});

describe('describeError', () => {
  it('describes errors, strings and other values on one line', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError(new TypeError(''))).toBe('TypeError');
    expect(describeError('plain')).toBe('plain');
    expect(describeError({ a: 1 })).toBe('{"a":1}');
    expect(describeError(undefined)).toBe('undefined');
    expect(describeError(3n)).toBe('3');
  });
});
