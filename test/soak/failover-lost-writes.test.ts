/**
 * Lost writes on purpose (`npm run soak:failover`, not part of `npm test`): the replica
 * replicates through a delay relay, so it is always some hundreds of milliseconds behind; the
 * primary is killed (kill -9) together with the relay while 2 worker processes commit, and
 * the Sentinels promote the replica, which lacks the primary's last acknowledged writes. The
 * runs use --min-replicas 0 (the default), so nothing waited for the replica: each run must end
 * done and equal to an independent count, or lost (exit 6) with a message; never done and
 * wrong. Each schedule comes from a seed (SOAK_SEED, then +1 per schedule; SOAK_SCHEDULES
 * schedules, default 20), and the counts of each outcome are printed and written to
 * test-output/soak/failover-lost-writes.txt (docs/reliability.md records them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { createRedisClient, parseRedisUrl } from '../../shared/redis/redis-connection.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { startCli } from '../support/cli.js';
import { seededRandom, startSupervisedWorkers, wholeNumberFromEnv } from '../support/faults.js';
import { wordCountLines } from '../support/ground-truth.js';
import { startSentinelSetup } from '../support/redis-sentinel.js';
import { waitFor } from '../support/wait-for.js';

const SCHEDULES = wholeNumberFromEnv('SOAK_SCHEDULES', { min: 1, fallback: 20 });
const SEED = wholeNumberFromEnv('SOAK_SEED', { min: 0, fallback: 20261205 });
const JOB = 'test/fixtures/jobs/fault-words.ts';
const FAST_FAILOVER = ['--lock-duration', '2s', '--stalled-interval', '500ms', '--heartbeat-timeout', '5s'];
const REPORT = 'test-output/soak/failover-lost-writes.txt';

function lines(count: number, seed: number): string[] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: 6 }, (_, j) => `w${(i * 7 + j * 13 + seed) % 97}`).join(' '));
}

interface Schedule {
  seed: number;
  /** How far behind the replica is. */
  delayMs: number;
  /** created: as soon as the run exists, so its record is likely among the lost writes. */
  phase: 'created' | 'mapping' | 'reducing';
  /** While mapping: kill once this many map tasks are committed. */
  killAfterCommits: number;
}

function scheduleOf(seed: number): Schedule {
  // Scrambled: xorshift's first draws from neighbouring seeds are alike.
  const random = seededRandom(Math.imul(seed, 0x9e3779b1) >>> 0);
  const draw = random();
  return {
    seed,
    delayMs: 200 + Math.floor(random() * 1000),
    phase: draw < 0.2 ? 'created' : draw < 0.75 ? 'mapping' : 'reducing',
    killAfterCommits: 5 + Math.floor(random() * 100),
  };
}

interface Outcome {
  outcome: string;
  /** Replication bytes the primary had and the replica did not, when the primary died (a lower bound). */
  lostBytes: number;
  /** Map commits the old primary had and the promoted replica did not. */
  lostCommits: number;
  detail: string;
}

async function info(port: number, section: string): Promise<string> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.info(section);
  } finally {
    client.disconnect();
  }
}

const field = (text: string, name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);

