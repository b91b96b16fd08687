/**
 * A job-wide slot taken for a map call is given back whatever happens before the call runs:
 * the run cancelled while its isolate loads, an isolate that cannot load the job. A slot
 * kept would be renewed for the life of the worker and lower every run's cap by one.
 */
import { afterEach, describe, expect } from 'vitest';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { jobLimiterKeys } from '../../shared/redis/redis-keys.js';
import { it } from '../support/fixtures.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/isolate-load.ts';

afterEach(() => {
  delete process.env.REDMAP_TEST_ISOLATE_LOAD;
});

describe('job-wide slots with --isolation thread', () => {
  it('a cancel while the call waits for its isolate gives the slot back at once', async ({ prefix, redis: client, workers, runs }) => {
    process.env.REDMAP_TEST_ISOLATE_LOAD = 'slow';
    const { job } = await loadJobFile(JOB);
    const slots = jobLimiterKeys(prefix, job.name).slots;
    await workers.start(job, { isolation: 'thread' });
    const run = await runs.submit(job, ['a b', 'c d', 'e f'], { chunkSize: 1 });
    // Admitted under the job's cap, now waiting 3 s for a thread to load the job.
    const leases = await waitFor('calls admitted under the job cap', async () => {
      const held = await client.zrange(slots, '0', '-1');
      return held.length > 0 ? held : undefined;
    });
    // A lease id is the holder's pid, then 96 random bits (16 base64url characters), then a counter.
    for (const lease of leases) expect(lease).toMatch(new RegExp(`^${process.pid}:[A-Za-z0-9_-]{16}:\\d+$`));
    await run.cancel();
    // Well within the 10 s a lease lives unrenewed: given back, not left to expire.
    await waitFor('the job slots to be given back', async () => (await client.zcard(slots)) === 0, 5000);
    expect((await run.status()).state).toBe('cancelled');
  });

  it('an isolate that cannot load the job gives every slot back; the run fails saying why', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    process.env.REDMAP_TEST_ISOLATE_LOAD = 'fail';
    const { job } = await loadJobFile(JOB);
    await workers.start(job, { isolation: 'thread' });
    const run = await runs.submit(job, ['a b', 'c d'], { chunkSize: 1, attempts: 1 });
    const status = await run.done();
    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/map task\(s\) failed for good/);
    // The run fails on its first task failed for good, while the other call may still be
    // giving its slot back; a leaked slot would be renewed forever, so wait well within the
    // 10 s a lease lives unrenewed.
    const slots = jobLimiterKeys(prefix, job.name).slots;
    await waitFor('every job slot to be given back', async () => (await client.zcard(slots)) === 0, 5000);
  });
});
