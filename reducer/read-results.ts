/**
 * Reads a finished run's results in key order (UTF-8 byte order): each partition's list
 * is already sorted, so a k-way merge over them streams the whole result with one page
 * per partition in memory.
 */
import { decodeBatch } from '../shared/data/batches.js';
import { compareUtf8 } from '../shared/data/key-order.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { runKeys } from '../shared/redis/redis-keys.js';

export interface ResultEntry {
  key: string;
  value: unknown;
}

/** Result batches per LRANGE. */
const PAGE = 8;

export async function* readResults(
  client: RedisClient,
  prefix: string,
  runId: string,
  generation: number,
  partitions: number,
): AsyncGenerator<ResultEntry> {
  const keys = runKeys(prefix, runId);
  const cursors = await Promise.all(
    Array.from({ length: partitions }, (_, p) => PartitionCursor.open(client, keys.results(generation, p))),
  );
  const heads = cursors.filter((cursor) => !cursor.done);
  while (heads.length > 0) {
    let smallest = 0;
    for (let i = 1; i < heads.length; i++) {
      if (compareUtf8(heads[i]!.key, heads[smallest]!.key) < 0) smallest = i;
    }
    const cursor = heads[smallest]!;
    yield { key: cursor.key, value: cursor.value };
    await cursor.advance();
    if (cursor.done) heads.splice(smallest, 1);
  }
}

class PartitionCursor {
  private pairs: Array<[string, unknown]> = [];
  private index = 0;
  private nextBatch = 0;
  done = false;

  private constructor(
    private readonly client: RedisClient,
    private readonly listKey: string,
  ) {}

  static async open(client: RedisClient, listKey: string): Promise<PartitionCursor> {
    const cursor = new PartitionCursor(client, listKey);
    await cursor.fill();
    return cursor;
  }

  get key(): string {
    return this.pairs[this.index]![0];
  }

  get value(): unknown {
    return this.pairs[this.index]![1];
  }

  async advance(): Promise<void> {
    this.index++;
    if (this.index >= this.pairs.length) await this.fill();
  }

  private async fill(): Promise<void> {
    this.pairs = [];
    this.index = 0;
    while (this.pairs.length === 0) {
      const batches = await this.client.lrange(this.listKey, this.nextBatch, this.nextBatch + PAGE - 1);
      if (batches.length === 0) {
        this.done = true;
        return;
      }
      this.nextBatch += batches.length;
      for (const batch of batches) for (const pair of decodeBatch(batch, this.listKey)) this.pairs.push(pair);
    }
  }
}
