/**
 * Runs share a job's queue but never mix: concurrent runs keep their own results, `clean`
 * removes exactly one run (its keys and its tasks in the queue), and a task of another
 * job version is refused without being run.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect } from 'vitest';
import { defineJob, z } from '../../index.js';
import { fingerprintModule } from '../../shared/job/fingerprint.js';
import { queuePrefix, runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { TASK_PAYLOAD_VERSION } from '../../shared/tasks/task-queue.js';
import { runCli } from '../support/cli.js';
import { countKeys } from '../support/ground-truth.js';
import { collect, it } from '../support/fixtures.js';
import { keysMatching, keysUnder, redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

let mapCalls = 0;
const letters = defineJob({
  name: 'isolation-letters',
  input: z.string(),
  map: (word) => {
    mapCalls++;
    return [...word].map((letter) => [letter, 1] as [string, number]);
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

describe('runs of one job', () => {
  it('keep their own results when they run at the same time', async ({ workers, runs }) => {
    await workers.start(letters, { concurrency: 4 });
    const a = Array.from({ length: 300 }, (_, i) => `abc${i % 3}`);
    const b = Array.from({ length: 200 }, (_, i) => `xyz${i % 5}`);
    const [runA, runB] = await Promise.all([runs.submit(letters, a, { chunkSize: 7 }), runs.submit(letters, b, { chunkSize: 5 })]);
    const [doneA, doneB] = await Promise.all([runA.done(), runB.done()]);
    expect([doneA.state, doneB.state]).toEqual(['done', 'done']);
    // Each run counts its own letters, counted here in plain code: a mix-up shows in the counts.
    expect(await collect(runA)).toEqual(countKeys(a.flatMap((word) => [...word])));
    expect(await collect(runB)).toEqual(countKeys(b.flatMap((word) => [...word])));
  });

  it('clean removes exactly one run: its keys and its tasks in the shared queue', async ({ prefix, redis: client, runs }) => {
    const runA = await runs.submit(letters, ['aa', 'bb', 'cc', 'dd'], { chunkSize: 1 });
    const runB = await runs.submit(letters, ['ee', 'ff', 'gg'], { chunkSize: 1 });
    const record = (await readRunRecord(client, prefix, runA.id))!;
    const queueKeys = `${queuePrefix(prefix)}:${record.queue}`;
    const taskKeys = (runId: string) => keysMatching(client, `${queueKeys}:${runId}.*`);
    expect(await taskKeys(runA.id)).toHaveLength(4);
    expect(await taskKeys(runB.id)).toHaveLength(3);
    const runBKeys = await keysUnder(client, `${prefix}:run:{${runB.id}}`);
    expect(runBKeys.length).toBeGreaterThan(0);

    const cleaned = await runCli(['clean', runA.id, '--prefix', prefix], { env: { REDIS_URL: redisUrl() } });
    expect(cleaned.code).toBe(0);
    expect(cleaned.stderr).toMatch(new RegExp(`removed run ${runA.id} \\(\\d+ keys, 4 queued tasks\\)`));

    expect(await keysUnder(client, `${prefix}:run:{${runA.id}}`)).toEqual([]);
    expect(await taskKeys(runA.id)).toEqual([]);
    expect(await client.lrange(`${queueKeys}:wait`, 0, -1)).toEqual(expect.not.arrayContaining([expect.stringContaining(runA.id)]));
    expect(await keysUnder(client, `${prefix}:run:{${runB.id}}`)).toEqual(runBKeys);
    expect(await taskKeys(runB.id)).toHaveLength(3);
    expect(await client.zscore(`${prefix}:runs`, runA.id)).toBeNull();
    const status = await runCli(['status', runA.id, '--prefix', prefix], { env: { REDIS_URL: redisUrl() } });
    expect(status.stdout).toMatch(/unknown \(never existed, cleaned, expired or lost\)/);
  });

  it('refuses a task of another job version put straight into the queue, and never runs it', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const worker = await workers.start(letters);
    const run = await runs.submit(letters, ['abc']);
    const queue = new Queue(worker.queue, { connection: client, prefix: queuePrefix(prefix) });
    try {
      expect((await run.done()).state).toBe('done');
      mapCalls = 0;
      // A task naming a live run and a pending-looking chunk, but another fingerprint.
      await client.hset(runKeys(prefix, run.id).inputs, 'c9', JSON.stringify(['zzz']));
      const intruder = await queue.add(
        'map',
        { v: TASK_PAYLOAD_VERSION, kind: 'map', fp: 'deadbeef0000', run: run.id, inc: 'any', gen: 1, task: 'c9' },
        { jobId: 'intruder' },
      );
      await waitFor('the intruding task to be refused', () => intruder.isFailed(), 10_000);
      const failed = await queue.getJob('intruder');
      expect(failed?.failedReason).toMatch(/belongs to job version deadbeef0000; this worker runs [0-9a-f]{12} and refuses it/);
      expect(failed?.attemptsMade).toBe(1);
      expect(mapCalls).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('gets a new fingerprint when a module the job imports changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-fingerprint-'));
    cpSync('test/fixtures/fingerprint', dir, { recursive: true });
    const jobPath = join(dir, 'job.ts');
    const before = await fingerprintModule(jobPath);
    expect(await fingerprintModule(jobPath)).toBe(before);
    writeFileSync(join(dir, 'lib', 'normalize.ts'), 'export const normalize = (text: string): string => text.toUpperCase();\n');
    const after = await fingerprintModule(jobPath);
    expect(after).not.toBe(before);
    // An unrelated file in the folder is not part of the job.
    writeFileSync(join(dir, 'notes.txt'), 'unrelated');
    expect(await fingerprintModule(jobPath)).toBe(after);
  });

  it('expire after their retention once ended, and a done run frees its intermediate output at once', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    await workers.start(letters);
    const run = await runs.submit(letters, ['abc', 'abd'], { chunkSize: 1, retention: '2s' });
    expect((await run.done()).state).toBe('done');
    const keys = runKeys(prefix, run.id);
    // -1 until the end sets the retention (-2 would be a record already gone).
    const ttl = await waitFor('the ended run to get its retention', async () => {
      const left = await client.pttl(keys.meta);
      return left === -1 ? undefined : left;
    });
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
    expect(await client.exists(keys.output(0), keys.output(1), keys.outputIndex(0), keys.outputIndex(1))).toBe(0);
    // Redis hides a key from the moment its time is up; 200 ms for this process to look.
    await waitFor(
      'every key of the run to expire',
      async () => (await keysUnder(client, `${prefix}:run:{${run.id}}`)).length === 0,
      ttl + 200,
    );
    expect((await run.status()).state).toBe('lost');
  });

  it('clean --older-than removes runs that ended longer ago, and leaves the others', async ({ prefix, redis: client, workers, runs }) => {
    const worker = await workers.start(letters);
    const ended = await runs.submit(letters, ['ab']);
    expect((await ended.done()).state).toBe('done');
    await worker.close();
    const waiting = await runs.submit(letters, ['cd']);
    // clean compares the run's end with its own clock.
    const endedAt = (await readRunRecord(client, prefix, ended.id))!.finishedAt!;
    await waitFor('the first run to have ended over a second ago', () => Date.now() - endedAt > 1000, { intervalMs: 100 });
    const result = await runCli(['clean', '--older-than', '1s', '--prefix', prefix], { env: { REDIS_URL: redisUrl() } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`removed run ${ended.id}`));
    expect(result.stderr).toMatch(/1 run\(s\) removed/);
    expect(await keysUnder(client, `${prefix}:run:{${ended.id}}`)).toEqual([]);
    expect((await waiting.status()).state).toBe('mapping');
    await waiting.close();
  });
});
