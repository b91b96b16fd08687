/**
 * Prometheus metrics of one worker process, fed by the worker observer. The process sends
 * them to its supervisor with each heartbeat; the supervisor adds up those of every process
 * on the machine (machine-metrics.ts) and serves them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskOutcome, WorkerObserver } from '../../shared/workers/worker-observer.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';

/** Outcomes each counter counts; the duration histogram keeps every outcome as a label. */
const COMMITTED: ReadonlySet<TaskOutcome> = new Set(['committed', 'finished']);

export interface WorkerMetrics {
  observer: WorkerObserver;
  snapshot(): Promise<MetricsSnapshot>;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const byTask = ['job', 'phase'] as const;
  const started = new Counter({ name: 'redmap_tasks_started_total', help: 'Task attempts started', labelNames: byTask, registers });
  const committed = new Counter({
    name: 'redmap_tasks_committed_total',
    help: 'Task attempts that committed their output (map) or their partition (reduce)',
    labelNames: byTask,
    registers,
  });
  const failed = new Counter({
    name: 'redmap_tasks_failed_total',
    help: 'Tasks that failed for good after their last attempt',
    labelNames: byTask,
    registers,
  });
  const retried = new Counter({
    name: 'redmap_tasks_retried_total',
    help: 'Task attempts that failed and are retried after a backoff',
    labelNames: byTask,
    registers,
  });
  const duplicates = new Counter({
    name: 'redmap_duplicate_commits_ignored_total',
    help: 'Commits ignored because their task had already committed (a redelivered task: at-least-once delivery, counted once)',
    labelNames: byTask,
    registers,
  });
  const duration = new Histogram({
    name: 'redmap_task_duration_seconds',
    help: 'Time from taking a task to its outcome, by outcome',
    labelNames: [...byTask, 'outcome'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 60, 300, 1800],
    registers,
  });
  const items = new Counter({
    name: 'redmap_items_processed_total',
    help: 'Input items of the map tasks that committed',
    labelNames: ['job'],
    registers,
  });
  const inFlight = new Gauge({
    name: 'redmap_map_calls_in_flight',
    help: 'Calls of map running now',
    labelNames: ['job'],
    registers,
  });
  const roundTrip = new Histogram({
    name: 'redmap_redis_round_trip_seconds',
    help: 'Round trip of a PING on the worker connection, every 5 s',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });

  const observer: WorkerObserver = {
    taskStarted: ({ job, phase }) => started.inc({ job, phase }),
    taskEnded({ job, phase, outcome, durationMs }) {
      duration.observe({ job, phase, outcome }, durationMs / 1000);
      if (COMMITTED.has(outcome)) committed.inc({ job, phase });
      else if (outcome === 'failed') failed.inc({ job, phase });
      else if (outcome === 'retried') retried.inc({ job, phase });
      else if (outcome === 'duplicate') duplicates.inc({ job, phase });
    },
    itemsMapped: ({ job, items: count }) => items.inc({ job }, count),
    mapCallStarted: ({ job }) => inFlight.inc({ job }),
    mapCallEnded: ({ job }) => inFlight.dec({ job }),
    redisRoundTrip: ({ seconds }) => roundTrip.observe(seconds),
  };
  return { observer, snapshot: async () => (await registry.getMetricsAsJSON()) as unknown as MetricsSnapshot };
}
