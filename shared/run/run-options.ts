import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../data/durations.js';
import { InvalidOptionError } from '../errors.js';
import { byteSizeSchema, durationSchema, numberSchema, parseOption, rateSchema, wholeNumberSchema } from '../data/validation.js';
import { refusePasswordInSinkUrl, sinkInputSchema, type SinkSettings } from './sink-options.js';

/** Every per-run option with its default. Job `defaults` and submit options use these names. */
export const RUN_OPTION_DEFAULTS = {
  attempts: 3,
  backoff: 'exponential:1s',
  callTimeout: '10m',
  maxFailedTasks: 0,
  maxStalls: 3,
  retention: '7d',
  chunkSize: 'auto',
  minReplicas: 0,
} as const;

export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const runIdSchema = z.string().regex(RUN_ID_PATTERN, 'expected 1-64 letters, digits, "_" or "-"');

export interface Backoff {
  type: 'exponential' | 'fixed';
  delayMs: number;
}

const backoffSchema = z.string().transform((value, ctx): Backoff => {
  const match = /^(exponential|fixed):(.+)$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected exponential:DURATION or fixed:DURATION' });
    return z.NEVER;
  }
  const delayMs = parseDuration(match[2]!);
  if (delayMs === undefined) {
    ctx.addIssue({ code: 'custom', message: `the delay must be ${DURATION_HINT}` });
    return z.NEVER;
  }
  return { type: match[1] as Backoff['type'], delayMs };
});

/** Input items per map task, when given as a number. */
export const chunkCountSchema = wholeNumberSchema({ min: 1, max: 1_000_000 });
const chunkSizeSchema = z.union([z.literal('auto'), chunkCountSchema], {
  error: 'expected "auto" or a whole number between 1 and 1000000',
});

/** Reduce partitions of a job or a run. */
export const partitionsSchema = wholeNumberSchema({ min: 1, max: 4096 });

/**
 * Each per-run option as a caller, a job's `defaults` or a CLI flag gives it, with its bounds:
 * written once, read by `resolveRunOptions`, the stored form below and the `run`/`submit` flags.
 */
export const RUN_OPTION_FIELDS = {
  attempts: wholeNumberSchema({ min: 1, max: 100 }),
  backoff: backoffSchema,
  callTimeout: durationSchema(1),
  maxFailedTasks: wholeNumberSchema({ min: 0 }),
  maxFailedRatio: numberSchema({ min: 0, max: 1 }),
  maxStalls: wholeNumberSchema({ min: 0, max: 1000 }),
  retention: durationSchema(1000),
  chunkSize: chunkSizeSchema,
  /** A cap on this run's map calls in flight, below the job-wide limit. */
  concurrency: wholeNumberSchema({ min: 1, max: 100_000 }),
  /** A cap on this run's map call starts, e.g. "50/s". */
  rate: rateSchema,
  /** Replicas that must confirm each step of the run before it counts (docs/reliability.md). */
  minReplicas: wholeNumberSchema({ min: 0, max: 16 }),
};

/**
 * The smallest `split`: each range costs a task and reads past its end to finish its last
 * line, so below this the overhead outweighs the parallelism it buys.
 */
export const MIN_SPLIT_BYTES = 64 * 1024;

/**
 * The options of a submit beyond the run's own settings: the run's id, its partitions, and
 * how far ahead of the workers it enqueues.
 */
export const SUBMIT_OPTION_FIELDS = {
  runId: runIdSchema,
  partitions: partitionsSchema,
  /** Waiting tasks in the job's queue above which submitting holds back. Default 5000. */
  highWaterMark: wholeNumberSchema({ min: 1 }).default(5000),
  /** Map each file input as byte ranges of this size ("64MiB", or bytes); see shared/files/. */
  split: byteSizeSchema(MIN_SPLIT_BYTES),
};

const fields = RUN_OPTION_FIELDS;
const durationInput = z.union([z.string(), z.number()]);

/**
 * Per-run settings as a job's `defaults` or a caller gives them (strings for durations and
 * rates). Numbers are checked here; durations, rates and the backoff when a run is
 * submitted (`resolveRunOptions`), as they always were.
 */
