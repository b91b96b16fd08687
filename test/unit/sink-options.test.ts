import { describe, expect, it } from 'vitest';
import type { ParsedArgs } from '../../cli/args.js';
import { sinkFromFlags, submitOptionsFromFlags } from '../../cli/commands/run-flags.js';
import { exitCodeForError } from '../../cli/exit-codes.js';
import { InvalidOptionError, UsageError } from '../../shared/errors.js';
import { resolveRunOptions, runOptionsSchema } from '../../shared/run/run-options.js';

const SECRET = 's3cret-Pa55';

function flags(values: ParsedArgs['values']): ParsedArgs {
  return { values, positionals: [] };
}

/** The error a call throws, to look at its class and message together. */
function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

describe('the --sink flags of run and submit', () => {
  it('make a sink of the URL, the table and the mode, with the table and mode defaulted', () => {
    expect(sinkFromFlags(flags({ sink: 'postgres://app@db.example:5432/reports' }))).toEqual({
      url: 'postgres://app@db.example:5432/reports',
    });
    const sink = sinkFromFlags(flags({ sink: 'postgresql://app@db/reports', 'sink-table': 'analytics.errors', 'sink-mode': 'upsert' }));
    expect(sink).toEqual({ url: 'postgresql://app@db/reports', table: 'analytics.errors', mode: 'upsert' });
    expect(submitOptionsFromFlags(flags({})).sink).toBeUndefined();
  });

  it('refuse a URL with a password as a usage error naming PGPASSWORD, and never show the password', () => {
    for (const url of [`postgres://app:${SECRET}@db:5432/reports`, `postgres://app@db/reports?password=${SECRET}`]) {
      const error = thrown(() => sinkFromFlags(flags({ sink: url })));
      expect(error).toBeInstanceOf(UsageError);
      expect(exitCodeForError(error)).toBe(2);
      expect(error.message).toMatch(/^--sink postgres:\/\/app(:\*\*\*)?@db(:5432)?\/reports: .*PGPASSWORD or PGPASSWORD_FILE/);
      expect(error.message).not.toContain(SECRET);
    }
  });

  it.each([
    [{ sink: 'mysql://app@db/reports' }, '--sink: expected a postgres:// or postgresql:// URL, got "mysql://app@db/reports"'],
    [{ sink: 'db.example:5432' }, '--sink: expected a postgres:// or postgresql:// URL'],
    [{ sink: 'not a url' }, '--sink: expected a URL such as postgres://USER@HOST:5432/DATABASE'],
    [{ sink: 'postgres://app@db' }, '--sink: expected a database'],
    [{ sink: 'postgres:///reports' }, '--sink: expected a host'],
    [{ sink: 'postgres://app@db/r', 'sink-table': 'errors; DROP TABLE users' }, '--sink-table: expected a table name'],
    [{ sink: 'postgres://app@db/r', 'sink-table': 'a.b.c' }, '--sink-table: expected a table name'],
    [{ sink: 'postgres://app@db/r', 'sink-table': '1errors' }, '--sink-table: expected a table name'],
    [{ sink: 'postgres://app@db/r', 'sink-table': 'x'.repeat(53) }, 'at most 52 each'],
    [{ sink: 'postgres://app@db/r', 'sink-mode': 'append' }, '--sink-mode: expected one of run, upsert, got "append"'],
    [{ 'sink-table': 'errors' }, '--sink-table needs --sink URL'],
    [{ 'sink-mode': 'upsert' }, '--sink-mode needs --sink URL'],
  ])('refuse %j with a message naming the flag', (values, message) => {
    const error = thrown(() => sinkFromFlags(flags(values)));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(message);
  });
});

describe('the sink option of submitRun and a job', () => {
  it('is stored with the run options, defaults filled, and the caller overrides the job', () => {
    const job = { sink: { url: 'postgres://app@db/job', table: 'job_table' } };
    const fromJob = resolveRunOptions(job, {}, 4);
    expect(fromJob.sink).toEqual({ url: 'postgres://app@db/job', table: 'job_table', mode: 'run' });
    const given = resolveRunOptions(job, { sink: { url: 'postgres://app@db/caller', mode: 'upsert' } }, 4);
    expect(given.sink).toEqual({ url: 'postgres://app@db/caller', table: 'redmap_results', mode: 'upsert' });
    expect(runOptionsSchema.parse(JSON.parse(JSON.stringify(given))).sink).toEqual(given.sink);
    expect(resolveRunOptions({}, {}, 4).sink).toBeUndefined();
  });

  it('refuses a password in the URL without showing it, and a bad table naming the option', () => {
    const error = thrown(() => resolveRunOptions({}, { sink: { url: `postgres://app:${SECRET}@db/r` } }, 4));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('PGPASSWORD');
    expect(error.message).not.toContain(SECRET);
    const table = thrown(() => resolveRunOptions({}, { sink: { url: 'postgres://app@db/r', table: 'bad-name' } }, 4));
    expect(table).toBeInstanceOf(InvalidOptionError);
    expect(table.message).toMatch(/^sink: .*expected a table name/);
  });
});
