/**
 * Every Redis key, channel and queue name redmap uses is built here.
 *
 * A run's keys share the prefix `<prefix>:run:{<runId>}:` and so one hash tag: every
 * script on a run stays in one slot of a Redis Cluster, and different runs spread over
 * shards. Queues are BullMQ's, one per job version, under `<prefix>:q`, with the queue
 * name as their own hash tag. Job-wide keys (limits) carry the job name as their tag.
 */

export const DEFAULT_KEY_PREFIX = 'redmap';

export interface RunKeys {
  /** Hash: the run record (state, generation, totals, options). */
  meta: string;
  /** Hash: task id -> JSON array of input items, for every task not yet committed. */
  inputs: string;
  /** Set: ids of committed map tasks. */
  committed: string;
  /** Set: ids of map tasks that failed for good in the current generation. */
  failed: string;
  /** Set: ids of chunks split into single-item tasks after failing. */
  split: string;
  /** Hash: task id -> JSON failure report (items, error, attempts, host, pid). */
  failures: string;
  /** Set: staged output keys adopted by a commit, to expire or delete with the run. */
  stages: string;
  /** Hash: request id -> JSON reply of a control script that changed something, so a resent call answers the same. */
  replies: string;
  /** Hash per partition: `<taskId>#<batch>` -> JSON batch of [key, value], for outputs committed inline. */
  output(partition: number): string;
  /** List per partition: `<taskId>|<batches>|<staged key or empty>`, one entry per committed task with output there. */
  outputIndex(partition: number): string;
  /** Hash: staged map output of one attempt, `<partition>#<batch>` -> JSON batch. */
  mapStage(attemptToken: string): string;
  /** Set: partitions reduced in a generation. */
  reduced(generation: number): string;
  /** What every generation's keys start with, followed by the generation number. */
  generationPrefix: string;
  /** The run's own limiter; its limits are fields of the run record. */
  limiter: LimiterKeys;
  /** List per partition: JSON batches of [key, value] sorted by key, the run's results. */
  results(generation: number, partition: number): string;
  /** List: staged reduce output of one attempt for one partition. */
  reduceStage(generation: number, partition: number, attemptToken: string): string;
  /** Pattern matching every key of the run (for SCAN). */
  pattern: string;
}

export function runKeys(prefix: string, runId: string): RunKeys {
  const base = `${prefix}:run:{${runId}}`;
  return {
    meta: `${base}:meta`,
    inputs: `${base}:inputs`,
    committed: `${base}:committed`,
    failed: `${base}:failed`,
    split: `${base}:split`,
    failures: `${base}:failures`,
    stages: `${base}:stages`,
    replies: `${base}:replies`,
    output: (partition) => `${base}:out:${partition}`,
    outputIndex: (partition) => `${base}:idx:${partition}`,
    mapStage: (token) => `${base}:stage:${token}`,
    reduced: (generation) => `${base}:g${generation}:reduced`,
    generationPrefix: `${base}:g`,
    limiter: { limits: `${base}:meta`, slots: `${base}:slots`, bucket: `${base}:bucket`, starts: `${base}:starts` },
    results: (generation, partition) => `${base}:g${generation}:res:${partition}`,
    reduceStage: (generation, partition, token) => `${base}:g${generation}:rstage:${partition}:${token}`,
    pattern: `${base}:*`,
  };
}

/**
 * The keys of one limiter scope (a job, or a run): where its limits are configured, the
 * leases of the map calls in flight, the rate's next allowed start, and starts per second.
 */
export interface LimiterKeys {
  /** Hash with `concurrency`, `rateCount`, `ratePeriodMs` (a run's are in its meta). */
  limits: string;
  /** Sorted set: lease id -> expiry (ms) of each map call holding a slot. */
  slots: string;
  /** String: when the next call may start under the rate (ms). */
  bucket: string;
  /** Hash: second -> map calls started in it, for the start rate. */
  starts: string;
}

/** Job-wide limits bound every run of a job together; the job name is their hash tag. */
export function jobLimiterKeys(prefix: string, jobName: string): LimiterKeys {
  const base = `${prefix}:job:{${jobName}}`;
  return { limits: `${base}:limits`, slots: `${base}:slots`, bucket: `${base}:bucket`, starts: `${base}:starts` };
}

/** Sorted set of run ids by creation time, for `runs`, `clean --older-than` and the sweep. */
export const runsIndexKey = (prefix: string): string => `${prefix}:runs`;

/** Set of runs of one queue that have not ended, walked by the recovery sweep. */
export const activeRunsKey = (prefix: string, queue: string): string => `${prefix}:active:${queue}`;

/** Lease held by the one worker of a queue that runs the recovery sweep. */
export const sweepLeaseKey = (prefix: string, queue: string): string => `${prefix}:sweep-lease:${queue}`;

/**
 * The registry of worker processes: who was seen when (sorted set, server time in ms) and
 * what each one runs (hash of JSON). One hash tag, so one script updates both on a cluster.
 */
export const workerRegistryKeys = (prefix: string): { seen: string; info: string } => ({
  seen: `${prefix}:{workers}:seen`,
  info: `${prefix}:{workers}:info`,
});

/** Pub/sub channel for cancel and limit changes. */
export const controlChannel = (prefix: string): string => `${prefix}:control`;

/** BullMQ key prefix for redmap's queues. */
export const queuePrefix = (prefix: string): string => `${prefix}:q`;

/** One BullMQ queue per job version; the braces make the name its own hash tag. */
export const queueName = (jobName: string, fingerprint: string): string => `{${jobName}.${fingerprint}}`;

/** Map task ids: `c<chunk>` for a chunk, `c<chunk>.<item>` for one item of a split chunk. */
export const chunkTaskId = (chunk: number): string => `c${chunk}`;
export const itemTaskId = (chunkTask: string, item: number): string => `${chunkTask}.${item}`;

/** A run id and which incarnation of it: an id can be used again once its run is cleaned. */
export interface RunIncarnation {
  id: string;
  incarnation: string;
}

/**
 * A task's id in its queue (BullMQ's "job id") carries the run, its incarnation and the
 * generation: a retry adds new ids a kept failed task cannot swallow, and a task of a cleaned
 * run can never take the id of the same task in a new run of the same id.
 */
export const mapTaskQueueId = (run: RunIncarnation, generation: number, taskId: string): string =>
  `${run.id}.${run.incarnation}.g${generation}.${taskId}`;
export const reduceTaskQueueId = (run: RunIncarnation, generation: number, partition: number): string =>
  `${run.id}.${run.incarnation}.g${generation}.r${partition}`;

/** SCAN pattern for the BullMQ keys of every incarnation of a run's tasks in its job's queue (run ids hold no dot). */
export const runTasksPattern = (prefix: string, queue: string, runId: string): string => `${queuePrefix(prefix)}:${queue}:${runId}.*`;