export const runDefaultsSchema = z
  .object({
    attempts: fields.attempts.optional(),
    backoff: z.string().optional(),
    callTimeout: durationInput.optional(),
    maxFailedTasks: fields.maxFailedTasks.optional(),
    maxFailedRatio: fields.maxFailedRatio.optional(),
    maxStalls: fields.maxStalls.optional(),
    retention: durationInput.optional(),
    chunkSize: fields.chunkSize.optional(),
    /** A cap on this run's map calls in flight, below the job-wide limit. */
    concurrency: fields.concurrency.optional(),
    /** A cap on this run's map call starts, e.g. "50/s". */
    rate: z.string().optional(),
    /** Replicas that must confirm each step of the run before it counts. Default 0. */
    minReplicas: fields.minReplicas.optional(),
    /** A PostgreSQL table the results are also written to (shared/run/sink-options.ts). Default: none. */
    sink: sinkInputSchema.optional(),
  })
  .strict();

export type RunDefaults = z.input<typeof runDefaultsSchema>;

/** Run options after defaults are applied and strings are parsed; stored with the run. */
export const runOptionsSchema = z.object({
  attempts: fields.attempts,
  backoff: z.object({ type: z.enum(['exponential', 'fixed']), delayMs: z.number().int().min(0) }),
  callTimeoutMs: fields.callTimeout,
  maxFailedTasks: fields.maxFailedTasks,
  maxFailedRatio: fields.maxFailedRatio.optional(),
  maxStalls: fields.maxStalls,
  retentionMs: fields.retention,
  chunkSize: fields.chunkSize,
  partitions: partitionsSchema,
  concurrency: fields.concurrency.optional(),
  rate: z.object({ count: z.number().positive(), periodMs: z.number().int().positive() }).optional(),
  // Runs stored before the option existed had none: 0.
  minReplicas: fields.minReplicas.default(0),
  sink: sinkInputSchema.optional(),
});

export type RunOptions = z.output<typeof runOptionsSchema>;

type FieldName = keyof typeof RUN_OPTION_FIELDS;

/**
 * Merges caller options over the job's defaults over redmap's defaults, checking each
 * value and naming the option when one is wrong.
 */
export function resolveRunOptions(
  jobDefaults: RunDefaults,
  given: RunDefaults & { partitions?: number },
  jobPartitions: number,
): RunOptions {
  const shape = runDefaultsSchema.shape;
  const unknown = Object.keys(jobDefaults).find((name) => !(name in shape));
  if (unknown !== undefined)
    throw new InvalidOptionError(unknown, `defaults: unknown option "${unknown}"; known: ${Object.keys(shape).join(', ')}`);
  const merged: Partial<Record<FieldName, unknown>> = {
    ...RUN_OPTION_DEFAULTS,
    ...dropUndefined(jobDefaults),
    ...dropUndefined(pickRunOptions(given)),
  };
  // Each value is checked on its own, so an error names that option and the value given.
  const option = <N extends FieldName>(name: N) => parseOption(name, fields[name], merged[name]) as z.output<(typeof fields)[N]>;
  const optional = <N extends FieldName>(name: N): z.output<(typeof fields)[N]> | undefined =>
    merged[name] === undefined ? undefined : option(name);
  return {
    attempts: option('attempts'),
    backoff: option('backoff'),
    callTimeoutMs: option('callTimeout'),
    maxFailedTasks: option('maxFailedTasks'),
    maxFailedRatio: optional('maxFailedRatio'),
    maxStalls: option('maxStalls'),
    retentionMs: option('retention'),
    chunkSize: option('chunkSize'),
    partitions: parseOption('partitions', partitionsSchema, given.partitions ?? jobPartitions),
    concurrency: optional('concurrency'),
    rate: optional('rate'),
    minReplicas: option('minReplicas'),
    sink: resolveSink(given.sink ?? jobDefaults.sink),
  };
}

/** The caller's sink, else the job's: checked for a password before any message could show the URL. */
function resolveSink(given: RunDefaults['sink']): SinkSettings | undefined {
  if (given === undefined) return undefined;
  refusePasswordInSinkUrl('sink.url', (given as { url?: unknown }).url);
  return parseOption('sink', sinkInputSchema, given);
}

/** Only the run options out of a caller's options object, which may hold other settings. */
function pickRunOptions(given: RunDefaults & { partitions?: number }): RunDefaults & { partitions?: number } {
  const names = [...Object.keys(runDefaultsSchema.shape), 'partitions'];
  return Object.fromEntries(Object.entries(given).filter(([name]) => names.includes(name)));
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
