/**
 * A map call that blocks its worker's event loop (a synchronous loop) cannot renew its
 * limiter lease from that thread. Without isolation, past the 10 s lease its slot is lost
 * while it still runs, and one more call may start elsewhere: the bound the README states.
 * With --isolation thread the call runs in an isolate, the worker's own thread keeps
 * renewing the lease, and the cap holds throughout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { LEASE_MS } from '../../worker/limits/limiter.js';
import { runCli } from '../support/cli.js';
import { readLedger, scratch, startSupervisedWorkers } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { greatestOverlap, type CallSpan } from '../support/overlap.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';

const JOB = 'test/fixtures/jobs/timed-calls.ts';
const BLOCK_MS = LEASE_MS + 3000;

/**
 * Runs the blocking call first, in a run of its own, and the eight short calls in a second run
 * of the same job (the cap is job-wide) submitted only once the blocking call has started:
 * submitted together, the short calls could take the one slot first and all end before the
 * blocking call began, leaving nothing to run beside it (seen under CI load).
 */
async function runBlockingCall(prefix: string, isolation: 'none' | 'thread'): Promise<Array<CallSpan & { item: string }>> {
  const { dir, ledger } = scratch();
  const inFlight = join(dir, 'in-flight.log');
  const env = {
    REDIS_URL: redisUrl(),
    REDMAP_PREFIX: prefix,
    REDMAP_TEST_JOB_CAP: '1',
    REDMAP_TEST_LOG: ledger,
    REDMAP_TEST_IN_FLIGHT: inFlight,
    REDMAP_TEST_DELAY_MS: '300',
  };
  const workers = startSupervisedWorkers(JOB, 2, env, ['--concurrency', '1', '--isolation', isolation]);
  const submit = (inputs: string[]) =>
    runCli(['submit', JOB, ...inputs, '--chunk-size', '1', '--wait', '--quiet'], { env, timeoutMs: 120_000 });
  try {
    await workers.ready(2);
    const blockingRun = submit([`block:${BLOCK_MS}`]);
    await waitFor('the blocking call to start', () => {
      try {
        return readFileSync(inFlight, 'utf8').includes('+');
      } catch {
        return false;
      }
    });
    const shortRun = submit(Array.from({ length: 8 }, (_, i) => `x${i}`));
    for (const result of await Promise.all([blockingRun, shortRun])) expect(result.code, result.stderr).toBe(0);
    return readLedger(ledger) as unknown as Array<CallSpan & { item: string }>;
  } finally {
    await workers.stop();
  }
}

describe('a map call that blocks its event loop past the lease, under a job cap of 1', () => {
  it('without isolation: loses its slot after the lease, so one more call runs beside it, never sooner', async ({ prefix }) => {
    const calls = await runBlockingCall(prefix, 'none');
    const blocking = calls.find((call) => call.item.startsWith('block:'))!;
    const beside = calls.filter((call) => call !== blocking && call.start < blocking.end && call.end > blocking.start);
    // The other calls waited for the lease, then ran one at a time beside the blocked call.
    expect(beside.length).toBeGreaterThan(0);
    for (const call of beside) expect(call.start - blocking.start).toBeGreaterThanOrEqual(LEASE_MS - 100);
    expect(greatestOverlap(calls)).toBe(2);
  });

  it('with --isolation thread: its lease is renewed while it computes, and the cap holds', async ({ prefix }) => {
    const calls = await runBlockingCall(prefix, 'thread');
    const blocking = calls.find((call) => call.item.startsWith('block:'))!;
    expect(blocking.end - blocking.start).toBeGreaterThanOrEqual(BLOCK_MS);
    expect(greatestOverlap(calls)).toBe(1);
  });
});
