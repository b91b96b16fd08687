/**
 * In-process workers for integration tests, tracked so a test that forgets to close one fails.
 */
import { startWorker, type Job, type StartWorkerOptions, type WorkerHandle } from '../../index.js';
import { release, track } from './resources.js';
import { redisUrl } from './test-redis.js';

export async function startTestWorker(job: Job, options: StartWorkerOptions & { prefix: string }): Promise<WorkerHandle> {
  const handle = await startWorker(job, { redis: redisUrl(), concurrency: 4, ...options });
  track(handle, `worker for ${handle.queue}`);
  const close = handle.close.bind(handle);
  return Object.assign(handle, {
    async close(closeOptions?: { graceMs?: number }) {
      release(handle);
      await close(closeOptions);
    },
  });
}
