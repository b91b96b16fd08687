/**
 * Flags shared by `run` and `submit` (what a run is made of and how it is retried), and
 * by `run` and `worker` (how workers behave). Each value is checked here so the error
 * names the flag as the user typed it.
 */
import { formatDuration, parseDuration, parseRate, DURATION_HINT, RATE_HINT } from '../../shared/data/durations.js';
import { UsageError } from '../../shared/errors.js';
import { runIdSchema } from '../../shared/run/run-options.js';
import type { SubmitOptions } from '../../producer/submit-run.js';
import { choiceFlag, intFlag, numberFlag, stringFlag, type OptionSpec, type ParsedArgs } from '../args.js';
import { cliInputSource, type InputFormat } from '../cli-inputs.js';
import type { InputSource } from '../../producer/input-chunks.js';
import type { RedisSettings } from '../../shared/redis/redis-connection.js';
import type { WorkerProcessConfig } from '../worker-config.js';
import { ISOLATION_MODES } from '../../worker/isolation/isolation.js';

export const INPUT_OPTIONS: Record<string, OptionSpec> = {
  'input-file': {
    type: 'string',
    multiple: true,
    value: 'FILE',
    description: 'read inputs from FILE, one per line (streamed); repeatable',
  },
  'input-format': {
    type: 'string',
    value: 'FORMAT',
    description: 'lines (each line a string, the default) or jsonl (each line a JSON value)',
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
  attempts: { type: 'string', value: 'N', description: 'attempts per task before it fails for good (default 3)' },
  backoff: {
    type: 'string',
    value: 'SPEC',
    description: 'delay between attempts: exponential:1s (the default) or fixed:500ms, with jitter',
  },
  'call-timeout': { type: 'string', value: 'DURATION', description: 'limit per map call, from when it holds its slot (default 10m)' },
  'max-failed-tasks': { type: 'string', value: 'N', description: 'tasks that may fail for good before the run fails (default 0)' },
  'max-failed-ratio': { type: 'string', value: 'R', description: 'or a share of all tasks that may fail, e.g. 0.01' },
  'max-stalls': {
    type: 'string',
    value: 'N',
    description: 'times a task may lose its worker (crash, kill, freeze) before it fails (default 3)',
  },
  'global-concurrency': {
    type: 'string',
    value: 'G',
    description: "at most G of this run's map calls in flight across every machine (below the job's own limits)",
  },
  rate: { type: 'string', value: 'RATE', description: "at most this many of this run's map calls started, evenly, e.g. 200/s or 50/m" },
  retention: { type: 'string', value: 'DURATION', description: 'how long an ended run is kept (default 7d)' },
  'high-water-mark': { type: 'string', value: 'N', description: 'waiting tasks above which submitting holds back (default 5000)' },
};

export const WORKER_OPTIONS: Record<string, OptionSpec> = {
  isolation: {
    type: 'string',
    value: 'MODE',
    description:
      'where map calls run: none (in the worker, the default), thread or process; only isolated calls can be stopped at their timeout',
  },
  concurrency: {
    type: 'string',
    value: 'C',
    description: 'tasks each worker process maps at once (default 2); it holds twice as many more, reading and committing',
  },
  'lock-duration': {
    type: 'string',
    value: 'DURATION',
    description: 'how long a task stays locked to a worker between renewals (default 30s)',
  },
  'stalled-interval': {
    type: 'string',
    value: 'DURATION',
    description: 'how often workers look for tasks whose worker died (default 30s)',
  },
  'heartbeat-timeout': {
    type: 'string',
    value: 'DURATION',
    description: 'kill a worker process silent for this long (default: the lock duration; at least 2s)',
  },
  grace: { type: 'string', value: 'DURATION', description: 'on shutdown, how long running tasks may take to finish (default 30s)' },
};

/** Worker processes beat every second: a timeout shorter than two beats would kill healthy ones. */
const MIN_HEARTBEAT_TIMEOUT_MS = 2000;

/** --heartbeat-timeout, by default the lock duration; never under two heartbeats. */
export function heartbeatTimeoutFlag(args: ParsedArgs, lockDurationMs: number): number {
  return durationFlag(args, 'heartbeat-timeout', MIN_HEARTBEAT_TIMEOUT_MS) ?? Math.max(lockDurationMs, MIN_HEARTBEAT_TIMEOUT_MS);
}

export function durationFlag(args: ParsedArgs, name: string, minMs = 0): number | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms < minMs) {
    const floor = minMs > 1 ? `, at least ${formatDuration(minMs)}` : '';
    throw new UsageError(`--${name}: expected ${DURATION_HINT}${floor}, got ${JSON.stringify(text)}`);
  }
  return ms;
}

