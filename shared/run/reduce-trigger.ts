/**
 * Where the reduce fires. The decision is taken in Lua, once: `finishMapPhaseIfDone`
 * (shared/redis/lua/map-phase.lua) flips a sealed run whose map tasks are all settled to
 * `reducing` and marks the generation's reduce tasks due, inside whichever script settled
 * the last task (seal, commit, final failure, retry, the sweep's check). That script
 * answers `flipped`, and its caller then calls `enqueueDueReduceTasks`, the one function
 * that puts reduce tasks in the queue.
 *
 * The flip and the enqueue are two steps, so a caller may die between them: a duplicate map
 * task that finds its run reducing and the recovery sweep call the same function, which
 * reads from the record whether anything is still due. BullMQ ids do not make a second
 * enqueue harmless (BullMQ forgets an id once a finished task is removed), so partitions
 * already reduced in the generation are skipped, and a reduce task that runs again anyway
 * finds its partition committed and does nothing.
 */
import { loadLuaScript, runScript } from '../redis/lua-scripts.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { runKeys } from '../redis/redis-keys.js';
import type { RunRecord } from './run-record.js';
import { addReduceTasks, type TaskQueues, type TaskTarget } from '../tasks/task-queue.js';

const markReduceEnqueuedScript = loadLuaScript(new URL('./mark-reduce-enqueued.lua', import.meta.url));

export type ReduceTarget = TaskTarget & { options: Pick<RunRecord['options'], 'partitions'> };

/**
 * Enqueues the reduce tasks of the run's current generation when the run is `reducing` and
 * they are not marked enqueued yet; with `again`, also when they are (the sweep, when they
 * seem lost). Returns the generation enqueued, or undefined when nothing was due.
 */
export async function enqueueDueReduceTasks(
  client: RedisClient,
  queues: TaskQueues,
  prefix: string,
  run: ReduceTarget,
  { again = false }: { again?: boolean } = {},
): Promise<number | undefined> {
  const keys = runKeys(prefix, run.id);
  const [incarnation, state, gen, enqueued] = await client.hmget(keys.meta, 'inc', 'state', 'gen', 'reduceEnqueued');
  if (incarnation !== run.incarnation || state !== 'reducing' || gen === null) return undefined;
  if (enqueued === gen && !again) return undefined;
  const generation = Number(gen);
  const reduced = new Set(await client.smembers(keys.reduced(generation)));
  const due = Array.from({ length: run.options.partitions }, (_, p) => p).filter((p) => !reduced.has(String(p)));
  await addReduceTasks(queues, run, generation, due);
  await runScript(client, markReduceEnqueuedScript, [keys.meta], [run.incarnation, generation]);
  return generation;
}
