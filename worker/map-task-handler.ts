/**
 * One attempt of a map task, read from the queue: check the run and the task, run `map`
 * over the task's items, then stage and commit the output. A task that fails for good
 * is split into single items when it has several, so one poison item does not sink its
 * chunk; a single item is recorded as failed, with its input, error and worker.
 */
import { sharedCombination } from '../shared/tasks/abort-signals.js';
import { isNonRetryable, StagedOutputLostError, TaskStalledError } from '../shared/errors.js';
import { failpoint } from '../shared/failpoints.js';
import { loadLuaScript, replyStrings, runScript } from '../shared/redis/lua-scripts.js';
import { runStep } from '../shared/redis/confirmed-steps.js';
import { runKeys, itemTaskId } from '../shared/redis/redis-keys.js';
import { enqueueDueReduceTasks } from '../shared/run/reduce-trigger.js';
import { publishControl, retireEnded } from '../shared/run/run-control.js';
import { recordTaskFailure } from '../shared/run/run-failures.js';
import type { RunRecord } from '../shared/run/run-record.js';
import { TaskFailedForGood, TaskReleased, type HandlerDeps, type TaskAttempt } from '../shared/tasks/task-attempt.js';
import { lazyChild, type Logger } from '../shared/logger.js';
import { retryWhileRedisRefuses } from '../shared/redis/redis-backoff.js';
import type { Slots } from './limits/slots.js';
import { addMapTasks, type MapTaskPayload } from '../shared/tasks/task-queue.js';
import { commitMapOutput, type CommitOutcome, type CommitRequest } from './commit-map-output.js';
import type { CommitBatches } from './commit-batches.js';
import { ItemFailure, mapItems, type CallGate, type MapInvoker, type MapTaskOutput } from './map-task.js';

const splitChunkScript = loadLuaScript(new URL('./split-chunk.lua', import.meta.url));
const readMapTaskScript = loadLuaScript(new URL('./read-map-task.lua', import.meta.url));

export interface MapHandlerDeps extends HandlerDeps {
  /** The limiter's gate for a run's map calls, or undefined when no limits apply. */
  gateFor?(run: RunRecord, runLimited: boolean | undefined): Promise<CallGate | undefined>;
  /** Where map calls run when they are isolated (worker thread, child process). */
  invoke?: MapInvoker;
  /**
   * A child process for the last run of a task that stalled more than --max-stalls: a
   * process that dies takes every task it runs down with it, so only a run alone tells
   * whether this task is the culprit or was taken down with one.
   */
  quarantine?: { invoke: MapInvoker; timeoutMs: number };
  /**
   * Slots for mapping: the worker holds more tasks than it maps at once, so that while some
   * map, others read their inputs or commit, and round trips to Redis overlap with work.
   */
  mapSlots?: Slots;
  /** Aborts when the worker starts draining: a task still waiting for a slot goes back to the queue. */
  draining?: AbortSignal;
  /** Sends small commits of one run together; without it, each task commits alone. */
  commits?: CommitBatches;
}

export type MapTaskResult = 'committed' | 'duplicate' | 'skipped' | 'split';

