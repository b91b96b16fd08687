/**
 * `submit` holds back while the job's queue holds --high-water-mark waiting tasks, says so
 * on stderr, and goes on once workers take tasks: a huge input never piles up in Redis.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { jobFingerprint } from '../../shared/job/fingerprint.js';
import { queueName, queuePrefix, runKeys } from '../../shared/redis/redis-keys.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { startCli } from '../support/cli.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/word-count-lines.ts';
const MARK = 5;

/** Waiting tasks, read straight from BullMQ's keys: its wait list, and its prioritized and delayed sets. */
async function waitingTasks(client: Redis, queueKeys: string): Promise<number> {
  const [wait, prioritized, delayed] = await Promise.all([
    client.llen(`${queueKeys}:wait`),
    client.zcard(`${queueKeys}:prioritized`),
    client.zcard(`${queueKeys}:delayed`),
  ]);
  return wait + prioritized + delayed;
}

/** The most waiting tasks seen, reading every few milliseconds until stopped. */
function sampleGreatest(read: () => Promise<number>): { stop(): Promise<number> } {
  let greatest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      greatest = Math.max(greatest, await read());
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return greatest;
    },
  };
}

describe('the high-water mark', () => {
  it('holds the producer back with no workers, saying so, keeps the queue under twice the mark, and lets it finish once workers come', async ({
    prefix,
    redis: client,
    workers,
  }) => {
    const { job, path } = await loadJobFile(JOB);
    const queueKeys = `${queuePrefix(prefix)}:${queueName(job.name, await jobFingerprint({ ...job, modulePath: path }))}`;
    const lines = Array.from({ length: 100 }, (_, i) => `w${i % 7} common`);
    const sampler = sampleGreatest(() => waitingTasks(client, queueKeys));
    const submit = startCli(['submit', JOB, ...lines, '--chunk-size', '1', '--high-water-mark', String(MARK), '--wait'], {
      env: { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix },
    });
    try {
      const holding = `tasks are waiting in the queue (high-water mark ${MARK}): holding back until workers take some (start them with: redmap worker ${JOB})`;
      await waitFor('submit to say it holds back', async () => {
        if (submit.exitCode !== null) throw new Error(`submit exited ${submit.exitCode}: ${(await submit.result).stderr}`);
        return submit.printed().stderr.includes(holding) || undefined;
      });
      const runId = /"msg":"run (\S+)"/.exec(submit.printed().stderr)![1]!;
      const held = await readRunSnapshot(client, prefix, runId);
      expect(held).toMatchObject({ state: 'submitting', sealed: false });
      // Each batch is at most the mark and goes in only below it: fewer than twice the mark are ever enqueued meanwhile.
      expect(await client.hlen(runKeys(prefix, runId).inputs)).toBeLessThan(2 * MARK);

      const worker = await workers.start(job);
      try {
        const result = await submit.result;
        expect(result.code).toBe(0);
        expect(result.stderr).toContain('workers are taking tasks again; enqueueing the rest');
        const expected = [['common', 100], ...Array.from({ length: 7 }, (_, w) => [`w${w}`, w < 2 ? 15 : 14])];
        expect(result.stdout).toBe(expected.map(([key, value]) => `{"key":"${key}","value":${value}}\n`).join(''));
      } finally {
        await worker.close();
      }
      const greatest = await sampler.stop();
      expect(greatest).toBeGreaterThanOrEqual(MARK);
      expect(greatest).toBeLessThan(2 * MARK);
    } finally {
      submit.kill('SIGKILL');
      await submit.result;
      await sampler.stop();
    }
  });
});
