/**
 * A refresh of `status --watch` or of the dashboard's run page costs the same Redis work for
 * a run of 100 tasks and for one of 100,000: the same commands, called the same number of
 * times (Lua's inner calls included), and replies of the same size. Counted by the server
 * itself (INFO commandstats and total_net_output_bytes) on a private redis-server that
 * nothing else talks to while it is measured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardApi } from '../../cli/dashboard/dashboard-api.js';
import { RateMeter } from '../../cli/run-pace.js';
import { readRunView } from '../../cli/run-view.js';
import { defineJob, startWorker, submitRun, z } from '../../index.js';
import { connectRedis, parseRedisUrl, type RedisClient } from '../../shared/redis/redis-connection.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { TaskQueues } from '../../shared/tasks/task-queue.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const noop = defineJob({
  name: 'refresh-cost',
  input: z.number(),
  map: (n) => [[String(n % 7), 1]],
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 4,
});

const PREFIX = 'refresh-cost';
let server: TestRedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectRedis(parseRedisUrl(server.url), { name: 'refresh-cost' });
}, 120_000);

afterAll(async () => {
  await client?.quit();
  await server?.stop();
});

interface Cost {
  calls: Record<string, number>;
  replyBytes: number;
}

async function commandCalls(): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  return Object.fromEntries(Array.from(info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm), (match) => [match[1]!, Number(match[2])]));
}

async function outputBytes(): Promise<number> {
  return Number(/total_net_output_bytes:(\d+)/.exec(await client.info('stats'))![1]);
}

/** What `refresh` costs the server: commands called, by name (without the INFO of measuring), and bytes sent back. */
async function measure(refresh: () => Promise<unknown>): Promise<Cost> {
  await refresh(); // loads the scripts, so every measured refresh runs them by their SHA
  const calls = await commandCalls();
  const bytes = await outputBytes();
  await refresh();
  const bytesAfter = await outputBytes();
  const callsAfter = await commandCalls();
  const delta = Object.fromEntries(
    Object.entries(callsAfter)
      .map(([name, count]) => [name, count - (calls[name] ?? 0)] as const)
      .filter(([name, count]) => count > 0 && name !== 'info'),
  );
  return { calls: delta, replyBytes: bytesAfter - bytes };
}

async function submit(items: number): Promise<string> {
  const inputs = Array.from({ length: items }, (_, i) => i);
  // Both runs share the job's queue: the high-water mark must let the small one in after the large one.
  const run = await submitRun(noop, inputs, { redis: server.url, prefix: PREFIX, chunkSize: 1, highWaterMark: 1_000_000 });
  await run.close();
  return run.id;
}

describe('a refresh of a run', () => {
  it('costs the same Redis commands and reply bytes for 100 tasks as for 100,000', async () => {
    const large = await submit(100_000);
    const small = await submit(100);
    // Some of the large run's tasks commit (the queue hands them out first), then the worker stops:
    // both runs are mapping, the large one with thousands of tasks committed and ~100k pending.
    const worker = await startWorker(noop, { redis: server.url, prefix: PREFIX, concurrency: 8, sweep: false });
    await waitFor('a thousand tasks committed', async () =>
      ((await readRunSnapshot(client, PREFIX, large))?.committedTasks ?? 0) >= 1000 ? true : undefined,
    );
    await worker.close();
    const [largeRun, smallRun] = await Promise.all([readRunSnapshot(client, PREFIX, large), readRunSnapshot(client, PREFIX, small)]);
    expect(largeRun).toMatchObject({ state: 'mapping', totalTasks: 100_000 });
    expect(largeRun!.committedTasks).toBeGreaterThanOrEqual(1000);
    expect(smallRun).toMatchObject({ state: 'mapping', totalTasks: 100, committedTasks: 0 });

    const status = (runId: string) => () => readRunView(client, PREFIX, runId, new RateMeter());
    const statusSmall = await measure(status(small));
    const statusLarge = await measure(status(large));
    expect(statusLarge.calls).toEqual(statusSmall.calls);
    expect(Object.values(statusSmall.calls).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(20);
    // Replies differ only by the digits of the counts and ids.
    expect(Math.abs(statusLarge.replyBytes - statusSmall.replyBytes)).toBeLessThan(200);

    const queues = new TaskQueues(client, PREFIX);
    const dashboard = new DashboardApi({ client, queues, prefix: PREFIX });
    const pageSmall = await measure(() => dashboard.run(small));
    const pageLarge = await measure(() => dashboard.run(large));
    await queues.close();
    expect(pageLarge.calls).toEqual(pageSmall.calls);
    expect(Math.abs(pageLarge.replyBytes - pageSmall.replyBytes)).toBeLessThan(200);
    console.log(
      `one refresh: status ${JSON.stringify(statusLarge.calls)} (${statusSmall.replyBytes} vs ${statusLarge.replyBytes} reply bytes); ` +
        `dashboard run page ${JSON.stringify(pageLarge.calls)} (${pageSmall.replyBytes} vs ${pageLarge.replyBytes} reply bytes)`,
    );
  }, 180_000);
});
