/**
 * Waits for a run to end, reading its O(1) snapshot a few times a second. A run whose
 * state vanishes (Redis restarted without persistence, flushed, or cleaned) ends `lost`
 * instead of leaving the caller waiting forever.
 */
import type { RedisClient } from '../shared/redis-connection.js';
import { readRunSnapshot, type RunSnapshot } from '../shared/run-record.js';
import { TERMINAL_STATES } from '../shared/run-state.js';

export interface WaitOptions {
  pollMs?: number;
  onUpdate?(snapshot: RunSnapshot): void;
  signal?: AbortSignal;
}

/** Resolves with the final snapshot, or undefined when the run's state vanished. */
export async function waitForRun(
  client: RedisClient,
  prefix: string,
  runId: string,
  options: WaitOptions = {},
): Promise<RunSnapshot | undefined> {
  const pollMs = options.pollMs ?? 200;
  for (;;) {
    options.signal?.throwIfAborted();
    const snapshot = await readRunSnapshot(client, prefix, runId);
    if (!snapshot) return undefined;
    options.onUpdate?.(snapshot);
    if (TERMINAL_STATES.has(snapshot.state)) return snapshot;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
