/**
 * The run record as stored in Redis, read back through a schema, and the O(1) snapshot
 * `status`, progress bars and waiting clients use.
 */
import { z } from 'zod';
import type { RedisClient } from '../redis/redis-connection.js';
import { loadLuaScript, runScript } from '../redis/lua-scripts.js';
import { runKeys } from '../redis/redis-keys.js';
import { runOptionsSchema, type RunOptions } from './run-options.js';
import { RUN_STATES, type RunState } from './run-state.js';

const count = z.coerce.number().int().min(0);
const timestamp = z.coerce.number().int().min(0).optional();

const runRecordSchema = z.object({
  job: z.string(),
  fingerprint: z.string(),
  inc: z.string(),
  queue: z.string(),
  state: z.enum(RUN_STATES),
  gen: count,
  sealed: z.enum(['0', '1']).transform((value) => value === '1'),
  total: count,
  extra: count,
  items: count.optional(),
  itemsDone: count,
  chunkSize: count,
  options: z.string().transform((text, ctx): RunOptions => {
    const parsed = runOptionsSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: `stored options are invalid: ${parsed.error.message}` });
    return z.NEVER;
  }),
  createdAt: count,
  producerAt: timestamp,
  sealedAt: timestamp,
  reducingAt: timestamp,
  finishedAt: timestamp,
  progressAt: timestamp,
  replicasWaitAt: timestamp,
  reduceDue: count.optional(),
  reduceEnqueued: count.optional(),
  error: z.string().optional(),
  host: z.string().optional(),
  retries: count.default(0),
  duplicates: count.default(0),
  mapCommits: count.default(0),
  reduceCommits: count.default(0),
});

export interface RunRecord {
  id: string;
  job: string;
  fingerprint: string;
  /** Tells this run from earlier runs of the same id (cleaned since); every task carries it. */
  incarnation: string;
  queue: string;
  state: RunState;
  generation: number;
  sealed: boolean;
  /** Map tasks as sealed: chunks, plus the extra items of chunks that were split. */
  totalTasks: number;
  items: number | undefined;
  itemsDone: number;
  chunkSize: number;
  options: RunOptions;
  createdAt: number;
  /** When the producer was last seen enqueueing (or holding back) while the run was submitting. */
  producerAt: number | undefined;
  sealedAt: number | undefined;
  reducingAt: number | undefined;
  finishedAt: number | undefined;
  progressAt: number | undefined;
  /** When a step of the run was last taken but not confirmed by its minReplicas replicas. */
  replicasWaitAt: number | undefined;
  reduceDue: number | undefined;
  reduceEnqueued: number | undefined;
  error: string | undefined;
  host: string | undefined;
  /** Attempts that failed and were retried (map and reduce), over every generation. */
  retries: number;
  /** Commits ignored because the task had already committed: redeliveries made visible. */
  duplicates: number;
  /** Map commits that adopted output, over every generation: an event count, so a task committed twice would show. */
  mapCommits: number;
  /** Partition commits, over every generation: an event count, so a partition reduced twice would show. */
  reduceCommits: number;
}

export function parseRunRecord(id: string, fields: Record<string, string>): RunRecord {
  const parsed = runRecordSchema.safeParse(fields);
  if (!parsed.success) {
    throw new Error(
      `run ${id}: stored record is invalid (${parsed.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')})`,
    );
  }
  const r = parsed.data;
  return {
    id,
    job: r.job,
    fingerprint: r.fingerprint,
    incarnation: r.inc,
    queue: r.queue,
    state: r.state,
    generation: r.gen,
    sealed: r.sealed,
    totalTasks: r.total + r.extra,
    items: r.items,
    itemsDone: r.itemsDone,
    chunkSize: r.chunkSize,
    options: r.options,
    createdAt: r.createdAt,
    producerAt: r.producerAt,
    sealedAt: r.sealedAt,
    reducingAt: r.reducingAt,
    finishedAt: r.finishedAt,
    progressAt: r.progressAt,
    replicasWaitAt: r.replicasWaitAt,
    reduceDue: r.reduceDue,
    reduceEnqueued: r.reduceEnqueued,
    error: r.error,
    host: r.host,
    retries: r.retries,
    duplicates: r.duplicates,
    mapCommits: r.mapCommits,
    reduceCommits: r.reduceCommits,
  };
}

export async function readRunRecord(client: RedisClient, prefix: string, runId: string): Promise<RunRecord | undefined> {
  const fields = await client.hgetall(runKeys(prefix, runId).meta);
  return Object.keys(fields).length === 0 ? undefined : parseRunRecord(runId, fields);
}

export interface RunSnapshot extends RunRecord {
  committedTasks: number;
  failedTasks: number;
  reducedPartitions: number;
}

const readRunScript = loadLuaScript(new URL('./read-run.lua', import.meta.url));

/** The record plus task counts, in one round trip whatever the size of the run. */
export async function readRunSnapshot(client: RedisClient, prefix: string, runId: string): Promise<RunSnapshot | undefined> {
  const keys = runKeys(prefix, runId);
  const reply = (await runScript(client, readRunScript, [keys.meta, keys.committed, keys.failed], [keys.generationPrefix])) as
    [string[], number, number, number] | [];
  if (reply.length === 0) return undefined;
  const [flat, committedTasks, failedTasks, reducedPartitions] = reply;
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return { ...parseRunRecord(runId, fields), committedTasks, failedTasks, reducedPartitions };
}
