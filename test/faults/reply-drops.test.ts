/**
 * Replies lost on the way back: every client of a run (2 worker processes, the producer,
 * `retry`, `clean`) talks to Redis through the reply-dropping proxy, which lets a command
 * run and then cuts the connection before its reply arrives, so ioredis sends it again.
 * Over 30 seeded runs (word count, chunked, 2+ partitions; some under a job-wide cap, some
 * retried after a poison line is cured) every run ends within its stated bound, equals the
 * plain-code count, commits each map task and each partition exactly once (event counts),
 * gives every job slot back, and `clean` leaves nothing of it. Each run's drops are written
 * to its schedule (test-output/faults/). REDMAP_FAULT_SEED replays the runs and the proxy's
 * draws on each connection (which commands they hit follows the order commands take there);
 * REDMAP_FAULT_RUNS sets the number of runs (default 30).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobLimiterKeys, runKeys, runTasksPattern } from '../../shared/redis/redis-keys.js';
import { readRunRecord, type RunRecord } from '../../shared/run/run-record.js';
import { throttleJob } from '../../shared/run/throttle.js';
import { runCli, type CliResult } from '../support/cli.js';
import { expectWithSchedule, FaultSchedule, scratch, seededRandom, startSupervisedWorkers } from '../support/faults.js';
import { wordCountLines } from '../support/ground-truth.js';
import { startRedisServer } from '../support/redis-server.js';
import { startReplyDroppingProxy, type Drop } from '../support/reply-dropping-proxy.js';
import { bullmqScripts, redmapScripts } from '../support/script-shas.js';
import { keysMatching } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const JOB_NAME = 'test-fault-words';
const PREFIX = 'redmap';
const RUNS = Number(process.env.REDMAP_FAULT_RUNS ?? 30);
const SEED = Number(process.env.REDMAP_FAULT_SEED ?? Date.now() % 1_000_000);
const POISON = 'poison';

/** Chance that a reply of one of redmap's scripts is lost; the separate, small share for BullMQ's commands and every other. */
const DROP_REDMAP = 0.08;
const DROP_BULLMQ = 0.004;

// Short locks: a lost moveToFinished (which also hands the worker its next task) costs a lock period and a stall check.
const LOCK_MS = 2000;
const STALL_CHECK_MS = 500;
const BACKOFF_MS = 100;
const ATTEMPTS = 3;
/** The proxy cuts a target whose reply has not come (a blocking BZPOPMIN) after this long. */
const REPLY_TIMEOUT_MS = 2000;
/** ioredis under redmap's options reconnects 200 ms after a cut; with its handshake and the resend, 500 ms is generous. */
const RECONNECT_MS = 500;
/** A run of at most 16 map tasks and 4 partitions, with no fault, takes 1 to 3 s here; the machine is shared and loaded. */
const BASE_MS = 12_000;
/** The recovery sweep re-adds a mapping run's tasks after 120 s without a commit: a run that needed it must fail. */
const MAX_BOUND_MS = 60_000;

/**
 * The bound a generation of a run must end within, from the drops that landed in it. Each
 * drop costs one reconnect; a lost BullMQ reply may also leave a task locked to a worker
 * that never heard of it, until its lock expires and a stall check puts it back (or, for a
 * blocking pop, until the proxy's safety cut). A poison line costs its chunk's attempts and
 * then its own, each after the backoff. Drops on several connections overlap; the sum is
 * the sequential worst case. Never as long as the sweep's wait, which would hide a lost task.
 */
function boundMs(drops: Drop[], poisoned: boolean): number {
  const lostTask = Math.max(LOCK_MS + STALL_CHECK_MS, REPLY_TIMEOUT_MS);
  const perDrop = (drop: Drop) => RECONNECT_MS + (drop.kind === 'bullmq' ? lostTask : 0);
  const poison = poisoned ? 2 * ATTEMPTS * BACKOFF_MS : 0;
  return Math.min(MAX_BOUND_MS, BASE_MS + poison + drops.reduce((sum, drop) => sum + perDrop(drop), 0));
}

