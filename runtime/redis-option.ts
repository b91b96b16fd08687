/**
 * The `redis` option of the public API: a URL, parsed settings, or nothing (REDIS_URL,
 * else the local default).
 */
import { readEnvironment, redisSettingsFrom } from '../shared/config.js';
import { DEFAULT_REDIS_URL, parseRedisUrl, type RedisSettings } from '../shared/redis/redis-connection.js';

export type RedisOption = string | RedisSettings;

export function resolveRedis(option: RedisOption | undefined): RedisSettings {
  if (typeof option === 'object') return option;
  const environment = readEnvironment();
  if (typeof option === 'string') {
    const settings = parseRedisUrl(option);
    return {
      ...settings,
      password: settings.password ?? environment.redisPassword,
      caFile: environment.redisCaFile,
      ...(settings.sentinel && { sentinelPassword: environment.redisSentinelPassword }),
    };
  }
  return redisSettingsFrom(environment, {}) ?? parseRedisUrl(DEFAULT_REDIS_URL);
}
