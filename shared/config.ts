/**
 * The one place that reads the environment. Everything else receives typed settings.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.js';
import { parseRedisUrl, redactUrl, urlHasPassword, type RedisSettings } from './redis/redis-connection.js';
import { DEFAULT_KEY_PREFIX } from './redis/redis-keys.js';

/** Environment variables redmap reads, with what each is for (shown in --help). */
export const ENVIRONMENT_VARIABLES = {
  REDIS_URL: 'redis:// or rediss:// URL, with user and password if needed (redis+sentinel://h1:26379,h2:26379/MASTER through Sentinel)',
  REDIS_USERNAME: 'ACL user (overrides the URL)',
  REDIS_PASSWORD: 'password (overrides the URL)',
  REDIS_PASSWORD_FILE: 'file holding the password',
  REDIS_SENTINEL_PASSWORD: 'password of the Sentinels (redis+sentinel:// only)',
  REDIS_SENTINEL_PASSWORD_FILE: 'file holding the Sentinel password',
  REDIS_CA_FILE: 'CA bundle to verify a rediss:// server with',
  PGPASSWORD: 'password of the --sink PostgreSQL (read by each worker; never put it in the --sink URL)',
  PGPASSWORD_FILE: 'file holding that password',
  REDMAP_PREFIX: `key prefix for everything redmap stores (default "${DEFAULT_KEY_PREFIX}")`,
  REDMAP_LOG_LEVEL: 'log level: debug, info, warn, error (default info)',
  REDMAP_LOG_FORMAT: 'log format: pretty or json (default: pretty on a terminal)',
} as const;

export interface Environment {
  redisUrl: string | undefined;
  redisUsername: string | undefined;
  redisPassword: string | undefined;
  redisSentinelPassword: string | undefined;
  redisCaFile: string | undefined;
  prefix: string;
  logLevel: string | undefined;
  logFormat: string | undefined;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return {
    redisUrl: nonEmpty(env.REDIS_URL),
    redisUsername: nonEmpty(env.REDIS_USERNAME),
    redisPassword: secretFrom(env, 'REDIS_PASSWORD'),
    redisSentinelPassword: secretFrom(env, 'REDIS_SENTINEL_PASSWORD'),
    redisCaFile: nonEmpty(env.REDIS_CA_FILE),
    prefix: nonEmpty(env.REDMAP_PREFIX) ?? DEFAULT_KEY_PREFIX,
    logLevel: nonEmpty(env.REDMAP_LOG_LEVEL),
    logFormat: nonEmpty(env.REDMAP_LOG_FORMAT),
  };
}

/**
 * Redis settings from a `--redis` flag or the environment, or undefined when neither
 * names a server. A password on the command line is refused: it would show in `ps`.
 */
export function redisSettingsFrom(environment: Environment, flags: { url?: string; caFile?: string }): RedisSettings | undefined {
  if (flags.url !== undefined && urlHasPassword(flags.url)) {
    throw new UsageError(
      `--redis ${redactUrl(flags.url)}: do not put the password on the command line, where other users can see it; ` +
        'set REDIS_PASSWORD, REDIS_PASSWORD_FILE or REDIS_URL in the environment',
    );
  }
  const url = flags.url ?? environment.redisUrl;
  if (url === undefined) return undefined;
  const settings = parseRedisUrl(url);
  return {
    ...settings,
    username: environment.redisUsername ?? settings.username,
    password: environment.redisPassword ?? settings.password,
    caFile: flags.caFile ?? environment.redisCaFile,
    ...(settings.sentinel && { sentinelPassword: environment.redisSentinelPassword }),
  };
}

/**
 * The password of a PostgreSQL sink, read by each worker from its own environment: the
 * sink's URL, stored with the run, never holds one. Undefined: the server needs none.
 */
export function readPostgresPassword(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return secretFrom(env, 'PGPASSWORD');
}

/** A secret from NAME, else from the file NAME_FILE names (trimmed). */
function secretFrom(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = nonEmpty(env[name]);
  const file = nonEmpty(env[`${name}_FILE`]);
  if (value !== undefined || file === undefined) return value;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`${name}_FILE: cannot read ${file} (${(error as Error).message})`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Environment variables `redmap dashboard` reads: its credentials come from here, never from flags. */
export const DASHBOARD_ENVIRONMENT_VARIABLES = {
  REDMAP_DASHBOARD_USER: 'user name the dashboard asks for (default "redmap")',
  REDMAP_DASHBOARD_PASSWORD: 'password the dashboard asks for; set, every page and endpoint needs it',
  REDMAP_DASHBOARD_PASSWORD_FILE: 'file holding that password',
} as const;

export interface DashboardCredentials {
  user: string;
  password: string;
}

/** The dashboard's credentials, or undefined when none are configured. */
export function readDashboardCredentials(env: NodeJS.ProcessEnv = process.env): DashboardCredentials | undefined {
  const file = nonEmpty(env.REDMAP_DASHBOARD_PASSWORD_FILE);
  let password = nonEmpty(env.REDMAP_DASHBOARD_PASSWORD);
  if (password === undefined && file !== undefined) {
    try {
      password = nonEmpty(readFileSync(file, 'utf8').trim());
    } catch (error) {
      throw new UsageError(`REDMAP_DASHBOARD_PASSWORD_FILE: cannot read ${file} (${(error as Error).message})`);
    }
    if (password === undefined) throw new UsageError(`REDMAP_DASHBOARD_PASSWORD_FILE: ${file} is empty`);
  }
  return password === undefined ? undefined : { user: nonEmpty(env.REDMAP_DASHBOARD_USER) ?? 'redmap', password };
}

/** The user's cache folder: `$XDG_CACHE_HOME`, else `~/.cache` (compiled jobs, the private redis-server). */
export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CACHE_HOME || join(homedir(), '.cache');
}

/** REDMAP_DEBUG set: the command line prints the stack of an unexpected error. */
export function debugRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.REDMAP_DEBUG);
}

/** This process's environment with `extra` on top: what a child process (a worker, an isolate) starts with. */
export function childEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** The JSON a parent process handed this one in the variable `name` (`{}` when unset). */
export function readHandoff(name: string, env: NodeJS.ProcessEnv = process.env): unknown {
  return JSON.parse(env[name] ?? '{}');
}
