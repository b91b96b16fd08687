/**
 * The worker runtime: one BullMQ worker on a job version's queue, serving both map and
 * reduce tasks (the composition of worker/ and reducer/ happens here), plus the control
 * channel that aborts a cancelled run's calls, and the recovery sweep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { setMaxListeners } from 'node:events';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job as QueueJob } from 'bullmq';
import { resolveRedis, type RedisOption } from './redis-option.js';
import { handleMapTask, type MapHandlerDeps } from '../worker/map-task-handler.js';
import { IsolatePool, type IsolationMode } from '../worker/isolation/isolation.js';
import { Slots } from '../worker/limits/slots.js';
import { CommitBatches } from '../worker/commit-batches.js';
import { InvalidOptionError } from '../shared/errors.js';
import { handleReduceTask } from '../reducer/reduce-task-handler.js';
import { PostgresSinks } from '../reducer/postgres-sink.js';
import type { ReduceHandlerDeps } from '../reducer/write-sink.js';
import { jobFingerprint } from '../shared/job/fingerprint.js';
import type { Job } from '../shared/job/job-definition.js';
import { Limiter } from '../worker/limits/limiter.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { newRequestId } from '../shared/redis/lua-scripts.js';
import { connectRedis, isRedisFull } from '../shared/redis/redis-connection.js';
import { queueName, queuePrefix } from '../shared/redis/redis-keys.js';
import { subscribeControl } from './control-subscription.js';
import { DEFAULT_SWEEP_TIMINGS, RecoverySweep, type SweepTimings } from './recovery-sweep.js';
import { RunCache, TaskFailedForGood, TaskReleased, type TaskAttempt } from '../shared/tasks/task-attempt.js';
import { combineObservers, type TaskOutcome, type WorkerObserver } from '../shared/workers/worker-observer.js';
import { countRunOutcomes } from './run-counters.js';
import { showWorkerPresence } from './worker-presence.js';
import { taskPayloadSchema, TaskQueues, type TaskPayload } from '../shared/tasks/task-queue.js';
import { parseOptions } from '../shared/data/validation.js';
import { WORKER_OPTION_DEFAULTS, workerOptionsSchema, type WorkerOptions } from './worker-options.js';
import { failpointSet } from '../shared/failpoints.js';
import { DEFAULT_WEDGE_CHECK_TIMINGS, startWedgeCheck, type WedgeCheckTimings } from './wedge-check.js';

/** The worker options (prefix, concurrency, lockDuration, stalledInterval, isolation: worker-options.ts), plus Redis, logging and hooks. */
export interface StartWorkerOptions extends WorkerOptions {
  /** Redis URL or settings. Default: REDIS_URL, else redis://127.0.0.1:6379. */
  redis?: RedisOption;
  /** Handed to pino-style logging; silent by default. */
  logger?: Logger;
  /** Told about every task and map call, for metrics. */
  observer?: WorkerObserver;
  /** Recovery sweep timings, or false to leave the sweep to other workers. */
  sweep?: Partial<SweepTimings> | false;
  /** When to call the worker wedged (tasks wait, it takes none) and rebuild its connections. */
  wedgeCheck?: Partial<WedgeCheckTimings>;
}