interface RunPlan {
  id: string;
  lines: string[];
  chunkSize: number;
  partitions: number;
  /** A job-wide cap on map calls in flight while it runs. */
  cap: number | undefined;
  /** The index of the poison line: the run ends done_with_failures, the line is cured, the run retried. */
  poisonAt: number | undefined;
}

function planRun(run: number, random: () => number): RunPlan {
  const pick = (from: number, to: number) => from + Math.floor(random() * (to - from + 1));
  const lines = Array.from({ length: pick(24, 48) }, () =>
    Array.from({ length: pick(3, 6) }, () => `${random() < 0.2 ? 'W' : 'w'}${pick(0, 29)}`).join(random() < 0.5 ? ' ' : ', '),
  );
  const retried = run % 3 === 2;
  const poisonAt = retried ? pick(0, lines.length - 1) : undefined;
  if (poisonAt !== undefined) lines[poisonAt] = `${lines[poisonAt]} ${POISON}`;
  return {
    id: `drops-${SEED}-${run}`,
    lines,
    chunkSize: pick(3, 5),
    partitions: pick(2, 4),
    // A cap of 1 under these drops cuts a connection several times a second (calls waiting for the slot ask often).
    cap: run % 3 === 1 || run % 6 === 5 ? pick(2, 3) : undefined,
    poisonAt,
  };
}

/** Map tasks that commit: one per chunk, and one per item of the chunk a poison line splits. */
function expectedMapTasks(plan: RunPlan): number {
  const chunks = Math.ceil(plan.lines.length / plan.chunkSize);
  if (plan.poisonAt === undefined) return chunks;
  const start = plan.poisonAt - (plan.poisonAt % plan.chunkSize);
  return chunks - 1 + Math.min(plan.chunkSize, plan.lines.length - start);
}

const describeDrop = (drop: Drop) =>
  `${drop.kind} ${drop.name} (connection ${drop.connection}, command ${drop.command}${drop.replySeen ? '' : ', cut before its reply'})`;

