/**
 * Which Redis a command uses: `--redis` or REDIS_URL when given; else 127.0.0.1:6379 if it
 * answers; else a private redis-server whose data (AOF) stays in the user's cache folder,
 * so `failed`, `retry` and `results` work after the run; else exact instructions.
 * The choice is said on stderr; passwords never are.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cacheHome, redisSettingsFrom, type Environment } from '../shared/config.js';
import { RedisError } from '../shared/errors.js';
import { connectRedis, describeRedis, parseRedisUrl, type RedisClient, type RedisSettings } from '../shared/redis/redis-connection.js';

export interface CliRedis {
  settings: RedisSettings;
  client: RedisClient;
  /** How it was chosen, for the line on stderr. */
  source: string;
  /** The URL (without password) to hand to child processes. */
  url: string;
}

export interface ResolveOptions {
  flags: { url?: string; caFile?: string };
  /** Whether this command may start a private redis-server when none answers. */
  mayStartPrivate: boolean;
  connectionName: string;
  /** The address tried when nothing is configured. Default redis://127.0.0.1:6379. */
  localDefault?: string;
  /** Where a private server keeps its data. Default: the user's cache folder. */
  privateDir?: string;
  say(line: string): void;
}

const LOCAL_DEFAULT = 'redis://127.0.0.1:6379';

export function privateRedisDir(env?: NodeJS.ProcessEnv): string {
  return join(cacheHome(env), 'redmap', 'redis');
}

export async function resolveCliRedis(environment: Environment, options: ResolveOptions): Promise<CliRedis> {
  const explicit = redisSettingsFrom(environment, options.flags);
  if (explicit) {
    const client = await connectRedis(explicit, { name: options.connectionName });
    const source = options.flags.url ? '--redis' : 'REDIS_URL';
    return { settings: explicit, client, source, url: describeRedis({ ...explicit, password: undefined }) };
  }
  const localUrl = options.localDefault ?? LOCAL_DEFAULT;
  const local = parseRedisUrl(localUrl);
  const localClient = await tryConnect(local, options.connectionName, 1000);
  if (localClient) return { settings: local, client: localClient, source: 'the local default', url: localUrl };

  const dir = options.privateDir ?? privateRedisDir();
  const running = readPrivateServer(dir);
  if (running) {
    const settings = parseRedisUrl(`redis://127.0.0.1:${running.port}`);
    const client = await tryConnect(settings, options.connectionName, 1000);
    if (client) return { settings, client, source: `the private redis-server (data in ${dir})`, url: describeRedis(settings) };
  }
  if (!options.mayStartPrivate) {
    throw new RedisError(
      'REDIS_UNREACHABLE',
      `no Redis answers at ${describeRedis(local)} and REDIS_URL is not set: set REDIS_URL (or --redis), or start redis-server`,
    );
  }
  const port = await startPrivateServer(dir);
  const settings = parseRedisUrl(`redis://127.0.0.1:${port}`);
  options.say(
    `no Redis at ${describeRedis(local)} and no REDIS_URL: started a private redis-server on 127.0.0.1:${port} ` +
      `(data in ${dir}; it keeps running so status, failed and retry work later; stop it with: redis-cli -p ${port} shutdown)`,
  );
  for (let tries = 0; tries < 20; tries++) {
    const client = await tryConnect(settings, options.connectionName, 1000);
    if (client) return { settings, client, source: `a private redis-server (data in ${dir})`, url: describeRedis(settings) };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new RedisError('REDIS_UNREACHABLE', `the private redis-server on port ${port} did not answer; see ${join(dir, 'redis.log')}`);
}

async function tryConnect(settings: RedisSettings, name: string, timeoutMs: number): Promise<RedisClient | undefined> {
  try {
    return await connectRedis(settings, { name, timeoutMs });
  } catch (error) {
    // Something answered but is unusable (eviction policy, old version): say so rather than hide it.
    if (error instanceof RedisError && error.code === 'REDIS_MISCONFIGURED') throw error;
    return undefined;
  }
}

function readPrivateServer(dir: string): { port: number } | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8')) as { port?: unknown };
    return typeof state.port === 'number' ? { port: state.port } : undefined;
  } catch {
    return undefined;
  }
}

function findRedisServer(): string | undefined {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server', '/opt/homebrew/bin/redis-server']) {
    const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

async function startPrivateServer(dir: string): Promise<number> {
  const binary = findRedisServer();
  if (!binary) {
    throw new RedisError(
      'REDIS_UNREACHABLE',
      'no Redis found: nothing answers at 127.0.0.1:6379, REDIS_URL is not set, and redis-server is not installed. ' +
        'Install it (Debian/Ubuntu: sudo apt install redis-server; macOS: brew install redis), ' +
        'run one with Docker (docker run -d -p 6379:6379 redis:7), or set REDIS_URL to a server you have',
    );
  }
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'yes',
    '--pidfile',
    join(dir, 'redis.pid'),
    '--logfile',
    join(dir, 'redis.log'),
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`redis-server exited with code ${code}; see ${join(dir, 'redis.log')}`)),
    );
  });
  writeFileSync(join(dir, 'server.json'), JSON.stringify({ port }));
  return port;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
