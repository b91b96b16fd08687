/**
 * A randomized mix of faults over many runs: workers killed or frozen, Redis killed and
 * restarted (AOF, appendfsync always) or frozen. Each fault waits for a state of the run
 * (mapping, reducing), then a drawn delay, so every run gets one while it works. Every run
 * must give the plain-code word count, with one commit per task and per partition, and a
 * worker killed mid-call must have its items mapped again. 10 runs in CI; REDMAP_FAULT_RUNS
 * for more, REDMAP_FAULT_SEED to replay a schedule: every random choice is drawn from the
 * seed before the run starts, none from timing (each run's schedule is written out).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { startCli } from '../support/cli.js';
import {
  callsInFlight,
  callStarts,
  expectWithSchedule,
  FaultSchedule,
  pickVictim,
  readLedger,
  remappedItems,
  scratch,
  seededRandom,
  signal,
  startSupervisedWorkers,
  wholeNumberFromEnv,
  type LedgerEntry,
} from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { wordCountLines } from '../support/ground-truth.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { auditRun, chunkIds, expectCommittedOnce } from '../support/run-checks.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const RUNS = wholeNumberFromEnv('REDMAP_FAULT_RUNS', { min: 1, fallback: 10 });
const SEED = wholeNumberFromEnv('REDMAP_FAULT_SEED', { min: 0, fallback: Date.now() % 1_000_000 });
console.log(`random-mix: seed ${SEED}, ${RUNS} run(s); replay with REDMAP_FAULT_SEED=${SEED}`);

const FAULTS = ['kill -9 a worker', 'SIGSTOP a worker for 3 s', 'kill -9 Redis, restart after 1 s', 'SIGSTOP Redis for 2 s'] as const;
type Fault = (typeof FAULTS)[number];
/** Where a fault waits to be applied: once the run has reached this state. */
type Trigger = 'mapping' | 'reducing';
const STATE_RANK: Record<string, number> = { submitting: 0, mapping: 1, reducing: 2 };
const rank = (state: string | undefined): number => (state === undefined ? -1 : (STATE_RANK[state] ?? 3));

// 20 tasks of 3 items at 80 ms on 3 processes × 2 slots: about 0.8 s of mapping on an idle
// machine, and 4 partitions of ~25 keys at 15 ms: about 0.4 s of reducing. The drawn delays
// below stay under those, so a fault lands in the state it waited for.
const DELAY_MS = { mapping: 300, reducing: 150 };
const WORKER_ENV = { REDMAP_TEST_DELAY_MS: '80', REDMAP_TEST_REDUCE_DELAY_MS: '15' };

interface PlannedFault {
  fault: Fault;
  trigger: Trigger;
  delayMs: number;
  /** Which worker, as a fraction of the ranked candidates (see pickVictim). */
  victim: number;
}

/** A run's inputs and faults, drawn whole before it starts: timing never changes what is drawn next. */
function planRun(random: () => number): { inputs: string[]; faults: PlannedFault[] } {
  // Each line starts with its own word, so an item mapped twice is a redelivery, never a repeated line.
  const inputs = Array.from({ length: 60 }, (_, i) =>
    [`l${i}`, ...Array.from({ length: 4 }, () => `w${Math.floor(random() * 40)}`)].join(' '),
  );
  const faults = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i): PlannedFault => {
    const fault = FAULTS[Math.floor(random() * FAULTS.length)]!;
    // The first fault always lands while the run maps: every run gets one while it works.
    const trigger: Trigger = i === 0 || random() < 0.5 ? 'mapping' : 'reducing';
    return { fault, trigger, delayMs: Math.floor(random() * DELAY_MS[trigger]), victim: random() };
  });
  return { inputs, faults };
}

interface Context {
  redis: TestRedisServer;
  workers: ReturnType<typeof startSupervisedWorkers>;
  ledger: string;
  runId: string;
  schedule: FaultSchedule;
  /** Frozen workers' SIGCONTs still to come. */
  thawing: Array<Promise<void>>;
}

/** Applies one fault; returns the map calls a killed worker had in flight (they must be mapped again). */
async function applyFault({ fault, victim: fraction }: PlannedFault, context: Context): Promise<LedgerEntry[]> {
  const { redis, workers, ledger, runId, schedule } = context;
  const victim = fault.includes('worker') ? pickVictim(workers.children(), readLedger(ledger), fraction) : undefined;
  switch (fault) {
    case 'kill -9 a worker': {
      if (victim === undefined) break;
      signal(victim, 'SIGKILL');
      await waitFor(`worker ${victim} to be gone`, () => !workers.children().includes(victim));
      // Dead now: its ledger lines are final, and what it had started and not ended was lost.
      const lost = callsInFlight(readLedger(ledger), victim).filter((call) => call.run === runId);
      schedule.note(`kill -9 worker ${victim}, in flight: ${JSON.stringify(lost.map((call) => [call.task, call.item]))}`);
      return lost;
    }
    case 'SIGSTOP a worker for 3 s':
      if (victim === undefined) break;
      signal(victim, 'SIGSTOP');
      schedule.note(`SIGSTOP worker ${victim}`);
      // The run goes on meanwhile, and the next fault may land while this worker is frozen.
      context.thawing.push(
        sleep(3000).then(() => {
          signal(victim, 'SIGCONT');
          schedule.note(`SIGCONT worker ${victim}`);
        }),
      );
      return [];
    case 'kill -9 Redis, restart after 1 s':
      await redis.kill9();
      schedule.note('kill -9 redis-server');
      await sleep(1000);
      await redis.restart();
      schedule.note('restarted redis-server (AOF)');
      return [];
    case 'SIGSTOP Redis for 2 s':
      signal(redis.pid()!, 'SIGSTOP');
      schedule.note('SIGSTOP redis-server');
      await sleep(2000);
      signal(redis.pid()!, 'SIGCONT');
      schedule.note('SIGCONT redis-server');
      return [];
  }
  schedule.note(`${fault}: no worker process alive to fault`);
  return [];
}

