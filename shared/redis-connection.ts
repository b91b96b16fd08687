/**
 * Connections to Redis: settings from a URL (redis:// or rediss://, ACL user, password
 * kept out of anything printed), ioredis clients tuned to ride out restarts, and the
 * preflight that refuses a Redis which would silently lose redmap's data.
 */
import { readFileSync } from 'node:fs';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { RedisError, UsageError } from './errors.js';

export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  /** CA bundle to verify the server certificate with (rediss:// only). */
  caFile: string | undefined;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Parses a redis:// or rediss:// URL. */
export function parseRedisUrl(url: string): RedisSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid Redis URL ${redactUrl(url)}: expected redis://[user[:password]@]host[:port][/db] or rediss://...`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`invalid Redis URL ${redactUrl(url)}: the scheme must be redis:// or rediss://`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`invalid Redis URL ${redactUrl(url)}: the database must be a number`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === 'rediss:',
    caFile: undefined,
  };
}

/**
 * The URL with any password replaced by `***`, safe to print. The last "@" ends the user
 * part, so a password holding an unencoded "@" or "/" is hidden whole.
 */
export function redactUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  const at = url.lastIndexOf('@');
  if (at < scheme.length) return url;
  const userInfo = url.slice(scheme.length, at);
  const colon = userInfo.indexOf(':');
  return colon === -1 ? url : `${scheme}${userInfo.slice(0, colon)}:***${url.slice(at)}`;
}

/** True when a URL carries a password. */
export function urlHasPassword(url: string): boolean {
  return redactUrl(url) !== url;
}

/** How the settings are shown to people: never with the password. */
export function describeRedis(settings: RedisSettings): string {
  const auth = settings.username ? `${settings.username}${settings.password ? ':***' : ''}@` : settings.password ? ':***@' : '';
  const db = settings.db ? `/${settings.db}` : '';
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${settings.tls ? 'rediss' : 'redis'}://${auth}${host}:${settings.port}${db}`;
}

export interface ClientOptions {
  /** Shown in CLIENT LIST, e.g. "redmap:worker". */
  name: string;
  /** Fail commands after this many reconnect attempts instead of queueing them forever. */
  maxRetriesPerRequest?: number | null;
}

export function redisOptions(settings: RedisSettings, options: ClientOptions): RedisOptions {
  return {
    host: settings.host,
    port: settings.port,
    db: settings.db,
    username: settings.username,
    password: settings.password,
    connectionName: options.name,
    tls: settings.tls ? { servername: settings.host, ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}) } : undefined,
    // Commands wait through a Redis restart or a network cut rather than failing a task.
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? null,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    // Ask again for a server that answered LOADING (replaying its AOF after a restart).
    enableReadyCheck: true,
  };
}

export function createRedisClient(settings: RedisSettings, options: ClientOptions): Redis {
  return new Redis({ ...redisOptions(settings, options), lazyConnect: true });
}

/**
 * Connects and checks the server, within `timeoutMs`. Throws a RedisError that says
 * what is wrong and what to do.
 */
export async function connectRedis(settings: RedisSettings, options: ClientOptions & { timeoutMs?: number }): Promise<Redis> {
  const client = createRedisClient(settings, options);
  client.on('error', () => {}); // failures surface through the commands below
  const timeoutMs = options.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await checkRedisServer(client, settings);
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
      }),
    ]);
    return client;
  } catch (error) {
    client.disconnect();
    throw toRedisError(error, settings);
  } finally {
    clearTimeout(timer);
  }
}

/** Refuses Redis older than 6.2 and any eviction policy but noeviction (read through INFO, which managed Redis allows). */
export async function checkRedisServer(client: Redis, settings: RedisSettings): Promise<void> {
  const info = await client.info();
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const version = field('redis_version') ?? '0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 2)) {
    throw new RedisError('REDIS_MISCONFIGURED', `Redis at ${describeRedis(settings)} is version ${version}; redmap needs 6.2 or newer`);
  }
  const policy = field('maxmemory_policy');
  if (policy !== undefined && policy !== 'noeviction') {
    throw new RedisError(
      'REDIS_MISCONFIGURED',
      `Redis at ${describeRedis(settings)} has maxmemory-policy ${policy}: it may evict redmap's data. ` +
        'Set it to noeviction (redis.conf "maxmemory-policy noeviction", or CONFIG SET maxmemory-policy noeviction)',
    );
  }
}

/** Maps ioredis and server errors to RedisErrors with a message that says what to do. */
export function toRedisError(error: unknown, settings: RedisSettings): Error {
  if (error instanceof RedisError || error instanceof UsageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const where = describeRedis(settings);
  if (/OOM command not allowed/.test(message)) {
    return new RedisError(
      'REDIS_OUT_OF_MEMORY',
      `Redis at ${where} is out of memory (maxmemory reached, policy noeviction): raise maxmemory or clean old runs (redmap clean --older-than 1d)`,
      { cause: error },
    );
  }
  if (/NOAUTH|WRONGPASS|invalid username-password|NOPERM/i.test(message)) {
    return new RedisError(
      'REDIS_MISCONFIGURED',
      `Redis at ${where} refused the credentials or the command (${firstLine(message)}): check REDIS_URL, REDIS_PASSWORD and the user's ACL`,
      { cause: error },
    );
  }
  if (/MISCONF|READONLY/.test(message)) {
    return new RedisError('REDIS_MISCONFIGURED', `Redis at ${where} refuses writes (${firstLine(message)})`, { cause: error });
  }
  return new RedisError(
    'REDIS_UNREACHABLE',
    `cannot reach Redis at ${where} (${firstLine(message)}): start redis-server or set REDIS_URL`,
    { cause: error },
  );
}

/** True for errors that mean Redis cannot take writes right now (full or read-only). */
export function isRedisFull(error: unknown): boolean {
  return error instanceof Error && /OOM command not allowed/.test(error.message);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/:\/\/[^@\s]*@/g, '://***@');
}
