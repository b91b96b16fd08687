/**
 * A client waiting for a run hears on the control channel that it ended, instead of
 * noticing at its next read of the run.
 */
import { describe, expect } from 'vitest';
import { defineJob, z } from '../../index.js';
import { waitForRun } from '../../runtime/wait-for-run.js';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { publishControl } from '../../shared/run/run-control.js';
import { it } from '../support/fixtures.js';

const job = defineJob({ name: 'wait-news', input: z.string(), map: () => [], reduce: () => 0 });

describe('waitForRun', () => {
  it('wakes when the control channel says the run ended, long before its next read', async ({ redis: client, prefix, runs }) => {
    // No worker serves it: the run stays in mapping until the test ends it by hand.
    const run = await runs.submit(job, ['a']);
    await run.close();
    const waiting = waitForRun(client, prefix, run.id, { firstPollMs: 600_000, pollMs: 600_000 });
    let settled = false;
    void waiting.finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled, 'the waiter read the run once and sleeps').toBe(false);

    await client.hset(runKeys(prefix, run.id).meta, 'state', 'cancelled');
    // Repeated, because the waiter's subscription is made in the background.
    const news = setInterval(() => void publishControl(client, prefix, { type: 'ended', run: run.id }), 100);
    try {
      expect((await waiting)?.state).toBe('cancelled');
    } finally {
      clearInterval(news);
    }
  }, 10_000);
});
