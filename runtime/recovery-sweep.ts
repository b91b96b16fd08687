/**
 * The recovery sweep. Nothing polls to decide when to reduce: the script that settles the
 * last map task flips the run. The sweep only repairs what a crash or a Redis rollback
 * interrupted, and it runs in one worker per queue at a time, whichever holds a short lease:
 *
 * - a run in `reducing` whose reduce tasks were never enqueued (the flipping worker died);
 * - a sealed run whose tasks are all settled but which never flipped (a rollback);
 * - a run that made no progress for a long time: its pending tasks are added again (ids
 *   still queued are no-ops; a task that runs twice commits once), and a task BullMQ failed
 *   without redmap hearing of it (its last attempt's failure could not be recorded) is
 *   recorded as failed, since BullMQ would swallow a re-add of its id;
 * - an ended run whose retention clock never started, runs whose state vanished, and a run
 *   left in `submitting` by a producer not seen for its whole retention period;
 * - the runs index, a page a pass: entries of runs that expired or vanished.
 *
 * Every repair is idempotent, so two sweeps overlapping after a lease expiry do no harm.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import { loadLuaScript, newRequestId, replyStrings } from '../shared/redis/lua-scripts.js';
import { runStep } from '../shared/redis/confirmed-steps.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { mapTaskQueueId, reduceTaskQueueId, runKeys, runsIndexKey, sweepLeaseKey, activeRunsKey } from '../shared/redis/redis-keys.js';
import { enqueueDueReduceTasks } from '../shared/run/reduce-trigger.js';
import { failRun, pendingTasks, publishControl, retireEnded } from '../shared/run/run-control.js';
import { recordTaskFailure } from '../shared/run/run-failures.js';
import { readRunRecord, type RunRecord } from '../shared/run/run-record.js';
import { dropFromSweep, needsRetiring, retireRun } from '../shared/run/run-retention.js';
import { TERMINAL_STATES } from '../shared/run/run-state.js';
import { addMapTasks, type TaskQueues } from '../shared/tasks/task-queue.js';

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

/** Runs index entries looked at per pass. */
const INDEX_PAGE = 200;

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
  /** Where the next page of the runs index starts (a creation time); it wraps around. */
  private indexCursor = '-inf';

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
    await this.pruneRunsIndex();
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
    const { client, prefix, queue, log } = this.deps;
    const run = await readRunRecord(client, prefix, runId);
    if (!run) {
      log.warn({ runId }, 'run state vanished (cleaned, expired, or Redis lost it); dropping it from the sweep');
      await dropFromSweep(client, prefix, queue, runId);
      return;
    }
    if (TERMINAL_STATES.has(run.state)) {
      if (await needsRetiring(client, prefix, run)) await retireRun(client, prefix, run);
      else await dropFromSweep(client, prefix, queue, runId);
      return;
    }
    if (run.state === 'submitting') return this.repairSubmitting(run, now);
    if (run.state === 'reducing') return this.repairReducing(run, now);
    if (run.state === 'mapping') return this.repairMapping(run, now);
  }

  /** A run whose producer has not been seen for its whole retention period is given up, and then expires. */
  private async repairSubmitting(run: RunRecord, now: number): Promise<void> {
    const { client, prefix, log } = this.deps;
    if (now - (run.producerAt ?? run.createdAt) <= run.options.retentionMs) return;
    const message =
      'abandoned: its producer stopped before it sealed the run and was not seen again for the retention period; submit it again';
    if (await failRun(client, prefix, run, undefined, message)) {
      log.warn({ runId: run.id }, 'recovery: a run left submitting by a producer that never came back is failed, and will expire');
    }
  }

  private async repairReducing(run: RunRecord, now: number): Promise<void> {
    const { client, queues, prefix, log } = this.deps;
    const enqueueLost = run.reduceEnqueued !== run.generation && now - (run.reducingAt ?? 0) > this.timings.reduceGraceMs;
    if (!enqueueLost && !this.isStalled(run, now)) return;
    const queue = queues.get(run.queue);
    const reduced = new Set(await client.smembers(runKeys(prefix, run.id).reduced(run.generation)));
    for (let partition = 0; partition < run.options.partitions; partition++) {
      if (reduced.has(String(partition))) continue;
      const failed = await queueFailure(queue, reduceTaskQueueId(run, run.generation, partition));
      if (failed === undefined) continue;
      // BullMQ failed the reduce task for good without redmap hearing of it: the run cannot finish.
      const message = `reduce of partition ${partition} failed for good: ${failed.reason}`;
      if (await failRun(client, prefix, run, run.generation, message)) {
        log.warn({ runId: run.id, partition }, 'recovery: a reduce task had failed for good unrecorded; the run failed');
      }
      return;
    }
    log.warn({ runId: run.id, generation: run.generation }, 'recovery: enqueueing reduce tasks that are missing');
    await enqueueDueReduceTasks(client, queues, prefix, run, { again: true });
    this.requeuedAt.set(run.id, now);
  }

  private async repairMapping(run: RunRecord, now: number): Promise<void> {
    const { client, queues, prefix, log } = this.deps;
    const keys = runKeys(prefix, run.id);
    const [outcome] = replyStrings(
      await runStep(client, checkMapPhaseScript, [keys.meta, keys.committed, keys.failed, keys.replies], [newRequestId()], {
        minReplicas: run.options.minReplicas,
        runMeta: keys.meta,
      }),
    );
    if (outcome === 'flipped') {
      log.warn({ runId: run.id }, 'recovery: every map task was settled but the run had not moved on; reducing now');
      await enqueueDueReduceTasks(client, queues, prefix, run);
      return;
    }
    if (this.isStalled(run, now)) {
      const { added, recorded } = await this.requeuePendingTasks(run);
      log.warn({ runId: run.id, tasks: added, failed: recorded }, 'recovery: no progress for a while; added pending map tasks again');
      this.requeuedAt.set(run.id, now);
    }
  }

  /**
   * Adds a queue task for every pending map task that has none, and records as failed each
   * one BullMQ failed for good unrecorded (its id would swallow a re-add).
   */
  private async requeuePendingTasks(run: RunRecord): Promise<{ added: number; recorded: number }> {
    const { client, queues, prefix } = this.deps;
    const keys = runKeys(prefix, run.id);
    const queue = queues.get(run.queue);
    let added = 0;
    let recorded = 0;
    for await (const pending of pendingTasks(client, prefix, run.id)) {
      const queueIds = pending.map((task) => mapTaskQueueId(run, run.generation, task));
      const states = await Promise.all(queueIds.map((id) => queue.getJobState(id)));
      const missing = pending.filter((_, i) => states[i] === 'unknown');
      await addMapTasks(queues, run, run.generation, missing);
      added += missing.length;
      for (const [i, task] of pending.entries()) {
        const failed = states[i] === 'failed' ? await queueFailure(queue, queueIds[i]!) : undefined;
        if (!failed) continue;
        const items = JSON.parse((await client.hget(keys.inputs, task)) ?? '[]') as unknown[];
        const outcome = await recordTaskFailure(client, prefix, run, run.generation, newRequestId(), {
          task,
          generation: run.generation,
          items,
          error: failed.reason,
          code: null,
          stack: null,
          attempts: failed.attempts,
          stalls: 0,
          host: 'recovery sweep',
          pid: process.pid,
          at: Date.now(),
        });
        recorded++;
        if (outcome.outcome === 'flipped') await enqueueDueReduceTasks(client, queues, prefix, run);
        if (outcome.outcome === 'run_failed') {
          await publishControl(client, prefix, { type: 'cancel', run: run.id });
          await retireEnded(client, prefix, run.id);
        }
      }
    }
    return { added, recorded };
  }

  /** Drops from the runs index, a page at a time, the entries of runs whose record is gone. */
  private async pruneRunsIndex(): Promise<void> {
    const { client, prefix } = this.deps;
    const index = runsIndexKey(prefix);
    const page = await client.zrangebyscore(index, this.indexCursor, '+inf', 'WITHSCORES', 'LIMIT', 0, INDEX_PAGE);
    const ids = page.filter((_, i) => i % 2 === 0);
    this.indexCursor = ids.length < INDEX_PAGE ? '-inf' : page[page.length - 1]!;
    // One command each: every run's record is in its own slot of a cluster.
    const exists = await Promise.all(ids.map((id) => client.exists(runKeys(prefix, id).meta)));
    const vanished = ids.filter((_, i) => exists[i] === 0);
    if (vanished.length > 0) await client.zrem(index, ...vanished);
  }

  private isStalled(run: RunRecord, now: number): boolean {
    const lastActivity = Math.max(run.progressAt ?? 0, run.sealedAt ?? 0, run.reducingAt ?? 0, this.requeuedAt.get(run.id) ?? 0);
    return now - lastActivity > this.timings.stallMs;
  }
}

/** Why and after how many attempts BullMQ failed a task for good, or undefined when it did not (the task is elsewhere, or gone). */
async function queueFailure(queue: Queue, queueId: string): Promise<{ reason: string; attempts: number } | undefined> {
  if ((await queue.getJobState(queueId)) !== 'failed') return undefined;
  const task = await queue.getJob(queueId);
  return { reason: task?.failedReason || 'failed for good in the queue', attempts: task?.attemptsMade ?? 0 };
}

async function serverTime(client: RedisClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
