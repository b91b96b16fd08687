/**
 * What happens to a run's data once it ends, and `clean`.
 *
 * An ended run keeps its record, results and failure reports for its retention period
 * (default 7 days), then Redis expires them. A `done` or `cancelled` run can never be
 * retried, so its intermediate map output is freed at once; a failed run keeps it so
 * that `retry` does not repeat committed work.
 */
import type { RedisClient } from './redis-connection.js';
import { activeRunsKey, runKeys, runsIndexKey, runTasksPattern, type RunKeys } from './redis-keys.js';
import type { RunRecord } from './run-record.js';
import { TERMINAL_STATES } from './run-state.js';
import { scanKeys } from './scan-keys.js';
import type { TaskQueues } from './task-queue.js';

const UNLINK_BATCH = 500;

function intermediateKeys(keys: RunKeys, run: RunRecord): string[] {
  const names = [keys.inputs, keys.stages];
  for (let p = 0; p < run.options.partitions; p++) names.push(keys.output(p), keys.outputIndex(p));
  return names;
}

function lastingKeys(keys: RunKeys, run: RunRecord): string[] {
  const names = [keys.meta, keys.committed, keys.failed, keys.split, keys.failures, keys.reduced(run.generation)];
  for (let p = 0; p < run.options.partitions; p++) names.push(keys.results(run.generation, p));
  return names;
}

/** Starts an ended run's retention clock and frees what it no longer needs. Idempotent. */
export async function retireRun(client: RedisClient, prefix: string, run: RunRecord): Promise<void> {
  const keys = runKeys(prefix, run.id);
  const stagedKeys = await client.smembers(keys.stages);
  const intermediate = [...intermediateKeys(keys, run), ...stagedKeys];
  const freeIntermediate = run.state === 'done' || run.state === 'cancelled';
  const pipeline = client.pipeline();
  for (const key of lastingKeys(keys, run)) pipeline.pexpire(key, run.options.retentionMs);
  for (let i = 0; i < intermediate.length; i += UNLINK_BATCH) {
    const batch = intermediate.slice(i, i + UNLINK_BATCH);
    if (freeIntermediate) pipeline.unlink(...batch);
    else for (const key of batch) pipeline.pexpire(key, run.options.retentionMs);
  }
  await pipeline.exec();
  // Apart from the pipeline: the active set is the queue's, in another slot of a cluster.
  await client.srem(activeRunsKey(prefix, run.queue), run.id);
}

/** True when the run ended but its retention clock has not been started (a retiring client died). */
export async function needsRetiring(client: RedisClient, prefix: string, run: RunRecord): Promise<boolean> {
  return TERMINAL_STATES.has(run.state) && (await client.pttl(runKeys(prefix, run.id).meta)) === -1;
}

/**
 * Removes one run: its tasks in the shared queue (found by their ids, never by draining
 * the queue) and every key under its prefix. Returns how many keys and tasks went.
 */
export async function cleanRun(
  client: RedisClient,
  queues: TaskQueues,
  prefix: string,
  runId: string,
  queueName: string | undefined,
): Promise<{ keys: number; tasks: number }> {
  let tasks = 0;
  if (queueName !== undefined) {
    const queue = queues.get(queueName);
    const jobIds = new Set<string>();
    const keyPrefix = `${queue.opts.prefix}:${queueName}:`;
    for await (const key of scanKeys(client, runTasksPattern(prefix, queueName, runId))) {
      jobIds.add(key.slice(keyPrefix.length).split(':')[0]!);
    }
    for (const jobId of jobIds) {
      // A task a worker holds right now is locked; it finds its run gone and finishes at once.
      const removed = await queue.remove(jobId).catch(() => 0);
      tasks += removed ? 1 : 0;
    }
    await client.srem(activeRunsKey(prefix, queueName), runId);
  }
  let keys = 0;
  let batch: string[] = [];
  for await (const key of scanKeys(client, runKeys(prefix, runId).pattern)) {
    batch.push(key);
    if (batch.length >= UNLINK_BATCH) {
      keys += await client.unlink(...batch);
      batch = [];
    }
  }
  if (batch.length > 0) keys += await client.unlink(...batch);
  await client.zrem(runsIndexKey(prefix), runId);
  return { keys, tasks };
}
