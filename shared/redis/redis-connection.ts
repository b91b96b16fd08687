/**
 * Connections to Redis: settings from a URL (redis:// or rediss://, ACL user, password
 * kept out of anything printed; `+cluster` in the scheme for a Redis Cluster, `+sentinel` for
 * a primary found through Sentinel), ioredis
 * clients tuned to ride out restarts, and the preflight that refuses a Redis which would
 * silently lose redmap's data.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisError, UsageError } from '../errors.js';
import { ServerRefusal, toRedisError } from './redis-errors.js';
import { serverRefusal } from './redis-greeting.js';
import { describeSentinelUrl, isSentinelUrl, parseSentinelUrl, type SentinelNode } from './sentinel-url.js';

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
  /** A Redis Cluster, reached through this one node (redis+cluster:// or rediss+cluster://). */
  cluster?: boolean;
  /**
   * A primary found through Sentinel (redis+sentinel:// or rediss+sentinel://): the Sentinels
   * to ask and the master name they know it by. `host` and `port` are then the first Sentinel's.
   */
  sentinel?: { nodes: SentinelNode[]; masterName: string };
  /** The Sentinels' own password (REDIS_SENTINEL_PASSWORD or REDIS_SENTINEL_PASSWORD_FILE). */
  sentinelPassword?: string | undefined;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** What each URL scheme means: TLS or not, one server or a cluster. */
const SCHEMES: Record<string, { tls: boolean; cluster: boolean }> = {
  'redis:': { tls: false, cluster: false },
  'rediss:': { tls: true, cluster: false },
  'redis+cluster:': { tls: false, cluster: true },
  'rediss+cluster:': { tls: true, cluster: true },
};

/** Parses a redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel:// URL. */
export function parseRedisUrl(url: string): RedisSettings {
  if (isSentinelUrl(url)) {
    const sentinel = parseSentinelUrl(url, redactUrl(url));
    const first = sentinel.nodes[0]!;
    return {
      host: first.host,
      port: first.port,
      db: sentinel.db,
      username: sentinel.username,
      password: sentinel.password,
      tls: sentinel.tls,
      caFile: undefined,
      sentinel: { nodes: sentinel.nodes, masterName: sentinel.masterName },
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid Redis URL ${redactUrl(url)}: expected redis://[user[:password]@]host[:port][/db] or rediss://...`);
  }
  const scheme = SCHEMES[parsed.protocol];
  if (!scheme) {
    throw new UsageError(
      `invalid Redis URL ${redactUrl(url)}: the scheme must be redis:// or rediss:// ` +
        '(redis+cluster:// or rediss+cluster:// for a Redis Cluster, redis+sentinel:// or rediss+sentinel:// through Sentinel)',
    );
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UsageError(`invalid Redis URL ${redactUrl(url)}: the database must be a number`);
  if (scheme.cluster && db !== 0) throw new UsageError(`invalid Redis URL ${redactUrl(url)}: a Redis Cluster has only database 0`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: scheme.tls,
    caFile: undefined,
    cluster: scheme.cluster,
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
  if (settings.sentinel) return describeSentinelUrl({ ...settings, ...settings.sentinel });
  const auth = settings.username ? `${settings.username}${settings.password ? ':***' : ''}@` : settings.password ? ':***@' : '';
  const db = settings.db ? `/${settings.db}` : '';
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${settings.tls ? 'rediss' : 'redis'}${settings.cluster ? '+cluster' : ''}://${auth}${host}:${settings.port}${db}`;
}

export interface ClientOptions {
  /** Shown in CLIENT LIST, e.g. "redmap:worker". */
  name: string;
  /** Fail commands after this many reconnect attempts instead of queueing them forever. */
  maxRetriesPerRequest?: number | null;
}

/** Options of one connection to one server (a cluster applies them to each of its nodes). */
function nodeOptions(settings: RedisSettings, options: ClientOptions) {
  return {
    username: settings.username,
    password: settings.password,
    connectionName: options.name,
    tls: settings.tls ? tlsOptions(settings) : undefined,
    // Commands wait through a Redis restart or a network cut rather than failing a task.
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? null,
    connectTimeout: 5000,
    // Ask again for a server that answered LOADING (replaying its AOF after a restart).
    enableReadyCheck: true,
  } satisfies RedisOptions;
}

/**
 * The server certificate is checked against the host of the URL. A host name also goes
 * into SNI; an IP address may not (RFC 6066, and Node warns), and Node then checks the
 * certificate's IP entries instead.
 */
function tlsOptions(settings: RedisSettings): TlsOptions {
  return {
    // Through Sentinel the server's address is learnt at connect time: no name to send.
    ...(isIP(settings.host) === 0 && !settings.sentinel && { servername: settings.host }),
    ...(settings.caFile !== undefined && { ca: readFileSync(settings.caFile) }),
  };
}

const reconnectDelay = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), 2000);

export function redisOptions(settings: RedisSettings, options: ClientOptions): RedisOptions {
  return {
    ...(settings.sentinel ? sentinelOptions(settings, settings.sentinel) : { host: settings.host, port: settings.port }),
    db: settings.db,
    ...nodeOptions(settings, options),
    enableOfflineQueue: true,
    retryStrategy: reconnectDelay,
  };
}

/**
 * Through Sentinel: ask the Sentinels for the primary on every (re)connect, and drop the
 * connection as soon as they announce a failover (+switch-master) or the server we reach
 * turns out to be a replica (READONLY; the refused command is sent again on the new primary).
 */
function sentinelOptions(settings: RedisSettings, sentinel: NonNullable<RedisSettings['sentinel']>): RedisOptions {
  return {
    sentinels: sentinel.nodes.map((node) => ({ host: node.host, port: node.port })),
    name: sentinel.masterName,
    sentinelPassword: settings.sentinelPassword,
    ...(settings.tls && { enableTLSForSentinelMode: true, sentinelTLS: tlsOptions(settings) }),
    sentinelRetryStrategy: reconnectDelay,
    failoverDetector: true,
    reconnectOnError: (error) => (/^READONLY\b/.test(error.message) ? 2 : false),
  };
}

export function clusterOptions(settings: RedisSettings, options: ClientOptions): ClusterOptions {
  return {
    redisOptions: nodeOptions(settings, options),
    enableOfflineQueue: true,
    enableReadyCheck: true,
    clusterRetryStrategy: reconnectDelay,
    // A node that restarts keeps its slots: reconnect to it rather than wait for a MOVED.
    clusterNodeRetryStrategy: reconnectDelay,
  };
}

export function createRedisClient(settings: RedisSettings, options: ClientOptions): RedisClient {
  if (settings.cluster) {
    return new Cluster([{ host: settings.host, port: settings.port }], { ...clusterOptions(settings, options), lazyConnect: true });
  }
  return new Redis({ ...redisOptions(settings, options), lazyConnect: true });
}

/** A second connection with the same settings (for a subscriber, which cannot send other commands). */
export function duplicateClient(client: RedisClient, name: string): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate([], { redisOptions: { ...client.options.redisOptions, connectionName: name } });
  }
  return client.duplicate({ connectionName: name });
}

