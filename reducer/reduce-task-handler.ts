/**
 * One attempt of a reduce task: read the partition's committed map output, call `reduce`
 * per key in key order, stage the sorted results under a key private to this attempt,
 * then commit the partition. The last partition's commit ends the run.
 */
import { sharedCombination } from '../shared/tasks/abort-signals.js';
import { BatchEncoder } from '../shared/data/batches.js';
import { isNonRetryable, StagedOutputLostError } from '../shared/errors.js';
import { failpoint } from '../shared/failpoints.js';
import type { Logger } from '../shared/logger.js';
import { loadLuaScript, replyStrings, runScript } from '../shared/redis/lua-scripts.js';
import { runStep } from '../shared/redis/confirmed-steps.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { runKeys } from '../shared/redis/redis-keys.js';
import { failRun, publishControl } from '../shared/run/run-control.js';
import { readRunRecord, type RunRecord } from '../shared/run/run-record.js';
import { ORPHAN_STAGE_TTL_MS, retireRun } from '../shared/run/run-retention.js';
import { TaskFailedForGood, TaskReleased, type TaskAttempt } from '../shared/tasks/task-attempt.js';
import { retryWhileRedisRefuses } from '../shared/redis/redis-backoff.js';
import type { ReduceTaskPayload } from '../shared/tasks/task-queue.js';
import { readPartition } from './read-partition.js';
import { reduceGroups } from './reduce-task.js';
import { writeStagedToSink, type ReduceHandlerDeps } from './write-sink.js';

const commitReduceScript = loadLuaScript(new URL('./commit-reduce.lua', import.meta.url));
const stageResultsScript = loadLuaScript(new URL('./stage-results.lua', import.meta.url));

/** Staged result batches per write. */
const STAGE_WRITE_BATCHES = 16;

export type ReduceTaskResult = 'committed' | 'finished' | 'duplicate' | 'skipped';

export async function handleReduceTask(deps: ReduceHandlerDeps, attempt: TaskAttempt<ReduceTaskPayload>): Promise<ReduceTaskResult> {
  const { run: runId, inc, gen, partition } = attempt.payload;
  const log = deps.log.child({ runId, taskId: `r${partition}`, phase: 'reduce', partition, attempt: attempt.attempt });
  const run = await deps.runs.get(runId, inc);
  const flippedAt = run && (await dueSince(deps.client, deps.prefix, run, gen, partition));
  if (!run || flippedAt === undefined) {
    log.debug({}, 'reduce task skipped: its partition is reduced, or the run moved on');
    return 'skipped';
  }
  const keys = runKeys(deps.prefix, runId);
  const staged = keys.reduceStage(gen, partition, attempt.attemptId);
  const runSignal = deps.runSignal(runId);
  const signal = sharedCombination(runSignal, attempt.signal);
  const failForGood = async (error: unknown): Promise<never> => {
    const message = `reduce of partition ${partition} failed for good: ${error instanceof Error ? error.message : String(error)}`;
    await failRun(deps.client, deps.prefix, run, gen, message);
    log.error({ err: error }, 'reduce task failed for good; the run failed');
    throw new TaskFailedForGood(error);
  };
  let batches = 0;
  try {
    const context = { runId, partition, taskId: `r${partition}`, attempt: attempt.attempt, signal, log };
    // Reducing consumes the groups, so a retry after a full Redis starts over from reading.
    batches = await retryWhileRedisRefuses(`reducing partition ${partition}`, log, attempt.signal, async () => {
      await deps.client.unlink(staged);
      const groups = await readPartition(deps.client, deps.prefix, runId, partition, deps.job.combine, signal);
      return stageResults(deps.client, staged, reduceGroups(deps.job, groups, context));
    });
  } catch (error) {
    await deps.client.unlink(staged).catch(() => {});
    if (runSignal.aborted) return 'skipped';
    if (attempt.signal.aborted) throw new TaskReleased('the worker is shutting down');
    if (attempt.attempt < attempt.maxAttempts && !isNonRetryable(error)) throw error;
    return failForGood(error);
  }

  try {
    await writeStagedToSink(deps, run, { generation: gen, partition, flippedAt }, { key: staged, batches }, log);
    await failpoint('before-reduce-commit', partition);
    return await commitPartition(deps, run, attempt, { staged, batches, flippedAt }, log);
  } catch (error) {
    if (attempt.signal.aborted) throw new TaskReleased('the worker is shutting down');
    // A last attempt that fails at its commit must end the run, not leave it reducing.
    if (attempt.attempt < attempt.maxAttempts) throw error;
    return failForGood(error);
  }
}

