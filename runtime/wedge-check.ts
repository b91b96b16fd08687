/**
 * BullMQ has known reports of workers that stop fetching after a Redis failover: the process
 * lives, its connections look open, and tasks wait while it takes none. This check notices
 * exactly that (room for a task, tasks waiting in its queue, none taken for `idleAfterMs`)
 * and has the worker rebuilt: a new BullMQ worker on new connections takes over, the old one
 * finishes what it holds and closes.
 */
import type { Logger } from '../shared/logger.js';

export interface WedgeCheckTimings {
  /** How often to look. Default 5 s. */
  checkEveryMs: number;
  /** How long without taking a task, with room and tasks waiting, counts as wedged. Default 30 s. */
  idleAfterMs: number;
}

export const DEFAULT_WEDGE_CHECK_TIMINGS: WedgeCheckTimings = { checkEveryMs: 5000, idleAfterMs: 30_000 };

export interface WedgeCheckProbes {
  /** When the worker last took a task (or started, or was rebuilt). */
  lastTakenAt(): number;
  /** Whether it could take another task now (below its capacity, not draining). */
  hasRoom(): boolean;
  /** Tasks waiting in its queue right now. */
  tasksWaiting(): Promise<number>;
  /** Replaces the BullMQ worker and its connections. */
  rebuild(): Promise<void>;
}

export interface WedgeCheck {
  /** Times the worker was found wedged and rebuilt. */
  readonly rebuilds: number;
  stop(): void;
}

export function startWedgeCheck(probes: WedgeCheckProbes, timings: WedgeCheckTimings, log: Logger): WedgeCheck {
  let rebuilds = 0;
  let checking = false;
  const check = async (): Promise<void> => {
    const idleMs = Date.now() - probes.lastTakenAt();
    if (idleMs < timings.idleAfterMs || !probes.hasRoom()) return;
    const waiting = await probes.tasksWaiting();
    // Looked again after the round trip: a task taken meanwhile means it is not wedged.
    if (waiting === 0 || Date.now() - probes.lastTakenAt() < timings.idleAfterMs || !probes.hasRoom()) return;
    log.warn({ idleMs, waiting }, 'worker took no task while tasks wait: rebuilding its connections');
    rebuilds++;
    await probes.rebuild();
  };
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check()
      .catch((error: unknown) => log.warn({ err: error }, 'wedge check failed; trying again'))
      .finally(() => (checking = false));
  }, timings.checkEveryMs);
  timer.unref();
  return {
    get rebuilds() {
      return rebuilds;
    },
    stop: () => clearInterval(timer),
  };
}
