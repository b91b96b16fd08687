import { describe, expect, it } from 'vitest';
import { defineJob, isJob, JobDefinitionError, z } from '../../index.js';
import type { JobSpec } from '../../index.js';

const spec: JobSpec<string, number, number> = {
  name: 'word-count',
  input: z.string(),
  map: (line) => line.split(' ').map((word) => [word, 1] as const),
  combine: (a, b) => a + b,
  reduce: (_key, values) => values.reduce((a, b) => a + b, 0),
};

function definitionError(overrides: Record<string, unknown>): JobDefinitionError {
  try {
    defineJob({ ...spec, ...overrides } as JobSpec<string, number, number>);
  } catch (error) {
    expect(error).toBeInstanceOf(JobDefinitionError);
    expect((error as JobDefinitionError).code).toBe('JOB_INVALID');
    return error as JobDefinitionError;
  }
  throw new Error(`expected ${JSON.stringify(overrides)} to be refused`);
}

describe('defineJob', () => {
  it('returns a frozen job with the defaults filled in', () => {
    const job = defineJob(spec);
    expect(job.name).toBe('word-count');
    expect(job.partitions).toBe(8);
    expect(job.itemConcurrency).toBe(1);
    expect(job.limits).toEqual({});
    expect(job.defaults).toEqual({});
    expect(job.map).toBe(spec.map);
    expect(job.combine).toBe(spec.combine);
    expect(job.reduce).toBe(spec.reduce);
    expect(job.input).toBe(spec.input);
    expect(Object.isFrozen(job)).toBe(true);
  });

  it('keeps the partitions, item concurrency, limits and defaults it is given', () => {
    const job = defineJob({
      ...spec,
      partitions: 3,
      itemConcurrency: 4,
      limits: { concurrency: 2, rate: '5/s' },
      defaults: { attempts: 1 },
    });
    expect(job).toMatchObject({ partitions: 3, itemConcurrency: 4, limits: { concurrency: 2, rate: '5/s' }, defaults: { attempts: 1 } });
  });

  it('records the file that defined the job', () => {
    expect(defineJob(spec).modulePath).toMatch(/job-definition\.test\.ts$/);
  });

  it.each(['Word-Count', 'word count', 'word_count', '', 'a'.repeat(65), 'wörd'])(
    'refuses the name %j, saying what a name must be',
    (name) => {
      const error = definitionError({ name });
      expect(error.message).toContain('name: must be 1-64 lower-case letters, digits or dashes');
    },
  );

  it('names the job in the message', () => {
    expect(definitionError({ name: 'Bad Name' }).message).toMatch(/^job "Bad Name" is invalid/);
    expect(definitionError({ partitions: 0 }).message).toMatch(/^job "word-count" is invalid/);
  });

  it('refuses a job without map', () => {
    expect(definitionError({ map: undefined }).message).toContain('map: must be a function');
  });

  it('refuses a job without reduce', () => {
    expect(definitionError({ reduce: undefined }).message).toContain('reduce: must be a function');
  });

  it('refuses a combine that is not a function', () => {
    expect(definitionError({ combine: 'sum' }).message).toContain('combine: must be a function');
  });

  it('refuses an input that is not a Standard Schema', () => {
    expect(definitionError({ input: { parse: () => 1 } }).message).toContain('input: must be a Standard Schema');
    expect(definitionError({ input: undefined }).message).toContain('input:');
    expect(definitionError({ input: String }).message).toContain('input:');
  });

  it.each([0, -1, 1.5, 4097])('refuses %d partitions', (partitions) => {
    expect(definitionError({ partitions }).message).toContain('partitions:');
  });

  it('refuses an item concurrency of 0', () => {
    expect(definitionError({ itemConcurrency: 0 }).message).toContain('itemConcurrency:');
  });

  it('refuses invalid limits and defaults, naming the nested option', () => {
    expect(definitionError({ limits: { concurrency: 0 } }).message).toContain('limits.concurrency');
    expect(definitionError({ defaults: { attempts: 0 } }).message).toContain('defaults.attempts');
    expect(definitionError({ defaults: { retries: 3 } }).message).toContain('retries');
  });

  it('lists every problem at once', () => {
    const message = definitionError({ map: undefined, reduce: undefined }).message;
    expect(message).toContain('map:');
    expect(message).toContain('reduce:');
  });

  it('refuses something that is not a spec at all', () => {
    expect(() => defineJob(undefined as unknown as JobSpec<string, number, number>)).toThrow(JobDefinitionError);
  });
});

describe('isJob', () => {
  it('is true for what defineJob returns', () => {
    expect(isJob(defineJob(spec))).toBe(true);
  });

  it('is true for a job branded by another copy of redmap (Symbol.for)', () => {
    expect(isJob({ [Symbol.for('redmap.job')]: true })).toBe(true);
  });

  it('is false for a spec that was not passed to defineJob, and for non-objects', () => {
    expect(isJob(spec)).toBe(false);
    expect(isJob({})).toBe(false);
    expect(isJob(null)).toBe(false);
    expect(isJob(undefined)).toBe(false);
    expect(isJob('job')).toBe(false);
    expect(isJob({ [Symbol('redmap.job')]: true })).toBe(false);
  });
});
