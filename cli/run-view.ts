/**
 * Everything `status --watch` and the dashboard show of one run, read with a fixed number of
 * Redis round trips whatever the run's size: the O(1) snapshot (record and task counts), the
 * limits in force, and the worker processes of its job seen in the last 10 s. How fast it
 * goes is worked out from samples the caller keeps (run-pace.ts).
 */
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { readRunSnapshot, type RunSnapshot } from '../shared/run/run-record.js';
import { TERMINAL_STATES } from '../shared/run/run-state.js';
import { toRunStatus, type RunStatus } from '../shared/run/run-status.js';
import { readRunLimits, type RunLimits } from '../shared/run/throttle.js';
import { listWorkers, type SeenWorker } from '../shared/workers/worker-registry.js';
import { averageRate, etaMs, type RateMeter } from './run-pace.js';

export interface RunPace {
  /** Items per second over the last few seconds; null until two samples are known. */
  itemsPerSecondNow: number | null;
  itemsPerSecondAverage: number;
  /** At the current pace, while mapping; null when unknown. */
  etaMs: number | null;
  elapsedMs: number;
}

export interface RunView extends RunStatus {
  pace: RunPace;
  limits: RunLimits;
  /** Worker processes of this run's job seen in the last 10 s; `servesRun` when they run its version. */
  workers: Array<SeenWorker & { servesRun: boolean }>;
}

export async function readRunView(client: RedisClient, prefix: string, runId: string, meter: RateMeter): Promise<RunView | undefined> {
  const snapshot = await readRunSnapshot(client, prefix, runId);
  if (!snapshot) return undefined;
  const [limits, workers] = await Promise.all([readRunLimits(client, prefix, runId, snapshot.job), listWorkers(client, prefix)]);
  return {
    ...toRunStatus(snapshot),
    pace: measurePace(snapshot, meter, Date.now()),
    limits,
    workers: workers
      .filter((worker) => worker.job === snapshot.job)
      .map((worker) => ({ ...worker, servesRun: worker.version === snapshot.fingerprint })),
  };
}

export function measurePace(snapshot: RunSnapshot, meter: RateMeter, now: number): RunPace {
  const ended = TERMINAL_STATES.has(snapshot.state);
  const until = ended ? (snapshot.finishedAt ?? now) : now;
  if (!ended) meter.add(now, snapshot.itemsDone);
  const perSecond = ended ? 0 : meter.perSecond();
  const remaining = snapshot.items === undefined ? undefined : snapshot.items - snapshot.itemsDone;
  const mapping = snapshot.state === 'submitting' || snapshot.state === 'mapping';
  return {
    itemsPerSecondNow: !ended && meter.hasSpan() ? perSecond : null,
    itemsPerSecondAverage: averageRate(snapshot.itemsDone, snapshot.createdAt, until),
    etaMs: mapping ? (etaMs(remaining, perSecond) ?? null) : null,
    elapsedMs: Math.max(0, until - snapshot.createdAt),
  };
}
