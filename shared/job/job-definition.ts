import { fileURLToPath } from 'node:url';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { z } from 'zod';
import { JobDefinitionError } from '../errors.js';
import { partitionsSchema, runDefaultsSchema, type RunDefaults } from '../run/run-options.js';
import { jobLimitsSchema, type JobLimits } from './limits.js';
import { formatIssues } from '../data/validation.js';

/** A `[key, value]` pair emitted by `map`. Keys are strings. */
export type KeyValue<V> = readonly [key: string, value: V];

/** What `map` may return: an array, any iterable, a promise of either, or a (async) generator. */
export type MapOutput<V> = Iterable<KeyValue<V>> | AsyncIterable<KeyValue<V>> | Promise<Iterable<KeyValue<V>> | AsyncIterable<KeyValue<V>>>;

/** The minimal logger handed to user code; pino loggers fit it. */
export interface TaskLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface MapContext {
  runId: string;
  /** The map task (chunk, or single item after a split) this call belongs to. */
  taskId: string;
  /** 1 for the first attempt of the task. */
  attempt: number;
  /** Aborts on call timeout and when the run is cancelled. */
  signal: AbortSignal;
  log: TaskLogger;
}

export interface ReduceContext {
  runId: string;
  partition: number;
  taskId: string;
  attempt: number;
  signal: AbortSignal;
  log: TaskLogger;
}

export interface JobSpec<I, V, R> {
  /** Lower-case letters, digits and dashes, 1 to 64 characters. */
  name: string;
  /** Any Standard Schema (zod 3.24+ or 4, valibot, arktype, ...); every input item is checked against it. */
  input: StandardSchemaV1<unknown, I>;
  map(item: I, ctx: MapContext): MapOutput<V>;
  /** Optional; must be associative and commutative; may run any number of times, or not at all. */
  combine?(a: V, b: V): V;
  /** Called once per key with every value emitted for it (pre-combined when `combine` is given). */
  reduce(key: string, values: V[], ctx: ReduceContext): R | Promise<R>;
  /** Number of reduce partitions. Default 8. */
  partitions?: number;
  /** How many items of one chunk are mapped at once. Default 1 (one after another). */
  itemConcurrency?: number;
  /** Limits shared by every run of this job on every machine. */
  limits?: JobLimits;
  /** Per-run defaults; each can be overridden when the run is submitted. */
  defaults?: RunDefaults;
}

const JOB_BRAND = Symbol.for('redmap.job');

export interface Job<I = unknown, V = unknown, R = unknown> extends Readonly<JobSpec<I, V, R>> {
  readonly partitions: number;
  readonly itemConcurrency: number;
  readonly limits: JobLimits;
  readonly defaults: RunDefaults;
  /** Path of the module that called `defineJob`, when it could be found; used for the fingerprint. */
  readonly modulePath: string | undefined;
  readonly [JOB_BRAND]: true;
}

export const JOB_NAME_PATTERN = /^[a-z0-9-]{1,64}$/;

const isFunction = (value: unknown): boolean => typeof value === 'function';

const jobSpecSchema = z.object({
  name: z.string().regex(JOB_NAME_PATTERN, 'must be 1-64 lower-case letters, digits or dashes'),
  input: z.custom<StandardSchemaV1>(
    (value) => typeof value === 'object' && value !== null && '~standard' in value,
    'must be a Standard Schema (for example z.string() from zod)',
  ),
  map: z.custom(isFunction, 'must be a function'),
  combine: z.custom(isFunction, 'must be a function').optional(),
  reduce: z.custom(isFunction, 'must be a function'),
  partitions: partitionsSchema.default(8),
  itemConcurrency: z.number().int().min(1).max(1000).default(1),
  limits: jobLimitsSchema.default({}),
  defaults: runDefaultsSchema.default({}),
});

/** Declares a map-reduce job. The returned object is what job files export. */
export function defineJob<I, V, R = V>(spec: JobSpec<I, V, R>): Job<I, V, R> {
  const parsed = jobSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const name = typeof spec?.name === 'string' ? ` "${spec.name}"` : '';
    throw new JobDefinitionError('JOB_INVALID', `job${name} is invalid: ${formatIssues(parsed.error.issues)}`);
  }
  const job = {
    ...spec,
    ...parsed.data,
    map: spec.map,
    combine: spec.combine,
    reduce: spec.reduce,
    input: spec.input,
    modulePath: callerModulePath(),
    [JOB_BRAND]: true as const,
  };
  return Object.freeze(job) as Job<I, V, R>;
}

/** True for objects made by `defineJob`, from this or any other copy of redmap. */
export function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[JOB_BRAND] === true;
}

/** The file of the function that called defineJob, read from the stack. */
function callerModulePath(): string | undefined {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const here = import.meta.url;
  for (const frame of frames) {
    const location = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):\d+:\d+\)?$/.exec(frame.trim())?.[1];
    if (!location) continue;
    const path = location.startsWith('file://') ? fileURLToPath(location) : location;
    if (path === fileURLToPath(here) || path.includes('/node_modules/')) continue;
    return path;
  }
  return undefined;
}
