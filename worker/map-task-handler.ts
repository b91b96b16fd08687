/**
 * One attempt of a map task, read from the queue: check the run and the task, run `map`
 * over the task's items, then stage and commit the output. A task that fails for good
 * is split into single items when it has several, so one poison item does not sink its
 * chunk; a single item is recorded as failed, with its input, error and worker.
 */
import { isNonRetryable, RunError, TaskStalledError } from '../shared/errors.js';
import { failpoint } from '../shared/failpoints.js';
import { loadLuaScript, replyStrings, runScript } from '../shared/lua-scripts.js';
import { runKeys, itemTaskId } from '../shared/redis-keys.js';
import { enqueueReduceTasks } from '../shared/reduce-trigger.js';
import { publishControl } from '../shared/run-control.js';
import type { RunRecord } from '../shared/run-record.js';
import { TaskFailedForGood, type HandlerDeps, type TaskAttempt } from '../shared/task-attempt.js';
import { addMapTasks, type MapTaskPayload } from '../shared/task-queue.js';
import { commitMapOutput } from './commit-map-output.js';
import { ItemFailure, mapItems, type CallGate } from './map-task.js';

const failMapTaskScript = loadLuaScript(new URL('./fail-map-task.lua', import.meta.url));
const splitChunkScript = loadLuaScript(new URL('./split-chunk.lua', import.meta.url));

export interface MapHandlerDeps extends HandlerDeps {
  /** The limiter's gate for a run's map calls, when limits apply. */
  gateFor?(run: RunRecord): CallGate | undefined;
}

export type MapTaskResult = 'committed' | 'duplicate' | 'skipped' | 'split';

export async function handleMapTask(deps: MapHandlerDeps, attempt: TaskAttempt<MapTaskPayload>): Promise<MapTaskResult> {
  const { run: runId, task: taskId, gen } = attempt.payload;
  const log = deps.log.child({ runId, taskId, phase: 'map', attempt: attempt.attempt });
  const run = await deps.runs.get(runId);
  const task = run && (await readTask(deps, runId, taskId));
  if (!run || !task || !task.items) {
    log.debug({}, 'task skipped: its run ended, vanished or moved on, or the task is settled');
    // A worker that flipped the run to reducing may have died before enqueueing the reduce tasks.
    if (run && task?.state === 'reducing' && task.reduceEnqueued !== task.generation) await ensureReduceEnqueued(deps, run);
    return 'skipped';
  }
  if (task.generation !== gen || (task.state !== 'submitting' && task.state !== 'mapping')) return 'skipped';
  const items = task.items;

  const runSignal = deps.runSignal(runId);
  const signal = AbortSignal.any([runSignal, attempt.signal]);
  try {
    if (attempt.stalls > run.options.maxStalls) {
      throw new TaskStalledError(
        `the worker running this task died or stopped answering ${attempt.stalls} times (limit --max-stalls ${run.options.maxStalls})`,
      );
    }
    const output = await mapItems({
      job: deps.job,
      items,
      partitions: run.options.partitions,
      callTimeoutMs: run.options.callTimeoutMs,
      signal,
      gate: deps.gateFor?.(run),
      context: (index, callSignal) => ({
        runId,
        taskId: items.length > 1 ? itemTaskId(taskId, index) : taskId,
        attempt: attempt.attempt,
        signal: callSignal,
        log: log.child({ item: index }),
      }),
    });
    const committed = await commitMapOutput({
      client: deps.client,
      prefix: deps.prefix,
      runId,
      taskId,
      token: attempt.token,
      itemCount: items.length,
      output,
    });
    if (committed.outcome === 'committed' || committed.outcome === 'flipped') failpoint('after-map-commit', taskId);
    if (committed.outcome === 'flipped') {
      failpoint('after-flip');
      log.info({}, 'all map tasks settled; enqueueing reduce tasks');
      await enqueueReduceTasks(deps.client, deps.queues, deps.prefix, run, committed.generation);
    }
    if (committed.outcome === 'settled' && committed.state === 'reducing') await ensureReduceEnqueued(deps, run);
    if (committed.outcome === 'lost') throw new RunError('RUN_LOST', runId, `run ${runId} vanished while its task ran`);
    return committed.outcome === 'committed' || committed.outcome === 'flipped' ? 'committed' : 'duplicate';
  } catch (error) {
    const cause = error instanceof ItemFailure ? error.cause : error;
    if (runSignal.aborted) return 'skipped'; // cancelled or failed meanwhile: nothing to record
    const final = attempt.attempt >= attempt.maxAttempts || isNonRetryable(cause) || cause instanceof TaskStalledError;
    if (!final) throw cause;
    if (items.length > 1) {
      await splitChunk(deps, run, taskId, items);
      log.warn({ err: cause, items: items.length }, 'task failed for good; retrying its items one by one');
      return 'split';
    }
    await recordFailure(deps, run, attempt, items, cause);
    log.error({ err: cause }, 'task failed for good');
    throw new TaskFailedForGood(cause);
  }
}

