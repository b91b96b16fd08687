/**
 * How the test suites find Redis: REDIS_URL when set; else a redis-server started on a
 * free port; else testcontainers where a Docker engine runs (a laptop without Redis);
 * else a message that says how to get one.
 */
export type RedisSource =
  { kind: 'env'; url: string } | { kind: 'redis-server' } | { kind: 'testcontainers' } | { kind: 'none'; message: string };

export interface RedisProbes {
  env: NodeJS.ProcessEnv;
  hasRedisServer(): boolean;
  hasDockerEngine(): boolean;
}

export function selectRedisSource(probes: RedisProbes): RedisSource {
  const url = probes.env.REDIS_URL;
  if (url) return { kind: 'env', url };
  if (probes.hasRedisServer()) return { kind: 'redis-server' };
  if (probes.hasDockerEngine()) return { kind: 'testcontainers' };
  return {
    kind: 'none',
    message:
      'the tests need Redis: set REDIS_URL, install redis-server (apt install redis-server / brew install redis), ' +
      'or run a Docker engine for testcontainers',
  };
}
