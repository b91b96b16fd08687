/**
 * Enqueues the reduce tasks of a run that has flipped to `reducing`. Whoever sees the flip
 * calls it (the committing worker, the sealing producer, retry, the recovery sweep);
 * BullMQ ids are not enough to make that idempotent, because BullMQ forgets an id once a
 * finished task is removed: partitions already reduced in the generation are skipped, and
 * a reduce task that runs again anyway finds its partition committed and does nothing.
 */
import { loadLuaScript, runScript } from '../redis/lua-scripts.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { runKeys } from '../redis/redis-keys.js';
import type { RunRecord } from './run-record.js';
import { addReduceTasks, type TaskQueues, type TaskTarget } from '../tasks/task-queue.js';

const markReduceEnqueuedScript = loadLuaScript(new URL('./mark-reduce-enqueued.lua', import.meta.url));

export async function enqueueReduceTasks(
  client: RedisClient,
  queues: TaskQueues,
  prefix: string,
  run: TaskTarget & { options: Pick<RunRecord['options'], 'partitions'> },
  generation: number,
): Promise<void> {
  const keys = runKeys(prefix, run.id);
  const reduced = new Set(await client.smembers(keys.reduced(generation)));
  const due = Array.from({ length: run.options.partitions }, (_, p) => p).filter((p) => !reduced.has(String(p)));
  await addReduceTasks(queues, run, generation, due);
  await runScript(client, markReduceEnqueuedScript, [keys.meta], [run.incarnation, generation]);
}
