/**
 * Acting on a run by its id: cancel, fail and retry. None of these pauses, drains or
 * obliterates the job's queue, which other runs share: workers skip a cancelled or
 * failed run's tasks by its state, and a retry adds new task ids of a new generation.
 */
import { z } from 'zod';
import { RunError } from '../errors.js';
import { loadLuaScript, newRequestId, replyStrings, runScript } from '../redis/lua-scripts.js';
import { runStep } from '../redis/confirmed-steps.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { activeRunsKey, controlChannel, mapTaskQueueId, runKeys, runsIndexKey, type RunIncarnation } from '../redis/redis-keys.js';
import { keysKeptOnRetry, retireRun } from './run-retention.js';
import { enqueueDueReduceTasks } from './reduce-trigger.js';
import { readRunRecord, type RunRecord } from './run-record.js';
import { addMapTasks, type TaskQueues, type TaskTarget } from '../tasks/task-queue.js';
import { TERMINAL_STATES, UNKNOWN_RUN_TEXT } from './run-state.js';

const cancelRunScript = loadLuaScript(new URL('./cancel-run.lua', import.meta.url));
const failRunScript = loadLuaScript(new URL('./fail-run.lua', import.meta.url));
const retryRunScript = loadLuaScript(new URL('./retry-run.lua', import.meta.url));

/**
 * Messages on the control channel: workers act on them within a round trip, and a client
 * waiting for a run wakes on those that name it. `ended`: the run reached a final state.
 */
export const controlMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cancel'), run: z.string() }),
  z.object({ type: z.literal('limits'), job: z.string().optional(), run: z.string().optional() }),
  z.object({ type: z.literal('ended'), run: z.string() }),
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;

export async function publishControl(client: RedisClient, prefix: string, message: ControlMessage): Promise<void> {
  await client.publish(controlChannel(prefix), JSON.stringify(message));
}

/** A message read off the control channel, or undefined for anything else published there. */
export function parseControlMessage(text: string): ControlMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = controlMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export function unknownRun(runId: string): RunError {
  return new RunError('RUN_NOT_FOUND', runId, `run ${runId}: ${UNKNOWN_RUN_TEXT}`);
}

/**
 * Cancels a run that has not ended: running calls are aborted through ctx.signal, and,
 * given the queues, its waiting tasks are dropped from the queue. Returns the state it was in.
 */
export async function cancelRun(client: RedisClient, prefix: string, runId: string, queues?: TaskQueues): Promise<string> {
  const keys = runKeys(prefix, runId);
  const [outcome, state = ''] = replyStrings(await runScript(client, cancelRunScript, [keys.meta, keys.replies], [newRequestId()]));
  if (outcome === 'lost') throw unknownRun(runId);
  if (outcome === 'unchanged') throw new RunError('RUN_STATE', runId, `run ${runId} has already ended (${state}); nothing to cancel`);
  await publishControl(client, prefix, { type: 'cancel', run: runId });
  await retireEnded(client, prefix, runId);
  if (queues) await dropWaitingTasks(client, queues, prefix, runId);
  return state;
}

/** Removes a run's waiting map tasks from the queue by their ids; a task a worker holds is left to skip itself. */
async function dropWaitingTasks(client: RedisClient, queues: TaskQueues, prefix: string, runId: string): Promise<void> {
  const run = await readRunRecord(client, prefix, runId);
  if (!run) return;
  const queue = queues.get(run.queue);
  let cursor = '0';
  do {
    const [next, entries] = await client.hscan(runKeys(prefix, runId).inputs, cursor, 'COUNT', 500);
    cursor = next;
    const tasks = entries.filter((_, i) => i % 2 === 0);
    await Promise.all(tasks.map((task) => queue.remove(mapTaskQueueId(run, run.generation, task)).catch(() => 0)));
  } while (cursor !== '0');
}

/**
 * Fails this incarnation of a run, unless it has ended (or moved past `generation`, when
 * given: a failure of an earlier generation must not fail a retried run). Returns false
 * when it left the run alone.
 */
export async function failRun(
  client: RedisClient,
  prefix: string,
  run: RunIncarnation,
  generation: number | undefined,
  message: string,
): Promise<boolean> {
  const keys = runKeys(prefix, run.id);
  const [outcome] = replyStrings(
    await runScript(client, failRunScript, [keys.meta, keys.replies], [run.incarnation, generation ?? '', newRequestId(), message]),
  );
  if (outcome !== 'failed') return false;
  await publishControl(client, prefix, { type: 'cancel', run: run.id });
  await retireEnded(client, prefix, run.id);
  return true;
}

