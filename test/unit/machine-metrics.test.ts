import { describe, expect, it } from 'vitest';
import { MachineMetrics } from '../../cli/metrics/machine-metrics.js';
import { createWorkerMetrics } from '../../cli/metrics/worker-metrics.js';
import { countOf, parseMetrics, valueOf } from '../support/prometheus.js';

const map = { job: 'words', phase: 'map', runId: 'r1' } as const;

function workerThatRan(tasks: number, inFlight: number) {
  const metrics = createWorkerMetrics();
  for (let i = 0; i < tasks; i++) {
    metrics.observer.taskStarted!(map);
    metrics.observer.itemsMapped!({ ...map, items: 10 });
    metrics.observer.taskEnded!({ ...map, outcome: 'committed', durationMs: 20 });
  }
  metrics.observer.taskEnded!({ ...map, outcome: 'retried', durationMs: 5 });
  metrics.observer.taskEnded!({ ...map, outcome: 'duplicate', durationMs: 5 });
  for (let i = 0; i < inFlight; i++) metrics.observer.mapCallStarted!(map);
  metrics.observer.redisRoundTrip!({ seconds: 0.0004 });
  return metrics;
}

describe("a machine's metrics", () => {
  it('add up the worker processes: counters, histograms and calls in flight', async () => {
    const machine = new MachineMetrics();
    machine.update(101, await workerThatRan(3, 1).snapshot());
    machine.update(102, await workerThatRan(4, 2).snapshot());
    const metrics = parseMetrics(await machine.render());
    const labels = { job: 'words', phase: 'map' };
    expect(valueOf(metrics, 'redmap_tasks_started_total', labels)).toBe(7);
    expect(valueOf(metrics, 'redmap_tasks_committed_total', labels)).toBe(7);
    expect(valueOf(metrics, 'redmap_tasks_retried_total', labels)).toBe(2);
    expect(valueOf(metrics, 'redmap_duplicate_commits_ignored_total', labels)).toBe(2);
    expect(valueOf(metrics, 'redmap_items_processed_total', { job: 'words' })).toBe(70);
    expect(valueOf(metrics, 'redmap_map_calls_in_flight', { job: 'words' })).toBe(3);
    expect(countOf(metrics, 'redmap_task_duration_seconds', { ...labels, outcome: 'committed' })).toBe(7);
    expect(countOf(metrics, 'redmap_redis_round_trip_seconds')).toBe(2);
    expect(valueOf(metrics, 'redmap_worker_processes')).toBe(2);
  });

  it('keep what a process that died counted, and drop what it was doing', async () => {
    const machine = new MachineMetrics();
    machine.update(101, await workerThatRan(3, 1).snapshot());
    machine.update(102, await workerThatRan(4, 2).snapshot());
    machine.retire(102);
    machine.update(103, await workerThatRan(1, 0).snapshot()); // its replacement
    machine.retire(101);
    const metrics = parseMetrics(await machine.render());
    expect(valueOf(metrics, 'redmap_tasks_committed_total', { job: 'words', phase: 'map' })).toBe(8);
    expect(countOf(metrics, 'redmap_task_duration_seconds', { outcome: 'committed' })).toBe(8);
    expect(valueOf(metrics, 'redmap_map_calls_in_flight', { job: 'words' })).toBe(0);
    expect(valueOf(metrics, 'redmap_worker_processes')).toBe(1);
    // Rendering twice merges the retired processes once, and changes nothing.
    expect(valueOf(parseMetrics(await machine.render()), 'redmap_tasks_committed_total', { job: 'words', phase: 'map' })).toBe(8);
  });

  it('ignore a heartbeat whose metrics are malformed', async () => {
    const machine = new MachineMetrics();
    machine.update(101, [{ name: 'redmap_tasks_started_total', values: 'oops' }]);
    machine.update(102, 'not metrics');
    expect(valueOf(parseMetrics(await machine.render()), 'redmap_worker_processes')).toBe(0);
  });
});
