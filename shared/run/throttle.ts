/**
 * Reading and changing limits while runs go on (`redmap throttle`, `status`, the
 * dashboard). A change reaches every worker through the control channel and is read by
 * the limiter at the next map call.
 */
import { RunError } from '../errors.js';
import type { Rate } from '../data/durations.js';
import { loadLuaScript, replyStrings, runScript } from '../redis/lua-scripts.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { jobLimiterKeys, runKeys, type LimiterKeys } from '../redis/redis-keys.js';
import { publishControl, unknownRun } from './run-control.js';

const setRunLimitsScript = loadLuaScript(new URL('./set-run-limits.lua', import.meta.url));

export interface LimitChange {
  /** A new cap on map calls in flight; null removes it. */
  concurrency?: number | null;
  /** A new rate of map call starts; null removes it. */
  rate?: Rate | null;
}

export async function throttleRun(client: RedisClient, prefix: string, runId: string, change: LimitChange): Promise<void> {
  const rate = change.rate === undefined ? ['', ''] : change.rate === null ? ['-', '-'] : [change.rate.count, change.rate.periodMs];
  const concurrency = change.concurrency === undefined ? '' : change.concurrency === null ? '-' : change.concurrency;
  const [outcome, state] = replyStrings(await runScript(client, setRunLimitsScript, [runKeys(prefix, runId).meta], [concurrency, ...rate]));
  if (outcome === 'lost') throw unknownRun(runId);
  if (outcome === 'ended') throw new RunError('RUN_STATE', runId, `run ${runId} has ended (${state}); its limits no longer matter`);
  await publishControl(client, prefix, { type: 'limits', run: runId });
}

export async function throttleJob(client: RedisClient, prefix: string, jobName: string, change: LimitChange): Promise<void> {
  const keys = jobLimiterKeys(prefix, jobName);
  const pipeline = client.multi();
  if (change.concurrency === null) pipeline.hdel(keys.limits, 'concurrency');
  else if (change.concurrency !== undefined) pipeline.hset(keys.limits, 'concurrency', change.concurrency);
  if (change.rate === null) pipeline.hdel(keys.limits, 'rateCount', 'ratePeriodMs');
  else if (change.rate !== undefined) pipeline.hset(keys.limits, 'rateCount', change.rate.count, 'ratePeriodMs', change.rate.periodMs);
  await pipeline.exec();
  await publishControl(client, prefix, { type: 'limits', job: jobName });
}

export interface ScopeLimits {
  concurrency: number | null;
  rate: Rate | null;
  /** Map calls holding a slot now (only counted while a concurrency limit applies). */
  inFlight: number;
  /** Map calls started per second over the last 10 s (only counted while a limit applies). */
  startsPerSecond: number;
}

export interface RunLimits {
  job: ScopeLimits;
  run: ScopeLimits;
}

/** The limits that apply to a run, with its calls in flight and its start rate: a few O(1) reads. */
export async function readRunLimits(client: RedisClient, prefix: string, runId: string, jobName: string): Promise<RunLimits> {
  const [seconds] = await client.time();
  const now = Number(seconds);
  const [job, run] = await Promise.all([
    readScope(client, jobLimiterKeys(prefix, jobName), now),
    readScope(client, runKeys(prefix, runId).limiter, now),
  ]);
  return { job, run };
}

const WINDOW_SECONDS = 10;

async function readScope(client: RedisClient, keys: LimiterKeys, nowSeconds: number): Promise<ScopeLimits> {
  const recent = Array.from({ length: WINDOW_SECONDS }, (_, i) => String(nowSeconds - 1 - i));
  // A pipeline, not MULTI: these reads must also work while Redis is full.
  const replies = await client
    .pipeline()
    .hmget(keys.limits, 'concurrency', 'rateCount', 'ratePeriodMs', 'declaredConcurrency', 'declaredRateCount', 'declaredRatePeriodMs')
    .zcount(keys.slots, nowSeconds * 1000, '+inf')
    .hmget(keys.starts, ...recent)
    .exec();
  const [limits, inFlight, starts] = (replies ?? []).map(([, value]) => value) as [Array<string | null>, number, Array<string | null>];
  const number = (value: string | null | undefined): number | undefined =>
    value === null || value === undefined || value === '' ? undefined : Number(value);
  const concurrency = number(limits[0]) ?? number(limits[3]);
  const count = number(limits[1]) ?? number(limits[4]);
  const period = number(limits[1]) !== undefined ? number(limits[2]) : number(limits[5]);
  return {
    concurrency: concurrency ?? null,
    rate: count !== undefined && period !== undefined ? { count, periodMs: period } : null,
    inFlight,
    startsPerSecond: starts.reduce((sum, value) => sum + Number(value ?? 0), 0) / WINDOW_SECONDS,
  };
}
