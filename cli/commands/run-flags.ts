/**
 * Flags shared by `run` and `submit` (what a run is made of and how it is retried), and
 * by `run` and `worker` (how workers behave). Each value is checked here so the error
 * names the flag as the user typed it.
 */
import { formatDuration } from '../../shared/data/durations.js';
import type { z } from 'zod';
import { durationSchema } from '../../shared/data/validation.js';
import { formatByteSize } from '../../shared/data/byte-sizes.js';
import {
  chunkCountSchema,
  MIN_SPLIT_BYTES,
  RUN_OPTION_DEFAULTS,
  RUN_OPTION_FIELDS,
  SUBMIT_OPTION_FIELDS,
} from '../../shared/run/run-options.js';
import type { SubmitOptions } from '../../producer/enqueue-run.js';
import { choiceFlag, optionFlag, stringFlag, type OptionSpec, type ParsedArgs } from '../args.js';
import { UsageError } from '../../shared/errors.js';
import {
  DEFAULT_SINK_TABLE,
  refusePasswordInSinkUrl,
  SINK_MODES,
  SINK_PASSWORD_VARIABLES,
  sinkModeSchema,
  sinkTableSchema,
  sinkUrlSchema,
  type SinkInput,
} from '../../shared/run/sink-options.js';
import { cliInputSource, INPUT_FORMATS } from '../cli-inputs.js';
import { isGlobPattern } from '../input-globs.js';
import type { InputSource } from '../../producer/input-chunks.js';
import type { RedisSettings } from '../../shared/redis/redis-connection.js';
import { workerProcessConfigSchema, type WorkerProcessConfig } from '../worker-config.js';
import { graceSchema, WORKER_OPTION_DEFAULTS, workerOptionsSchema } from '../../runtime/worker-options.js';
import { childEnvironment } from '../../shared/config.js';
import { ISOLATION_MODES } from '../../worker/isolation/isolation.js';

const RUN = RUN_OPTION_DEFAULTS;
const WORKER = WORKER_OPTION_DEFAULTS;
const HIGH_WATER_MARK = SUBMIT_OPTION_FIELDS.highWaterMark.parse(undefined);

export const INPUT_OPTIONS: Record<string, OptionSpec> = {
  'input-file': {
    type: 'string',
    multiple: true,
    value: 'FILE',
    description: 'read inputs from FILE, one per line (streamed); repeatable; a glob pattern reads every file it matches',
  },
  'input-format': {
    type: 'string',
    value: 'FORMAT',
    description: 'lines (each line a string, the default), jsonl (each line a JSON value) or csv (a header, then an object per row)',
  },
  'no-glob': {
    type: 'boolean',
    description: 'take arguments and --input-file names as written; by default redmap expands * ? [ patterns, sorted',
  },
  split: {
    type: 'string',
    value: 'SIZE',
    description: `map each input file as byte ranges of SIZE (64MiB, 512KiB, 1GiB or bytes; at least ${formatByteSize(MIN_SPLIT_BYTES)}); a range owns the lines that start in it; .gz files are read whole`,
  },
};

export const RUN_OPTIONS: Record<string, OptionSpec> = {
  'run-id': {
    type: 'string',
    value: 'ID',
    description: 'name the run ([A-Za-z0-9_-]{1,64}); submitting it again after a crash resumes it',
  },
  'chunk-size': {
    type: 'string',
    value: 'N',
    description: 'input items per map task (default: auto, about 256 tasks; 1000 items per task for long inputs)',
  },
  partitions: { type: 'string', value: 'P', description: "reduce partitions (default: the job's, else 8)" },
  attempts: { type: 'string', value: 'N', description: `attempts per task before it fails for good (default ${RUN.attempts})` },
  backoff: {
    type: 'string',
    value: 'SPEC',
    description: `delay between attempts: ${RUN.backoff} (the default) or fixed:500ms, with jitter`,
  },
  'call-timeout': {
    type: 'string',
    value: 'DURATION',
    description: `limit per map call, from when it holds its slot (default ${RUN.callTimeout})`,
  },
  'max-failed-tasks': {
    type: 'string',
    value: 'N',
    description: `tasks that may fail for good before the run fails (default ${RUN.maxFailedTasks})`,
  },
  'max-failed-ratio': { type: 'string', value: 'R', description: 'or a share of all tasks that may fail, e.g. 0.01' },
  'max-stalls': {
    type: 'string',
    value: 'N',
    description: `times a task may lose its worker (crash, kill, freeze) before it fails (default ${RUN.maxStalls})`,
  },
  'global-concurrency': {
    type: 'string',
    value: 'G',
    description: "at most G of this run's map calls in flight across every machine (below the job's own limits)",
  },
  rate: { type: 'string', value: 'RATE', description: "at most this many of this run's map calls started, evenly, e.g. 200/s or 50/m" },
  retention: { type: 'string', value: 'DURATION', description: `how long an ended run is kept (default ${RUN.retention})` },
  'min-replicas': {
    type: 'string',
    value: 'N',
    description: `replicas that must confirm each commit, seal and flip before it counts, so a failover loses none (default ${RUN.minReplicas}; not on a Cluster)`,
  },
  'high-water-mark': {
    type: 'string',
    value: 'N',
    description: `waiting tasks above which submitting holds back (default ${HIGH_WATER_MARK})`,
  },
  sink: {
    type: 'string',
    value: 'URL',
    description: `also write the results to PostgreSQL, postgres://USER@HOST:5432/DB, without the password (workers read ${SINK_PASSWORD_VARIABLES})`,
  },
  'sink-table': {
    type: 'string',
    value: 'NAME',
    description: `the --sink table, [schema.]table, created with its marker tables when missing (default ${DEFAULT_SINK_TABLE})`,
  },
  'sink-mode': {
    type: 'string',
    value: 'MODE',
    description: `${SINK_MODES.join(' or ')}: rows tagged with the run id (the default), or one row per key upserted across runs`,
  },
};

