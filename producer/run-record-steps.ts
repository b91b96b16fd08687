/**
 * The producer's steps on the run record: create it (or find the unsealed run a crashed
 * submit left, to resume it) and seal it. Each is confirmed by the run's minReplicas, sent
 * again while too few replicas confirm it.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, RunError } from '../shared/errors.js';
import type { Job } from '../shared/job/job-definition.js';
import type { Logger } from '../shared/logger.js';
import { loadLuaScript, newRequestId, replyStrings, type LuaScript } from '../shared/redis/lua-scripts.js';
import { runStep, type StepDurability } from '../shared/redis/confirmed-steps.js';
import { retryWhileRedisRefuses } from '../shared/redis/redis-backoff.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { activeRunsKey, runKeys, runsIndexKey } from '../shared/redis/redis-keys.js';
import { enqueueDueReduceTasks } from '../shared/run/reduce-trigger.js';
import { retireEnded } from '../shared/run/run-control.js';
import { isRunState, TERMINAL_STATES, type RunState } from '../shared/run/run-state.js';
import { runOptionsSchema, type RunOptions } from '../shared/run/run-options.js';
import type { TaskQueues, TaskTarget } from '../shared/tasks/task-queue.js';

const createRunScript = loadLuaScript(new URL('./create-run.lua', import.meta.url));
const sealRunScript = loadLuaScript(new URL('./seal-run.lua', import.meta.url));

export interface ProducerDeps {
  client: RedisClient;
  queues: TaskQueues;
  prefix: string;
  log: Logger;
}

/** What a run is enqueued for: the job, its version's fingerprint and that version's queue. */
export interface SubmitTarget {
  job: Job;
  fingerprint: string;
  queue: string;
}

/** Never aborted: a producer waits for replicas as long as it runs. */
const PRODUCER_SIGNAL = new AbortController().signal;

/**
 * A producer step, confirmed by the run's minReplicas; while too few replicas confirm it, the
 * step is sent again (each answers a second call the same way) after a growing delay.
 */
export function confirmedStep(
  deps: ProducerDeps,
  what: string,
  durability: StepDurability,
  script: LuaScript,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  return retryWhileRedisRefuses(what, deps.log, PRODUCER_SIGNAL, () => runStep(deps.client, script, keys, args, durability), [
    'unconfirmed',
  ]);
}

export async function createRun(
  deps: ProducerDeps,
  version: SubmitTarget,
  runId: string,
  options: RunOptions,
): Promise<{ resumed: boolean; chunkSize: number; options: RunOptions; incarnation: string }> {
  const keys = runKeys(deps.prefix, runId);
  const chunkSize = options.chunkSize as number;
  const incarnation = randomBytes(8).toString('hex');
  const fields = [
    'queue',
    version.queue,
    'chunkSize',
    chunkSize,
    'options',
    JSON.stringify(options),
    'maxFailedTasks',
    options.maxFailedTasks,
    'maxFailedRatio',
    options.maxFailedRatio ?? '',
    'host',
    hostname(),
    // The run's own limits, read by the limiter on every map call (`redmap throttle` changes them).
    ...(options.concurrency === undefined ? [] : ['concurrency', options.concurrency]),
    ...(options.rate === undefined ? [] : ['rateCount', options.rate.count, 'ratePeriodMs', options.rate.periodMs]),
  ];
  const [outcome, first = '', second = '', storedIncarnation = ''] = replyStrings(
    await confirmedStep(
      deps,
      'creating the run',
      { minReplicas: options.minReplicas, runMeta: keys.meta },
      createRunScript,
      [keys.meta],
      [version.job.name, version.fingerprint, incarnation, ...fields],
    ),
  );
  if (outcome === 'conflict') {
    throw new InvalidOptionError(
      'runId',
      `run id ${runId} belongs to job "${first}" version ${second}, not to this job; pick another --run-id`,
    );
  }
  if (outcome === 'exists') {
    throw new RunError(
      'RUN_EXISTS',
      runId,
      `run ${runId} already exists (${first}); pick another --run-id, or follow it: redmap status ${runId} --watch`,
    );
  }
  const created = outcome === 'created';
  const stored = created ? options : runOptionsSchema.parse(JSON.parse(second));
  if (!created) deps.log.info({ runId }, 'resuming a run a previous submit left unsealed; adding only what is missing');
  // Also on resume: the producer that created the run may have died before these. Two
  // commands, not one pipeline: the runs index and the queue's active set sit in different
  // slots of a cluster.
  await Promise.all([
    deps.client.zadd(runsIndexKey(deps.prefix), 'NX', Date.now(), runId),
    deps.client.sadd(activeRunsKey(deps.prefix, version.queue), runId),
  ]);
  return {
    resumed: !created,
    chunkSize: created ? chunkSize : Number(first),
    options: stored,
    incarnation: created ? incarnation : storedIncarnation,
  };
}

/** Seals the run; returns its state instead when it ended before it could be sealed. */
export async function sealRun(
  deps: ProducerDeps,
  run: TaskTarget & { options: RunOptions },
  tasks: number,
  items: number,
): Promise<RunState | undefined> {
  const keys = runKeys(deps.prefix, run.id);
  const requestId = newRequestId();
  const [outcome, detail = ''] = replyStrings(
    await confirmedStep(
      deps,
      'sealing the run',
      { minReplicas: run.options.minReplicas, runMeta: keys.meta },
      sealRunScript,
      [keys.meta, keys.committed, keys.failed, keys.replies],
      [run.incarnation, requestId, tasks, items],
    ),
  );
  if (outcome === 'inactive') return endedState(run.id, detail);
  if (outcome === 'failed') await retireEnded(deps.client, deps.prefix, run.id);
  if (outcome === 'flipped') await enqueueDueReduceTasks(deps.client, deps.queues, deps.prefix, run);
  return undefined;
}

/**
 * The state of a run that left `submitting` under its producer: its workers failed it, or
 * someone cancelled it. A run whose record vanished, or that another submit of the same id
 * sealed, cannot be followed from here, so those throw.
 */
export function endedState(runId: string, state: string | undefined): RunState {
  if (!state) {
    throw new RunError(
      'RUN_LOST',
      runId,
      `run ${runId} vanished from Redis (or was cleaned and submitted again) while its inputs were being submitted`,
    );
  }
  if (isRunState(state) && TERMINAL_STATES.has(state)) return state;
  throw new RunError('RUN_STATE', runId, `run ${runId} is ${state}: another submit of the same run id sealed it`);
}
