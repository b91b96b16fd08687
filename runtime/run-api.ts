/**
 * `submitRun` and `openRun` of the public API: a run as a handle with its id, status,
 * completion and results. Composes the producer (enqueue) and the reducer (results). The
 * CLI's `run` and `submit` are built on `submitRunOn` and `runHandleOn`, the same work on a
 * connection the caller keeps.
 */
import { hostname } from 'node:os';
import { enqueueRun, type SubmitOptions, type SubmittedRun } from '../producer/enqueue-run.js';
import type { InputSource } from '../producer/input-chunks.js';
import { readResults, type ResultEntry } from '../reducer/read-results.js';
import { RunError } from '../shared/errors.js';
import { jobFingerprint } from '../shared/job/fingerprint.js';
import type { Job } from '../shared/job/job-definition.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { connectRedis, type RedisClient } from '../shared/redis/redis-connection.js';
import { DEFAULT_KEY_PREFIX, queueName } from '../shared/redis/redis-keys.js';
import { cancelRun, unknownRun } from '../shared/run/run-control.js';
import { readRunRecord, readRunSnapshot } from '../shared/run/run-record.js';
import { RESULT_STATES } from '../shared/run/run-state.js';
import { lostRunStatus, toRunStatus, type RunStatus } from '../shared/run/run-status.js';
import { TaskQueues } from '../shared/tasks/task-queue.js';
import { resolveRedis, type RedisOption } from './redis-option.js';
import { waitForRun } from './wait-for-run.js';

export interface ConnectionOptions {
  /** Redis URL or settings. Default: REDIS_URL, else redis://127.0.0.1:6379. */
  redis?: RedisOption;
  /** Key prefix shared by producers and workers. Default "redmap". */
  prefix?: string;
  logger?: Logger;
}

export interface SubmitRunOptions extends ConnectionOptions, Omit<SubmitOptions, 'onCreated'> {}

export interface RunHandle {
  readonly id: string;
  status(): Promise<RunStatus>;
  /** Resolves once the run has ended (state `lost` if its state vanished). */
  done(options?: { onProgress?(status: RunStatus): void; signal?: AbortSignal }): Promise<RunStatus>;
  /** The results in key order (UTF-8 byte order); the run must be done or done_with_failures. */
  results(): AsyncIterable<ResultEntry>;
  cancel(): Promise<void>;
  /** Closes the handle's Redis connection. */
  close(): Promise<void>;
}

/** Submits a run of `job` over `inputs` (an array, iterable or async iterable). */
export async function submitRun(job: Job, inputs: InputSource, options: SubmitRunOptions = {}): Promise<RunHandle> {
  const client = await connectRedis(resolveRedis(options.redis), { name: `redmap:producer:${hostname()}` });
  try {
    const submitted = await submitRunOn(client, job, inputs, options);
    return runHandle(client, options.prefix ?? DEFAULT_KEY_PREFIX, submitted.runId, true);
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

export interface SubmitOnOptions extends SubmitOptions {
  /** Key prefix shared by producers and workers. Default "redmap". */
  prefix?: string;
  logger?: Logger;
}

/**
 * What `submitRun` does, on a connection the caller keeps open (the CLI's `run` and
 * `submit`): resolves once every input is enqueued, with what submitting saw.
 */
export async function submitRunOn(
  client: RedisClient,
  job: Job,
  inputs: InputSource,
  options: SubmitOnOptions = {},
): Promise<SubmittedRun> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const log = options.logger ?? silentLogger();
  const queues = new TaskQueues(client, prefix);
  try {
    const fingerprint = await jobFingerprint(job);
    return await enqueueRun(
      { client, queues, prefix, log },
      { job, fingerprint, queue: queueName(job.name, fingerprint) },
      inputs,
      options,
    );
  } finally {
    await queues.close();
  }
}

/** A handle on an existing run, by id. */
export async function openRun(runId: string, options: ConnectionOptions = {}): Promise<RunHandle> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const client = await connectRedis(resolveRedis(options.redis), { name: `redmap:client:${hostname()}` });
  if (!(await readRunRecord(client, prefix, runId))) {
    client.disconnect();
    throw unknownRun(runId);
  }
  return runHandle(client, prefix, runId, true);
}

/** A handle on a run over a connection the caller keeps: its `close()` leaves the connection open. */
export function runHandleOn(client: RedisClient, prefix: string, runId: string): RunHandle {
  return runHandle(client, prefix, runId, false);
}

function runHandle(client: RedisClient, prefix: string, id: string, ownsConnection: boolean): RunHandle {
  const queues = new TaskQueues(client, prefix);
  let last: RunStatus | undefined;
  return {
    id,
    async status() {
      const snapshot = await readRunSnapshot(client, prefix, id);
      last = snapshot ? toRunStatus(snapshot) : lostRunStatus(id, last);
      return last;
    },
    async done(options = {}) {
      const final = await waitForRun(client, prefix, id, {
        signal: options.signal,
        onUpdate: (snapshot) => {
          last = toRunStatus(snapshot);
          options.onProgress?.(last);
        },
      });
      last = final ? toRunStatus(final) : lostRunStatus(id, last);
      return last;
    },
    async *results() {
      const record = await readRunRecord(client, prefix, id);
      if (!record) throw unknownRun(id);
      if (!RESULT_STATES.has(record.state)) {
        throw new RunError('RUN_STATE', id, `run ${id} is ${record.state}; results exist once it is done or done_with_failures`);
      }
      yield* readResults(client, prefix, id, record.generation, record.options.partitions);
    },
    async cancel() {
      await cancelRun(client, prefix, id, queues);
    },
    async close() {
      await queues.close();
      if (ownsConnection) await client.quit().catch(() => client.disconnect());
    },
  };
}
