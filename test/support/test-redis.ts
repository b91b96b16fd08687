/**
 * Per-test access to the suite's Redis: a key prefix derived from the test's name (so
 * tests never see each other's runs), and tracked connections.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, inject } from 'vitest';
import { release, track } from './resources.js';

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A prefix unique to the current test, readable in redis-cli. */
export function testPrefix(): string {
  const name = expect.getState().currentTestName ?? 'test';
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 24)
    .replace(/-+$/, '');
  const hash = createHash('sha1').update(`${name}:${process.hrtime.bigint()}`).digest('hex').slice(0, 6);
  return `t-${slug}-${hash}`;
}

export async function openClient(url = redisUrl()): Promise<Redis & { close(): Promise<void> }> {
  const client = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true });
  await client.connect();
  track(client, `Redis client to ${url}`);
  return Object.assign(client, {
    async close() {
      release(client);
      await client.quit().catch(() => client.disconnect());
    },
  });
}

/** Every key under a prefix, sorted. */
export function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  return keysMatching(client, `${prefix}:*`);
}

/** Every key matching a SCAN pattern, sorted. */
export async function keysMatching(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

/** Removes everything under a prefix. */
export async function wipePrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
}