/** A private Redis, the proxy in front of it, and 2 worker processes of the job that reach Redis only through the proxy. */
async function startRig(schedule: FaultSchedule) {
  const redis = await startRedisServer();
  const direct = new Redis(redis.url);
  const proxy = await startReplyDroppingProxy({
    target: { host: '127.0.0.1', port: redis.port },
    seed: SEED,
    dropRedmap: DROP_REDMAP,
    dropBullmq: DROP_BULLMQ,
    scripts: redmapScripts(),
    otherScripts: bullmqScripts(),
    replyTimeoutMs: REPLY_TIMEOUT_MS,
  });
  const { dir } = scratch();
  const cure = join(dir, 'cure');
  const env = { REDIS_URL: proxy.url, REDMAP_PREFIX: PREFIX };
  const workers = startSupervisedWorkers(JOB, 2, { ...env, REDMAP_TEST_POISON: POISON, REDMAP_TEST_CURE: cure }, [
    ...['--lock-duration', `${LOCK_MS}ms`, '--stalled-interval', `${STALL_CHECK_MS}ms`, '--heartbeat-timeout', '5s'],
  ]);
  const context: RunContext = { direct, env, cure, schedule, dropsBetween: (from, to) => windowOf(proxy.drops(), from, to) };
  return {
    context,
    ready: () => workers.ready(2),
    async close(failed: boolean): Promise<void> {
      const stopped = await workers.stop();
      if (failed) schedule.note(`worker stderr, last lines:\n${stopped.stderr.slice(-4000)}`);
      await proxy.close();
      direct.disconnect();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('replies dropped on the way back', () => {
  it(
    `over ${RUNS} runs (seed ${SEED}): each ends in its bound, exact, committed once, slots given back, cleaned`,
    { timeout: 600_000 },
    async () => {
      if (!Number.isInteger(RUNS) || RUNS < 1) {
        throw new Error(`REDMAP_FAULT_RUNS must be a whole number of at least 1, got ${process.env.REDMAP_FAULT_RUNS}`);
      }
      console.log(`reply drops: seed ${SEED} (REDMAP_FAULT_SEED=${SEED} replays it)`);
      const schedule = new FaultSchedule(`reply drops seed ${SEED}`);
      schedule.note(`seed ${SEED}: ${RUNS} runs, dropRedmap ${DROP_REDMAP}, dropBullmq ${DROP_BULLMQ}`);
      const random = seededRandom(SEED);
      const rig = await startRig(schedule);
      const live: Drop[] = [];
      const timings: string[] = [];
      let passed = false;
      try {
        await rig.ready();
        for (let run = 0; run < RUNS; run++) {
          const plan = planRun(run, random);
          const started = Date.now();
          schedule.note(
            `run ${plan.id}: ${plan.lines.length} lines, chunks of ${plan.chunkSize}, ${plan.partitions} partitions` +
              `${plan.cap ? `, job cap ${plan.cap}` : ''}${plan.poisonAt !== undefined ? `, poison at line ${plan.poisonAt}` : ''}`,
          );
          await throttleJob(rig.context.direct, PREFIX, JOB_NAME, { concurrency: plan.cap ?? null });
          const drops = await checkRun(plan, rig.context);
          live.push(...drops);
          timings.push(`${plan.id}: ${((Date.now() - started) / 1000).toFixed(1)}s, ${drops.length} drops`);
        }
        passed = true;
      } finally {
        await rig.close(!passed);
        console.log(`reply drops, seed ${SEED}:\n${timings.join('\n')}\n${summary(live)}`);
      }
      schedule.note(summary(live));
      const redmapDrops = live.filter((drop) => drop.kind === 'redmap');
      // Several per run on average, and on the script every task runs: its commit (small
      // commits of a run go together; a small task is read only when its worker does not
      // know its run is mapping, or is redelivered).
      expectWithSchedule(redmapDrops.length, schedule).toBeGreaterThanOrEqual(2 * RUNS);
      expectWithSchedule([...new Set(redmapDrops.map((drop) => drop.name))], schedule).toEqual(
        expect.arrayContaining(['commit-map-tasks']),
      );
    },
  );
});

function windowOf(drops: Drop[], from: number, to: number): Drop[] {
  return drops.filter((drop) => drop.at >= from && drop.at <= to);
}

function summary(drops: Drop[]): string {
  const byName = new Map<string, number>();
  for (const drop of drops) byName.set(`${drop.kind} ${drop.name}`, (byName.get(`${drop.kind} ${drop.name}`) ?? 0) + 1);
  const lines = [...byName].sort((a, b) => b[1] - a[1]).map(([name, count]) => `  ${count} ${name}`);
  return `drops during live runs: ${drops.length}\n${lines.join('\n')}`;
}

interface RunContext {
  direct: Redis;
  env: NodeJS.ProcessEnv;
  cure: string;
  schedule: FaultSchedule;
  dropsBetween(from: number, to: number): Drop[];
}

/** Submits, follows, (retries,) checks and cleans one run; returns the drops that landed while it was live. */
async function checkRun(plan: RunPlan, ctx: RunContext): Promise<Drop[]> {
  const { direct, schedule } = ctx;
  const expect = <T>(actual: T) => expectWithSchedule(actual, schedule);
  rmSync(ctx.cure, { force: true });
  const submitted = await runCli(
    [
      ...['submit', JOB, '-', '--run-id', plan.id, '--chunk-size', String(plan.chunkSize), '--partitions', String(plan.partitions)],
      ...['--attempts', String(ATTEMPTS), '--backoff', `fixed:${BACKOFF_MS}ms`, '--max-stalls', '50', '--wait', '--quiet'],
      ...(plan.poisonAt === undefined ? [] : ['--max-failed-tasks', '1']),
    ],
    { env: ctx.env, input: `${plan.lines.join('\n')}\n`, timeoutMs: 120_000 },
  );
  const first = await ended(direct, plan.id);
  const firstDrops = ctx.dropsBetween(first.createdAt, first.finishedAt ?? Date.now());
  noteGeneration(schedule, 'submit --wait', submitted, first, first.createdAt, firstDrops);
  const poisoned = plan.poisonAt !== undefined;
  const cured = plan.lines.filter((_, i) => i !== plan.poisonAt);
  expect(submitted.code).toBe(poisoned ? 3 : 0);
  expect(submitted.stdout).toBe(wordCountLines(cured));
  expect(first.state).toBe(poisoned ? 'done_with_failures' : 'done');
  expect(first.finishedAt! - first.createdAt).toBeLessThanOrEqual(boundMs(firstDrops, poisoned));
  let final = first;
  const drops = [...firstDrops];
  if (poisoned) {
    writeFileSync(ctx.cure, '');
    const retried = await runCli(['retry', plan.id, '--wait', '--quiet'], { env: ctx.env, timeoutMs: 120_000 });
    final = await ended(direct, plan.id);
    const retriedAt = Number(await direct.hget(runKeys(PREFIX, plan.id).meta, 'retriedAt'));
    const secondDrops = ctx.dropsBetween(retriedAt, final.finishedAt ?? Date.now());
    noteGeneration(schedule, 'retry --wait', retried, final, retriedAt, secondDrops);
    drops.push(...secondDrops);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toBe(wordCountLines(plan.lines));
    expect(final.state).toBe('done');
    expect(final.finishedAt! - retriedAt).toBeLessThanOrEqual(boundMs(secondDrops, false));
  }
  // Event counts: a task or partition committed twice would show here, where a set could not.
  expect(final.mapCommits).toBe(expectedMapTasks(plan));
  expect(final.reduceCommits).toBe(plan.partitions * final.generation);
  expect(final.generation).toBe(poisoned ? 2 : 1);
  // A run's end releases the slots its calls held: none may stay leased.
  if (plan.cap !== undefined) expect(await direct.zcard(jobLimiterKeys(PREFIX, JOB_NAME).slots)).toBe(0);
  const cleaned = await runCli(['clean', plan.id], { env: ctx.env, timeoutMs: 60_000 });
  schedule.note(`clean exited ${cleaned.code}: ${cleaned.stderr.trim().split('\n').at(-1)}`);
  expect(cleaned.code).toBe(0);
  expect(await keysMatching(direct, runKeys(PREFIX, plan.id).pattern)).toEqual([]);
  // A task locked when clean ran cannot be removed: a lost reply (a moveToActive, or an add
  // sent again) can leave one locked to nobody. Its lock expires, a stall check puts it back,
  // and a worker finds its run gone and completes it, which removes it.
  let left: string[] = [];
  await waitFor(
    () => `the run's tasks to leave the queue (left: ${left.join(' ')})`,
    async () => (left = await keysMatching(direct, runTasksPattern(PREFIX, final.queue, plan.id))).length === 0,
    { timeoutMs: LOCK_MS + 2 * STALL_CHECK_MS + 3000 },
  );
  return drops;
}

/** The run's record once it has ended (submit --wait returns only then, unless it failed). */
async function ended(direct: Redis, runId: string): Promise<RunRecord> {
  const record = await readRunRecord(direct, PREFIX, runId);
  if (!record) throw new Error(`run ${runId} has no record`);
  return record;
}

function noteGeneration(schedule: FaultSchedule, what: string, result: CliResult, record: RunRecord, from: number, drops: Drop[]): void {
  const took = record.finishedAt === undefined ? 'not ended' : `${record.finishedAt - from} ms`;
  schedule.note(`${what} exited ${result.code}; run ${record.state}, generation ${record.generation}, ${took}, ${drops.length} drops`);
  for (const drop of drops) schedule.note(`  +${drop.at - from} ms ${describeDrop(drop)}`);
  if (result.code !== 0 && result.code !== 3) schedule.note(`stderr: ${result.stderr.slice(-2000)}`);
}
