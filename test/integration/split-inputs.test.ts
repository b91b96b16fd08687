/**
 * `--split` through Redis with real worker processes: one big file mapped as byte ranges on
 * two workers gives what the GNU-tools pipeline gives for the whole file; `.gz` inputs are
 * read whole; a file changed after submit fails its task with INPUT_CHANGED, not retried.
 */
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect } from 'vitest';
import { generateLogs } from '../../examples/log-errors/generate-logs.js';
import { generateText } from '../../examples/word-count/generate-text.js';
import { runCli, startCli } from '../support/cli.js';
import { startSupervisedWorkers } from '../support/faults.js';
import { asCounts, gnu, LOG_PIPELINE, WORD_PIPELINE } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runsIndexKey } from '../../shared/redis/redis-keys.js';
import { waitFor } from '../support/wait-for.js';
import { runLocally, type ResultEntry } from '../../index.js';
import logErrors from '../../examples/log-errors/job.js';

const KIB = 1024;
/** The log-errors example, recording each map call's input and pid in $REDMAP_TEST_LOG. */
const RECORDED_LOG_ERRORS = 'test/fixtures/jobs/recorded-log-errors.ts';

interface RecordedCall {
  item: { start: number };
  pid: number;
  event?: 'end';
}

function recordedCalls(ledger: string): RecordedCall[] {
  return readFileSync(ledger, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordedCall)
    .filter((call) => call.event === undefined);
}

describe('split inputs through Redis', () => {
  it('log-errors over one file in 128 KiB ranges on 2 worker processes equals the GNU pipeline and one process', async ({ prefix }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-split-logs-'));
    const [file] = generateLogs({ outDir: dir, files: 1, totalBytes: 2 * 1024 * KIB, seed: 11 }).paths;
    const ledger = join(dir, 'calls.log');
    // 150 ms per range: a worker holds up to 6 tasks, so the one that starts first cannot take all 16 before the other serves.
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_TEST_LOG: ledger, REDMAP_TEST_DELAY_MS: '150' };
    const args = ['run', RECORDED_LOG_ERRORS, file!, '--split', '128KiB', '--partitions', '3'];
    const distributed = await runCli([...args, '--workers', '2'], { env });
    expect(distributed.code, distributed.stderr).toBe(0);
    expect(asCounts(distributed.stdout)).toBe(gnu(LOG_PIPELINE, [file!]));
    const local = await runCli([...args, '--local'], { env: { ...env, REDMAP_TEST_LOG: '' } });
    expect(local.stdout).toBe(distributed.stdout);

    const calls = recordedCalls(ledger);
    const size = statSync(file!).size;
    const starts = Array.from({ length: Math.ceil(size / (128 * KIB)) }, (_, i) => i * 128 * KIB);
    expect(starts.length).toBeGreaterThanOrEqual(16);
    expect([...new Set(calls.map((call) => call.item.start))].sort((a, b) => a - b)).toEqual(starts);
    expect(new Set(calls.map((call) => call.pid)).size).toBe(2);
  });

  it('word-count over a split text file and whole .gz files equals the GNU pipeline, and says once that .gz is not split', async ({
    prefix,
  }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-split-text-'));
    const [big, ...others] = generateText({ outDir: dir, files: 3, totalBytes: 1536 * KIB, seed: 5 }).paths;
    const compressed = others.map((path) => {
      writeFileSync(`${path}.gz`, gzipSync(readFileSync(path)));
      return `${path}.gz`;
    });
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const result = await runCli(['run', 'examples/word-count/job.ts', big!, ...compressed, '--split', '64KiB', '--workers', '2'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(asCounts(result.stdout)).toBe(gnu(WORD_PIPELINE, [big!, ...others]));
    expect(result.stderr.match(/is compressed \(\.gz\): --split reads each compressed input whole/g)).toHaveLength(1);
  });

  it('submitRun with split gives what runLocally gives, one task per range', async ({ workers, runs }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-split-api-'));
    const [file] = generateLogs({ outDir: dir, files: 1, totalBytes: 512 * KIB, seed: 9 }).paths;
    await workers.start(logErrors);
    const run = await runs.submit(logErrors, [file!], { split: '64KiB', partitions: 2 });
    const status = await run.done();
    expect(status.state).toBe('done');
    expect(status.tasks.committed).toBe(Math.ceil(statSync(file!).size / (64 * KIB)));
    const results: ResultEntry[] = [];
    for await (const entry of run.results()) results.push(entry);
    expect(results).toEqual(await runLocally(logErrors, [file!]));
  });

  it('fails a range whose file changed after submit with INPUT_CHANGED, at its first attempt', async ({ prefix, redis }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-split-changed-'));
    const [file] = generateLogs({ outDir: dir, files: 1, totalBytes: 256 * KIB, seed: 3 }).paths;
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const waiting = startCli(['submit', 'examples/log-errors/job.ts', file!, '--split', '64KiB', '--wait', '--quiet'], { env });
    const runId = await waitFor('the run', async () => (await redis.zrevrange(runsIndexKey(prefix), 0, 0))[0]);
    await waitFor('the run to be sealed', async () => ((await readRunRecord(redis, prefix, runId))?.sealed ? true : undefined));
    appendFileSync(file!, '127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /late HTTP/1.1" 404 0 "-" "-"\n');

    const workers = startSupervisedWorkers('examples/log-errors/job.ts', 1, env);
    try {
      const failed = await waiting.result;
      expect(failed.code, failed.stderr).toBe(1);
      expect(failed.stderr).toMatch(/input file \S+ changed after the run was submitted \(then 262\d+ bytes.*submit the run again/);
      const listed = await runCli(['failed', runId, '--json'], { env });
      const failures = listed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { attempts: number; error: string });
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect(failure.error).toMatch(/changed after the run was submitted/);
        expect(failure.attempts).toBe(1); // never retried: the default is 3 attempts
      }
    } finally {
      await workers.stop();
    }
  });
});