/** The servers that hold data: the one server, or every master of a cluster. */
export function dataNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * Connects and checks the server, within `timeoutMs`. Throws a RedisError that says
 * what is wrong and what to do.
 */
export async function connectRedis(settings: RedisSettings, options: ClientOptions & { timeoutMs?: number }): Promise<RedisClient> {
  const client = createRedisClient(settings, options);
  // The cause of a failed connection (a refused TLS certificate, say) arrives only as an
  // 'error' event; connect() itself then just rejects with "Connection is closed." (a
  // cluster: "None of startup nodes is available", the node's error kept as lastNodeError).
  let cause: unknown;
  client.on('error', (error: unknown) => (cause = (error as { lastNodeError?: unknown }).lastNodeError ?? error));
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
    const generic =
      error instanceof Error &&
      /Connection is closed|None of startup nodes|All sentinels are unreachable|no answer within/.test(error.message);
    const target = { where: describeRedis(settings), username: settings.username };
    // A server that hung up on us may have said why first: report that, in its words.
    if (hungUp(error, cause) && !settings.sentinel) {
      const refusal = await serverRefusal({
        host: settings.host,
        port: settings.port,
        tls: settings.tls ? tlsOptions(settings) : undefined,
      });
      if (refusal !== undefined) throw toRedisError(new ServerRefusal(refusal), target);
    }
    throw toRedisError(generic && cause !== undefined ? cause : error, target);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the connection was made and then closed by the server (not refused, not timed out). */
function hungUp(error: unknown, cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return code === 'EPIPE' || code === 'ECONNRESET';
  return error instanceof Error && /Connection is closed/.test(error.message);
}

/**
 * Refuses Redis older than 6.2 and any eviction policy but noeviction (read through INFO,
 * which managed Redis allows), on every master of a cluster.
 */
export async function checkRedisServer(client: RedisClient, settings: RedisSettings): Promise<void> {
  for (const node of dataNodes(client)) {
    const info = await node.info();
    const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const where = client instanceof Cluster ? `the cluster node ${node.options.host}:${node.options.port}` : describeRedis(settings);
    const version = field('redis_version') ?? '0';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 6 || (major === 6 && minor < 2)) {
      throw new RedisError('REDIS_MISCONFIGURED', `Redis at ${where} is version ${version}; redmap needs 6.2 or newer`);
    }
    const policy = field('maxmemory_policy');
    if (policy !== undefined && policy !== 'noeviction') {
      throw new RedisError(
        'REDIS_MISCONFIGURED',
        `Redis at ${where} has maxmemory-policy ${policy}: it may evict redmap's data. ` +
          'Set it to noeviction (redis.conf "maxmemory-policy noeviction", or CONFIG SET maxmemory-policy noeviction)',
      );
    }
  }
}

/** True for errors that mean Redis cannot take writes right now (full or read-only). */
export function isRedisFull(error: unknown): boolean {
  return error instanceof Error && /OOM command not allowed/.test(error.message);
}
