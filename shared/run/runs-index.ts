/**
 * The index of runs by creation time, behind `runs` and `clean --older-than`. Entries of
 * runs whose record expired or was removed are dropped as they are met.
 */
import type { RedisClient } from '../redis/redis-connection.js';
import { runKeys, runsIndexKey } from '../redis/redis-keys.js';
import { parseRunRecord, type RunRecord } from './run-record.js';

export async function listRuns(client: RedisClient, prefix: string, options: { limit: number; before?: number }): Promise<RunRecord[]> {
  const max = options.before === undefined ? '+inf' : `(${options.before}`;
  const ids = await client.zrevrangebyscore(runsIndexKey(prefix), max, '-inf', 'LIMIT', 0, options.limit);
  // Sent all at once rather than in one pipeline: each run has its own slot, and on a
  // cluster they live on different masters (one connection still carries them in one go).
  const records = await Promise.all(ids.map((id) => client.hgetall(runKeys(prefix, id).meta)));
  const runs: RunRecord[] = [];
  const vanished: string[] = [];
  records.forEach((fields, i) => {
    const id = ids[i]!;
    if (Object.keys(fields).length === 0) vanished.push(id);
    else runs.push(parseRunRecord(id, fields));
  });
  if (vanished.length > 0) await client.zrem(runsIndexKey(prefix), ...vanished);
  return runs;
}

/** Ids of runs created before `before` (ms since the epoch), oldest first. */
export async function runIdsCreatedBefore(client: RedisClient, prefix: string, before: number): Promise<string[]> {
  return client.zrangebyscore(runsIndexKey(prefix), '-inf', `(${before}`);
}
