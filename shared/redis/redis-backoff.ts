/**
 * Riding out a full Redis. With `maxmemory-policy noeviction` a full Redis refuses every
 * write that needs memory; redmap's scripts write nothing in that case (their first write
 * is the one that needs memory). A worker then says so once, waits with a growing delay
 * and tries again, instead of burning the task's attempts or spinning.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { isRedisFull } from './redis-connection.js';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export async function retryWhileRedisFull<T>(what: string, log: Logger, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await step();
    } catch (error) {
      if (!isRedisFull(error) || signal.aborted) throw error;
      const delayMs = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** tries);
      if (tries === 0 || delayMs === MAX_DELAY_MS) {
        log.error(
          { delayMs },
          `Redis is out of memory (maxmemory reached): ${what} waits and tries again; raise maxmemory or clean old runs`,
        );
      }
      // An abort ends the wait early; the next try then gives up on its first error.
      await sleep(delayMs, undefined, { signal }).catch(() => {});
    }
  }
}
