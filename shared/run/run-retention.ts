/**
 * What happens to a run's data once it ends, and `clean`.
 *
 * An ended run keeps its record, results and failure reports for its retention period
 * (default 7 days), then Redis expires them. A `done` or `cancelled` run can never be
 * retried, so its intermediate map output is freed at once; a failed run keeps it so
 * that `retry` does not repeat committed work.
 */
import { loadLuaScript, runScript } from '../redis/lua-scripts.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { activeRunsKey, runKeys, runsIndexKey, runTasksPattern, type RunKeys } from '../redis/redis-keys.js';
import type { RunRecord } from './run-record.js';
import { TERMINAL_STATES, type RunState } from './run-state.js';
import { scanKeys } from './scan-keys.js';
import type { TaskQueues } from '../tasks/task-queue.js';

const UNLINK_BATCH = 500;

/**
 * Staged output nobody adopts (its attempt died before its commit) expires by itself after
 * this long: a map attempt's staged hash, a reduce attempt's staged result list.
 */
export const ORPHAN_STAGE_TTL_MS = 7 * 24 * 3600 * 1000;

/** Keys every generation of a run uses: kept while it may be retried, freed once it never can be. */
function intermediateKeys(keys: RunKeys, run: RunRecord): string[] {
  const names = [keys.inputs, keys.stages, keys.replies];
  for (let p = 0; p < run.options.partitions; p++) names.push(keys.output(p), keys.outputIndex(p));
  return names;
}

/** Keys every generation of a run uses and that outlive its ending, until its retention is over. */
function runWideLastingKeys(keys: RunKeys): string[] {
  return [keys.meta, keys.committed, keys.failed, keys.split, keys.failures];
}

/** The current generation's lasting keys: what it reduced, and its results. */
function generationKeys(keys: RunKeys, run: RunRecord): string[] {
  const names = [keys.reduced(run.generation)];
  for (let p = 0; p < run.options.partitions; p++) names.push(keys.results(run.generation, p));
  return names;
}

/**
 * The keys an ending gives a TTL to that a retry takes back from the retention clock (the
 * staged hashes the stages set names come with them): all but the ended generation's own.
 */
export function keysKeptOnRetry(keys: RunKeys, run: RunRecord): string[] {
  return [...runWideLastingKeys(keys), ...intermediateKeys(keys, run)];
}

const retireKeysScript = loadLuaScript(new URL('./retire-keys.lua', import.meta.url));

/**
 * Starts an ended run's retention clock and frees what it no longer needs. Idempotent, and
 * safe against a retry at any moment: each batch acts only while the run is still the
 * ended run it read, and the record itself gets its TTL last, so a retire that died
 * midway is found again by the sweep (the record has no TTL) and finished.
 */
export async function retireRun(client: RedisClient, prefix: string, run: RunRecord): Promise<void> {
  const keys = runKeys(prefix, run.id);
  const stagedKeys = await client.smembers(keys.stages);
  const intermediate = [...intermediateKeys(keys, run), ...stagedKeys];
  const lasting = [...runWideLastingKeys(keys), ...generationKeys(keys, run)].filter((key) => key !== keys.meta);
  const batches: Array<{ keys: string[]; mode: 'expire' | 'free' | 'expire-meta' }> = [];
  const freeIntermediate = run.state === 'done' || run.state === 'cancelled';
  for (let i = 0; i < intermediate.length; i += UNLINK_BATCH) {
    batches.push({ keys: intermediate.slice(i, i + UNLINK_BATCH), mode: freeIntermediate ? 'free' : 'expire' });
  }
  batches.push({ keys: lasting, mode: 'expire-meta' });
  for (const batch of batches) {
    const applied = await runScript(
      client,
      retireKeysScript,
      [keys.meta, ...batch.keys],
      [run.generation, run.options.retentionMs, batch.mode],
    );
    if (applied !== 1) return; // retried meanwhile: a live run again, and swept as one
  }
  await dropFromSweep(client, prefix, run.queue, run.id);
}

/**
 * Takes an ended run out of its queue's sweep. The active set lives in another slot of a
 * cluster than the run, so this cannot be one script with a look at the state: it looks
 * after removing instead, and a run a retry brought back meanwhile goes back in.
 */
export async function dropFromSweep(client: RedisClient, prefix: string, queue: string, runId: string): Promise<void> {
  await client.srem(activeRunsKey(prefix, queue), runId);
  const state = await client.hget(runKeys(prefix, runId).meta, 'state');
  if (state !== null && !TERMINAL_STATES.has(state as RunState)) await client.sadd(activeRunsKey(prefix, queue), runId);
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
    const queueIds = new Set<string>();
    const keyPrefix = `${queue.opts.prefix}:${queueName}:`;
    for await (const key of scanKeys(client, runTasksPattern(prefix, queueName, runId))) {
      queueIds.add(key.slice(keyPrefix.length).split(':')[0]!);
    }
    for (const queueId of queueIds) {
      // A task a worker holds right now is locked; it finds its run gone and finishes at once.
      const removed = await queue.remove(queueId).catch(() => 0);
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
