/**
 * The worker's options, each with its bounds and its default, written once: `startWorker`
 * parses them, the worker process config is this schema extended, and the CLI flags
 * (`--concurrency`, `--lock-duration`, ...) are checked by these same fields.
 */
import { z } from 'zod';
import { durationSchema, wholeNumberSchema } from '../shared/data/validation.js';
import { DEFAULT_KEY_PREFIX } from '../shared/redis/redis-keys.js';
import { ISOLATION_MODES } from '../worker/isolation/isolation.js';

export const workerOptionsSchema = z.object({
  /** Key prefix shared by producers and workers. Default "redmap". */
  prefix: z.string().min(1).default(DEFAULT_KEY_PREFIX),
  /** Tasks this process maps at once. Default 2. */
  concurrency: wholeNumberSchema({ min: 1, max: 1000 }).default(2),
  /** How long a task stays locked to this worker without renewal (e.g. "30s"). Default 30s. */
  lockDuration: durationSchema(1000).default(30_000),
  /** How often workers look for tasks whose worker died (e.g. "30s"). Default 30s. */
  stalledInterval: durationSchema(100).default(30_000),
  /**
   * Where map calls run: `none` (this thread, the default), `thread` or `process`. Only an
   * isolated call can be stopped when it never yields: hard call timeouts need isolation.
   */
  isolation: z.enum(ISOLATION_MODES).default('none'),
});

export type WorkerOptions = z.input<typeof workerOptionsSchema>;

/** How long a draining worker lets running tasks finish (`close({ graceMs })`, `--grace`). Default 30s. */
export const graceSchema = durationSchema(0).default(30_000);

/** Every worker option's default, read off the schema. */
export const WORKER_OPTION_DEFAULTS = { ...workerOptionsSchema.parse({}), grace: graceSchema.parse(undefined) };
