/**
 * The documented exception to a cap: a worker frozen (SIGSTOP) past its lease keeps the calls
 * it had started, while its slots expire and go to other workers. Measured from the calls'
 * own start and end times: how far above the cap the calls in flight go, and for how long.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { LEASE_MS } from '../../worker/limits/limiter.js';
import { jobLimiterKeys } from '../../shared/redis/redis-keys.js';
import { startCli } from '../support/cli.js';
import { readLedger, scratch, signal, startSupervisedWorkers } from '../support/faults.js';
import { leaseExpiries } from '../support/limiter-steps.js';
import { greatestOverlap, type CallSpan } from '../support/overlap.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/timed-calls.ts';
const CAP = 4;
/** The frozen worker's concurrency: the most slots it can hold, and so the most it can add. */
const VICTIM_CONCURRENCY = 3;

interface Call extends CallSpan {
  pid: number;
}

/** The state letter of a process in /proc (T: stopped), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Milliseconds during which more than `cap` calls ran at once. */
function timeAboveCap(calls: readonly CallSpan[], cap: number): number {
  const events = calls.flatMap((call) => [
    { at: call.start, delta: 1 },
    { at: call.end, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let above = 0;
  let since = 0;
  for (const event of events) {
    if (running > cap) above += event.at - since;
    running += event.delta;
    since = event.at;
  }
  return above;
}

describe('a worker paused past its lease', () => {
  it('adds at most its own concurrency to the cap, until it resumes; the run finishes correct', async ({ redis: client, prefix }) => {
    const { dir, ledger } = scratch();
    const inFlightMarks = join(dir, 'in-flight.log');
    const env = {
      REDIS_URL: redisUrl(),
      REDMAP_PREFIX: prefix,
      REDMAP_TEST_LOG: ledger,
      REDMAP_TEST_IN_FLIGHT: inFlightMarks,
      REDMAP_TEST_JOB_CAP: String(CAP),
      REDMAP_TEST_DELAY_MS: '500',
    };
    // The process to freeze starts alone, so it soon holds all its slots; two more, which can
    // fill the whole cap without it, start once it is frozen.
    const victimWorker = startSupervisedWorkers(JOB, 1, env, ['--concurrency', String(VICTIM_CONCURRENCY)]);
    let others: ReturnType<typeof startSupervisedWorkers> | undefined;
    let victim = 0;
    try {
      await victimWorker.ready(1);
      victim = victimWorker.children()[0]!;
      const items = Array.from({ length: 100 }, (_, i) => `x${i}`);
      const running = startCli(['submit', JOB, ...items, '--chunk-size', '1', '--wait', '--quiet'], { env });
      // Freeze it while it holds as many slots as it can (lease ids start with the holder's
      // pid). A slot is taken a moment before its call starts and given back a moment after
      // it ends, so the signal may land in between: once frozen, it must also have all its
      // calls in flight (from the fixture's in-flight marks), or it resumes and the freeze is
      // tried again.
      const slots = jobLimiterKeys(prefix, 'test-timed-calls').slots;
      const held = async (): Promise<number> =>
        (await client.zrange(slots, '0', '-1')).filter((lease) => lease.startsWith(`${victim}:`)).length;
      /** Calls in flight by the fixture's marks: of the victim, or (`others`) of everyone else. */
      const inFlight = (whose: 'victim' | 'others'): number => {
        let marks: string[] = [];
        try {
          marks = readFileSync(inFlightMarks, 'utf8').split('\n').filter(Boolean);
        } catch {
          // no call has started yet
        }
        const counted = marks.filter((mark) => (mark.slice(1) === String(victim)) === (whose === 'victim'));
        return counted.filter((mark) => mark.startsWith('+')).length - counted.filter((mark) => mark.startsWith('-')).length;
      };
      let pausedAt = 0;
      // Tried until it lands; the test's own timeout bounds the tries, as before.
      await waitFor(
        'the victim frozen with all its slots held and its calls in flight',
        async () => {
          await waitFor('the victim to hold all its slots', async () => (await held()) === VICTIM_CONCURRENCY || undefined);
          signal(victim, 'SIGSTOP');
          pausedAt = Date.now();
          // Once stopped it writes no more marks: what they say now stays true until it resumes.
          await waitFor('the victim to stop', () => processState(victim) === 'T');
          if ((await held()) === VICTIM_CONCURRENCY && inFlight('victim') === VICTIM_CONCURRENCY) return true;
          signal(victim, 'SIGCONT');
          return undefined;
        },
        { timeoutMs: Infinity, intervalMs: 0 },
      );
      // Frozen, it renews nothing: the first of its leases to expire (Redis's clock) ends the cap's hold.
      const firstExpiry = (await leaseExpiries(client, slots, victim))[0]!;
      others = startSupervisedWorkers(JOB, 2, env, ['--concurrency', '3']);
      await others.ready(2);
      // Its leases expire within LEASE_MS; then the others fill the whole cap beside its calls.
      await waitFor(`the other workers to run ${CAP} calls beside the frozen ones`, () => inFlight('others') >= CAP, LEASE_MS + 30_000);
      // Read before the signal: the frozen calls' end times are then always after it.
      const resumedAt = Date.now();
      signal(victim, 'SIGCONT');

      const result = await running.result;
      expect(result.stdout).toBe('{"key":"x","value":100}\n');
      const calls = readLedger(ledger) as unknown as Call[];
      expect(calls).toHaveLength(100);
      const frozen = calls.filter((call) => call.pid === victim && call.start <= pausedAt && call.end >= resumedAt);
      expect(frozen).toHaveLength(VICTIM_CONCURRENCY);
      // Above the cap only from the first expiry of its leases to the end of its frozen calls:
      // before it, its slots still counted; after them, it is healthy again.
      const frozenEnded = Math.max(...frozen.map((call) => call.end));
      expect(greatestOverlap(calls, -Infinity, firstExpiry)).toBeLessThanOrEqual(CAP);
      expect(greatestOverlap(calls, frozenEnded)).toBeLessThanOrEqual(CAP);
      // Once the frozen worker's leases expired, the others filled the cap beside its calls.
      const overlap = greatestOverlap(calls);
      const relative = (at: number): number => at - pausedAt;
      const story = JSON.stringify({
        resumed: relative(resumedAt),
        frozen: frozen.map((call) => [relative(call.start), relative(call.end)]),
        others: calls
          .filter((call) => call.pid !== victim && call.end > pausedAt && call.start < resumedAt)
          .map((call) => [relative(call.start), relative(call.end)]),
      });
      // The others reached the cap beside the frozen calls (waited for above): never more.
      expect(overlap, story).toBe(CAP + VICTIM_CONCURRENCY);
      const above = timeAboveCap(calls, CAP);
      console.log(
        `paused worker: cap ${CAP}, frozen ${resumedAt - pausedAt} ms holding ${frozen.length} slots: greatest overlap ${overlap}, ` +
          `above the cap for ${above} ms (from ${firstExpiry - pausedAt} ms into the pause, when its first lease expired)`,
      );
    } finally {
      if (victim) signal(victim, 'SIGCONT');
      await Promise.all([victimWorker.stop(), others?.stop()]);
    }
  });
});
