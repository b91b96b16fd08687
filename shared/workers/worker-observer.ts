/**
 * What a worker reports as it goes, for metrics and dashboards. Every hook is optional and
 * must not throw; the worker calls them inline, so they must be cheap.
 */
export type TaskPhase = 'map' | 'reduce';

/**
 * How one attempt of a task ended: committed (or finished the run), found its work already
 * committed (duplicate), had nothing to do (skipped), was split into single items, failed
 * and will be retried, failed for good, was handed back to the queue, or was refused
 * (a task of another job version or with a malformed payload).
 */
export type TaskOutcome = 'committed' | 'finished' | 'duplicate' | 'skipped' | 'split' | 'retried' | 'failed' | 'released' | 'refused';

export interface TaskEvent {
  phase: TaskPhase;
  runId: string;
  job: string;
}

export interface WorkerObserver {
  taskStarted?(event: TaskEvent): void;
  taskEnded?(event: TaskEvent & { outcome: TaskOutcome; durationMs: number }): void;
  /** Input items a committed map task processed. */
  itemsMapped?(event: TaskEvent & { items: number }): void;
  mapCallStarted?(event: TaskEvent): void;
  mapCallEnded?(event: TaskEvent): void;
  /** A timed PING on the worker's connection, every few seconds. */
  redisRoundTrip?(event: { seconds: number }): void;
}

/** One observer that tells each of `observers`, in order. */
export function combineObservers(...observers: Array<WorkerObserver | undefined>): WorkerObserver {
  const present = observers.filter((observer): observer is WorkerObserver => observer !== undefined);
  const tell =
    <K extends keyof WorkerObserver>(hook: K) =>
    (event: Parameters<NonNullable<WorkerObserver[K]>>[0]): void => {
      for (const observer of present) (observer[hook] as ((event: unknown) => void) | undefined)?.call(observer, event);
    };
  return {
    taskStarted: tell('taskStarted'),
    taskEnded: tell('taskEnded'),
    itemsMapped: tell('itemsMapped'),
    mapCallStarted: tell('mapCallStarted'),
    mapCallEnded: tell('mapCallEnded'),
    redisRoundTrip: tell('redisRoundTrip'),
  };
}
