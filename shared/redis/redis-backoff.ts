/**
 * Riding out a Redis that cannot take a step for now, instead of burning the task's attempts
 * or spinning:
 * - full: with `maxmemory-policy noeviction` a full Redis refuses every write that needs
 *   memory; redmap's scripts write nothing in that case (their first write is the one that
 *   needs memory);
 * - unconfirmed: a run with minReplicas ≥ 1 took the step, but too few replicas confirmed it
 *   (confirmed-steps.ts); the step is sent again, and answers the same, until they do.
 * Either way the caller says so once, waits with a growing delay and tries again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { StepUnconfirmedError } from './confirmed-steps.js';
import { isRedisFull } from './redis-connection.js';

export type Refusal = 'full' | 'unconfirmed';

interface Backoff {
  firstDelayMs: number;
  maxDelayMs: number;
  message: (what: string) => string;
}

const WHEN_FULL: Backoff = {
  firstDelayMs: 1000,
  maxDelayMs: 30_000,
  message: (what) => `Redis is out of memory (maxmemory reached): ${what} waits and tries again; raise maxmemory or clean old runs`,
};

const WHEN_UNCONFIRMED: Backoff = {
  firstDelayMs: 250,
  maxDelayMs: 5000,
  message: (what) => `the run's replicas did not confirm a step (minReplicas): ${what} waits and tries again`,
};

/** Runs `step` until Redis takes it, riding out the `refusals` given (by default both). */
export async function retryWhileRedisRefuses<T>(
  what: string,
  log: Logger,
  signal: AbortSignal,
  step: () => Promise<T>,
  refusals: readonly Refusal[] = ['full', 'unconfirmed'],
): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await step();
    } catch (error) {
      const backoff = backoffFor(error, refusals);
      if (backoff === undefined || signal.aborted) throw error;
      const delayMs = Math.min(backoff.maxDelayMs, backoff.firstDelayMs * 2 ** tries);
      if (tries === 0 || delayMs === backoff.maxDelayMs) log.error({ delayMs, err: error }, backoff.message(what));
      // An abort ends the wait early; the next try then gives up on its first error.
      await sleep(delayMs, undefined, { signal }).catch(() => {});
    }
  }
}

function backoffFor(error: unknown, refusals: readonly Refusal[]): Backoff | undefined {
  if (isRedisFull(error)) return refusals.includes('full') ? WHEN_FULL : undefined;
  if (error instanceof StepUnconfirmedError) return refusals.includes('unconfirmed') ? WHEN_UNCONFIRMED : undefined;
  return undefined;
}
