import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../shared/errors.js';
import { RUN_OPTION_DEFAULTS, resolveRunOptions, type RunDefaults } from '../../shared/run/run-options.js';

type Given = RunDefaults & { partitions?: number };

function errorFrom(jobDefaults: RunDefaults, given: Given): InvalidOptionError {
  try {
    resolveRunOptions(jobDefaults, given, 8);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error(`expected ${JSON.stringify(given)} to be refused`);
}

describe('resolveRunOptions', () => {
  it('applies redmap defaults when neither the job nor the caller sets an option', () => {
    expect(resolveRunOptions({}, {}, 8)).toEqual({
      attempts: 3,
      backoff: { type: 'exponential', delayMs: 1000 },
      callTimeoutMs: 600_000,
      maxFailedTasks: 0,
      maxFailedRatio: undefined,
      maxStalls: 3,
      retentionMs: 7 * 86_400_000,
      chunkSize: 'auto',
      partitions: 8,
      concurrency: undefined,
      rate: undefined,
      minReplicas: 0,
    });
    expect(RUN_OPTION_DEFAULTS.attempts).toBe(3);
  });

  it('uses the job defaults over redmap defaults', () => {
    const options = resolveRunOptions(
      { attempts: 5, backoff: 'fixed:2s', callTimeout: '30s', retention: '1h', chunkSize: 10, maxStalls: 1, rate: '50/m' },
      {},
      4,
    );
    expect(options).toMatchObject({
      attempts: 5,
      backoff: { type: 'fixed', delayMs: 2000 },
      callTimeoutMs: 30_000,
      retentionMs: 3_600_000,
      chunkSize: 10,
      maxStalls: 1,
      partitions: 4,
      rate: { count: 50, periodMs: 60_000 },
    });
  });

  it('uses the given options over the job defaults', () => {
    const options = resolveRunOptions(
      { attempts: 5, callTimeout: '30s', chunkSize: 10, concurrency: 4 },
      { attempts: 2, callTimeout: 1500, chunkSize: 'auto', concurrency: 1, maxFailedTasks: 7, maxFailedRatio: 0.5, partitions: 3 },
      4,
    );
    expect(options).toMatchObject({
      attempts: 2,
      callTimeoutMs: 1500,
      chunkSize: 'auto',
      concurrency: 1,
      maxFailedTasks: 7,
      maxFailedRatio: 0.5,
      partitions: 3,
    });
  });

  it('keeps the job default when the caller passes undefined for an option', () => {
    const options = resolveRunOptions({ attempts: 5 }, { attempts: undefined, chunkSize: undefined, partitions: undefined }, 6);
    expect(options.attempts).toBe(5);
    expect(options.chunkSize).toBe('auto');
    expect(options.partitions).toBe(6);
  });

  it('ignores settings in the given object that are not run options', () => {
    const given = { attempts: 4, redisUrl: 'redis://x', logger: {} } as Given;
    expect(resolveRunOptions({}, given, 8).attempts).toBe(4);
  });

  it('takes durations as strings or as milliseconds', () => {
    expect(resolveRunOptions({}, { callTimeout: '2m', retention: 5000 }, 8)).toMatchObject({ callTimeoutMs: 120_000, retentionMs: 5000 });
  });

  it('reads the backoff as a type and a delay', () => {
    expect(resolveRunOptions({}, { backoff: 'exponential:500ms' }, 8).backoff).toEqual({ type: 'exponential', delayMs: 500 });
    expect(resolveRunOptions({}, { backoff: 'fixed:1m' }, 8).backoff).toEqual({ type: 'fixed', delayMs: 60_000 });
  });

  it.each<[string, Given]>([
    ['attempts', { attempts: 0 }],
    ['attempts', { attempts: 1.5 }],
    ['attempts', { attempts: 101 }],
    ['backoff', { backoff: 'linear:1s' }],
    ['backoff', { backoff: 'fixed:soon' }],
    ['callTimeout', { callTimeout: 'abc' }],
    ['callTimeout', { callTimeout: 0 }],
    ['callTimeout', { callTimeout: '0s' }],
    ['callTimeout', { callTimeout: -1 }],
    ['maxFailedTasks', { maxFailedTasks: -1 }],
    ['maxFailedRatio', { maxFailedRatio: 1.5 }],
    ['maxStalls', { maxStalls: -1 }],
    ['retention', { retention: '500ms' }],
    ['retention', { retention: 'forever' }],
    ['chunkSize', { chunkSize: 0 }],
    ['chunkSize', { chunkSize: 'big' as never }],
    ['concurrency', { concurrency: 0 }],
    ['rate', { rate: 'fast' }],
    ['rate', { rate: '0/s' }],
    ['minReplicas', { minReplicas: -1 }],
    ['minReplicas', { minReplicas: 17 }],
    ['partitions', { partitions: 0 }],
    ['partitions', { partitions: 5000 }],
  ])('refuses an invalid %s with an InvalidOptionError whose message names it (%j)', (option, given) => {
    expect(errorFrom({}, given).message).toContain(option);
  });

  it('refuses an invalid value in the job defaults too, naming the option', () => {
    expect(errorFrom({ attempts: 0 }, {}).message).toContain('attempts');
    expect(errorFrom({ callTimeout: 'never' }, {}).message).toContain('callTimeout');
  });

  it('refuses an unknown option in the job defaults, naming it', () => {
    expect(errorFrom({ bogus: 1 } as RunDefaults, {}).message).toContain('bogus');
  });

  it('names the option and shows the value given in the message of a duration, rate or backoff', () => {
    const error = errorFrom({}, { callTimeout: 'abc' });
    expect(error.option).toBe('callTimeout');
    expect(error.message).toMatch(/^callTimeout: expected a duration .*\(got "abc"\)$/);
    expect(errorFrom({}, { rate: 'fast' }).message).toContain('got "fast"');
    expect(errorFrom({}, { backoff: 'linear:1s' }).option).toBe('backoff');
    expect(errorFrom({}, { retention: '500ms' }).option).toBe('retention');
  });

  it.each<[string, Given, string]>([
    ['attempts', { attempts: 0 }, '0'],
    ['maxFailedTasks', { maxFailedTasks: -1 }, '-1'],
    ['maxFailedRatio', { maxFailedRatio: 1.5 }, '1.5'],
    ['maxStalls', { maxStalls: -1 }, '-1'],
    ['chunkSize', { chunkSize: 0 }, '0'],
    ['concurrency', { concurrency: 0 }, '0'],
    ['partitions', { partitions: 0 }, '0'],
  ])('reports an invalid %s under its own name with the value given', (option, given, shown) => {
    const error = errorFrom({}, given);
    expect(error.option).toBe(option);
    expect(error.message).toContain(`(got ${shown})`);
  });
});
