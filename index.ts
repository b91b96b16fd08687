/**
 * redmap: distributed, queue-backed map-reduce for TypeScript on Redis and BullMQ.
 * This is the whole public API; everything else is internal.
 */
export { defineJob, isJob } from './shared/job/job-definition.js';
export type { Job, JobSpec, KeyValue, MapContext, MapOutput, ReduceContext, TaskLogger } from './shared/job/job-definition.js';
export type { JobLimits } from './shared/job/limits.js';
export type { RunDefaults } from './shared/run/run-options.js';
export type { SinkInput, SinkMode } from './shared/run/sink-options.js';
export type { RunState } from './shared/run/run-state.js';
export type { RunStatus } from './shared/run/run-status.js';
export {
  CallTimeoutError,
  InputChangedError,
  InputError,
  InvalidOptionError,
  JobDefinitionError,
  MapOutputError,
  NonRetryableError,
  RedisError,
  RedmapError,
  RunError,
  SinkError,
  TaskStalledError,
  UsageError,
} from './shared/errors.js';
export type { ErrorCode, FileVersion } from './shared/errors.js';
/** Files mapped whole or as byte ranges (`split`): the range schema and the readers a job's `map` calls. */
export { fileInputSchema, fileRangeSchema } from './shared/files/file-range.js';
export type { FileInput, FileRange } from './shared/files/file-range.js';
export { readInputBytes, readInputLines } from './shared/files/read-input.js';
export type { ReadInputOptions } from './shared/files/read-input.js';
export type { RedisSettings } from './shared/redis/redis-connection.js';
export { fnv1a32, partitionOf } from './worker/partition.js';
/** zod 4, re-exported so a job file needs nothing but redmap; any Standard Schema works as `input`. */
export { z } from 'zod';
export { submitRun, openRun } from './runtime/run-api.js';
export type { ConnectionOptions, RunHandle, SubmitRunOptions } from './runtime/run-api.js';
export { startWorker } from './runtime/start-worker.js';
export type { StartWorkerOptions, WorkerHandle } from './runtime/start-worker.js';
export { runLocally } from './runtime/run-locally.js';
export type { RunLocallyOptions } from './runtime/run-locally.js';
export type { ResultEntry } from './reducer/read-results.js';
export type { InputSource } from './producer/input-chunks.js';
