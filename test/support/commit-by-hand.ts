/**
 * One attempt of a map task done by the test itself, as a worker does it: read the task's
 * stored inputs, map them, commit the output under an attempt token the test picks. Tests
 * use it to build a state a crash or a rollback leaves behind, or to send a duplicate commit.
 */
import type { Redis } from 'ioredis';
import type { Job } from '../../index.js';
import { commitMapOutput, type CommitOutcome } from '../../worker/commit-map-output.js';
import { mapItems, type MapTaskOutput } from '../../worker/map-task.js';
import { silentLogger } from '../../shared/logger.js';
import { runKeys } from '../../shared/redis-keys.js';
import { readRunRecord } from '../../shared/run-record.js';

export interface HandAttempt {
  prefix: string;
  job: Job;
  runId: string;
  taskId: string;
  /** The attempt token: a staged output lives under the run's `stage:<token>` key. */
  token: string;
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
  return commitMapOutput({
    client,
    prefix: attempt.prefix,
    runId: attempt.runId,
    taskId: attempt.taskId,
    token: attempt.token,
    itemCount: items.length,
    output,
  });
}