interface TaskState {
  state: string | null;
  generation: number;
  reduceEnqueued: number;
  /** The task's input items while it is pending; undefined once it is committed, split or failed. */
  items: unknown[] | undefined;
}

/** The run's state and the task's items, in one round trip. */
async function readTask(deps: HandlerDeps, runId: string, taskId: string): Promise<TaskState | undefined> {
  const keys = runKeys(deps.prefix, runId);
  const replies = await deps.client
    .pipeline()
    .hmget(keys.meta, 'state', 'gen', 'reduceEnqueued')
    .hget(keys.inputs, taskId)
    .sismember(keys.failed, taskId)
    .exec();
  if (!replies) return undefined;
  for (const [error] of replies) if (error) throw error;
  const [state, generation, reduceEnqueued] = replies[0]![1] as Array<string | null>;
  const input = replies[1]![1] as string | null;
  const failed = replies[2]![1] as number;
  return {
    state: state ?? null,
    generation: Number(generation),
    reduceEnqueued: Number(reduceEnqueued ?? 0),
    items: input === null || failed === 1 ? undefined : (JSON.parse(input) as unknown[]),
  };
}

async function splitChunk(deps: HandlerDeps, run: RunRecord, taskId: string, items: unknown[]): Promise<void> {
  const keys = runKeys(deps.prefix, run.id);
  const [outcome, generation] = replyStrings(
    await runScript(
      deps.client,
      splitChunkScript,
      [keys.meta, keys.inputs, keys.split, keys.failed],
      [taskId, ...items.map((item) => JSON.stringify([item]))],
    ),
  );
  if (outcome !== 'split') return;
  const itemTasks = items.map((_, index) => itemTaskId(taskId, index));
  await addMapTasks(deps.queues, run, Number(generation), itemTasks);
}

async function recordFailure(
  deps: HandlerDeps,
  run: RunRecord,
  attempt: TaskAttempt<MapTaskPayload>,
  items: unknown[],
  cause: unknown,
): Promise<void> {
  const keys = runKeys(deps.prefix, run.id);
  const error = cause instanceof Error ? cause : new Error(String(cause));
  const report = {
    task: attempt.payload.task,
    generation: attempt.payload.gen,
    items,
    error: error.message,
    code: (error as { code?: unknown }).code ?? null,
    stack: error.stack ?? null,
    attempts: attempt.attempt,
    stalls: attempt.stalls,
    host: deps.identity.host,
    pid: deps.identity.pid,
    at: Date.now(),
  };
  const [outcome, generation] = replyStrings(
    await runScript(
      deps.client,
      failMapTaskScript,
      [keys.meta, keys.committed, keys.failed, keys.inputs, keys.failures],
      [attempt.payload.task, JSON.stringify(report)],
    ),
  );
  if (outcome === 'flipped') await enqueueReduceTasks(deps.client, deps.queues, deps.prefix, run, Number(generation));
  if (outcome === 'run_failed') await publishControl(deps.client, deps.prefix, { type: 'cancel', run: run.id });
}

/** After a duplicate commit in `reducing`: the flipping worker may have died before enqueueing. */
async function ensureReduceEnqueued(deps: HandlerDeps, run: RunRecord): Promise<void> {
  const [generation, enqueued] = await deps.client.hmget(runKeys(deps.prefix, run.id).meta, 'gen', 'reduceEnqueued');
  if (generation !== null && generation !== enqueued) {
    await enqueueReduceTasks(deps.client, deps.queues, deps.prefix, run, Number(generation));
  }
}
