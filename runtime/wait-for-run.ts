/**
 * Waits for a run to end, reading its O(1) snapshot a few times a second, and at once when
 * the control channel names the run (it ended, was cancelled or failed). A run whose
 * state vanishes (Redis restarted without persistence, flushed, or cleaned) ends `lost`
 * instead of leaving the caller waiting forever, and a run stuck because Redis is full is
 * reported as such rather than waited on in silence.
 */
import { RedisError } from '../shared/errors.js';
import { duplicateClient, type RedisClient } from '../shared/redis/redis-connection.js';
import { controlChannel } from '../shared/redis/redis-keys.js';
import { parseControlMessage } from '../shared/run/run-control.js';
import { readRunSnapshot, type RunSnapshot } from '../shared/run/run-record.js';
import { TERMINAL_STATES } from '../shared/run/run-state.js';

export interface WaitOptions {
  /** The longest wait between two reads (default 250 ms); each wait is 1.5x the one before. */
  pollMs?: number;
  /** The first wait (default 10 ms), so a short run is noticed as soon as it ends. */
  firstPollMs?: number;
  onUpdate?(snapshot: RunSnapshot): void;
  signal?: AbortSignal;
}

/** A run with no progress for this long gets Redis's memory checked. */
const STUCK_AFTER_MS = 5000;

/** Resolves with the final snapshot, or undefined when the run's state vanished. */
export async function waitForRun(
  client: RedisClient,
  prefix: string,
  runId: string,
  options: WaitOptions = {},
): Promise<RunSnapshot | undefined> {
  // Polls fast at first (a short run is noticed as soon as it ends), then every pollMs.
  const maxPollMs = options.pollMs ?? 250;
  let pollMs = options.firstPollMs ?? 10;
  let progress = '';
  let progressAt = Date.now();
  let checkedMemoryAt = 0;
  const news = listenForNews(client, prefix, runId);
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const snapshot = await readRunSnapshot(client, prefix, runId);
      if (!snapshot) return undefined;
      options.onUpdate?.(snapshot);
      if (TERMINAL_STATES.has(snapshot.state)) return snapshot;
      const now = Date.now();
      const signature = `${snapshot.state}:${snapshot.committedTasks}:${snapshot.failedTasks}:${snapshot.reducedPartitions}:${snapshot.itemsDone}`;
      if (signature !== progress) {
        progress = signature;
        progressAt = now;
      } else if (now - progressAt > STUCK_AFTER_MS && now - checkedMemoryAt > STUCK_AFTER_MS) {
        checkedMemoryAt = now;
        await failIfRedisFull(client, runId);
      }
      await news.next(pollMs);
      pollMs = Math.min(maxPollMs, pollMs * 1.5);
    }
  } finally {
    news.close();
  }
}

/**
 * Control messages naming the run, as a sleep they cut short. Listening is a convenience:
 * a subscription that fails (a user without SUBSCRIBE rights) leaves plain polling.
 */
function listenForNews(client: RedisClient, prefix: string, runId: string): { next(ms: number): Promise<void>; close(): void } {
  let heard = false;
  let wake: (() => void) | undefined;
  const subscriber = duplicateClient(client, 'redmap:wait');
  subscriber.on('error', () => {});
  subscriber.on('message', (_channel: string, text: string) => {
    const message = parseControlMessage(text);
    if (message === undefined || !('run' in message) || message.run !== runId) return;
    heard = true;
    wake?.();
  });
  subscriber.subscribe(controlChannel(prefix)).catch(() => subscriber.disconnect());
  return {
    next(ms) {
      if (heard) {
        heard = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        wake = () => {
          clearTimeout(timer);
          done();
        };
        function done(): void {
          wake = undefined;
          heard = false;
          resolve();
        }
      });
    },
    close() {
      subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

async function failIfRedisFull(client: RedisClient, runId: string): Promise<void> {
  const info = await client.info('memory');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  const used = field('used_memory');
  const max = field('maxmemory');
  if (max === 0 || used < max) return;
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  throw new RedisError(
    'REDIS_OUT_OF_MEMORY',
    `Redis is out of memory (${mb(used)} used, maxmemory ${mb(max)}): run ${runId} is paused, nothing is half-committed. ` +
      `Raise maxmemory (CONFIG SET maxmemory ...) and it resumes by itself; follow it with: redmap status ${runId} --watch`,
  );
}