/** What an attempt staged, and the flip to reducing its partition was read under. */
interface StagedPartition {
  staged: string;
  batches: number;
  flippedAt: string;
}

/** Commits the staged result of a partition; the last partition's commit ends the run. */
async function commitPartition(
  deps: ReduceHandlerDeps,
  run: RunRecord,
  attempt: TaskAttempt<ReduceTaskPayload>,
  { staged, batches, flippedAt }: StagedPartition,
  log: Logger,
): Promise<ReduceTaskResult> {
  const { gen, partition } = attempt.payload;
  const keys = runKeys(deps.prefix, run.id);
  const [outcome, detail = '', expected = ''] = replyStrings(
    await retryWhileRedisRefuses(`committing partition ${partition}`, log, attempt.signal, () =>
      runStep(
        deps.client,
        commitReduceScript,
        [keys.meta, keys.reduced(gen), staged, keys.results(gen, partition), keys.failed, keys.replies],
        [run.incarnation, gen, attempt.attemptId, partition, run.options.partitions, batches, flippedAt],
        { minReplicas: run.options.minReplicas, runMeta: keys.meta },
      ),
    ),
  );
  switch (outcome) {
    case 'finished': {
      log.info({ state: detail }, 'last partition reduced; the run is finished');
      const ended = await readRunRecord(deps.client, deps.prefix, run.id);
      if (ended) await retireRun(deps.client, deps.prefix, ended);
      // Wakes clients waiting for the run now rather than at their next poll.
      await publishControl(deps.client, deps.prefix, { type: 'ended', run: run.id }).catch((error: unknown) =>
        log.debug({ err: error }, 'could not announce the end of the run; waiting clients see it at their next poll'),
      );
      return 'finished';
    }
    case 'committed':
      return 'committed';
    case 'duplicate':
      return 'duplicate';
    case 'stage_lost':
      throw new StagedOutputLostError(run.id, `r${partition}`, Number(detail), Number(expected));
    case 'reflipped':
      // Retried like any failed attempt: the next one reads the partition as it is now.
      throw new Error(
        `partition ${partition} was read before the run's map phase ended again (a failover lost writes, then the last map tasks ran again); it is reduced again`,
      );
    case 'lost':
      log.warn({}, 'the run vanished while its reduce task ran (cleaned, or Redis lost it); nothing to commit');
      return 'skipped';
    default:
      return 'skipped';
  }
}

/**
 * When the partition is due (the run reduces this generation and the partition is not
 * reduced yet): the time of the flip to reducing, which the commit checks again. A failover
 * can lose the flip and the last map commits with it; the partition may then have been read
 * on the promoted replica before those tasks ran again, and their later flip has another time.
 */
async function dueSince(
  client: RedisClient,
  prefix: string,
  run: RunRecord,
  generation: number,
  partition: number,
): Promise<string | undefined> {
  const keys = runKeys(prefix, run.id);
  const replies = await client
    .pipeline()
    .hmget(keys.meta, 'state', 'gen', 'inc', 'reducingAt')
    .sismember(keys.reduced(generation), partition)
    .exec();
  if (!replies) return undefined;
  for (const [error] of replies) if (error) throw error;
  const [state, current, incarnation, flippedAt] = replies[0]![1] as Array<string | null>;
  const due = state === 'reducing' && Number(current) === generation && incarnation === run.incarnation && replies[1]![1] === 0;
  return due && flippedAt !== null ? flippedAt : undefined;
}

/** Exported for its test: appends batches to a staged list once, however often the call is sent. */
export async function stageResultBatches(client: RedisClient, staged: string, before: number, batches: string[]): Promise<number> {
  return Number(await runScript(client, stageResultsScript, [staged], [before, ORPHAN_STAGE_TTL_MS, ...batches]));
}

/** Stages the sorted results under the attempt's key; returns how many batches it staged. */
async function stageResults(client: RedisClient, staged: string, results: AsyncIterable<[string, unknown]>): Promise<number> {
  const encoder = new BatchEncoder();
  let pending: string[] = [];
  let length = 0;
  const write = async (): Promise<void> => {
    if (pending.length === 0) return;
    length = await stageResultBatches(client, staged, length, pending);
    pending = [];
  };
  for await (const pair of results) {
    encoder.add(pair);
    pending.push(...encoder.drain());
    if (pending.length >= STAGE_WRITE_BATCHES) await write();
  }
  pending.push(...encoder.finish());
  await write();
  return length;
}
