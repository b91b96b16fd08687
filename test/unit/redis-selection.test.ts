import { describe, expect, it } from 'vitest';
import { selectRedisSource, type RedisProbes } from '../support/redis-selection.js';

function probes(env: NodeJS.ProcessEnv, found: { redisServer: boolean; docker: boolean }): RedisProbes & { asked: string[] } {
  const asked: string[] = [];
  return {
    env,
    asked,
    hasRedisServer: () => {
      asked.push('redis-server');
      return found.redisServer;
    },
    hasDockerEngine: () => {
      asked.push('docker');
      return found.docker;
    },
  };
}

describe('selectRedisSource', () => {
  it('uses REDIS_URL when it is set, without probing for anything else', () => {
    const probe = probes({ REDIS_URL: 'redis://ci:6379/1' }, { redisServer: true, docker: true });
    expect(selectRedisSource(probe)).toEqual({ kind: 'env', url: 'redis://ci:6379/1' });
    expect(probe.asked).toEqual([]);
  });

  it('starts redis-server when REDIS_URL is not set and redis-server is installed', () => {
    const probe = probes({}, { redisServer: true, docker: true });
    expect(selectRedisSource(probe)).toEqual({ kind: 'redis-server' });
    expect(probe.asked).toEqual(['redis-server']);
  });

  it('treats an empty REDIS_URL as unset', () => {
    expect(selectRedisSource(probes({ REDIS_URL: '' }, { redisServer: true, docker: false }))).toEqual({ kind: 'redis-server' });
  });

  it('uses testcontainers when there is no redis-server but a Docker engine answers', () => {
    const probe = probes({}, { redisServer: false, docker: true });
    expect(selectRedisSource(probe)).toEqual({ kind: 'testcontainers' });
    expect(probe.asked).toEqual(['redis-server', 'docker']);
  });

  it('says how to get Redis when there is no REDIS_URL, no redis-server and no Docker', () => {
    const source = selectRedisSource(probes({}, { redisServer: false, docker: false }));
    expect(source.kind).toBe('none');
    const message = source.kind === 'none' ? source.message : '';
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('redis-server');
    expect(message).toMatch(/Docker/);
  });
});
