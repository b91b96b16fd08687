/**
 * Finding keys by pattern. SCAN walks one server's keyspace, so on a Redis Cluster it
 * walks every master in turn: a run's keys sit on one master, but which one depends on
 * the run, and the BullMQ keys of its tasks sit with its queue, possibly elsewhere.
 */
import { dataNodes, type RedisClient } from '../redis/redis-connection.js';

export async function* scanKeys(client: RedisClient, pattern: string): AsyncGenerator<string> {
  for (const node of dataNodes(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      yield* keys;
    } while (cursor !== '0');
  }
}