export const WORKER_OPTIONS: Record<string, OptionSpec> = {
  isolation: {
    type: 'string',
    value: 'MODE',
    description: `where map calls run: none (in the worker${WORKER.isolation === 'none' ? ', the default' : ''}), thread or process; only isolated calls can be stopped at their timeout`,
  },
  concurrency: {
    type: 'string',
    value: 'C',
    description: `tasks each worker process maps at once (default ${WORKER.concurrency}); it holds twice as many more, reading and committing`,
  },
  'lock-duration': {
    type: 'string',
    value: 'DURATION',
    description: `how long a task stays locked to a worker between renewals (default ${formatDuration(WORKER.lockDuration)})`,
  },
  'stalled-interval': {
    type: 'string',
    value: 'DURATION',
    description: `how often workers look for tasks whose worker died (default ${formatDuration(WORKER.stalledInterval)})`,
  },
  'heartbeat-timeout': {
    type: 'string',
    value: 'DURATION',
    description: 'kill a worker process silent for this long (default: the lock duration; at least 2s)',
  },
  grace: {
    type: 'string',
    value: 'DURATION',
    description: `on shutdown, how long running tasks may take to finish (default ${formatDuration(WORKER.grace)})`,
  },
};

/** Worker processes beat every second: a timeout shorter than two beats would kill healthy ones. */
const MIN_HEARTBEAT_TIMEOUT_MS = 2000;

/** --heartbeat-timeout, by default the lock duration; never under two heartbeats. */
export function heartbeatTimeoutFlag(args: ParsedArgs, lockDurationMs: number): number {
  return durationFlag(args, 'heartbeat-timeout', MIN_HEARTBEAT_TIMEOUT_MS) ?? Math.max(lockDurationMs, MIN_HEARTBEAT_TIMEOUT_MS);
}

export function durationFlag(args: ParsedArgs, name: string, minMs = 0): number | undefined {
  return optionFlag(args, name, 'text', durationSchema(minMs));
}

/** A flag checked by `schema` but passed on as the text given: run options take backoffs and rates as text. */
function checkedTextFlag(args: ParsedArgs, name: string, schema: z.ZodType): string | undefined {
  return optionFlag(args, name, 'text', schema) === undefined ? undefined : stringFlag(args, name);
}

/** The run flags, each checked by its option's own schema (shared/run/run-options.ts). */
export function submitOptionsFromFlags(args: ParsedArgs): SubmitOptions {
  const run = RUN_OPTION_FIELDS;
  const submit = SUBMIT_OPTION_FIELDS;
  const runId = optionFlag(args, 'run-id', 'text', submit.runId);
  const backoff = checkedTextFlag(args, 'backoff', run.backoff);
  return {
    runId,
    chunkSize: optionFlag(args, 'chunk-size', 'int', chunkCountSchema),
    partitions: optionFlag(args, 'partitions', 'int', submit.partitions),
    attempts: optionFlag(args, 'attempts', 'int', run.attempts),
    backoff,
    callTimeout: optionFlag(args, 'call-timeout', 'text', run.callTimeout),
    maxFailedTasks: optionFlag(args, 'max-failed-tasks', 'int', run.maxFailedTasks),
    maxFailedRatio: optionFlag(args, 'max-failed-ratio', 'number', run.maxFailedRatio),
    maxStalls: optionFlag(args, 'max-stalls', 'int', run.maxStalls),
    retention: optionFlag(args, 'retention', 'text', run.retention),
    highWaterMark: optionFlag(args, 'high-water-mark', 'int', submit.highWaterMark),
    split: optionFlag(args, 'split', 'text', submit.split),
    concurrency: optionFlag(args, 'global-concurrency', 'int', run.concurrency),
    rate: checkedTextFlag(args, 'rate', run.rate),
    minReplicas: optionFlag(args, 'min-replicas', 'int', run.minReplicas),
    sink: sinkFromFlags(args),
  };
}

