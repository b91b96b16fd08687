/**
 * The one polling helper of every suite: tests wait for an event with it, never with a
 * fixed sleep or a deadline loop of their own.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to wait before failing; default 30 s. */
  timeoutMs?: number;
  /** Pause between two probes; default 50 ms. */
  intervalMs?: number;
  /**
   * Take an error the probe throws as "not yet" (a server still starting) instead of failing
   * at once; the last one is named in the timeout's message.
   */
  retryErrors?: boolean;
}

/** What a probe says while the event has not happened yet. */
type NotYet = undefined | null | false;

/**
 * Asks `probe` until it answers (anything but undefined, null or false) and returns the
 * answer. A probe that throws ends the wait at once (so it can stop a wait that can no longer
 * succeed, such as for a process that exited), unless `retryErrors`. After the timeout it
 * fails with "timed out after N s waiting for WHAT"; `what` may be a function, called then,
 * to say what the probe saw last. A number is the timeout in milliseconds.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | NotYet | Promise<T | NotYet>,
  options: WaitOptions | number = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50, retryErrors = false } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    // Read before the probe: the last probe starts after the deadline, however late this
    // process was scheduled, so an event that happened in time is never missed.
    const late = Date.now() >= deadline;
    try {
      const answer = await probe();
      if (answer !== undefined && answer !== null && answer !== false) return answer;
    } catch (error) {
      if (!retryErrors) throw error;
      lastError = error;
    }
    if (late) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      const named = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${named}${why}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
