/**
 * Reads the committed map output of one partition into key groups, with bounded reads:
 * the index of contributing tasks first, then their batches a group at a time. Tasks are
 * read in input order, so `reduce` sees values in the order one process would give them.
 */
import { decodeBatch } from '../shared/data/batches.js';
import { KeyGroups } from '../shared/data/key-groups.js';
import { compareTaskIds } from '../shared/data/key-order.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { runKeys } from '../shared/redis/redis-keys.js';

/** Index entries per LRANGE, and batches per pipelined read. */
const INDEX_PAGE = 2000;
const BATCHES_PER_READ = 64;

interface Contribution {
  task: string;
  batches: number;
  /** The staged hash holding the batches, or '' when they were committed inline. */
  staged: string;
}

export async function readPartition(
  client: RedisClient,
  prefix: string,
  runId: string,
  partition: number,
  combine: ((a: unknown, b: unknown) => unknown) | undefined,
  signal: AbortSignal,
): Promise<KeyGroups> {
  const keys = runKeys(prefix, runId);
  const contributions = await readIndex(client, keys.outputIndex(partition));
  contributions.sort((a, b) => compareTaskIds(a.task, b.task));
  const groups = new KeyGroups(combine);
  let reads: Array<{ key: string; field: string }> = [];
  const flush = async (): Promise<void> => {
    signal.throwIfAborted();
    // Reads of one hash in a row go as one HMGET: one-item tasks commit a batch of a few
    // dozen bytes each, all in the partition's output hash, and ioredis costs more per
    // command than Redis does.
    const runs = runsByKey(reads);
    const pipeline = client.pipeline();
    for (const run of runs) pipeline.hmget(run[0]!.key, ...run.map((read) => read.field));
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, texts], r) => {
      if (error) throw error;
      runs[r]!.forEach(({ key, field }, i) => {
        const text = (texts as Array<string | null>)[i];
        if (typeof text !== 'string') throw new Error(`committed output ${key} ${field} is missing`);
        for (const [k, value] of decodeBatch(text, `${key} ${field}`)) groups.add(k, value);
      });
    });
    reads = [];
  };
  for (const { task, batches, staged } of contributions) {
    for (let b = 0; b < batches; b++) {
      reads.push(staged ? { key: staged, field: `${partition}#${b}` } : { key: keys.output(partition), field: `${task}#${b}` });
      if (reads.length >= BATCHES_PER_READ) await flush();
    }
  }
  await flush();
  return groups;
}

/** Consecutive reads grouped by the hash they read, order kept. */
function runsByKey(reads: Array<{ key: string; field: string }>): Array<Array<{ key: string; field: string }>> {
  const runs: Array<Array<{ key: string; field: string }>> = [];
  for (const read of reads) {
    const last = runs.at(-1);
    if (last && last[0]!.key === read.key) last.push(read);
    else runs.push([read]);
  }
  return runs;
}

async function readIndex(client: RedisClient, indexKey: string): Promise<Contribution[]> {
  const contributions: Contribution[] = [];
  for (let start = 0; ; start += INDEX_PAGE) {
    const entries = await client.lrange(indexKey, start, start + INDEX_PAGE - 1);
    for (const entry of entries) {
      const first = entry.indexOf('|');
      const second = entry.indexOf('|', first + 1);
      contributions.push({ task: entry.slice(0, first), batches: Number(entry.slice(first + 1, second)), staged: entry.slice(second + 1) });
    }
    if (entries.length < INDEX_PAGE) return contributions;
  }
}
