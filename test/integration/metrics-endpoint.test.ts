/**
 * `redmap worker --metrics-port`: one Prometheus endpoint for every worker process of the
 * machine. It parses as Prometheus text, its counters match a run of known tasks, and they
 * do not go backwards when a worker process is killed and replaced.
 */
import { describe, expect } from 'vitest';
import { runCli } from '../support/cli.js';
import { signal, startSupervisedWorkers } from '../support/faults.js';
import { countOf, parseMetrics, valueOf, type Sample } from '../support/prometheus.js';
import { freePort } from '../support/redis-server.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const POISON = 'test/fixtures/jobs/poison.ts';
const job = 'test-poison';

async function scrape(port: number): Promise<{ samples: Sample[]; contentType: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return { samples: parseMetrics(await response.text()), contentType: response.headers.get('content-type') };
}

describe('the metrics endpoint', () => {
  it("adds up a machine's worker processes, matches the run, and keeps its counts when a process is killed", async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const port = await freePort();
    const workers = startSupervisedWorkers(POISON, 2, env, ['--concurrency', '2', '--metrics-port', String(port)]);
    try {
      await workers.ready(2);
      // 10 items that map, one that throws on both of its attempts: 12 map attempts, 10 commits,
      // 1 retry, 1 failure for good; then 2 reduce tasks.
      const words = Array.from({ length: 10 }, (_, i) => `w${i % 3}`);
      const submitted = await runCli(
        [
          'submit',
          POISON,
          ...words,
          'throw',
          '--chunk-size',
          '1',
          '--attempts',
          '2',
          '--backoff',
          'fixed:50ms',
          '--max-failed-tasks',
          '1',
          '--wait',
          '--quiet',
        ],
        { env },
      );
      expect(submitted.code).toBe(3);
      // Heartbeats carry the metrics every second, and the run can end before either process
      // sent its last: wait until every attempt is counted, then for a later heartbeat of each
      // process, so a count that kept growing past 12 would show.
      const counted = await waitFor('every attempt to be counted', async () => {
        const { samples } = await scrape(port);
        return valueOf(samples, 'redmap_tasks_committed_total', { job, phase: 'reduce' }) === 2 &&
          valueOf(samples, 'redmap_tasks_started_total', { job, phase: 'map' }) >= 12
          ? samples
          : undefined;
      });
      // Each process times a PING every 5 s and sends it with its next heartbeat: once the
      // count of PINGs has grown by one per process, each process has sent a heartbeat since.
      const pings = countOf(counted, 'redmap_redis_round_trip_seconds');
      const { samples, contentType } = await waitFor(
        'a heartbeat of each process after every attempt was counted',
        async () => {
          const scraped = await scrape(port);
          return countOf(scraped.samples, 'redmap_redis_round_trip_seconds') >= pings + 2 && scraped;
        },
        { intervalMs: 200 },
      );
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const map = { job, phase: 'map' };
      expect(valueOf(samples, 'redmap_tasks_started_total', map)).toBe(12);
      expect(valueOf(samples, 'redmap_tasks_committed_total', map)).toBe(10);
      expect(valueOf(samples, 'redmap_tasks_retried_total', map)).toBe(1);
      expect(valueOf(samples, 'redmap_tasks_failed_total', map)).toBe(1);
      expect(valueOf(samples, 'redmap_duplicate_commits_ignored_total', map)).toBe(0);
      expect(valueOf(samples, 'redmap_items_processed_total', { job })).toBe(10);
      expect(valueOf(samples, 'redmap_tasks_started_total', { job, phase: 'reduce' })).toBe(2);
      expect(countOf(samples, 'redmap_task_duration_seconds', map)).toBe(12);
      expect(countOf(samples, 'redmap_task_duration_seconds', { ...map, outcome: 'committed' })).toBe(10);
      expect(valueOf(samples, 'redmap_map_calls_in_flight', { job })).toBe(0);
      expect(countOf(samples, 'redmap_redis_round_trip_seconds')).toBeGreaterThanOrEqual(2);
      expect(valueOf(samples, 'redmap_worker_processes')).toBe(2);

      // A process killed and replaced: what it counted stays in the machine's totals.
      const [victim] = workers.children();
      signal(victim!, 'SIGKILL');
      await waitFor('a replacement process', () =>
        workers.children().some((pid) => pid !== victim) && workers.children().length === 2 ? true : undefined,
      );
      const after = await waitFor('the replacement to report', async () => {
        const scraped = await scrape(port);
        return valueOf(scraped.samples, 'redmap_worker_processes') === 2 ? scraped.samples : undefined;
      });
      expect(valueOf(after, 'redmap_tasks_started_total', map)).toBe(12);
      expect(valueOf(after, 'redmap_tasks_committed_total', map)).toBe(10);
      expect(countOf(after, 'redmap_task_duration_seconds', map)).toBe(12);
      expect(valueOf(after, 'redmap_items_processed_total', { job })).toBe(10);
    } finally {
      await workers.stop();
    }
  });

  it('answers only GET /metrics, and a port already taken is a usage error naming it', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const port = await freePort();
    const workers = startSupervisedWorkers(POISON, 1, env, ['--metrics-port', String(port)]);
    try {
      await workers.ready(1);
      await waitFor('the endpoint', async () =>
        (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.ok ? true : undefined,
      );
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
      const second = await runCli(['worker', POISON, '--metrics-port', String(port)], { env });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(new RegExp(`--metrics-port ${port}: cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      await workers.stop();
    }
  });
});