export async function handleMapTask(deps: MapHandlerDeps, attempt: TaskAttempt<MapTaskPayload>): Promise<MapTaskResult> {
  const { run: runId, inc, task: taskId } = attempt.payload;
  // Made only when something is logged: most tasks log nothing.
  const log = lazyChild(deps.log, { runId, taskId, phase: 'map', attempt: attempt.attempt });
  // Taken before the run's state is known, so a cancel that arrives after it is seen here.
  const runSignal = deps.runSignal(runId);
  const run = await deps.runs.get(runId, inc);
  const pending = run && (await pendingTask(deps, run, attempt.payload, { read: isRedelivery(attempt) }));
  if (!run || !pending) {
    log.debug({}, 'task skipped: its run ended, vanished or moved on, or the task is settled');
    return 'skipped';
  }
  const { items } = pending;
  // A task that ran on trust fails only if it is still pending: one committed, split or
  // failed meanwhile (a redelivery) has nothing left to record.
  const settle = async (cause: unknown): Promise<MapTaskResult> =>
    pending.unread && !(await pendingTask(deps, run, attempt.payload, { read: true }))
      ? 'skipped'
      : settleFailure(deps, run, attempt, items, cause, log);

  let output: MapTaskOutput;
  const quarantined = attempt.stalls > run.options.maxStalls;
  if (runSignal.aborted) return 'skipped';
  if (deps.mapSlots && (attempt.signal.aborted || deps.draining?.aborted)) throw new TaskReleased('the worker is shutting down');
  // A free slot is taken at once; only a task that must wait for one listens for aborts meanwhile.
  let releaseSlot = deps.mapSlots?.tryTake();
  if (deps.mapSlots && !releaseSlot) {
    try {
      releaseSlot = await deps.mapSlots.take(runSignal, attempt.signal, deps.draining);
    } catch (error) {
      if (runSignal.aborted) return 'skipped';
      if (attempt.signal.aborted || deps.draining?.aborted) throw new TaskReleased('the worker is shutting down');
      throw error;
    }
  }
  // The same for every task of the run this worker holds: made once, not per task.
  const taskSignal = sharedCombination(runSignal, attempt.signal);
  const callEvent = { phase: 'map', runId, job: deps.job.name } as const;
  const where = { runId, taskId, attempt: attempt.attempt };
  try {
    if (quarantined && !deps.quarantine) throw new TaskStalledError(stalledMessage(attempt.stalls, run), where);
    if (quarantined)
      log.warn(
        { stalls: attempt.stalls },
        'task stalled too often; running it alone in a separate process to find out whether it is the culprit',
      );
    output = await mapItems({
      job: deps.job,
      items,
      partitions: run.options.partitions,
      callTimeoutMs: quarantined ? Math.min(run.options.callTimeoutMs, deps.quarantine!.timeoutMs) : run.options.callTimeoutMs,
      signal: taskSignal,
      gate: await deps.gateFor?.(run, pending.runLimited),
      invoke: quarantined ? deps.quarantine!.invoke : deps.invoke,
      onCall: deps.observer && {
        started: () => deps.observer?.mapCallStarted?.(callEvent),
        ended: () => deps.observer?.mapCallEnded?.(callEvent),
      },
      runId,
      taskId,
      attempt: attempt.attempt,
      logFor: (index) => log.child({ item: index }),
    });
  } catch (error) {
    if (runSignal.aborted) return 'skipped'; // cancelled or failed meanwhile: nothing to record
    if (attempt.signal.aborted) throw new TaskReleased('the worker is shutting down');
    if (error instanceof ItemFailure && error.cause instanceof TaskReleased) throw error.cause; // the run is full
    const cause = error instanceof ItemFailure ? error.cause : error;
    const settled =
      quarantined && !(cause instanceof TaskStalledError)
        ? new TaskStalledError(`${stalledMessage(attempt.stalls, run)}; run alone, it failed too: ${(cause as Error)?.message ?? cause}`, {
            ...where,
            cause,
          })
        : cause;
    return settle(settled);
  } finally {
    releaseSlot?.();
  }
  try {
    return await commitOutput(deps, run, attempt, items.length, output, log);
  } catch (error) {
    if (attempt.signal.aborted) throw new TaskReleased('the worker is shutting down');
    // A task whose last attempt fails outside map (its commit, a lost stage) is settled like
    // a failing map: left to BullMQ alone, it would fail unrecorded and hold its run forever.
    return settle(error);
  }
}

