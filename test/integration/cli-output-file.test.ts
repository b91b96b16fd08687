/**
 * `--output FILE` through the real CLI, real worker processes and Redis: the file equals
 * what a plain computation gives, appears only once a run ends with results, and no
 * temporary file is ever left beside it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import { readLedger, scratch } from '../support/faults.js';
import { countWords, poisonCountLines, wordCountLines, type CountedKey } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const WORDS = 'test/fixtures/jobs/word-count-lines.ts';
const POISON = 'test/fixtures/jobs/poison.ts';
const LOGGED = 'test/fixtures/jobs/logged-map.ts';
const text = Array.from({ length: 30 }, (_, i) => `Line ${i % 7}: "quoted", commas, and ${i % 3} more words`);

/** CSV as written by hand from counted keys: quoted where a field holds a comma, quote or line break. */
function csvOf(entries: readonly CountedKey[]): string {
  const field = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return `key,value\n${entries.map((entry) => `${field(entry.key)},${entry.value}\n`).join('')}`;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'redmap-output-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('run --output', () => {
  it('writes .jsonl and .csv files equal to a plain count, prints nothing on stdout and leaves only the file', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const jsonl = join(dir, 'counts.jsonl');
    const csv = join(dir, 'counts.csv');
    const first = await runCli(['run', WORDS, ...text, '--workers', '2', '--chunk-size', '4', '--output', jsonl], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toContain(`results written to ${jsonl}`);
    const second = await runCli(['run', WORDS, ...text, '--workers', '1', '--chunk-size', '4', '-o', csv], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(jsonl, 'utf8')).toBe(wordCountLines(text));
    expect(readFileSync(csv, 'utf8')).toBe(csvOf(countWords(text)));
    expect(readdirSync(dir).sort()).toEqual(['counts.csv', 'counts.jsonl']);
  });

  it('refuses a file name it cannot tell the format of, before anything runs', async ({ prefix, redis }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const result = await runCli(['run', WORDS, 'a b', '--output', join(dir, 'counts.json')], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--output: expected a file name ending in .jsonl or .csv');
    expect(await redis.zcard(runsIndexKey(prefix))).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes nothing for a run that fails, and leaves no temporary file', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const out = join(dir, 'counts.jsonl');
    const result = await runCli(
      ['run', POISON, 'ok', 'throw', 'fine', '--workers', '1', '--chunk-size', '1', '--attempts', '1', '-o', out],
      {
        env,
      },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/run \S+ failed/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('on Ctrl-C while the run maps: exits 130, cancels the run, and leaves neither the file nor a temporary one', async ({
    prefix,
    redis,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const { ledger } = scratch();
    const out = join(dir, 'counts.csv');
    const running = startCli(['run', LOGGED, ...text, '--workers', '1', '--chunk-size', '1', '--output', out], {
      env: { ...env, REDMAP_TEST_DELAY_MS: '300', REDMAP_TEST_LOG: ledger },
    });
    const runId = await waitFor('the run in the index', async () => (await redis.zrange(runsIndexKey(prefix), '0', '0'))[0], 20_000);
    await waitFor('a map call to start', () => readLedger(ledger).length > 0, 20_000);
    running.kill('SIGINT');
    const result = await running.result;
    expect(result.code, result.stderr).toBe(130);
    expect((await readRunSnapshot(redis, prefix, runId))?.state).toBe('cancelled');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes the results of a done_with_failures run and says on stderr how many items failed and how to list them', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const out = join(dir, 'counts.jsonl');
    const good = ['alpha', 'beta', 'alpha', 'gamma'];
    const result = await runCli(
      ['run', POISON, ...good, 'throw', '--workers', '1', '--chunk-size', '1', '--attempts', '1', '--max-failed-tasks', '1', '-o', out],
      { env },
    );
    expect(result.code, result.stderr).toBe(3);
    const runId = /run (\S+) done_with_failures/.exec(result.stderr)![1]!;
    expect(readFileSync(out, 'utf8')).toBe(poisonCountLines(good));
    expect(result.stderr).toContain(`1 input item(s) failed for good and have no part in ${out}; list them with: redmap failed ${runId}`);
    expect(readdirSync(dir)).toEqual(['counts.jsonl']);
  });
});

describe('a signal while the file is being written', () => {
  /** Starts the command paused with its temporary file open, sends `signal`, and returns what it did. */
  async function interruptWhileWriting(args: string[], env: NodeJS.ProcessEnv, signal: NodeJS.Signals) {
    const writing = startCli(args, { env: { ...env, REDMAP_FAILPOINTS: 'writing-output~3000' } });
    await waitFor(
      'the temporary file',
      () => {
        if (writing.exitCode !== null) throw new Error(`exited ${writing.exitCode}: ${writing.printed().stderr}`);
        return readdirSync(dir).some((name) => name.endsWith('.tmp')) || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    writing.kill(signal);
    return writing.result;
  }

  it('Ctrl-C on run after the run is done: exits 130, removes the temporary file, and says how to write the results', async ({
    prefix,
    redis,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const out = join(dir, 'counts.csv');
    const result = await interruptWhileWriting(['run', WORDS, ...text, '--workers', '1', '--run-id', 'cut', '-o', out], env, 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
    expect(result.stderr).toContain(`${out} not written. The run is done; write its results with: redmap results cut --output ${out}`);
    expect((await readRunSnapshot(redis, prefix, 'cut'))?.state).toBe('done');
  });

  it('SIGTERM on results: exits 130 and leaves neither the file nor the temporary one', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const ran = await runCli(['run', WORDS, ...text, '--workers', '1', '--run-id', 'kept'], { env });
    expect(ran.code, ran.stderr).toBe(0);
    const out = join(dir, 'counts.jsonl');
    const result = await interruptWhileWriting(['results', 'kept', '--output', out], env, 'SIGTERM');
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain(`interrupted: ${out} not written`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('submit --wait --output and results --output', () => {
  it('write the same file as the oracle from a run served by a worker elsewhere; submit without --wait refuses --output', async ({
    prefix,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const refused = await runCli(['submit', WORDS, 'a', '--output', join(dir, 'x.csv')], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('add --wait');

    const worker = startCli(['worker', WORDS], { env });
    try {
      const waited = join(dir, 'waited.csv');
      const submitted = await runCli(['submit', WORDS, ...text, '--run-id', 'output-file', '--wait', '--output', waited], { env });
      expect(submitted.code, submitted.stderr).toBe(0);
      expect(submitted.stdout).toBe('');
      expect(readFileSync(waited, 'utf8')).toBe(csvOf(countWords(text)));
    } finally {
      worker.kill('SIGTERM');
      expect((await worker.result).code).toBe(0);
    }

    const again = join(dir, 'again.jsonl');
    const results = await runCli(['results', 'output-file', '--output', again], { env });
    expect(results.code, results.stderr).toBe(0);
    expect(results.stdout).toBe('');
    expect(readFileSync(again, 'utf8')).toBe(wordCountLines(text));
    expect(readdirSync(dir).sort()).toEqual(['again.jsonl', 'waited.csv']);
  });
});
