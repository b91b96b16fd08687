/**
 * The public view of a run, as `status --json`, `submitRun(...).status()` and the
 * dashboard show it. Built from the O(1) snapshot.
 */
import type { RunSnapshot } from './run-record.js';
import { TERMINAL_STATES, type RunState } from './run-state.js';

/** A step refused this recently means the run is waiting for its replicas now. */
const REPLICA_WAIT_SHOWN_MS = 10_000;

export interface RunStatus {
  id: string;
  job: string;
  /** The job version (fingerprint) whose workers run this run's tasks. */
  version: string;
  state: RunState;
  generation: number;
  sealed: boolean;
  /** Map tasks; `retried` counts attempts retried and `duplicates` commits ignored, map and reduce alike. */
  tasks: { total: number | null; committed: number; failed: number; retried: number; duplicates: number };
  items: { total: number | null; done: number };
  partitions: { total: number; reduced: number };
  /** Replicas that confirm each step (minReplicas), and whether steps wait for them now. */
  replicas: { required: number; waiting: boolean };
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
}

export function toRunStatus(snapshot: RunSnapshot): RunStatus {
  return {
    id: snapshot.id,
    job: snapshot.job,
    version: snapshot.fingerprint,
    state: snapshot.state,
    generation: snapshot.generation,
    sealed: snapshot.sealed,
    tasks: {
      total: snapshot.sealed ? snapshot.totalTasks : null,
      committed: snapshot.committedTasks,
      failed: snapshot.failedTasks,
      retried: snapshot.retries,
      duplicates: snapshot.duplicates,
    },
    items: { total: snapshot.items ?? null, done: snapshot.itemsDone },
    partitions: { total: snapshot.options.partitions, reduced: snapshot.reducedPartitions },
    replicas: {
      required: snapshot.options.minReplicas,
      waiting:
        !TERMINAL_STATES.has(snapshot.state) &&
        snapshot.replicasWaitAt !== undefined &&
        Date.now() - snapshot.replicasWaitAt < REPLICA_WAIT_SHOWN_MS,
    },
    createdAt: new Date(snapshot.createdAt).toISOString(),
    finishedAt: snapshot.finishedAt === undefined ? null : new Date(snapshot.finishedAt).toISOString(),
    error: snapshot.error ?? null,
  };
}

/** The status of a run whose state vanished while a client waited for it. */
export function lostRunStatus(id: string, last: RunStatus | undefined): RunStatus {
  const base: RunStatus = last ?? {
    id,
    job: '',
    version: '',
    state: 'lost',
    generation: 0,
    sealed: false,
    tasks: { total: null, committed: 0, failed: 0, retried: 0, duplicates: 0 },
    items: { total: null, done: 0 },
    partitions: { total: 0, reduced: 0 },
    replicas: { required: 0, waiting: false },
    createdAt: new Date(0).toISOString(),
    finishedAt: null,
    error: null,
  };
  return { ...base, state: 'lost', error: 'the run state vanished from Redis (restarted without persistence, flushed, or cleaned)' };
}
