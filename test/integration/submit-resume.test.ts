/**
 * A producer killed while submitting, then run again with the same run id: every input is
 * processed once, nothing is added twice.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { queueName, runKeys } from '../../shared/redis/redis-keys.js';
import { jobFingerprint } from '../../shared/job/fingerprint.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import { firstLetterCountLines } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

describe('resubmitting a run id', () => {
  it('after the producer was killed mid-submit, processes every input once', async ({ prefix, redis: client, workers }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-resume-'));
    const log = join(dir, 'calls.log');
    const lines = Array.from({ length: 60 }, (_, i) => `input-${String(i).padStart(2, '0')}`);
    writeFileSync(join(dir, 'inputs.txt'), `${lines.join('\n')}\n`);
    const args = [
      'submit',
      'test/fixtures/jobs/logged-map.ts',
      '--input-file',
      join(dir, 'inputs.txt'),
      '--chunk-size',
      '2',
      '--run-id',
      'resume-me',
      '--prefix',
      prefix,
    ];
    const env = { REDIS_URL: redisUrl(), REDMAP_TEST_LOG: log };
    const { job, path } = await loadJobFile('test/fixtures/jobs/logged-map.ts');
    const queue = queueName(job.name, await jobFingerprint({ ...job, modulePath: path }));
    // No workers: the producer stops at the high-water mark of 8 waiting tasks, and is killed there.
    const producer = startCli([...args, '--high-water-mark', '8'], { env });
    await waitFor(
      () => `8 waiting tasks (the producer printed: ${producer.printed().stderr})`,
      async () => (await client.llen(`${prefix}:q:${queue}:wait`)) >= 8,
      20_000,
    );
    producer.kill('SIGKILL');
    await producer.result;
    const before = await readRunSnapshot(client, prefix, 'resume-me');
    expect(before?.state).toBe('submitting');
    expect(before?.sealed).toBe(false);

    // The worker runs in this process: its map calls log through this process's environment.
    process.env.REDMAP_TEST_LOG = log;
    const worker = await workers.start(job);
    try {
      const again = await runCli([...args, '--wait'], { env });
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(firstLetterCountLines(lines));
    } finally {
      await worker.close();
      delete process.env.REDMAP_TEST_LOG;
    }
    const mapped = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { item: string }).item);
    expect(mapped.sort()).toEqual(lines);
    const after = await readRunSnapshot(client, prefix, 'resume-me');
    expect(after?.committedTasks).toBe(30);
    expect(await client.scard(runKeys(prefix, 'resume-me').committed)).toBe(30);
  });

  it('refuses a run id that is already sealed, with exit code 2', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl() };
    const first = await runCli(['submit', 'test/fixtures/jobs/logged-map.ts', 'a', 'b', '--run-id', 'taken', '--prefix', prefix], {
      env,
    });
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe('taken');
    const second = await runCli(['submit', 'test/fixtures/jobs/logged-map.ts', 'c', '--run-id', 'taken', '--prefix', prefix], { env });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/run taken already exists \(mapping\)/);
  });
});
