/**
 * The index of runs by creation time, behind `runs` and `clean --older-than`. Entries of
 * runs whose record expired or was removed are dropped as they are met.
 */
import type { RedisClient } from './redis-connection.js';
import { runKeys, runsIndexKey } from './redis-keys.js';
import { parseRunRecord, type RunRecord } from './run-record.js';

export async function listRuns(client: RedisClient, prefix: string, options: { limit: number; before?: number }): Promise<RunRecord[]> {
  const max = options.before === undefined ? '+inf' : `(${options.before}`;
  const ids = await client.zrevrangebyscore(runsIndexKey(prefix), max, '-inf', 'LIMIT', 0, options.limit);
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.hgetall(runKeys(prefix, id).meta);
  const replies = (await pipeline.exec()) ?? [];
  const runs: RunRecord[] = [];
  const vanished: string[] = [];
  replies.forEach(([error, fields], i) => {
    const id = ids[i]!;
    if (error) throw error;
    if (Object.keys(fields as object).length === 0) vanished.push(id);
    else runs.push(parseRunRecord(id, fields as Record<string, string>));
  });
  if (vanished.length > 0) await client.zrem(runsIndexKey(prefix), ...vanished);
  return runs;
}

/** Ids of runs created before `before` (ms since the epoch), oldest first. */
export async function runIdsCreatedBefore(client: RedisClient, prefix: string, before: number): Promise<string[]> {
  return client.zrangebyscore(runsIndexKey(prefix), '-inf', `(${before}`);
}
