/**
 * What the worker runtime hands to the map and reduce handlers for one attempt of a task,
 * free of BullMQ types, and what they share to reach Redis, the queues and the runs.
 */
import type { Job } from '../job/job-definition.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/redis-connection.js';
import type { RunRecord } from '../run/run-record.js';
import { readRunRecord } from '../run/run-record.js';
import type { TaskQueues } from './task-queue.js';
import type { WorkerObserver } from '../workers/worker-observer.js';

export interface TaskAttempt<P> {
  payload: P;
  /**
   * Made up for this attempt alone: names its staged output and is the request id of its
   * commit. Not BullMQ's lock token, which a worker hands on to the next task it fetches.
   */
  attemptId: string;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** How often the task was taken back from a worker that died or stopped answering. */
  stalls: number;
  /** Aborts when the worker must stop at once. */
  signal: AbortSignal;
}

/** Thrown after a task's final failure is recorded, so BullMQ marks it failed without retrying. */
export class TaskFailedForGood extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'TaskFailedForGood';
  }
}

/**
 * Thrown when a task must go back to the queue without using an attempt: the worker is
 * shutting down (it goes back at once), or its run's limits are full (after `delayMs`).
 */
export class TaskReleased extends Error {
  constructor(
    readonly reason: string,
    readonly delayMs = 0,
  ) {
    super(`task released: ${reason}`);
    this.name = 'TaskReleased';
  }
}

export interface WorkerIdentity {
  host: string;
  pid: number;
}

export interface HandlerDeps {
  client: RedisClient;
  queues: TaskQueues;
  prefix: string;
  job: Job;
  log: Logger;
  runs: RunCache;
  identity: WorkerIdentity;
  /** Aborts when the run is cancelled or fails, so running calls stop. */
  runSignal(runId: string): AbortSignal;
  /** Which runs this worker may take to be mapping without reading their state (runtime/control-subscription.ts). */
  runWatch?: RunWatch;
  observer?: WorkerObserver;
}

/**
 * What a worker knows of its runs' states between reads: a read that found a run (this
 * incarnation, this generation) mapping stays true until a cancel message for the run
 * arrives. Messages sent while the worker's subscription was down are lost, so while it is
 * down nothing is trusted, and a read that may have crossed a cancel message is not taken.
 */
export interface RunWatch {
  /** To call before a read of a run's state: what `trust` needs, or undefined while messages may be missed. */
  beforeRead(): number | undefined;
  /** The read begun at `mark` found the run mapping in this generation. */
  trust(runId: string, incarnation: string, generation: number, mark: number | undefined): void;
  trusts(runId: string, incarnation: string, generation: number): boolean;
  /** The run was found to have moved on (a commit refused): read it again next time. */
  forget(runId: string): void;
}

/**
 * Run records by id and incarnation, read once: a worker needs a run's options on every
 * task, and they never change within an incarnation. A run id used again after `clean` is
 * another incarnation, read afresh. Current state is always read fresh by the scripts.
 */
export class RunCache {
  private readonly records = new Map<string, Promise<RunRecord | undefined>>();

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly capacity = 256,
  ) {}

  /** The record of this incarnation of the run, or undefined when the run is gone or is another incarnation now. */
  get(runId: string, incarnation: string): Promise<RunRecord | undefined> {
    const key = `${runId}/${incarnation}`;
    let record = this.records.get(key);
    if (!record) {
      record = readRunRecord(this.client, this.prefix, runId).then((found) => (found?.incarnation === incarnation ? found : undefined));
      if (this.records.size >= this.capacity) this.records.delete(this.records.keys().next().value!);
      this.records.set(key, record);
      // A run that does not exist yet may appear; do not remember its absence.
      void record.then(
        (found) => found === undefined && this.records.delete(key),
        () => this.records.delete(key),
      );
    }
    return record;
  }
}
