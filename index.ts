/**
 * redmap: distributed, queue-backed map-reduce for TypeScript on Redis and BullMQ.
 * This is the whole public API; everything else is internal.
 */
import type * as RunApi from './runtime/run-api.js';
import type * as RunLocally from './runtime/run-locally.js';
import type * as StartWorker from './runtime/start-worker.js';

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
export type { ConnectionOptions, RunHandle, SubmitRunOptions } from './runtime/run-api.js';
export type { StartWorkerOptions, WorkerHandle } from './runtime/start-worker.js';
export type { RunLocallyOptions } from './runtime/run-locally.js';

// The engine loads on first call: every job file imports this module, and most processes
// that load a job (a `submit`, the CLI of a `run`) start no worker from it. Loaded eagerly,
// the worker, the reducer and the run API were about 50 modules of every such start-up.

/** Submits a run of `job` over `inputs` (an array, iterable or async iterable). */
export const submitRun: typeof RunApi.submitRun = async (...args) => (await import('./runtime/run-api.js')).submitRun(...args);
/** A handle on an existing run, by id. */
export const openRun: typeof RunApi.openRun = async (...args) => (await import('./runtime/run-api.js')).openRun(...args);
/** Serves `job`'s tasks in this process until the handle is closed. */
export const startWorker: typeof StartWorker.startWorker = async (...args) =>
  (await import('./runtime/start-worker.js')).startWorker(...args);
/** Runs `job` over `inputs` in this process, without Redis, and returns the results in key order. */
export const runLocally: typeof RunLocally.runLocally = async (...args) => (await import('./runtime/run-locally.js')).runLocally(...args);
export type { ResultEntry } from './reducer/read-results.js';
export type { InputSource } from './producer/input-chunks.js';