async function runSchedule(schedule: Schedule): Promise<Outcome> {
  const setup = await startSentinelSetup({ replicationDelayMs: schedule.delayMs, failoverTimeoutMs: 180_000 });
  const observer = createRedisClient(parseRedisUrl(setup.url), { name: 'redmap:soak-observer' });
  observer.on('error', () => {});
  const inputs = lines(300, schedule.seed);
  const env = {
    REDIS_URL: setup.url,
    REDMAP_TEST_DELAY_MS: '60',
    ...(schedule.phase === 'reducing' && { REDMAP_TEST_REDUCE_DELAY_MS: '100' }),
  };
  const workers = startSupervisedWorkers(JOB, 2, env, [...FAST_FAILOVER, '--concurrency', '1']);
  try {
    await workers.ready(2);
    const submitted = startCli(['submit', JOB, '-', '--chunk-size', '2', '--max-stalls', '10', '--wait', '--quiet'], {
      env,
      stdinOpen: true,
      timeoutMs: 240_000,
    });
    submitted.stdin.end(`${inputs.join('\n')}\n`);
    const runId = await waitFor('the run to be created', async () => (await observer.zrange(runsIndexKey('redmap'), '0', '0'))[0], {
      intervalMs: 10,
    });
    const committed = runKeys('redmap', runId).committed;
    if (schedule.phase === 'mapping') {
      await waitFor('the map commits to kill after', async () => (await observer.scard(committed)) >= schedule.killAfterCommits, {
        intervalMs: 10,
        timeoutMs: 120_000,
      });
    } else if (schedule.phase === 'reducing') {
      await waitFor('the run to reduce', async () => (await readRunRecord(observer, 'redmap', runId))?.state === 'reducing', {
        intervalMs: 10,
        timeoutMs: 120_000,
      });
    }
    const commitsBefore = await observer.scard(committed);
    const primaryOffset = field(await info(setup.primary.port, 'replication'), 'master_repl_offset');
    await setup.primary.kill9();
    await setup.replicationRelay!.close(); // what it still held never reaches the replica
    const replicaOffset = field(await info(setup.replica.port, 'replication'), 'slave_repl_offset');
    await setup.waitForFailover(setup.primary.port, 30_000);
    const commitsAfter = await waitFor('the promoted replica to answer', async () => {
      const client = new Redis(setup.replica.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
      try {
        return String(await client.scard(committed));
      } finally {
        client.disconnect();
      }
    });
    const result = await submitted.result;
    const lost = { lostBytes: Math.max(0, primaryOffset - replicaOffset), lostCommits: commitsBefore - Number(commitsAfter) };
    const said = result.stderr.trim().split('\n').pop() ?? '';
    if (result.code === 0) {
      const truth = wordCountLines(inputs);
      if (result.stdout === truth) return { outcome: 'done and exact', ...lost, detail: '' };
      // Kept for a look: what the run printed, the independent count, and what the workers logged.
      const kept = `test-output/soak/seed-${schedule.seed}`;
      writeFileSync(`${kept}.printed.txt`, result.stdout);
      writeFileSync(`${kept}.truth.txt`, truth);
      writeFileSync(`${kept}.workers.log`, workers.printed().stderr);
      return { outcome: 'DONE AND WRONG', ...lost, detail: `stdout differs from the independent count; see ${kept}.*` };
    }
    if (result.code === 6) return { outcome: 'lost (exit 6)', ...lost, detail: said };
    return { outcome: `exit ${result.code}`, ...lost, detail: said };
  } finally {
    await workers.stop();
    observer.disconnect();
    await setup.stop();
  }
}

describe('lost writes on purpose: failovers with the replica behind, --min-replicas 0', () => {
  it(`${SCHEDULES} seeded schedules from seed ${SEED}: each run ends done and exact, or lost and said; never done and wrong`, async () => {
    const counts = new Map<string, number>();
    const report: string[] = [`seed ${SEED}, ${SCHEDULES} schedules, ${new Date().toISOString()}`];
    mkdirSync('test-output/soak', { recursive: true });
    for (let i = 0; i < SCHEDULES; i++) {
      const schedule = scheduleOf(SEED + i);
      const outcome = await runSchedule(schedule);
      counts.set(outcome.outcome, (counts.get(outcome.outcome) ?? 0) + 1);
      const line =
        `seed ${schedule.seed}: replica ${schedule.delayMs} ms behind, kill while ${schedule.phase}` +
        `${schedule.phase === 'mapping' ? ` after ${schedule.killAfterCommits} commits` : ''}: ${outcome.outcome}; ` +
        `lost ${outcome.lostBytes} bytes of replication, ${outcome.lostCommits} map commits${outcome.detail ? `; ${outcome.detail}` : ''}`;
      report.push(line);
      console.log(line);
      writeFileSync(REPORT, `${report.join('\n')}\n`);
    }
    const summary = [...counts].map(([outcome, count]) => `${outcome}: ${count}`).join(', ');
    report.push(`outcomes: ${summary}`);
    console.log(`outcomes: ${summary}`);
    writeFileSync(REPORT, `${report.join('\n')}\n`);
    expect(counts.get('DONE AND WRONG') ?? 0, report.join('\n')).toBe(0);
    expect(
      [...counts.keys()].every((outcome) => outcome === 'done and exact' || outcome === 'lost (exit 6)'),
      report.join('\n'),
    ).toBe(true);
  });
});
