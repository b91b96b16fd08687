/**
 * redmap: distributed, queue-backed map-reduce for TypeScript on Redis and BullMQ.
 * This is the whole public API; everything else is internal.
 */
export { defineJob, isJob } from './shared/job-definition.js';
export type { Job, JobSpec, KeyValue, MapContext, MapOutput, ReduceContext, TaskLogger } from './shared/job-definition.js';
export type { JobLimits } from './shared/limits.js';
export type { RunDefaults } from './shared/run-options.js';
export type { RunState } from './shared/run-state.js';
export type { RunStatus } from './shared/run-status.js';
export {
  CallTimeoutError,
  InputError,
  InvalidOptionError,
  JobDefinitionError,
  MapOutputError,
  NonRetryableError,
  RedisError,
  RedmapError,
  RunError,
  TaskStalledError,
  UsageError,
} from './shared/errors.js';
export type { ErrorCode } from './shared/errors.js';
export type { RedisSettings } from './shared/redis-connection.js';
export { fnv1a32, partitionOf } from './shared/partition.js';
/** zod 4, re-exported so a job file needs nothing but redmap; any Standard Schema works as `input`. */
export { z } from 'zod';
export { submitRun, openRun } from './cli/run-api.js';
export type { ConnectionOptions, RunHandle, SubmitRunOptions } from './cli/run-api.js';
export { startWorker } from './cli/start-worker.js';
export type { StartWorkerOptions, WorkerHandle } from './cli/start-worker.js';
export { runLocally } from './cli/run-locally.js';
export type { RunLocallyOptions } from './cli/run-locally.js';
export type { ResultEntry } from './reducer/read-results.js';
export type { InputSource } from './producer/input-chunks.js';
