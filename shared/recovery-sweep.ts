/**
 * The recovery sweep. Nothing polls to decide when to reduce: the script that settles the
 * last map task flips the run. The sweep only repairs what a crash or a Redis rollback
 * interrupted, and it runs in one worker per queue at a time, whichever holds a short lease:
 *
 * - a run in `reducing` whose reduce tasks were never enqueued (the flipping worker died);
 * - a sealed run whose tasks are all settled but which never flipped (a rollback);
 * - a run that made no progress for a long time: its pending tasks are added again
 *   (ids still queued are no-ops; a task that runs twice commits once);
 * - an ended run whose retention clock never started, and runs whose state vanished.
 *
 * Every repair is idempotent, so two sweeps overlapping after a lease expiry do no harm.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.js';
import { loadLuaScript, replyStrings, runScript } from './lua-scripts.js';
import type { RedisClient } from './redis-connection.js';
import { activeRunsKey, runKeys, sweepLeaseKey } from './redis-keys.js';
import { enqueueReduceTasks } from './reduce-trigger.js';
import { enqueuePendingTasks } from './run-control.js';
import { readRunRecord, type RunRecord } from './run-record.js';
import { needsRetiring, retireRun } from './run-retention.js';
import { TERMINAL_STATES } from './run-state.js';
import type { TaskQueues } from './task-queue.js';

const checkMapPhaseScript = loadLuaScript(new URL('./check-map-phase.lua', import.meta.url));

export interface SweepTimings {
  /** How often the lease holder sweeps. */
  intervalMs: number;
  /** How long after a flip the reduce tasks may still be on their way. */
  reduceGraceMs: number;
  /** How long without a commit before a run's pending tasks are added again. */
  stallMs: number;
}

export const DEFAULT_SWEEP_TIMINGS: SweepTimings = { intervalMs: 5000, reduceGraceMs: 10_000, stallMs: 120_000 };

export interface SweepDeps {
  client: RedisClient;
  queues: TaskQueues;
  prefix: string;
  queue: string;
  log: Logger;
}

export class RecoverySweep {
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** When each run's pending tasks were last re-added, so a slow run is not re-added every tick. */
  private readonly requeuedAt = new Map<string, number>();

  constructor(
    private readonly deps: SweepDeps,
    private readonly timings: SweepTimings = DEFAULT_SWEEP_TIMINGS,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((error: unknown) => this.deps.log.warn({ err: error }, 'recovery sweep failed; will try again'))
        .finally(() => (this.running = undefined));
    }, this.timings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.deps.client.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      sweepLeaseKey(this.deps.prefix, this.deps.queue),
      this.token,
    );
  }

  /** One pass over the queue's active runs, if this worker holds the lease. */
  async tick(): Promise<void> {
    if (!(await this.holdLease())) return;
    const { client, prefix, queue } = this.deps;
    const now = await serverTime(client);
    for (const runId of await client.smembers(activeRunsKey(prefix, queue))) {
      await this.repair(runId, now);
    }
  }

  private async holdLease(): Promise<boolean> {
    const key = sweepLeaseKey(this.deps.prefix, this.deps.queue);
    const leaseMs = this.timings.intervalMs * 3;
    const taken = await this.deps.client.set(key, this.token, 'PX', leaseMs, 'NX');
    if (taken === 'OK') return true;
    if ((await this.deps.client.get(key)) !== this.token) return false;
    await this.deps.client.pexpire(key, leaseMs);
    return true;
  }

  private async repair(runId: string, now: number): Promise<void> {
    const { client, prefix, queue, queues, log } = this.deps;
    const run = await readRunRecord(client, prefix, runId);
    if (!run) {
      log.warn({ runId }, 'run state vanished (cleaned, expired, or Redis lost it); dropping it from the sweep');
      await client.srem(activeRunsKey(prefix, queue), runId);
      return;
    }
    if (TERMINAL_STATES.has(run.state)) {
      if (await needsRetiring(client, prefix, run)) await retireRun(client, prefix, run);
      else await client.srem(activeRunsKey(prefix, queue), runId);
      return;
    }
    if (run.state === 'reducing') {
      const enqueueLost = run.reduceEnqueued !== run.generation && now - (run.reducingAt ?? 0) > this.timings.reduceGraceMs;
      if (enqueueLost || this.isStalled(run, now)) {
        log.warn({ runId, generation: run.generation }, 'recovery: enqueueing reduce tasks that are missing');
        await enqueueReduceTasks(client, queues, prefix, run, run.generation);
        this.requeuedAt.set(runId, now);
      }
      return;
    }
    if (run.state !== 'mapping') return;
    const keys = runKeys(prefix, runId);
    const [outcome, generation] = replyStrings(await runScript(client, checkMapPhaseScript, [keys.meta, keys.committed, keys.failed], []));
    if (outcome === 'flipped') {
      log.warn({ runId }, 'recovery: every map task was settled but the run had not moved on; reducing now');
      await enqueueReduceTasks(client, queues, prefix, run, Number(generation));
      return;
    }
    if (this.isStalled(run, now)) {
      const added = await enqueuePendingTasks(client, queues, prefix, run, run.generation);
      log.warn({ runId, tasks: added }, 'recovery: no progress for a while; added pending map tasks again');
      this.requeuedAt.set(runId, now);
    }
  }

  private isStalled(run: RunRecord, now: number): boolean {
    const lastActivity = Math.max(run.progressAt ?? 0, run.sealedAt ?? 0, run.reducingAt ?? 0, this.requeuedAt.get(run.id) ?? 0);
    return now - lastActivity > this.timings.stallMs;
  }
}

async function serverTime(client: RedisClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
