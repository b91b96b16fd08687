/**
 * A PING every few seconds on a worker's own connection, timed: the Redis round trip its
 * tasks see, network and server queueing included. Reported to the observer as a metric.
 */
import type { RedisClient } from '../shared/redis/redis-connection.js';

const PROBE_MS = 5000;

export interface LatencyProbe {
  stop(): void;
}

export function probeRedisLatency(client: RedisClient, report: (seconds: number) => void, intervalMs = PROBE_MS): LatencyProbe {
  let probing = false;
  const probe = async (): Promise<void> => {
    if (probing) return; // a PING still unanswered (Redis restarting) is not measured twice
    probing = true;
    const started = process.hrtime.bigint();
    try {
      await client.ping();
      report(Number(process.hrtime.bigint() - started) / 1e9);
    } catch {
      // Unreachable Redis shows as an absent sample; the worker's own errors say why.
    } finally {
      probing = false;
    }
  };
  void probe();
  const timer = setInterval(() => void probe(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