export function rateFlag(args: ParsedArgs, name: string): string | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const rate = parseRate(text);
  if (!rate || rate.count <= 0) throw new UsageError(`--${name}: expected ${RATE_HINT}, above zero, got ${JSON.stringify(text)}`);
  return text;
}

export function submitOptionsFromFlags(args: ParsedArgs): SubmitOptions {
  const runId = stringFlag(args, 'run-id');
  if (runId !== undefined && !runIdSchema.safeParse(runId).success) {
    throw new UsageError(`--run-id: expected 1-64 letters, digits, "_" or "-", got ${JSON.stringify(runId)}`);
  }
  const backoff = stringFlag(args, 'backoff');
  if (backoff !== undefined && !/^(exponential|fixed):/.test(backoff)) {
    throw new UsageError(`--backoff: expected exponential:DURATION or fixed:DURATION, got ${JSON.stringify(backoff)}`);
  }
  if (backoff !== undefined && parseDuration(backoff.slice(backoff.indexOf(':') + 1)) === undefined) {
    throw new UsageError(`--backoff: the delay must be ${DURATION_HINT}, got ${JSON.stringify(backoff)}`);
  }
  return {
    runId,
    chunkSize: intFlag(args, 'chunk-size', { min: 1, max: 1_000_000 }),
    partitions: intFlag(args, 'partitions', { min: 1, max: 4096 }),
    attempts: intFlag(args, 'attempts', { min: 1, max: 100 }),
    backoff,
    callTimeout: durationFlag(args, 'call-timeout', 1),
    maxFailedTasks: intFlag(args, 'max-failed-tasks', { min: 0 }),
    maxFailedRatio: numberFlag(args, 'max-failed-ratio', { min: 0, max: 1 }),
    maxStalls: intFlag(args, 'max-stalls', { min: 0, max: 1000 }),
    retention: durationFlag(args, 'retention', 1000),
    highWaterMark: intFlag(args, 'high-water-mark', { min: 1 }),
    concurrency: intFlag(args, 'global-concurrency', { min: 1, max: 100_000 }),
    rate: rateFlag(args, 'rate'),
  };
}

export function inputSourceFromFlags(args: ParsedArgs, inputs: string[]): InputSource {
  const files = args.values['input-file'];
  return cliInputSource({
    arguments: inputs,
    files: Array.isArray(files) ? files : [],
    format: choiceFlag<InputFormat>(args, 'input-format', ['lines', 'jsonl']) ?? 'lines',
  });
}

/** How many inputs the run has, when all are given as arguments (not from a file or standard input). */
export function argumentInputCount(args: ParsedArgs, inputs: string[]): number | undefined {
  const files = args.values['input-file'];
  if (inputs.includes('-') || (Array.isArray(files) && files.length > 0)) return undefined;
  return inputs.length;
}

/** The settings a forked worker process runs with, from the worker flags. */
export function workerConfigFromFlags(
  args: ParsedArgs,
  ctx: { prefix: string; logLevel: string; logFormat: 'pretty' | 'json' },
  jobPath: string,
): WorkerProcessConfig {
  const lockDurationMs = durationFlag(args, 'lock-duration', 1000) ?? 30_000;
  return {
    jobPath,
    prefix: ctx.prefix,
    concurrency: intFlag(args, 'concurrency', { min: 1, max: 1000 }) ?? 2,
    lockDurationMs,
    stalledIntervalMs: durationFlag(args, 'stalled-interval', 100) ?? 30_000,
    graceMs: durationFlag(args, 'grace') ?? 30_000,
    isolation: choiceFlag(args, 'isolation', ISOLATION_MODES) ?? 'none',
    logLevel: ctx.logLevel,
    logFormat: ctx.logFormat,
  };
}

/** Environment for worker processes: where Redis is, with its secrets, never on their command line. */
export function workerEnvironment(redis: { url: string; settings: RedisSettings }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url };
  if (redis.settings.password !== undefined) env.REDIS_PASSWORD = redis.settings.password;
  if (redis.settings.username !== undefined) env.REDIS_USERNAME = redis.settings.username;
  if (redis.settings.caFile !== undefined) env.REDIS_CA_FILE = redis.settings.caFile;
  if (redis.settings.sentinelPassword !== undefined) env.REDIS_SENTINEL_PASSWORD = redis.settings.sentinelPassword;
  delete env.REDIS_PASSWORD_FILE;
  delete env.REDIS_SENTINEL_PASSWORD_FILE;
  return env;
}
