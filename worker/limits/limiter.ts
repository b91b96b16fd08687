/**
 * The limiter a worker runs each map call through. Limits are redmap's own, counted per
 * map call and held in Redis, so they bound every process on every machine:
 *
 * - a job's limits (declared in the job file, or set by `redmap throttle --job`) bound all
 *   runs of the job together; a run's own (`--global-concurrency`, `--rate`, or
 *   `redmap throttle RUN`) bound that run below them;
 * - a call takes its run slot, then its job slot: two single-slot steps (they live in
 *   different hash tags). When the job refuses, the run's step is given back exactly (its
 *   lease, its counted start and, while no later call took one, its rate token), so a
 *   refused attempt neither counts as a start nor slows the run's rate;
 * - a call asks only the scopes that have limits as it starts: none costs no Redis call,
 *   a job limit alone costs the job's step alone. Whether a run has limits of its own is
 *   read with its task and again at least every second (at once after a throttle
 *   message), so a run that gains limits in the middle of a task is limited from then on;
 * - a concurrency slot is a lease, renewed while the call runs: a worker that dies gives
 *   its slots back when their leases expire (LEASE_MS);
 * - a task whose first call finds its run full goes back to the queue, delayed, instead
 *   of holding a worker slot while it waits, so a capped run does not starve the others.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobLimits } from '../../shared/job/limits.js';
import type { Logger } from '../../shared/logger.js';
import { loadLuaScript, runScript } from '../../shared/redis/lua-scripts.js';
import { parseRate } from '../../shared/data/durations.js';
import type { RedisClient } from '../../shared/redis/redis-connection.js';
import { jobLimiterKeys, runKeys, type LimiterKeys, type RunIncarnation } from '../../shared/redis/redis-keys.js';
import { TaskReleased } from '../../shared/tasks/task-attempt.js';

const acquireSlotScript = loadLuaScript(new URL('./acquire-slot.lua', import.meta.url));
const renewSlotsScript = loadLuaScript(new URL('./renew-slots.lua', import.meta.url));
const giveBackSlotScript = loadLuaScript(new URL('./give-back-slot.lua', import.meta.url));

/** How long a concurrency slot outlives a worker that stopped renewing it. */
export const LEASE_MS = 10_000;
/** Longest a refused call waits before it asks again. */
const MAX_WAIT_MS = 250;
/** How long a task's first call waits for a full run before the task goes back to the queue. */
const HOLD_FIRST_CALL_MS = 200;
/** About how long a task whose run is full waits in the queue before it is tried again. */
const RUN_FULL_DELAY_MS = 300;
/** How often the job's limits are read again (a throttle message makes it sooner). */
const JOB_LIMITS_REFRESH_MS = 5000;
/** How often whether a run has limits of its own is read again (a throttle message makes it sooner). */
const RUN_LIMITS_REFRESH_MS = 1000;
/** Runs whose limits a worker keeps in mind; one forgotten is read again when next seen. */
const RUNS_REMEMBERED = 1024;

/** Admits one map call; resolves to a function that gives its slots back. */
export type CallGate = (signal: AbortSignal, call: { firstOfTask: boolean }) => Promise<() => void>;

/** What one step took in one scope: enough to give it back exactly. */
interface Admission {
  /** The lease, when a concurrency cap applies (else there is none to give back). */
  lease: string | undefined;
  /** The second the start was counted in. */
  second: string;
  /** The next allowed start this step set ('' without a rate). */
  next: string;
}

/** A step refused: ask again after about `waitMs`; `full` when the cap (not the rate) refused. */
interface Refusal {
  waitMs: number;
  full: boolean;
}

/** Whether a run has a cap or a rate of its own, and when this worker asked. */
interface RunLimitsSeen {
  limited: boolean;
  readAt: number;
}

const NOTHING_HELD = (): void => {};

