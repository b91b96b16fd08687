/**
 * Private redis-server processes for tests: on free ports, each in its own folder, so a
 * test can kill -9 one, restart it on the same port and data, or fill it up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../cli/redis-resolution.js';
import { waitFor } from './wait-for.js';

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  port?: number;
  dir?: string;
}

export interface TestRedisServer {
  url: string;
  port: number;
  dir: string;
  pid(): number | undefined;
  /** SIGKILL, as a crash would. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and folder (its AOF, if any, is replayed). */
  restart(args?: string[]): Promise<void>;
  stop(): Promise<void>;
}

export { freePort };

export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestRedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'redmap-redis-'));
  let args = options.args ?? [];
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    await waitForOwnServer(port, started);
  };
  const exited = (): Promise<void> =>
    new Promise((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => child?.pid,
    async kill9() {
      child?.kill('SIGKILL');
      await exited();
    },
    async restart(nextArgs) {
      if (nextArgs) args = nextArgs;
      await launch();
    },
    async stop() {
      child?.kill('SIGKILL');
      await exited();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the server on `port` answers and is this child: its pid from INFO must be the
 * child's, so a test never drives another suite's Redis that took the port first.
 */
async function waitForOwnServer(port: number, child: ChildProcess): Promise<void> {
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-2000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitFor(
      () => `redis-server on port ${port} to answer:\n${output}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`redis-server for port ${port} exited (${child.exitCode ?? child.signalCode}) before it answered:\n${output}`);
        }
        const pid = await serverPid(port);
        if (pid !== undefined && pid !== child.pid) {
          throw new Error(
            `port ${port} is answered by another redis-server (pid ${pid}), not the one this test started (pid ${child.pid}): ` +
              'something else took the port; refusing to use a Redis this test does not own',
          );
        }
        return pid === child.pid;
      },
      10_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** The process_id of the Redis answering on 127.0.0.1:port, or undefined while nothing answers. */
async function serverPid(port: number): Promise<number | undefined> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    return Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}
