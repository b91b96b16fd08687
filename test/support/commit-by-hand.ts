/**
 * One attempt of a map task done by the test itself, as a worker does it: read the task's
 * stored inputs, map them, commit the output under an attempt id the test picks. Tests
 * use it to build a state a crash or a rollback leaves behind, or to send a duplicate commit.
 */
import type { Redis } from 'ioredis';
import type { Job } from '../../index.js';
import { commitMapOutput, type CommitOutcome } from '../../worker/commit-map-output.js';
import { mapItems, type MapTaskOutput } from '../../worker/map-task.js';
import { silentLogger } from '../../shared/logger.js';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';

export interface HandAttempt {
  prefix: string;
  job: Job;
  runId: string;
  taskId: string;
  /** The attempt's id: a staged output lives under the run's `stage:<attemptId>` key. */
  attemptId: string;
}

/** The output of a task's map calls, from the inputs the run stores for it. */
export async function mapStoredTask(client: Redis, attempt: HandAttempt): Promise<{ items: unknown[]; output: MapTaskOutput }> {
  const run = await readRunRecord(client, attempt.prefix, attempt.runId);
  const stored = await client.hget(runKeys(attempt.prefix, attempt.runId).inputs, attempt.taskId);
  if (!run || stored === null) throw new Error(`task ${attempt.taskId} of run ${attempt.runId} has no stored inputs (committed already?)`);
  const items = JSON.parse(stored) as unknown[];
  const output = await mapItems({
    job: attempt.job,
    items,
    partitions: run.options.partitions,
    callTimeoutMs: 30_000,
    signal: new AbortController().signal,
    runId: attempt.runId,
    taskId: attempt.taskId,
    attempt: 1,
    logFor: () => silentLogger(),
  });
  return { items, output };
}

/** Commits a task's output as a worker's attempt would; `output` from an earlier mapStoredTask sends it again. */
export async function commitByHand(
  client: Redis,
  attempt: HandAttempt,
  mapped?: { items: unknown[]; output: MapTaskOutput },
): Promise<CommitOutcome> {
  const { items, output } = mapped ?? (await mapStoredTask(client, attempt));
  const run = await readRunRecord(client, attempt.prefix, attempt.runId);
  if (!run) throw new Error(`run ${attempt.runId} is gone`);
  return commitMapOutput({
    client,
    prefix: attempt.prefix,
    run,
    generation: run.generation,
    taskId: attempt.taskId,
    attemptId: attempt.attemptId,
    itemCount: items.length,
    output,
    minReplicas: run.options.minReplicas,
  });
}