export class Limiter {
  private readonly jobKeys: LimiterKeys;
  /**
   * Lease ids start with the pid, so an operator (or a test) can tell whose slots they are,
   * then 96 random bits: pids repeat across containers and hosts, lease ids must not.
   */
  private readonly workerId = `${process.pid}:${randomBytes(12).toString('base64url')}`;
  private leaseCounter = 0;
  /** Leases held now, by their sorted set. */
  private readonly held = new Map<string, Set<string>>();
  private jobLimited = false;
  private jobLimitsReadAt = 0;
  private jobLimitsRead: Promise<void> | undefined;
  private readonly runsSeen = new Map<string, RunLimitsSeen>();
  private readonly runLimitsReads = new Map<string, Promise<boolean>>();
  /** When a throttle message last came: what was read before it may be out of date. */
  private limitsChangedAt = 0;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    jobName: string,
    private readonly log: Logger,
  ) {
    this.jobKeys = jobLimiterKeys(prefix, jobName);
  }

  /** Records the limits the job file declares, and starts renewing leases. */
  async start(declared: JobLimits): Promise<void> {
    const rate = declared.rate === undefined ? undefined : parseRate(declared.rate);
    await this.client
      .multi()
      .hdel(this.jobKeys.limits, 'declaredConcurrency', 'declaredRateCount', 'declaredRatePeriodMs')
      .hset(this.jobKeys.limits, {
        ...(declared.concurrency !== undefined && { declaredConcurrency: declared.concurrency }),
        ...(rate && { declaredRateCount: rate.count, declaredRatePeriodMs: rate.periodMs }),
        declaredAt: Date.now(),
      })
      .exec();
    await this.refreshJobLimits();
    this.renewTimer = setInterval(() => void this.renewLeases(), LEASE_MS / 3);
    this.renewTimer.unref();
  }

  stop(): void {
    clearInterval(this.renewTimer);
  }

  /** After a `throttle` message: reads the job's limits again now, and a run's at its next call. */
  async limitsChanged(): Promise<void> {
    this.limitsChangedAt = Date.now();
    await this.refreshJobLimits().catch((error: unknown) =>
      this.log.warn({ err: error }, 'could not read the job limits again; trying at the next map call'),
    );
  }

  private async refreshJobLimits(): Promise<void> {
    const fields = await this.client.hmget(this.jobKeys.limits, 'concurrency', 'rateCount', 'declaredConcurrency', 'declaredRateCount');
    this.jobLimited = fields.some((value) => value !== null && value !== '');
    this.jobLimitsReadAt = Date.now();
  }

  /**
   * The gate for a run's map calls. `runLimited` (whether the run has a cap or a rate of its
   * own) comes from the run's record when it was read with the task; undefined, the gate
   * asks when what it knows is over a second old.
   */
  async gateFor(run: RunIncarnation, runLimited: boolean | undefined): Promise<CallGate> {
    // What this worker knows of a run is kept per incarnation: a run id used again is another run.
    const runKey = `${run.id}/${run.incarnation}`;
    if (runLimited !== undefined) this.noteRun(runKey, runLimited, Date.now());
    const runScope = runKeys(this.prefix, run.id).limiter;
    return async (signal, call) => {
      if (this.nothingToAsk(runKey)) return NOTHING_HELD;
      const started = Date.now();
      for (;;) {
        signal.throwIfAborted();
        const admitted = await this.admit(runKey, runScope);
        if (typeof admitted === 'function') return admitted;
        // A task whose run stays full goes back to the queue rather than hold a worker slot.
        if (admitted.full && call.firstOfTask && Date.now() - started > HOLD_FIRST_CALL_MS) {
          throw new TaskReleased(`run ${run.id} is at its concurrency limit`, RUN_FULL_DELAY_MS * (0.5 + Math.random()));
        }
        // An abort ends the wait; the loop's first line then throws the signal's reason.
        await sleep(admitted.waitMs, undefined, { signal }).catch(() => {});
      }
    };
  }

  /** True while neither the job nor the run has limits, as last read: the call asks Redis nothing. */
  private nothingToAsk(runKey: string): boolean {
    const now = Date.now();
    return !this.jobLimited && now - this.jobLimitsReadAt <= JOB_LIMITS_REFRESH_MS && this.runLimitedAsSeen(runKey, now) === false;
  }

  /** One attempt through the scopes that have limits now: what gives the slots back, or a refusal. */
  private async admit(runKey: string, runScope: LimiterKeys): Promise<(() => void) | Refusal> {
    if (Date.now() - this.jobLimitsReadAt > JOB_LIMITS_REFRESH_MS) {
      await (this.jobLimitsRead ??= this.refreshJobLimits().finally(() => (this.jobLimitsRead = undefined)));
    }
    const jobLimited = this.jobLimited;
    const runLimited = this.runLimitedAsSeen(runKey) ?? (await this.readRunLimited(runKey, runScope));
    if (!runLimited && !jobLimited) return NOTHING_HELD;
    const run = runLimited ? await this.acquire(runScope) : undefined;
    if (run && 'waitMs' in run) return run;
    if (!jobLimited) return run ? () => this.release(runScope, run) : NOTHING_HELD;
    const job = await this.acquire(this.jobKeys);
    if ('waitMs' in job) {
      if (run) this.giveBack(runScope, run);
      return { waitMs: job.waitMs, full: false };
    }
    return () => {
      if (run) this.release(runScope, run);
      this.release(this.jobKeys, job);
    };
  }

  /** What this worker knows of a run's limits, or undefined when it is over a second old or predates a throttle message. */
  private runLimitedAsSeen(runKey: string, now = Date.now()): boolean | undefined {
    const seen = this.runsSeen.get(runKey);
    if (!seen || seen.readAt <= this.limitsChangedAt || now - seen.readAt > RUN_LIMITS_REFRESH_MS) return undefined;
    return seen.limited;
  }

  /** Reads whether a run has limits of its own; calls that ask at the same time share one read. */
  private readRunLimited(runKey: string, runScope: LimiterKeys): Promise<boolean> {
    let reading = this.runLimitsReads.get(runKey);
    if (!reading) {
      const askedAt = Date.now();
      reading = this.client
        .hmget(runScope.limits, 'concurrency', 'rateCount')
        .then(([concurrency, rateCount]) => {
          const limited = Boolean(concurrency || rateCount);
          this.noteRun(runKey, limited, askedAt);
          return limited;
        })
        .finally(() => this.runLimitsReads.delete(runKey));
      this.runLimitsReads.set(runKey, reading);
    }
    return reading;
  }

  private noteRun(runKey: string, limited: boolean, readAt: number): void {
    this.runsSeen.delete(runKey);
    this.runsSeen.set(runKey, { limited, readAt });
    if (this.runsSeen.size > RUNS_REMEMBERED) this.runsSeen.delete(this.runsSeen.keys().next().value!);
  }

  private async acquire(scope: LimiterKeys): Promise<Admission | Refusal> {
    const lease = `${this.workerId}:${++this.leaseCounter}`;
    const reply = (await runScript(
      this.client,
      acquireSlotScript,
      [scope.limits, scope.slots, scope.bucket, scope.starts],
      [lease, LEASE_MS],
    )) as Array<number | string>;
    if (reply[0] !== 1) {
      const waitMs = Math.max(5, Number(reply[1] ?? MAX_WAIT_MS));
      return { waitMs: Math.min(MAX_WAIT_MS, waitMs * (0.5 + Math.random())), full: reply[2] === 'full' };
    }
    const [, leased, second, next] = reply;
    if (leased !== 1) return { lease: undefined, second: String(second), next: String(next) };
    let leases = this.held.get(scope.slots);
    if (!leases) this.held.set(scope.slots, (leases = new Set()));
    leases.add(lease);
    return { lease, second: String(second), next: String(next) };
  }

  private release(scope: LimiterKeys, admission: Admission): void {
    const { lease } = admission;
    if (lease === undefined) return;
    this.held.get(scope.slots)?.delete(lease);
    this.client
      .zrem(scope.slots, lease)
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not give a limiter slot back; its lease will expire'));
  }

  /** Undoes a step whose call did not start, so the refused attempt counts for nothing. */
  private giveBack(scope: LimiterKeys, admission: Admission): void {
    if (admission.lease !== undefined) this.held.get(scope.slots)?.delete(admission.lease);
    runScript(
      this.client,
      giveBackSlotScript,
      [scope.slots, scope.bucket, scope.starts],
      [admission.lease ?? '', admission.second, admission.next],
    ).catch((error: unknown) => this.log.warn({ err: error }, "could not give back a refused call's run step; its lease will expire"));
  }

  private async renewLeases(): Promise<void> {
    for (const [slots, leases] of this.held) {
      if (leases.size === 0) {
        this.held.delete(slots);
        continue;
      }
      await runScript(this.client, renewSlotsScript, [slots], [LEASE_MS, ...leases]).catch((error: unknown) =>
        this.log.warn({ err: error }, 'could not renew limiter leases'),
      );
    }
  }
}
