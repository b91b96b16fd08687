/**
 * Tasks in BullMQ: the payload schema (checked whenever a task is read back), the
 * options every task carries, and adding map and reduce tasks by their ids.
 *
 * BullMQ calls queue items "jobs"; redmap calls them tasks, and keeps BullMQ's types
 * behind this module and the worker runtime.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { sendAgainWhenAborted } from '../redis/pipelines.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { mapTaskQueueId, queuePrefix, reduceTaskQueueId, type RunIncarnation } from '../redis/redis-keys.js';
import type { RunOptions } from '../run/run-options.js';

export const TASK_PAYLOAD_VERSION = 2;

/**
 * A task's payload, as BullMQ stores it with the task (short names: one copy per task in Redis).
 * - `v`: the payload format version (TASK_PAYLOAD_VERSION); another version is refused.
 * - `kind`: `map` (one chunk of inputs) or `reduce` (one partition).
 * - `fp`: fingerprint of the job version the task belongs to; a worker of another version refuses it.
 * - `run`: the run id.
 * - `inc`: the run's incarnation: a task of a run cleaned since never acts on a new run of the same id.
 * - `gen`: the run's generation (raised by `retry`): a task of an earlier generation is stale.
 * - `task` (map): the map task's id: `c<chunk>` for a chunk, `c<chunk>.<item>` for one item of a split chunk.
 * - `items` (map, optional): a copy of the task's input items when they are small
 *   (MAX_PAYLOAD_ITEMS_BYTES), so a worker that knows the run is mapping need not read them.
 *   The run's inputs hash stays the truth: the commit takes effect only while the task's
 *   inputs are stored there, and retry, split and failure reports read them there.
 * - `partition` (reduce): the partition it reduces, from 0.
 */
export const taskPayloadSchema = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(TASK_PAYLOAD_VERSION),
    kind: z.literal('map'),
    fp: z.string().min(1),
    run: z.string().min(1).max(64),
    inc: z.string().min(1).max(64),
    gen: z.number().int().min(1),
    task: z.string().regex(/^c\d+(\.\d+)?$/),
    items: z.array(z.unknown()).optional(),
  }),
  z.object({
    v: z.literal(TASK_PAYLOAD_VERSION),
    kind: z.literal('reduce'),
    fp: z.string().min(1),
    run: z.string().min(1).max(64),
    inc: z.string().min(1).max(64),
    gen: z.number().int().min(1),
    partition: z.number().int().min(0),
  }),
]);

export type TaskPayload = z.infer<typeof taskPayloadSchema>;
export type MapTaskPayload = Extract<TaskPayload, { kind: 'map' }>;
export type ReduceTaskPayload = Extract<TaskPayload, { kind: 'reduce' }>;

/**
 * Input items up to this size (their JSON) travel with the task as well as in the run's
 * inputs hash: a one-item task then costs no read. Larger chunks are read once per task,
 * which costs little next to their items, and are not stored twice.
 */
export const MAX_PAYLOAD_ITEMS_BYTES = 1024;

/** How long BullMQ keeps a failed task (redmap keeps its own failure report with the run). */
const KEEP_FAILED_TASKS = { count: 10_000 };

export function taskOptions(options: Pick<RunOptions, 'attempts' | 'backoff' | 'retentionMs'>): JobsOptions {
  return {
    attempts: options.attempts,
    backoff: { type: options.backoff.type, delay: options.backoff.delayMs, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { ...KEEP_FAILED_TASKS, age: Math.ceil(options.retentionMs / 1000) },
  };
}

/** Opens the BullMQ queue of one job version on an existing connection. */
export function openTaskQueue(connection: RedisClient, prefix: string, name: string): Queue {
  const queue = new Queue(name, { connection, prefix: queuePrefix(prefix), skipMetasUpdate: false });
  // A lost connection (a restart, a failover) is retried by ioredis and a failed command
  // rejects its own promise; without a listener BullMQ prints each such event to stderr.
  queue.on('error', () => {});
  return queue;
}

/** The run a task is added for: its id and incarnation, job version, queue and options. */
export interface TaskTarget extends RunIncarnation {
  fingerprint: string;
  queue: string;
  options: Pick<RunOptions, 'attempts' | 'backoff' | 'retentionMs'>;
}

/**
 * Adds map tasks by id. `itemsJsonOf` gives a task's input items as stored in the run's
 * inputs hash (their JSON), when the caller knows them: small ones travel with the task.
 */
export async function addMapTasks(
  queues: TaskQueues,
  run: TaskTarget,
  generation: number,
  taskIds: readonly string[],
  itemsJsonOf?: (task: string) => string | undefined,
): Promise<void> {
  if (taskIds.length === 0) return;
  const options = taskOptions(run.options);
  await addTasks(
    queues.get(run.queue),
    taskIds.map((task) => ({
      name: 'map',
      data: {
        v: TASK_PAYLOAD_VERSION,
        kind: 'map',
        fp: run.fingerprint,
        run: run.id,
        inc: run.incarnation,
        gen: generation,
        task,
        ...payloadItems(itemsJsonOf?.(task)),
      } satisfies TaskPayload,
      opts: { ...options, jobId: mapTaskQueueId(run, generation, task) },
    })),
  );
}

function payloadItems(json: string | undefined): { items?: unknown[] } {
  if (json === undefined || json.length > MAX_PAYLOAD_ITEMS_BYTES) return {};
  return { items: JSON.parse(json) as unknown[] };
}

export async function addReduceTasks(
  queues: TaskQueues,
  run: TaskTarget,
  generation: number,
  partitions: readonly number[],
): Promise<void> {
  if (partitions.length === 0) return;
  const options = taskOptions(run.options);
  await addTasks(
    queues.get(run.queue),
    partitions.map((partition) => ({
      name: 'reduce',
      data: {
        v: TASK_PAYLOAD_VERSION,
        kind: 'reduce',
        fp: run.fingerprint,
        run: run.id,
        inc: run.incarnation,
        gen: generation,
        partition,
      } satisfies TaskPayload,
      opts: { ...options, jobId: reduceTaskQueueId(run, generation, partition) },
    })),
  );
}

/**
 * addBulk is a pipeline, and ioredis aborts its unanswered rest when the connection closes
 * midway. Every task carries its id, so the batch is sent again: ids still queued are no-ops.
 */
async function addTasks(queue: Queue, tasks: Parameters<Queue['addBulk']>[0]): Promise<void> {
  await sendAgainWhenAborted(() => queue.addBulk(tasks));
}

/** The queues a process adds tasks to, opened once each on one connection. */
export class TaskQueues {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
  ) {}

  get(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = openTaskQueue(this.connection, this.prefix, name);
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all(Array.from(this.queues.values(), (queue) => queue.close()));
    this.queues.clear();
  }
}
