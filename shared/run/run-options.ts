import { z } from 'zod';
import { parseDuration } from '../data/durations.js';
import { InvalidOptionError } from '../errors.js';
import { durationSchema, parseOption, positiveIntSchema, rateSchema } from '../data/validation.js';

/** Every per-run option with its default. Job `defaults` and submit options use these names. */
export const RUN_OPTION_DEFAULTS = {
  attempts: 3,
  backoff: 'exponential:1s',
  callTimeout: '10m',
  maxFailedTasks: 0,
  maxStalls: 3,
  retention: '7d',
  chunkSize: 'auto',
} as const;

export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const runIdSchema = z.string().regex(RUN_ID_PATTERN, 'expected 1-64 letters, digits, "_" or "-"');

export interface Backoff {
  type: 'exponential' | 'fixed';
  delayMs: number;
}

const backoffSchema = z.string().transform((value, ctx): Backoff => {
  const match = /^(exponential|fixed):(.+)$/.exec(value.trim());
  const delayMs = match ? parseDuration(match[2]!) : undefined;
  if (!match || delayMs === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected exponential:DURATION or fixed:DURATION, e.g. exponential:1s' });
    return z.NEVER;
  }
  return { type: match[1] as Backoff['type'], delayMs };
});

const chunkSizeSchema = z.union([z.literal('auto'), positiveIntSchema.max(1_000_000)]);

/** Per-run settings as a job's `defaults` or a caller gives them (strings for durations and rates). */
export const runDefaultsSchema = z
  .object({
    attempts: positiveIntSchema.max(100).optional(),
    backoff: z.string().optional(),
    callTimeout: z.union([z.string(), z.number()]).optional(),
    maxFailedTasks: z.number().int().min(0).optional(),
    maxFailedRatio: z.number().min(0).max(1).optional(),
    maxStalls: z.number().int().min(0).max(1000).optional(),
    retention: z.union([z.string(), z.number()]).optional(),
    chunkSize: chunkSizeSchema.optional(),
    /** A cap on this run's map calls in flight, below the job-wide limit. */
    concurrency: positiveIntSchema.optional(),
    /** A cap on this run's map call starts, e.g. "50/s". */
    rate: z.string().optional(),
  })
  .strict();

export type RunDefaults = z.input<typeof runDefaultsSchema>;

/** Run options after defaults are applied and strings are parsed; stored with the run. */
export const runOptionsSchema = z.object({
  attempts: positiveIntSchema.max(100),
  backoff: z.object({ type: z.enum(['exponential', 'fixed']), delayMs: z.number().int().min(0) }),
  callTimeoutMs: z.number().int().min(1),
  maxFailedTasks: z.number().int().min(0),
  maxFailedRatio: z.number().min(0).max(1).optional(),
  maxStalls: z.number().int().min(0),
  retentionMs: z.number().int().min(1000),
  chunkSize: chunkSizeSchema,
  partitions: positiveIntSchema.max(4096),
  concurrency: positiveIntSchema.optional(),
  rate: z.object({ count: z.number().positive(), periodMs: z.number().int().positive() }).optional(),
});

export type RunOptions = z.output<typeof runOptionsSchema>;

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
  const merged = { ...RUN_OPTION_DEFAULTS, ...dropUndefined(jobDefaults), ...dropUndefined(pickRunOptions(given)) };
  // Each value is checked on its own, so an error names that option and the value given.
  const option = <T extends z.ZodType>(name: keyof typeof merged, schema: T): z.output<T> => parseOption(name, schema, merged[name]);
  const maxFailedRatio = option('maxFailedRatio', shape.maxFailedRatio);
  const concurrency = option('concurrency', shape.concurrency);
  const rate = option('rate', shape.rate);
  return {
    attempts: option('attempts', shape.attempts.unwrap()),
    backoff: option('backoff', backoffSchema),
    callTimeoutMs: option('callTimeout', durationSchema.pipe(z.number().min(1, 'expected more than 0ms'))),
    maxFailedTasks: option('maxFailedTasks', shape.maxFailedTasks.unwrap()),
    maxFailedRatio,
    maxStalls: option('maxStalls', shape.maxStalls.unwrap()),
    retentionMs: option('retention', durationSchema.pipe(z.number().min(1000, 'expected at least 1s'))),
    chunkSize: option('chunkSize', chunkSizeSchema),
    partitions: parseOption('partitions', positiveIntSchema.max(4096), given.partitions ?? jobPartitions),
    concurrency,
    rate: rate === undefined ? undefined : parseOption('rate', rateSchema, rate),
  };
}

/** Only the run options out of a caller's options object, which may hold other settings. */
function pickRunOptions(given: RunDefaults & { partitions?: number }): RunDefaults & { partitions?: number } {
  const names = [...Object.keys(runDefaultsSchema.shape), 'partitions'];
  return Object.fromEntries(Object.entries(given).filter(([name]) => names.includes(name)));
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