/** Stage and commit; the commit that ends the map phase enqueues the reduce tasks. */
async function commitOutput(
  deps: MapHandlerDeps,
  run: RunRecord,
  attempt: TaskAttempt<MapTaskPayload>,
  itemCount: number,
  output: MapTaskOutput,
  log: Logger,
): Promise<MapTaskResult> {
  const taskId = attempt.payload.task;
  const commit = (request: CommitRequest): Promise<CommitOutcome> =>
    deps.commits ? deps.commits.commit(request) : commitMapOutput(request);
  const committed = await retryWhileRedisRefuses(`committing task ${taskId}`, log, attempt.signal, () =>
    commit({
      client: deps.client,
      prefix: deps.prefix,
      run,
      generation: attempt.payload.gen,
      taskId,
      attemptId: attempt.attemptId,
      itemCount,
      output,
      minReplicas: run.options.minReplicas,
    }),
  );
  switch (committed.outcome) {
    case 'flipped':
      await failpoint('after-map-commit', taskId);
      await failpoint('after-flip');
      deps.observer?.itemsMapped?.({ phase: 'map', runId: run.id, job: deps.job.name, items: itemCount });
      log.info({}, 'all map tasks settled; enqueueing reduce tasks');
      await enqueueDueReduceTasks(deps.client, deps.queues, deps.prefix, run);
      return 'committed';
    case 'committed':
      await failpoint('after-map-commit', taskId);
      deps.observer?.itemsMapped?.({ phase: 'map', runId: run.id, job: deps.job.name, items: itemCount });
      return 'committed';
    case 'settled':
      // The worker that flipped the run may have died before enqueueing the reduce tasks.
      if (committed.state === 'reducing') await enqueueDueReduceTasks(deps.client, deps.queues, deps.prefix, run);
      return 'duplicate';
    case 'stage_lost':
      throw new StagedOutputLostError(run.id, taskId, committed.found, committed.expected);
    case 'inactive':
      // The run moved on (cancelled, failed, reducing, retried, cleaned): no task of it runs on trust any more.
      deps.runWatch?.forget(run.id);
      if (committed.state === 'reducing') await enqueueDueReduceTasks(deps.client, deps.queues, deps.prefix, run);
      return 'skipped';
    case 'lost':
      deps.runWatch?.forget(run.id);
      log.warn({}, 'the run vanished while its task ran (cleaned, or Redis lost it); nothing to commit');
      return 'skipped';
  }
}

/**
 * After a failed attempt: rethrow for BullMQ to retry, or, on the final failure, split a
 * chunk into single items, or record a single item's failure.
 */
async function settleFailure(
  deps: HandlerDeps,
  run: RunRecord,
  attempt: TaskAttempt<MapTaskPayload>,
  items: unknown[],
  cause: unknown,
  log: Logger,
): Promise<MapTaskResult> {
  const final = attempt.attempt >= attempt.maxAttempts || isNonRetryable(cause) || cause instanceof TaskStalledError;
  if (!final) throw cause;
  const taskId = attempt.payload.task;
  if (items.length > 1) {
    await retryWhileRedisRefuses(`splitting task ${taskId}`, log, attempt.signal, () => splitChunk(deps, run, attempt, items));
    log.warn({ err: cause, items: items.length }, 'task failed for good; retrying its items one by one');
    return 'split';
  }
  await retryWhileRedisRefuses(`recording the failure of task ${taskId}`, log, attempt.signal, () =>
    recordFailure(deps, run, attempt, items, cause),
  );
  log.error({ err: cause }, 'task failed for good');
  throw new TaskFailedForGood(cause);
}

function stalledMessage(stalls: number, run: RunRecord): string {
  return `the worker running this task died or stopped answering ${stalls} times (limit --max-stalls ${run.options.maxStalls})`;
}

/** A task to map: its items, and whether its run has limits of its own (undefined: the limiter reads it). */
interface PendingTask {
  items: unknown[];
  runLimited: boolean | undefined;
  /**
   * The items came with the task and the run was taken to be mapping on the worker's word
   * (RunWatch), with no read: the commit script alone decides whether the task still counts.
   */
  unread: boolean;
}

/**
 * A task BullMQ hands out again: after a failed attempt, or taken back from a worker that
 * died or stopped answering, maybe after its commit. Such a task reads its run's state and
 * its inputs before it maps, so a task already settled does no work again.
 */
function isRedelivery(attempt: TaskAttempt<MapTaskPayload>): boolean {
  return attempt.attempt > 1 || attempt.stalls > 0;
}

/**
 * The task's items if it is to be mapped: its run (this incarnation, this generation) is
 * mapping and the task is pending. Read from Redis unless the task carries its items and
 * the worker knows the run is mapping; a read that finds it mapping teaches the worker so.
 */
