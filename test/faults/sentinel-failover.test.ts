/**
 * Redis through Sentinel: a primary, one replica and three Sentinels as real processes. The
 * primary gets kill -9 while submit still streams a word-count run's inputs, while the run
 * maps on 2 worker processes, or while it reduces; the Sentinels promote the replica, and the
 * old primary, started again, becomes the new one's replica. The run asks for --min-replicas 1,
 * so every step it relied on was on the promoted replica: workers, the waiting producer and
 * the dashboard follow the switch without a restart, every worker process takes tasks again,
 * and the run ends done and equal to an independent count within a stated bound. (Without
 * --min-replicas a run may instead end lost: `npm run soak:failover` counts how often.)
 */
import { describe, expect, it } from 'vitest';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { createRedisClient, parseRedisUrl } from '../../shared/redis/redis-connection.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runCli, startCli } from '../support/cli.js';
import { startDashboard } from '../support/dashboard.js';
import { callStarts, expectWithSchedule, FaultSchedule, readLedger, scratch, startSupervisedWorkers } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { wordCountLines } from '../support/ground-truth.js';
import { startSentinelSetup } from '../support/redis-sentinel.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const FAST_FAILOVER = ['--lock-duration', '2s', '--stalled-interval', '500ms', '--heartbeat-timeout', '5s'];
/** Sentinel's down-after (1 s) plus an election, with a margin for a loaded 2-core machine. */
const FAILOVER_BOUND_MS = 15_000;
/**
 * From the switch to the end of the run: the old primary's restart and full sync as the new
 * replica (steps wait for it meanwhile), then at most all of the run's work (300 map calls of
 * 60 ms on 2 workers: 9 s; 4 partitions), with a margin for a loaded 2-core machine.
 */
const FINISH_BOUND_MS = 60_000;

function lines(count: number, width = 6): string[] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: width }, (_, j) => `w${(i * 7 + j * 13) % 97}`).join(' '));
}

/** When the primary dies: while submit still streams the inputs, while the run maps, or while it reduces. */
type Phase = 'submitting' | 'mapping' | 'reducing';

