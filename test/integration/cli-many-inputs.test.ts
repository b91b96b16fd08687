/**
 * Reading many inputs through the real CLI, real worker processes and Redis: glob patterns
 * that redmap expands (sorted, so the same files land in the same chunks every time) and CSV
 * files read as objects, with bad rows named by their line.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { runCli } from '../support/cli.js';
import { asCounts, gnu, WORD_PIPELINE } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';

const WORD_COUNT = 'examples/word-count/job.ts';
const AMOUNTS = 'test/fixtures/jobs/csv-amounts.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'redmap-inputs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes files in the order given (not sorted), so a listing in creation order would show. */
function writeFiles(files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

describe('glob patterns', () => {
  it('are expanded by redmap in byte order, one file per chunk in that order, and the run counts what GNU tools count', async ({
    prefix,
    redis,
  }) => {
    writeFiles({
      'logs/zeta.log': 'Zeta alpha\n',
      'logs/sub/b.log': 'beta Beta\n',
      'logs/Alpha.log': 'alpha gamma\n',
      'logs/.hidden.log': 'hidden\n',
      'logs/notes.txt': 'not a log\n',
      'logs/a.log': 'alpha\n',
    });
    const sorted = ['logs/Alpha.log', 'logs/a.log', 'logs/sub/b.log', 'logs/zeta.log'].map((name) => join(dir, name));
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const pattern = join(dir, 'logs/**/*.log');

    // Without workers the run waits, and its chunks can be read as the producer stored them.
    const submitted = await runCli(['submit', WORD_COUNT, pattern, '--chunk-size', '1', '--run-id', 'globbed'], { env });
    expect(submitted.code, submitted.stderr).toBe(0);
    const chunks = await redis.hgetall(runKeys(prefix, 'globbed').inputs);
    expect(Object.keys(chunks).sort()).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(sorted.map((_, i) => JSON.parse(chunks[`c${i}`]!) as string[])).toEqual(sorted.map((path) => [path]));

    const counted = await runCli(['run', WORD_COUNT, pattern, '--workers', '2', '--chunk-size', '1'], { env });
    expect(counted.code, counted.stderr).toBe(0);
    expect(asCounts(counted.stdout)).toBe(gnu(WORD_PIPELINE, sorted));
  });

  it('that match nothing are a usage error naming the pattern, and nothing is submitted', async ({ prefix, redis }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const pattern = join(dir, 'none/*.log');
    const result = await runCli(['run', WORD_COUNT, pattern, '--workers', '1'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the pattern "${pattern}" matches no file`);
    expect(await redis.zcard(runsIndexKey(prefix))).toBe(0);
  });
});

interface Row {
  customer: string;
  amount: number;
}

/** CSV written by hand: every field quoted, quotes doubled. */
function csvFile(rows: readonly Row[]): string {
  const quote = (text: string): string => `"${text.replace(/"/g, '""')}"`;
  return `customer,amount\r\n${rows.map((row) => `${quote(row.customer)},${quote(String(row.amount))}\r\n`).join('')}`;
}

/** Amounts summed per customer, as JSON Lines in byte order of customers. */
function sums(rows: readonly Row[]): string {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.customer, (totals.get(row.customer) ?? 0) + row.amount);
  return [...totals.keys()]
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((customer) => `${JSON.stringify({ key: customer, value: totals.get(customer) })}\n`)
    .join('');
}

describe('--input-format csv', () => {
  it("gives the job one object per row, validated by the job's schema, and the run sums them as plain code does", async ({ prefix }) => {
    const rows: Row[] = Array.from({ length: 40 }, (_, i) => ({
      customer: ['ann', 'bob, jr', 'chloé "c"', 'multi\nline'][i % 4]!,
      amount: i * 3,
    }));
    writeFiles({ 'first.csv': csvFile(rows.slice(0, 25)), 'second.csv': csvFile(rows.slice(25)) });
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const result = await runCli(
      ['run', AMOUNTS, '--input-file', join(dir, '*.csv'), '--input-format', 'csv', '--workers', '2', '--chunk-size', '7'],
      { env },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(sums(rows));
  });

  it('reports a row with a wrong number of fields by its line, before anything is submitted', async ({ prefix, redis }) => {
    writeFiles({ 'bad.csv': 'customer,amount\nann,1\n\n"bob\nby",2\ncid,3,4\ndee,5\n' });
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const path = join(dir, 'bad.csv');
    const result = await runCli(['run', AMOUNTS, '--input-file', path, '--input-format', 'csv', '--workers', '1'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`input item #2 (line 6 of ${path}) is not a valid CSV row`);
    expect(await redis.zcard(runsIndexKey(prefix))).toBe(0);
  });

  it("names the line of a row the job's schema rejects, from standard input too", async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const input = 'customer,amount\nann,1\n"bob\nby",2\n\ncid,lots\n';
    const result = await runCli(['run', AMOUNTS, '-', '--input-format', 'csv', '--workers', '1'], { env, input });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /input item #2 \{"customer":"cid","amount":"lots"\} is rejected by the job's schema: .*\(line 6 of standard input\)/,
    );
  });
});
