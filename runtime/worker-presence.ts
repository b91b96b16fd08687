/**
 * What a running worker shows of itself besides its tasks: its entry in the worker registry
 * (for `status` and the dashboard) and, when an observer wants it, the Redis round trip it
 * sees (for metrics). Started once the worker serves; stopped before its connection closes.
 */
import { hostname } from 'node:os';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { probeRedisLatency } from './redis-latency.js';
import { registerWorker } from '../shared/workers/worker-registry.js';
import type { WorkerObserver } from '../shared/workers/worker-observer.js';

export interface PresenceOptions {
  client: RedisClient;
  prefix: string;
  job: string;
  fingerprint: string;
  queue: string;
  concurrency: number;
  activeTasks: () => number;
  observer: WorkerObserver | undefined;
  log: Logger;
}

export async function showWorkerPresence(options: PresenceOptions): Promise<{ stop(): Promise<void> }> {
  const { client, observer } = options;
  const startedAt = Date.now();
  const registration = await registerWorker(
    client,
    options.prefix,
    () => ({
      host: hostname(),
      pid: process.pid,
      job: options.job,
      version: options.fingerprint,
      queue: options.queue,
      concurrency: options.concurrency,
      activeTasks: options.activeTasks(),
      startedAt,
    }),
    options.log,
  );
  const report = observer?.redisRoundTrip;
  const probe = report && probeRedisLatency(client, (seconds) => report.call(observer, { seconds }));
  return {
    async stop() {
      probe?.stop();
      await registration.stop();
    },
  };
}
