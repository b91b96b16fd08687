/**
 * Which Redis a command uses when none is configured: the local default if it answers,
 * else a private redis-server whose AOF stays in the cache folder and is reused later.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCliRedis } from '../../cli/redis-resolution.js';
import { readEnvironment } from '../../shared/config.js';
import { freePort } from '../support/redis-server.js';
import { redisUrl } from '../support/test-redis.js';

const noRedisConfigured = readEnvironment({});

describe('with no Redis configured', () => {
  it('uses the local default when it answers, and says so', async () => {
    const said: string[] = [];
    const redis = await resolveCliRedis(noRedisConfigured, {
      flags: {},
      mayStartPrivate: true,
      connectionName: 'test',
      localDefault: redisUrl(),
      say: (line) => said.push(line),
    });
    expect(redis.source).toBe('the local default');
    expect(redis.url).toBe(redisUrl());
    expect(said).toEqual([]);
    await redis.client.quit();
  });

  it('starts a private redis-server with AOF in the cache folder, then reuses it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'redmap-cache-')), 'redis');
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const said: string[] = [];
    const options = { flags: {}, connectionName: 'test', localDefault: closed, privateDir: dir, say: (line: string) => said.push(line) };

    await expect(resolveCliRedis(noRedisConfigured, { ...options, mayStartPrivate: false })).rejects.toThrow(
      /no Redis answers at .* and REDIS_URL is not set/,
    );

    const first = await resolveCliRedis(noRedisConfigured, { ...options, mayStartPrivate: true });
    try {
      expect(said[0]).toMatch(
        /started a private redis-server on 127\.0\.0\.1:\d+ \(data in .*; it keeps running so status, failed and retry work later/,
      );
      expect(await first.client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await first.client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await first.client.config('GET', 'dir')).toEqual(['dir', dir]);
      await first.client.set('survives', '1');
      const { port } = JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8')) as { port: number };

      const second = await resolveCliRedis(noRedisConfigured, { ...options, mayStartPrivate: false });
      expect(second.url).toBe(`redis://127.0.0.1:${port}`);
      expect(await second.client.get('survives')).toBe('1');
      expect(said).toHaveLength(1);
      await second.client.quit();
      expect(existsSync(join(dir, 'appendonlydir'))).toBe(true);
    } finally {
      // SHUTDOWN never gets a reply; the client that sent it is dropped right after.
      first.client.shutdown('NOSAVE').catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      first.client.disconnect();
    }
  });
});