/**
 * Starts the retention clock of a run that just ended, at once: a job with no worker left
 * has no sweep to do it later. A retire that fails here is finished by the sweep.
 */
export async function retireEnded(client: RedisClient, prefix: string, runId: string): Promise<void> {
  const ended = await readRunRecord(client, prefix, runId);
  if (ended && TERMINAL_STATES.has(ended.state)) await retireRun(client, prefix, ended);
}

/**
 * Moves a failed or done_with_failures run back to mapping under a new generation and
 * enqueues every task that is not committed, with new ids. Returns the new generation.
 */
export async function retryRun(client: RedisClient, queues: TaskQueues, prefix: string, runId: string): Promise<number> {
  const keys = runKeys(prefix, runId);
  const before = await readRunRecord(client, prefix, runId);
  if (!before) throw unknownRun(runId);
  // A live run again in every way: swept and listed. The active set lives in another slot of
  // a cluster, so it is added apart from the script, before it (a crash after the script
  // still leaves the run swept) and after it (a sweep may have dropped the ended run meanwhile).
  const sweepIt = (): Promise<unknown> =>
    Promise.all([
      client.sadd(activeRunsKey(prefix, before.queue), runId),
      client.zadd(runsIndexKey(prefix), 'NX', before.createdAt, runId),
    ]);
  await sweepIt();
  // The script's first five keys are fixed; the rest are the keys it takes off the retention clock.
  const fixed = [keys.meta, keys.committed, keys.failed, keys.replies, keys.stages];
  const kept = keysKeptOnRetry(keys, before).filter((key) => !fixed.includes(key));
  const requestId = newRequestId();
  const reply = replyStrings(
    await runStep(client, retryRunScript, [...fixed, ...kept], [requestId], {
      minReplicas: before.options.minReplicas,
      runMeta: keys.meta,
    }),
  );
  const [outcome, detail = ''] = reply;
  if (outcome === 'lost') throw unknownRun(runId);
  if (outcome === 'unchanged') {
    throw new RunError('RUN_STATE', runId, `run ${runId} is ${detail}; only failed or done_with_failures runs can be retried`);
  }
  if (outcome === 'unsealed') {
    throw new RunError(
      'RUN_STATE',
      runId,
      `run ${runId} failed before all of its inputs were enqueued; clean it (redmap clean ${runId}) and submit it again`,
    );
  }
  await sweepIt();
  const generation = Number(detail);
  await dropGenerationResults(client, prefix, before);
  await enqueuePendingTasks(client, queues, prefix, before, generation);
  if (outcome === 'flipped') await enqueueDueReduceTasks(client, queues, prefix, before);
  return generation;
}

/** Adds a queue task, in `generation`, for every pending map task of the run (ids already queued are no-ops). */
export async function enqueuePendingTasks(
  client: RedisClient,
  queues: TaskQueues,
  prefix: string,
  run: TaskTarget,
  generation: number,
): Promise<number> {
  let added = 0;
  for await (const pending of pendingTasks(client, prefix, run.id)) {
    await addMapTasks(queues, run, generation, pending);
    added += pending.length;
  }
  return added;
}

/** The run's pending map tasks (inputs stored, not failed for good), a page at a time. */
export async function* pendingTasks(client: RedisClient, prefix: string, runId: string): AsyncGenerator<string[]> {
  const keys = runKeys(prefix, runId);
  let cursor = '0';
  do {
    const [next, entries] = await client.hscan(keys.inputs, cursor, 'COUNT', 500);
    cursor = next;
    const tasks = entries.filter((_, i) => i % 2 === 0);
    if (tasks.length === 0) continue;
    const failed = await client.smismember(keys.failed, ...tasks);
    const pending = tasks.filter((_, i) => failed[i] === 0);
    if (pending.length > 0) yield pending;
  } while (cursor !== '0');
}

/** Unlinks the reduce markers and results of every generation before the current one. */
async function dropGenerationResults(client: RedisClient, prefix: string, run: RunRecord): Promise<void> {
  const keys = runKeys(prefix, run.id);
  const stale: string[] = [];
  for (let generation = 1; generation <= run.generation; generation++) {
    stale.push(keys.reduced(generation));
    for (let p = 0; p < run.options.partitions; p++) stale.push(keys.results(generation, p));
  }
  for (let i = 0; i < stale.length; i += 500) await client.unlink(...stale.slice(i, i + 500));
}