/** What a stuck run looked like, for the schedule. */
async function noteDiagnostics(client: Redis, runId: string, schedule: FaultSchedule, stderr: string): Promise<void> {
  schedule.note(`run ${runId}: ${JSON.stringify(await readRunRecord(client, 'redmap', runId))}`);
  const keys = runKeys('redmap', runId);
  schedule.note(
    `pending inputs: ${(await client.hkeys(keys.inputs)).join(' ')}; committed: ${(await client.smembers(keys.committed)).length}`,
  );
  const queueKeys = await client.keys(`redmap:q:*:${runId}.*`);
  for (const key of queueKeys.filter((name) => !name.endsWith(':lock')).slice(0, 20)) {
    schedule.note(`${key}: ${JSON.stringify(await client.hgetall(key).catch(() => 'not a hash'))}`);
  }
  for (const list of ['wait', 'active', 'delayed', 'failed', 'stalled']) {
    const queueKey = (await client.keys(`redmap:q:*:${list}`))[0];
    if (queueKey) schedule.note(`${queueKey}: ${await client.type(queueKey)}`);
  }
  schedule.note(`submit stderr: ${stderr.slice(-1500)}`);
}

describe('a randomized mix of faults', () => {
  // A run ends within its submit's 60 s bound (then fails with its diagnostics), so this never cuts one short.
  it(
    `over ${RUNS} runs (seed ${SEED}): every run equals the plain count, every task and partition committed once`,
    { timeout: 60_000 + RUNS * 70_000 },
    async () => {
      const redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
      const client = new Redis(redis.url, { maxRetriesPerRequest: null });
      client.on('error', () => {});
      const random = seededRandom(SEED);
      const { ledger } = scratch();
      const base = { REDIS_URL: redis.url, REDMAP_TEST_LOG: ledger };
      const workers = startSupervisedWorkers(JOB, 3, { ...base, ...WORKER_ENV }, [
        '--lock-duration',
        '2s',
        '--stalled-interval',
        '500ms',
        '--heartbeat-timeout',
        '5s',
      ]);
      const stateOf = async (runId: string) => (await readRunRecord(client, 'redmap', runId))?.state ?? 'gone';
      try {
        await workers.ready(3);
        for (let run = 1; run <= RUNS; run++) {
          const schedule = new FaultSchedule(`random mix seed ${SEED} run ${run}`);
          const plan = planRun(random);
          schedule.note(`seed ${SEED} (REDMAP_FAULT_SEED), run ${run} of ${RUNS}: ${JSON.stringify(plan.faults)}`);
          const submitted = startCli(['submit', JOB, '-', '--chunk-size', '3', '--max-stalls', '20', '--wait', '--quiet'], {
            env: base,
            timeoutMs: 60_000,
            input: `${plan.inputs.join('\n')}\n`,
          });
          // Faults start once the run exists: Redis down before a command connects is another test (exit 5).
          await waitFor('the run to be created', async () => ((await client.zcard(runsIndexKey('redmap'))) >= run ? true : undefined));
          const runId = (await client.zrevrange(runsIndexKey('redmap'), 0, 0))[0]!;
          const context: Context = { redis, workers, ledger, runId, schedule, thawing: [] };
          const landed: string[] = [];
          const lost: LedgerEntry[] = [];
          for (const planned of plan.faults) {
            const reached = await waitFor(
              `the run to reach ${planned.trigger}`,
              async () => {
                const state = submitted.exitCode === null ? await stateOf(runId) : 'ended';
                return rank(state) >= rank(planned.trigger) && state;
              },
              { timeoutMs: 90_000, intervalMs: 10 },
            );
            if (rank(reached) <= STATE_RANK.reducing!) await sleep(planned.delayMs);
            const before = submitted.exitCode === null ? await stateOf(runId) : 'ended';
            if (rank(before) > STATE_RANK.reducing!) {
              schedule.note(`${planned.fault}: not applied, the run is ${before}`);
              continue;
            }
            lost.push(...(await applyFault(planned, context)));
            landed.push(before);
            schedule.note(`${planned.fault} landed while the run was ${before}; after it, the run is ${await stateOf(runId)}`);
          }
          const result = await submitted.result;
          schedule.note(`submit --wait exited ${result.code}`);
          if (result.code !== 0) await noteDiagnostics(client, runId, schedule, result.stderr);
          expectWithSchedule(result.code, schedule).toBe(0);
          expectWithSchedule(
            landed.some((state) => state === 'mapping' || state === 'reducing'),
            schedule,
          ).toBe(true);
          expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(plan.inputs));
          expectWithSchedule(await stateOf(runId), schedule).toBe('done');
          expectCommittedOnce(await auditRun(client, 'redmap', runId), { tasks: chunkIds(20), partitions: 4 }, schedule);
          // A call lost with its worker: its task committed, so someone mapped the item again.
          const calls = readLedger(ledger).filter((call) => call.run === runId);
          const remapped = remappedItems(calls);
          schedule.note(`${callStarts(calls).length} map calls for 60 items; ${remapped.size} item(s) mapped more than once`);
          expectWithSchedule(
            lost.filter((call) => !remapped.has(call.item)),
            schedule,
          ).toEqual([]);
        }
      } finally {
        await workers.stop();
        client.disconnect();
        await redis.stop();
      }
    },
  );
});
