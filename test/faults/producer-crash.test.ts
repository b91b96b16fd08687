/**
 * The producer killed while it submits 100k inputs, then run again with the same run id:
 * every input is processed once and counted once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import { expectWithSchedule, FaultSchedule, readLedger, scratch, seededRandom, startSupervisedWorkers } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { startRedisServer } from '../support/redis-server.js';
import { auditRun, chunkIds, expectCommittedOnce } from '../support/run-checks.js';

const JOB = 'test/fixtures/jobs/logged-map.ts';

describe('a producer crash', () => {
  it('killed while submitting 100k inputs, then re-run with the same run id: every input processed once', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url);
    const schedule = new FaultSchedule('producer killed mid-submit');
    const { ledger } = scratch();
    const dir = mkdtempSync(join(tmpdir(), 'redmap-100k-'));
    const inputs = Array.from({ length: 100_000 }, (_, i) => `i${i}`);
    writeFileSync(join(dir, 'inputs.txt'), `${inputs.join('\n')}\n`);
    const env = { REDIS_URL: redis.url, REDMAP_TEST_LOG: ledger };
    const args = [
      'submit',
      JOB,
      '--input-file',
      join(dir, 'inputs.txt'),
      '--chunk-size',
      '100',
      '--run-id',
      'big',
      '--high-water-mark',
      '200',
    ];
    const workers = startSupervisedWorkers(JOB, 2, env, ['--concurrency', '4']);
    try {
      await workers.ready(2);
      const first = startCli(args, { env });
      const killAt = 50 + Math.floor(seededRandom(Number(process.env.REDMAP_FAULT_SEED ?? 7))() * 600);
      await waitFor(
        `${killAt} tasks committed`,
        async () => ((await client.scard(runKeys('redmap', 'big').committed)) >= killAt ? true : undefined),
        120_000,
      );
      first.kill('SIGKILL');
      await first.result;
      const record = await readRunRecord(client, 'redmap', 'big');
      schedule.note(`kill -9 the producer after ${killAt}+ committed tasks; the run is ${record?.state}, sealed ${record?.sealed}`);
      expectWithSchedule(record?.sealed, schedule).toBe(false);

      const again = await runCli([...args, '--wait', '--quiet'], { env, timeoutMs: 300_000 });
      schedule.note(`re-submitted with --run-id big: exit ${again.code}`);
      expectWithSchedule(again.code, schedule).toBe(0);
      // logged-map emits [first letter, 1]: all 100k inputs start with "i".
      expectWithSchedule(again.stdout, schedule).toBe('{"key":"i","value":100000}\n');
      const mapped = readLedger(ledger).map((call) => call.item);
      expectWithSchedule(mapped.length, schedule).toBe(100_000);
      expectWithSchedule(new Set(mapped).size, schedule).toBe(100_000);
      // Tasks the first producer enqueued are not enqueued again: 1000 commits, not more.
      expectCommittedOnce(await auditRun(client, 'redmap', 'big'), { tasks: chunkIds(1000), partitions: 2 }, schedule);
    } finally {
      await workers.stop();
      client.disconnect();
      await redis.stop();
    }
  });
});