async function pendingTask(
  deps: HandlerDeps,
  run: RunRecord,
  payload: MapTaskPayload,
  { read }: { read: boolean },
): Promise<PendingTask | undefined> {
  const { inc, gen } = payload;
  if (!read && payload.items !== undefined && deps.runWatch?.trusts(run.id, inc, gen)) {
    return { items: payload.items, runLimited: undefined, unread: true };
  }
  const mark = deps.runWatch?.beforeRead();
  const task = await readTask(deps, run.id, payload.task);
  if (!task || task.incarnation !== inc) return undefined;
  if (task.generation !== gen || (task.state !== 'submitting' && task.state !== 'mapping')) {
    // A worker that flipped the run to reducing may have died before enqueueing the reduce tasks.
    if (task.state === 'reducing' && task.reduceEnqueued !== task.generation) {
      await enqueueDueReduceTasks(deps.client, deps.queues, deps.prefix, run);
    }
    return undefined;
  }
  deps.runWatch?.trust(run.id, inc, gen, mark);
  return task.items && { items: task.items, runLimited: task.runLimited, unread: false };
}

interface TaskState {
  state: string;
  generation: number;
  /** The incarnation of the run now under this id. */
  incarnation: string;
  reduceEnqueued: number;
  /** Whether the run has limits of its own (a cap or a rate). */
  runLimited: boolean;
  /** The task's input items while it is pending; undefined once it is committed, split or failed. */
  items: unknown[] | undefined;
}

/** The run's state and the task's items, in one round trip. */
async function readTask(deps: HandlerDeps, runId: string, taskId: string): Promise<TaskState | undefined> {
  const keys = runKeys(deps.prefix, runId);
  const [state, generation, reduceEnqueued, runLimited, input, incarnation] = (await runScript(
    deps.client,
    readMapTaskScript,
    [keys.meta, keys.inputs, keys.failed],
    [taskId],
  )) as [string | null, string | null, string | null, number, string | null, string | null];
  if (state === null) return undefined;
  return {
    state,
    generation: Number(generation),
    incarnation: incarnation ?? '',
    reduceEnqueued: Number(reduceEnqueued ?? 0),
    runLimited: runLimited === 1,
    items: input === null ? undefined : (JSON.parse(input) as unknown[]),
  };
}

/** Splits the chunk into item tasks and queues them (again, when an earlier call split it but did not queue them). */
async function splitChunk(deps: HandlerDeps, run: RunRecord, attempt: TaskAttempt<MapTaskPayload>, items: unknown[]): Promise<void> {
  const keys = runKeys(deps.prefix, run.id);
  const taskId = attempt.payload.task;
  const [outcome, generation] = replyStrings(
    await runStep(
      deps.client,
      splitChunkScript,
      [keys.meta, keys.inputs, keys.split, keys.failed],
      [run.incarnation, attempt.payload.gen, taskId, ...items.map((item) => JSON.stringify([item]))],
      { minReplicas: run.options.minReplicas, runMeta: keys.meta },
    ),
  );
  if (outcome !== 'split') return;
  const itemTasks = items.map((_, index) => itemTaskId(taskId, index));
  // Without their items: a split answered again may add item tasks that already ran, and
  // those must find themselves settled before they map.
  await addMapTasks(deps.queues, run, Number(generation), itemTasks);
}

async function recordFailure(
  deps: HandlerDeps,
  run: RunRecord,
  attempt: TaskAttempt<MapTaskPayload>,
  items: unknown[],
  cause: unknown,
): Promise<void> {
  const error = cause instanceof Error ? cause : new Error(String(cause));
  const code = (error as { code?: unknown }).code;
  // The attempt's own request id: a recording sent again (replicas behind) answers the same.
  const recorded = await recordTaskFailure(deps.client, deps.prefix, run, attempt.payload.gen, `${attempt.attemptId}.failed`, {
    task: attempt.payload.task,
    generation: attempt.payload.gen,
    items,
    error: error.message,
    code: code === undefined || code === null ? null : String(code),
    stack: error.stack ?? null,
    attempts: attempt.attempt,
    stalls: attempt.stalls,
    host: deps.identity.host,
    pid: deps.identity.pid,
    at: Date.now(),
  });
  if (recorded.outcome === 'flipped') await enqueueDueReduceTasks(deps.client, deps.queues, deps.prefix, run);
  if (recorded.outcome === 'run_failed') {
    await publishControl(deps.client, deps.prefix, { type: 'cancel', run: run.id });
    await retireEnded(deps.client, deps.prefix, run.id);
  }
}
