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
}