export interface WorkerHandle {
  /** The job version's queue this worker serves. */
  readonly queue: string;
  readonly fingerprint: string;
  /** Tasks running right now. */
  readonly activeTasks: number;
  /**
   * Stops taking tasks and waits for running ones; after `graceMs` (default 30s) running
   * tasks are abandoned, to be taken over by another worker once their lock expires.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Tasks a worker holds per task it maps (--concurrency): while some map, the others read
 * their inputs or commit, so round trips to Redis overlap with work instead of adding to it.
 * Over a 4 ms round trip a chunked run kept ~75% of its speed holding twice --concurrency and
 * ~83% holding three times (bench/RESULTS.md); no more, as a held task is one no other worker
 * can take.
 */
const TASKS_HELD_PER_SLOT = 3;

/** How long released tasks may take to go back to the queue before the worker stops anyway. */
const RELEASE_WAIT_MS = 5000;

/** BullMQ's own stall limit is set out of reach: redmap counts stalls itself (--max-stalls) and records the failure. */
const BULLMQ_MAX_STALLED_COUNT = 1_000_000;

export async function startWorker(job: Job, options: StartWorkerOptions = {}): Promise<WorkerHandle> {
  const settings = parseOptions(workerOptionsSchema, options);
  const log = options.logger ?? silentLogger();
  const redis = resolveRedis(options.redis);
  const fingerprint = await jobFingerprint(job);
  const queue = queueName(job.name, fingerprint);
  const client = await connectRedis(redis, { name: `redmap:worker:${job.name}` });
  const queues = new TaskQueues(client, settings.prefix);
  const limiter = new Limiter(client, settings.prefix, job.name, log);
  // The limiter, the control subscription and BullMQ's connections start side by side (each a
  // round trip or a connection, about 35 ms one after the other here); BullMQ's worker takes
  // no task before all of them are up, as it runs only once they are (below).
  const limiterStarted = limiter.start(job.limits);
  const controlOpened = subscribeControl(client, settings.prefix, log, () => void limiter.limitsChanged());
  const shutdown = new AbortController();
  const draining = new AbortController();
  // Every task the worker holds listens on these, and it holds TASKS_HELD_PER_SLOT times --concurrency.
  setMaxListeners(0, shutdown.signal, draining.signal);

  // Counted here: BullMQ's Worker does not say how many tasks it runs right now.
  let tasksInFlight = 0;
  let lastTakenAt = Date.now();
  const capacity = settings.concurrency * TASKS_HELD_PER_SLOT;
  let workersOpened = 0;
  const openWorker = (): Worker => {
    // Test only (a no-op in the build): the first BullMQ worker stops fetching after its first task, as a wedged one.
    const wedge = workersOpened++ === 0 && failpointSet('wedge-worker');
    const opened = new Worker(
      queue,
      // Two parameters, not three: BullMQ then makes no AbortController per task. Its signal
      // fires only on worker.cancelJob, which redmap never calls; a task stops on the worker's
      // shutdown or its run's cancel, which the handlers listen to themselves.
      async (task, token) => {
        if (wedge) void opened.pause(true);
        tasksInFlight++;
        lastTakenAt = Date.now();
        try {
          return await processTask(deps, fingerprint, task, token, shutdown.signal);
        } finally {
          tasksInFlight--;
        }
      },
      {
        connection: client,
        prefix: queuePrefix(settings.prefix),
        concurrency: capacity,
        autorun: false, // runs once the limiter and the control subscription are up: runWorker
        lockDuration: settings.lockDuration,
        stalledInterval: settings.stalledInterval,
        maxStalledCount: BULLMQ_MAX_STALLED_COUNT,
        name: `${hostname()}:${process.pid}`,
      },
    );
    opened.on('error', (error) => reportWorkerError(log, error));
    return opened;
  };
  const runWorker = (opened: Worker): void => void opened.run().catch((error: Error) => reportWorkerError(log, error));
  let worker = openWorker();
  const [, control] = await Promise.all([limiterStarted, controlOpened, worker.waitUntilReady()]).catch(async (error: unknown) => {
    await worker.close().catch(() => {});
    void controlOpened.then((opened) => opened.close()).catch(() => {});
    throw error;
  });
  const isolates = isolatePool(job, settings.isolation, log);
  // Spawned only when a task first needs it.
  const quarantinePool =
    job.modulePath === undefined
      ? undefined
      : new IsolatePool('process', { jobPath: job.modulePath, logLevel: log.level, logFormat: 'json' });
  // Filled before the worker runs, which is the first time its processor reads it.
  const deps: TaskHandlerDeps = {
    client,
    queues,
    prefix: settings.prefix,
    job,
    log,
    runs: new RunCache(client, settings.prefix),
    identity: { host: hostname(), pid: process.pid },
    runSignal: control.runSignal,
    runWatch: control.runWatch,
    invoke: isolates,
    gateFor: (run, runLimited) => limiter.gateFor(run, runLimited),
    observer: combineObservers(options.observer, countRunOutcomes(client, settings.prefix, log)),
    quarantine: quarantinePool && { invoke: quarantinePool, timeoutMs: settings.lockDuration },
    mapSlots: new Slots(settings.concurrency),
    commits: new CommitBatches(client, settings.prefix),
    draining: draining.signal,
    sinks: new PostgresSinks(log),
  };

  runWorker(worker);
  // Workers replaced after a wedge: they finish what they hold, then close.
  const retired: Array<Promise<void>> = [];
  const wedgeCheck = startWedgeCheck(
    {
      lastTakenAt: () => lastTakenAt,
      hasRoom: () => tasksInFlight < capacity && !draining.signal.aborted,
      tasksWaiting: () => queues.get(queue).getWaitingCount(),
      rebuild: async () => {
        const wedged = worker;
        worker = openWorker();
        runWorker(worker);
        lastTakenAt = Date.now();
        retired.push(wedged.close().catch((error: Error) => reportWorkerError(log, error)));
        await worker.waitUntilReady();
      },
    },
    { ...DEFAULT_WEDGE_CHECK_TIMINGS, ...options.wedgeCheck },
    log,
  );

  const sweep =
    options.sweep === false
      ? undefined
      : new RecoverySweep({ client, queues, prefix: settings.prefix, queue, log }, { ...DEFAULT_SWEEP_TIMINGS, ...options.sweep });
  sweep?.start();
  const activeTasks = (): number => tasksInFlight;
  const presence = await showWorkerPresence({
    client,
    prefix: settings.prefix,
    job: job.name,
    fingerprint,
    queue,
    concurrency: settings.concurrency,
    activeTasks,
    observer: options.observer,
    log,
  });
  log.info({ queue, concurrency: settings.concurrency }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    queue,
    fingerprint,
    get activeTasks() {
      return activeTasks();
    },
    close(closeOptions = {}) {
      closing ??= (async () => {
        const graceMs = closeOptions.graceMs ?? WORKER_OPTION_DEFAULTS.grace;
        wedgeCheck.stop();
        const graceful = Promise.all([worker.close(), ...retired]).then(() => undefined);
        // Tasks held but not started go back to the queue now, for other workers.
        draining.abort(new Error('worker draining'));
        // Past the grace period, running tasks are released: back to the queue at once, no attempt used.
        const finished = await Promise.race([graceful.then(() => true), sleep(graceMs, undefined, { ref: false }).then(() => false)]);
        if (!finished) {
          shutdown.abort(new Error('worker shutting down'));
          await Promise.race([graceful, sleep(RELEASE_WAIT_MS, undefined, { ref: false })]);
        }
        isolates?.close();
        quarantinePool?.close();
        await deps.sinks.close();
        limiter.stop();
        await sweep?.stop();
        await presence.stop();
        await control.close();
        await queues.close();
        await client.quit().catch(() => client.disconnect());
        log.info({ queue }, 'worker stopped');
      })();
      return closing;
    },
  };
}

function isolatePool(job: Job, mode: IsolationMode, log: Logger): IsolatePool | undefined {
  if (mode === 'none') return undefined;
  if (job.modulePath === undefined) {
    throw new InvalidOptionError('isolation', `isolation: ${mode} needs the job to be defined in a module file, which isolates load`);
  }
  return new IsolatePool(mode, { jobPath: job.modulePath, logLevel: log.level, logFormat: 'json' });
}

/** What a worker's tasks need: map tasks and reduce tasks each take their part. */
type TaskHandlerDeps = MapHandlerDeps & ReduceHandlerDeps;

async function processTask(
  deps: TaskHandlerDeps,
  fingerprint: string,
  task: QueueJob,
  token: string | undefined,
  signal: AbortSignal,
): Promise<string> {
  const parsed = taskPayloadSchema.safeParse(task.data);
  if (!parsed.success) {
    deps.observer?.taskEnded?.({
      phase: task.name === 'reduce' ? 'reduce' : 'map',
      runId: '',
      job: deps.job.name,
      outcome: 'refused',
      durationMs: 0,
    });
    throw new UnrecoverableError(
      `task ${task.id} has an invalid payload and is refused: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  const payload: TaskPayload = parsed.data;
  if (payload.fp !== fingerprint) {
    deps.observer?.taskEnded?.({ phase: payload.kind, runId: payload.run, job: deps.job.name, outcome: 'refused', durationMs: 0 });
    throw new UnrecoverableError(`task ${task.id} belongs to job version ${payload.fp}; this worker runs ${fingerprint} and refuses it`);
  }
  const attempt = {
    attemptId: newRequestId(),
    attempt: task.attemptsMade + 1,
    maxAttempts: task.opts.attempts ?? 1,
    stalls: task.stalledCounter ?? 0,
    signal,
  };
  const event = { phase: payload.kind, runId: payload.run, job: deps.job.name } as const;
  const started = Date.now();
  const ended = (outcome: TaskOutcome): void => deps.observer?.taskEnded?.({ ...event, outcome, durationMs: Date.now() - started });
  deps.observer?.taskStarted?.(event);
  try {
    const result =
      payload.kind === 'map'
        ? await handleMapTask(deps, { ...attempt, payload } satisfies TaskAttempt<typeof payload>)
        : await handleReduceTask(deps, { ...attempt, payload } satisfies TaskAttempt<typeof payload>);
    ended(result);
    return result;
  } catch (error) {
    if (error instanceof TaskFailedForGood) {
      ended('failed');
      throw new UnrecoverableError(error.message);
    }
    if (error instanceof TaskReleased && token) {
      ended('released');
      // Handing the task back is not a failed attempt: BullMQ expects these errors after such a move.
      if (error.delayMs > 0) {
        await task.moveToDelayed(Date.now() + error.delayMs, token);
        throw new DelayedError(error.message);
      }
      await task.moveToWait(token);
      throw new WaitingError(error.message);
    }
    ended('retried');
    throw error;
  }
}

let lastFullRedisReport = 0;

/** BullMQ's own errors: the worker keeps running; a full Redis is said plainly, once in a while. */
function reportWorkerError(log: Logger, error: Error): void {
  if (!isRedisFull(error)) {
    log.warn({ err: error }, 'worker error (it keeps running)');
    return;
  }
  if (Date.now() - lastFullRedisReport < 30_000) return;
  lastFullRedisReport = Date.now();
  log.error({}, 'Redis is out of memory (maxmemory reached): no task can start or finish; backing off until it has room again');
}
