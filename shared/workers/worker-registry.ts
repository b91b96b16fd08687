/**
 * The registry of worker processes. Each one records itself every few seconds (host, pid,
 * job version, tasks in flight), so `status` and the dashboard can say who serves a run and
 * why a run waits. Times are the Redis server's, so hosts with skewed clocks agree on who
 * was seen when; entries not renewed for a minute are dropped by the next heartbeat.
 */
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { loadLuaScript, runScript } from '../redis/lua-scripts.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { workerRegistryKeys } from '../redis/redis-keys.js';

const recordWorkerScript = loadLuaScript(new URL('./record-worker.lua', import.meta.url));
const listWorkersScript = loadLuaScript(new URL('./list-workers.lua', import.meta.url));

/** `status` and the dashboard show the workers seen within this window. */
export const RECENTLY_SEEN_MS = 10_000;
const HEARTBEAT_MS = 3000;
const FORGET_AFTER_MS = 60_000;
const MAX_LISTED = 1000;

const workerDescriptionSchema = z.object({
  host: z.string(),
  pid: z.number().int(),
  job: z.string(),
  /** The job version (fingerprint) the process runs; it serves only runs of that version. */
  version: z.string(),
  queue: z.string(),
  concurrency: z.number().int(),
  activeTasks: z.number().int().min(0),
  startedAt: z.number(),
});

export type WorkerDescription = z.infer<typeof workerDescriptionSchema>;

export interface SeenWorker extends WorkerDescription {
  id: string;
  /** How long ago its last heartbeat reached Redis, by the server's clock. */
  seenMsAgo: number;
}

export interface WorkerRegistration {
  /** Stops the heartbeat and removes the entry, so the process stops being listed at once. */
  stop(): Promise<void>;
}

/**
 * Records the process now and every few seconds until stopped. `describe` is called at each
 * heartbeat, so the tasks in flight are current. A heartbeat that fails (Redis restarting or
 * full) is only logged: being listed matters less than running tasks.
 */
export async function registerWorker(
  client: RedisClient,
  prefix: string,
  describe: () => WorkerDescription,
  log: Logger,
  intervalMs = HEARTBEAT_MS,
): Promise<WorkerRegistration> {
  const keys = workerRegistryKeys(prefix);
  const first = describe();
  const id = `${first.host}:${first.pid}:${first.queue}`;
  const beat = async (): Promise<void> => {
    try {
      await runScript(client, recordWorkerScript, [keys.seen, keys.info], [id, JSON.stringify(describe()), FORGET_AFTER_MS]);
    } catch (error) {
      log.debug({ err: error }, 'worker heartbeat failed; the registry may not list this process for a while');
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await client
        .multi()
        .zrem(keys.seen, id)
        .hdel(keys.info, id)
        .exec()
        .catch(() => {});
    },
  };
}

/** The worker processes seen within `withinMs`, most recently seen first. */
export async function listWorkers(client: RedisClient, prefix: string, withinMs = RECENTLY_SEEN_MS): Promise<SeenWorker[]> {
  const keys = workerRegistryKeys(prefix);
  const [now, seen, infos] = (await runScript(client, listWorkersScript, [keys.seen, keys.info], [withinMs, MAX_LISTED])) as [
    number,
    string[],
    Array<string | null>,
  ];
  const workers: SeenWorker[] = [];
  infos.forEach((text, i) => {
    const parsed = text === null ? undefined : workerDescriptionSchema.safeParse(safeJson(text));
    if (!parsed?.success) return; // removed between the two reads, or written by another version of redmap
    workers.push({ ...parsed.data, id: seen[i * 2]!, seenMsAgo: Math.max(0, now - Number(seen[i * 2 + 1])) });
  });
  return workers;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