async function failoverDuring(phase: Phase): Promise<void> {
  const schedule = new FaultSchedule(`sentinel failover during ${phase}`);
  const setup = await startSentinelSetup();
  const observer = createRedisClient(parseRedisUrl(setup.url), { name: 'redmap:test-observer' });
  observer.on('error', () => {});
  const { ledger } = scratch();
  const inputs = lines(300);
  // While reducing, each key takes 100 ms: the 4 partitions last seconds, so the kill lands among them.
  const env = {
    REDIS_URL: setup.url,
    REDMAP_TEST_DELAY_MS: '60',
    REDMAP_TEST_LOG: ledger,
    ...(phase === 'reducing' && { REDMAP_TEST_REDUCE_DELAY_MS: '100' }),
  };
  const workers = startSupervisedWorkers(JOB, 2, env, [...FAST_FAILOVER, '--concurrency', '1']);
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  try {
    await workers.ready(2);
    const pids = workers.children();
    dashboard = await startDashboard(env);
    schedule.note(`primary 127.0.0.1:${setup.primary.port}, replica :${setup.replica.port}, worker processes ${pids.join(', ')}`);
    const submitted = startCli(
      ['submit', JOB, '-', '--chunk-size', '2', '--max-stalls', '10', '--min-replicas', '1', '--wait', '--quiet'],
      {
        env,
        stdinOpen: true,
        timeoutMs: 170_000,
      },
    );
    // While submitting, the second half of the inputs is sent only once the primary is dead.
    const firstHalf = phase === 'submitting' ? inputs.slice(0, inputs.length / 2) : inputs;
    submitted.stdin.write(`${firstHalf.join('\n')}\n`);
    if (phase !== 'submitting') submitted.stdin.end();
    const runId = await waitFor('the run to be created', async () => (await observer.zrange(runsIndexKey('redmap'), '0', '0'))[0]);
    const committed = runKeys('redmap', runId).committed;
    if (phase !== 'reducing') await waitFor('some map commits', async () => ((await observer.scard(committed)) >= 10 ? true : undefined));
    else
      await waitFor('the run to reduce', async () => (await readRunRecord(observer, 'redmap', runId))?.state === 'reducing', {
        intervalMs: 20,
        timeoutMs: 120_000,
      });
    const record = await readRunRecord(observer, 'redmap', runId);
    const before = {
      state: record?.state,
      sealed: record?.sealed,
      committed: await observer.scard(committed),
      reduceCommits: record?.reduceCommits ?? 0,
    };

    const killedAt = Date.now();
    await setup.primary.kill9();
    schedule.note(
      `kill -9 of the primary with the run ${before.state}, ${before.committed} of ${inputs.length / 2} map tasks and ${before.reduceCommits} of 4 partitions committed`,
    );
    if (phase === 'submitting') submitted.stdin.end(`${inputs.slice(inputs.length / 2).join('\n')}\n`);
    const newPort = await setup.waitForFailover(setup.primary.port, FAILOVER_BOUND_MS);
    const switchedAt = Date.now();
    schedule.note(`the Sentinels name 127.0.0.1:${newPort} as the primary, ${switchedAt - killedAt} ms after the kill`);
    // The promoted primary has no replica until the old one comes back as its replica: the run's steps wait for it.
    await setup.primary.restart();
    expectWithSchedule(newPort, schedule).toBe(setup.replica.port);
    // The fault landed while the run was live: in its phase, with most of that phase still to do.
    expectWithSchedule(before.state, schedule).toBe(phase);
    if (phase === 'submitting') expectWithSchedule(before.sealed, schedule).toBe(false);
    if (phase === 'reducing') expectWithSchedule(before.reduceCommits, schedule).toBeLessThan(4);
    else expectWithSchedule(before.committed, schedule).toBeLessThan(inputs.length / 4);

    const result = await submitted.result;
    const finishedMs = Date.now() - switchedAt;
    schedule.note(`submit --wait exited ${result.code} ${finishedMs} ms after the switch: ${result.stderr.trim()}`);
    // Every worker process took tasks again on the new primary, none was restarted.
    const startsAfter = new Map(pids.map((pid) => [pid, 0]));
    for (const call of callStarts(readLedger(ledger))) {
      if (call.at > switchedAt && startsAfter.has(call.pid)) startsAfter.set(call.pid, startsAfter.get(call.pid)! + 1);
    }
    schedule.note(`map calls started after the switch, per worker process: ${JSON.stringify(Object.fromEntries(startsAfter))}`);
    const rebuilds = workers
      .printed()
      .stderr.split('\n')
      .filter((line) => line.includes('rebuilding its connections')).length;
    schedule.note(`workers found wedged and rebuilt: ${rebuilds}`);
    // Only map calls are recorded: after a switch during reducing there are none to count.
    if (phase !== 'reducing') {
      for (const [pid, count] of startsAfter) expectWithSchedule({ pid, count: count > 0 }, schedule).toEqual({ pid, count: true });
    }
    expectWithSchedule(workers.children().sort(), schedule).toEqual([...pids].sort());

    // With --min-replicas 1 nothing the run relied on was lost: done and exact, each partition committed once.
    expectWithSchedule(result.code, schedule).toBe(0);
    schedule.note('outcome: done and equal to the independent count');
    expectWithSchedule(result.stdout, schedule).toBe(wordCountLines(inputs));
    expectWithSchedule((await readRunRecord(observer, 'redmap', runId))?.reduceCommits, schedule).toBe(4);
    expectWithSchedule(finishedMs, schedule).toBeLessThan(FINISH_BOUND_MS);

    // status and the dashboard (started before the kill) read the run from the new primary.
    const status = await runCli(['status', runId], { env });
    schedule.note(`status: ${status.stdout.trim()}`);
    expectWithSchedule(status.stdout, schedule).toMatch(/state\s+done/);
    const shown = await waitFor('the dashboard to show the run', async () => {
      const response = await fetch(`${dashboard!.base}/api/runs/${runId}`).catch(() => undefined);
      return response?.ok ? ((await response.json()) as { state?: string; run?: { state?: string } }) : undefined;
    });
    schedule.note(`dashboard: ${JSON.stringify(shown).slice(0, 200)}`);
    expectWithSchedule(JSON.stringify(shown), schedule).toContain('"done"');
  } finally {
    await dashboard?.stop();
    await workers.stop();
    observer.disconnect();
    await setup.stop();
  }
  expect(schedule.toString()).toContain('outcome');
}

describe('Redis through Sentinel', () => {
  it('kill -9 of the primary while submit streams its inputs: the producer sends the rest to the promoted replica; done and exact', () =>
    failoverDuring('submitting'));

  it('kill -9 of the primary during mapping: workers, producer and dashboard follow the promoted replica; done and exact', () =>
    failoverDuring('mapping'));

  it('kill -9 of the primary during reducing: the partitions left are reduced on the promoted replica; done and exact', () =>
    failoverDuring('reducing'));
});
