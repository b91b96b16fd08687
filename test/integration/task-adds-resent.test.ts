/**
 * Adding tasks survives a connection cut in the middle of the batch. BullMQ's addBulk is a
 * pipeline; when the connection closes after some of its replies came, ioredis does not
 * resend the rest but fails them as aborted, though Redis may have run them. redmap sends
 * the batch again: every task carries its id, so what was added already is not added twice.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl, redisOptions } from '../../shared/redis/redis-connection.js';
import { mapTaskQueueId, queuePrefix, reduceTaskQueueId } from '../../shared/redis/redis-keys.js';
import { addMapTasks, addReduceTasks, TaskQueues, type TaskTarget } from '../../shared/tasks/task-queue.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { startReplyDroppingProxy, type ReplyDroppingProxy } from '../support/reply-dropping-proxy.js';
import { release, track } from '../support/resources.js';
import { bullmqScripts, redmapScripts } from '../support/script-shas.js';

const PREFIX = 'adds';
const QUEUE = '{adds-job.fp1}';
const RUN: TaskTarget = {
  id: 'run1',
  incarnation: 'inc1',
  fingerprint: 'fp1',
  queue: QUEUE,
  options: { attempts: 3, backoff: { type: 'fixed', delayMs: 100 }, retentionMs: 60_000 },
};

let server: TestRedisServer;
let direct: Redis;
const open: { proxy?: ReplyDroppingProxy; client?: Redis; queues?: TaskQueues } = {};

beforeAll(async () => {
  server = await startRedisServer();
  direct = new Redis({ port: server.port, host: '127.0.0.1' });
});
afterAll(async () => {
  direct.disconnect();
  await server.stop();
});
afterEach(async () => {
  await open.queues?.close();
  if (open.client) {
    open.client.disconnect();
    release(open.client);
  }
  await open.proxy?.close();
  await direct.flushall();
});

/** Queues on a client as redmap makes them, through a proxy that loses the reply of the `nth` task added. */
async function queuesCuttingAt(nth: number): Promise<TaskQueues> {
  let adds = 0;
  open.proxy = await startReplyDroppingProxy({
    target: { host: '127.0.0.1', port: server.port },
    seed: 1,
    dropRedmap: 0,
    dropBullmq: 1,
    maxDrops: 1,
    scripts: redmapScripts(),
    otherScripts: bullmqScripts(),
    only: (name) => name === 'addStandardJob' && ++adds === nth,
  });
  open.client = track(new Redis(redisOptions(parseRedisUrl(open.proxy.url), { name: 'adds-test' })), 'Redis client through the proxy');
  open.client.on('error', () => {}); // the cut is the point
  open.queues = new TaskQueues(open.client, PREFIX);
  return open.queues;
}

const taskKey = (jobId: string) => `${queuePrefix(PREFIX)}:${QUEUE}:${jobId}`;

describe('adding tasks across a cut connection', () => {
  it('adds every map task of a batch whose second reply was lost, each once', async () => {
    const queues = await queuesCuttingAt(2);
    await addMapTasks(queues, RUN, 1, ['c0', 'c1', 'c2']);
    // The cut landed after the first reply came: ioredis aborted the rest of the pipeline.
    expect(open.proxy?.drops()).toMatchObject([{ name: 'addStandardJob', kind: 'bullmq', replySeen: true }]);
    for (const task of ['c0', 'c1', 'c2']) {
      expect(JSON.parse((await direct.hget(taskKey(mapTaskQueueId(RUN, 1, task)), 'data')) ?? '{}')).toMatchObject({ kind: 'map', task });
    }
    expect(await direct.llen(`${queuePrefix(PREFIX)}:${QUEUE}:wait`)).toBe(3);
  });

  it('adds every reduce task of a batch whose third reply was lost, each once', async () => {
    const queues = await queuesCuttingAt(3);
    await addReduceTasks(queues, RUN, 2, [0, 1, 2, 3]);
    expect(open.proxy?.drops()).toMatchObject([{ name: 'addStandardJob', replySeen: true }]);
    for (const partition of [0, 1, 2, 3]) {
      expect(await direct.hget(taskKey(reduceTaskQueueId(RUN, 2, partition)), 'name')).toBe('reduce');
    }
    expect(await direct.llen(`${queuePrefix(PREFIX)}:${QUEUE}:wait`)).toBe(4);
  });
});