/** --sink, --sink-table and --sink-mode as one sink; the URL is refused with a password before it is shown. */
export function sinkFromFlags(args: ParsedArgs): SinkInput | undefined {
  const url = stringFlag(args, 'sink');
  if (url === undefined) {
    const orphan = ['sink-table', 'sink-mode'].find((name) => stringFlag(args, name) !== undefined);
    if (orphan) throw new UsageError(`--${orphan} needs --sink URL, the PostgreSQL to write the results to`);
    return undefined;
  }
  refusePasswordInSinkUrl('--sink', url);
  const table = optionFlag(args, 'sink-table', 'text', sinkTableSchema);
  const mode = optionFlag(args, 'sink-mode', 'text', sinkModeSchema);
  return {
    url: optionFlag(args, 'sink', 'text', sinkUrlSchema)!,
    ...(table !== undefined && { table }),
    ...(mode !== undefined && { mode }),
  };
}

export function inputSourceFromFlags(args: ParsedArgs, inputs: string[]): InputSource {
  const files = args.values['input-file'];
  return cliInputSource({
    arguments: inputs,
    files: Array.isArray(files) ? files : [],
    format: choiceFlag(args, 'input-format', INPUT_FORMATS) ?? 'lines',
    glob: !args.values['no-glob'],
  });
}

/**
 * How many inputs the run has, when all are given as arguments (not from a file or standard
 * input) and not split (one file may then make many).
 */
export function argumentInputCount(args: ParsedArgs, inputs: string[]): number | undefined {
  const files = args.values['input-file'];
  if (inputs.includes('-') || (Array.isArray(files) && files.length > 0) || stringFlag(args, 'split') !== undefined) return undefined;
  // A pattern usually stands for many files: counted as unknown rather than globbed twice.
  if (!args.values['no-glob'] && inputs.some(isGlobPattern)) return undefined;
  return inputs.length;
}

/**
 * The settings a forked worker process runs with, from the worker flags: each flag is checked
 * by its option's field of the worker options schema, which also fills in the defaults.
 */
export function workerConfigFromFlags(
  args: ParsedArgs,
  ctx: { prefix: string; logLevel: string; logFormat: 'pretty' | 'json' },
  jobPath: string,
): WorkerProcessConfig {
  const worker = workerOptionsSchema.shape;
  return workerProcessConfigSchema.parse({
    jobPath,
    prefix: ctx.prefix,
    lockDuration: optionFlag(args, 'lock-duration', 'text', worker.lockDuration),
    concurrency: optionFlag(args, 'concurrency', 'int', worker.concurrency),
    stalledInterval: optionFlag(args, 'stalled-interval', 'text', worker.stalledInterval),
    grace: optionFlag(args, 'grace', 'text', graceSchema),
    isolation: choiceFlag(args, 'isolation', ISOLATION_MODES),
    logLevel: ctx.logLevel,
    logFormat: ctx.logFormat,
  });
}

/** Environment for worker processes: where Redis is, with its secrets, never on their command line. */
export function workerEnvironment(redis: { url: string; settings: RedisSettings }): NodeJS.ProcessEnv {
  const env = childEnvironment({ REDIS_URL: redis.url });
  if (redis.settings.password !== undefined) env.REDIS_PASSWORD = redis.settings.password;
  if (redis.settings.username !== undefined) env.REDIS_USERNAME = redis.settings.username;
  if (redis.settings.caFile !== undefined) env.REDIS_CA_FILE = redis.settings.caFile;
  if (redis.settings.sentinelPassword !== undefined) env.REDIS_SENTINEL_PASSWORD = redis.settings.sentinelPassword;
  delete env.REDIS_PASSWORD_FILE;
  delete env.REDIS_SENTINEL_PASSWORD_FILE;
  return env;
}

/** Says once on stderr that compressed inputs are read whole, however many there are. */
export function wholeFileNotice(say: (message: string) => void): (path: string) => void {
  let said = false;
  return (path) => {
    if (said) return;
    said = true;
    say(`${path} is compressed (.gz): --split reads each compressed input whole, in one task`);
  };
}
