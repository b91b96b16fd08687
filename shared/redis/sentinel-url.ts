/**
 * redis+sentinel:// and rediss+sentinel:// URLs: a list of Sentinels, the name of the master
 * they watch, and an optional database. The host list (`h1:26379,h2:26379`) is not a valid
 * WHATWG URL, so this form is parsed here, piece by piece, and checked with zod.
 *
 *   redis+sentinel://[user[:password]@]host1[:port],host2[:port]/MASTER_NAME[?db=N]
 *
 * The user and password are those of the Redis servers (as in redis://). The Sentinels'
 * own password comes from REDIS_SENTINEL_PASSWORD or REDIS_SENTINEL_PASSWORD_FILE.
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';

export const DEFAULT_SENTINEL_PORT = 26379;

export interface SentinelNode {
  host: string;
  port: number;
}

export interface SentinelUrl {
  tls: boolean;
  nodes: SentinelNode[];
  masterName: string;
  db: number;
  username: string | undefined;
  password: string | undefined;
}

export const SENTINEL_SCHEMES: Record<string, { tls: boolean }> = {
  'redis+sentinel:': { tls: false },
  'rediss+sentinel:': { tls: true },
};

const FORM = 'expected redis+sentinel://[user[:password]@]host1[:port],host2[:port]/MASTER_NAME[?db=N]';

const portSchema = z.coerce
  .number({ message: 'the port must be a number' })
  .int('the port must be a whole number')
  .min(1, 'the port must be between 1 and 65535')
  .max(65535, 'the port must be between 1 and 65535');

const nodeSchema = z.object({
  host: z.string().min(1, 'a Sentinel host is empty (two commas in a row, or a comma at an end?)'),
  port: portSchema,
});

const sentinelUrlSchema = z.object({
  nodes: z.array(nodeSchema).min(1, 'no Sentinel host is given'),
  masterName: z
    .string()
    .min(1, 'no master name is given: put it after the hosts, as in .../mymaster')
    .regex(/^[^/\s?#@,]+$/, 'the master name must be one word without "/", spaces, "?", "#", "@" or ","'),
  db: z.coerce.number({ message: 'db must be a number' }).int('db must be a whole number').min(0, 'db must be 0 or more'),
});

/** True when the URL uses a Sentinel scheme (checked before the URL is parsed as a WHATWG URL). */
export function isSentinelUrl(url: string): boolean {
  return /^rediss?\+sentinel:\/\//i.test(url);
}

/** Parses a Sentinel URL. `shown` is the URL as it may appear in errors (without its password). */
export function parseSentinelUrl(url: string, shown: string): SentinelUrl {
  const fail = (why: string): never => {
    throw new UsageError(`invalid Redis URL ${shown}: ${why}; ${FORM}`);
  };
  const schemeEnd = url.indexOf('://');
  const scheme = SENTINEL_SCHEMES[url.slice(0, schemeEnd + 1).toLowerCase()];
  if (!scheme) return fail('the scheme must be redis+sentinel:// or rediss+sentinel://');
  const rest = url.slice(schemeEnd + 3);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rest.slice(queryAt + 1);
  // The last "@" ends the user part, so a password holding an unencoded "@" stays whole.
  const at = beforeQuery.lastIndexOf('@');
  const userInfo = at === -1 ? undefined : beforeQuery.slice(0, at);
  const hostsAndPath = at === -1 ? beforeQuery : beforeQuery.slice(at + 1);
  const slash = hostsAndPath.indexOf('/');
  const hostList = slash === -1 ? hostsAndPath : hostsAndPath.slice(0, slash);
  const masterName = slash === -1 ? '' : decodeURIComponent(hostsAndPath.slice(slash + 1));

  const params = new URLSearchParams(query);
  for (const name of params.keys()) if (name !== 'db') fail(`unknown parameter "${name}" (only db is read)`);

  const parsed = sentinelUrlSchema.safeParse({
    nodes: hostList === '' ? [] : hostList.split(',').map(splitHostPort),
    masterName,
    db: params.get('db') ?? 0,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const index = issue.path[0] === 'nodes' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
    return fail(index === undefined ? issue.message : `Sentinel ${index + 1} (${hostList.split(',')[index]}): ${issue.message}`);
  }
  const colon = userInfo?.indexOf(':') ?? -1;
  const username = userInfo === undefined ? '' : colon === -1 ? userInfo : userInfo.slice(0, colon);
  const password = userInfo === undefined || colon === -1 ? '' : userInfo.slice(colon + 1);
  return {
    tls: scheme.tls,
    ...parsed.data,
    username: username ? decodeURIComponent(username) : undefined,
    password: password ? decodeURIComponent(password) : undefined,
  };
}

/** "host:port", "host" (the default port) or "[ipv6]:port" into its parts; the port stays a string for zod. */
function splitHostPort(entry: string): { host: string; port: string | number } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ?? DEFAULT_SENTINEL_PORT };
  const colon = entry.lastIndexOf(':');
  if (colon === -1) return { host: entry, port: DEFAULT_SENTINEL_PORT };
  return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
}

/** The URL again, as shown to people and handed to child processes: never with a password. */
export function describeSentinelUrl(url: Omit<SentinelUrl, 'password'> & { password?: string | undefined }): string {
  const auth = url.username ? `${url.username}${url.password ? ':***' : ''}@` : url.password ? ':***@' : '';
  const hosts = url.nodes.map((node) => `${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`).join(',');
  return `${url.tls ? 'rediss' : 'redis'}+sentinel://${auth}${hosts}/${url.masterName}${url.db ? `?db=${url.db}` : ''}`;
}
