/**
 * A private Sentinel setup for tests: a primary, one replica and three `redis-server
 * --sentinel` on free loopback ports, each in its own folder, with down-after and failover
 * times short enough that a killed primary is replaced within a few seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startDelayRelay, type DelayRelay } from './delay-relay.js';
import { freePort, startRedisServer, type TestRedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

export const MASTER_NAME = 'redmap-test';

export interface TestSentinelSetup {
  /** redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/redmap-test */
  url: string;
  primary: TestRedisServer;
  replica: TestRedisServer;
  sentinelPorts: number[];
  /** With `replicationDelayMs`: the relay the replica replicates through; closing it drops what it holds. */
  replicationRelay: DelayRelay | undefined;
  /** The port of the server the Sentinels name as the primary now. */
  primaryPort(): Promise<number | undefined>;
  /** Waits until the Sentinels name a server other than `port` as the primary; returns its port. */
  waitForFailover(fromPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export interface SentinelSetupOptions {
  /** How long a primary may not answer before a Sentinel thinks it down. Default 1000 ms. */
  downAfterMs?: number;
  /** The Sentinels' requirepass (they use it with each other too). Default: none. */
  sentinelPassword?: string;
  /**
   * The replica replicates through a delay relay holding every write this long, so a primary
   * killed together with the relay takes its last writes with it. Default: directly.
   */
  replicationDelayMs?: number;
  /**
   * Sentinel's failover-timeout. A Sentinel also points a replica that replicates from another
   * address (the relay) back at the primary once this long has passed: keep it long with a relay.
   * Default 10 s.
   */
  failoverTimeoutMs?: number;
}

export async function startSentinelSetup(options: SentinelSetupOptions = {}): Promise<TestSentinelSetup> {
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 10_000;
  const primary = await startRedisServer({ args: ['--appendonly', 'no'] });
  const started: Array<{ stop(): Promise<void> }> = [primary];
  try {
    const relay =
      options.replicationDelayMs === undefined
        ? undefined
        : await startDelayRelay({ listenPort: 0, targetHost: '127.0.0.1', targetPort: primary.port, delayMs: options.replicationDelayMs });
    if (relay) started.push({ stop: () => relay.close() });
    const replica = await startRedisServer({
      args: ['--appendonly', 'no', '--replicaof', '127.0.0.1', String(relay?.port ?? primary.port)],
    });
    started.push(replica);
    const sentinels: TestSentinel[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await startSentinel(primary.port, downAfterMs, failoverTimeoutMs, options.sentinelPassword);
      sentinels.push(sentinel);
      started.push(sentinel);
    }
    const setup = {
      url: `redis+sentinel://${sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')}/${MASTER_NAME}`,
      primary,
      replica,
      sentinelPorts: sentinels.map((sentinel) => sentinel.port),
      replicationRelay: relay,
      primaryPort: () => askSentinels(sentinels, options.sentinelPassword),
      async waitForFailover(fromPort: number, timeoutMs = 30_000): Promise<number> {
        return waitFor(
          `the Sentinels to promote a new primary in place of 127.0.0.1:${fromPort}`,
          async () => {
            const port = await askSentinels(sentinels, options.sentinelPassword);
            return port !== undefined && port !== fromPort ? port : undefined;
          },
          timeoutMs,
        );
      },
      async stop(): Promise<void> {
        for (const process of started.reverse()) await process.stop();
      },
    };
    await waitForReady(setup, sentinels, options.sentinelPassword);
    return setup;
  } catch (error) {
    for (const process of started.reverse()) await process.stop();
    throw error;
  }
}

interface TestSentinel {
  port: number;
  stop(): Promise<void>;
}

/** One `redis-server --sentinel` watching the primary on `primaryPort` (quorum 2 of 3). */
async function startSentinel(
  primaryPort: number,
  downAfterMs: number,
  failoverTimeoutMs: number,
  password: string | undefined,
): Promise<TestSentinel> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redmap-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  // Sentinel rewrites its own config file as it learns the setup: it must be writable.
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
      `sentinel failover-timeout ${MASTER_NAME} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      ...(password === undefined ? [] : [`requirepass ${password}`]),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('redis-server', [config, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-2000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = (): Promise<void> =>
    new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => `redis-server --sentinel on port ${port} to answer:\n${output}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`the Sentinel on port ${port} exited (${child.exitCode}):\n${output}`);
        return (await sentinelCommand(port, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME], password)) !== undefined || undefined;
      },
      10_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}

/** Waits until the replica is in sync and every Sentinel knows the replica and the two other Sentinels. */
async function waitForReady(setup: TestSentinelSetup, sentinels: TestSentinel[], password: string | undefined): Promise<void> {
  await waitFor(
    'the replica in sync and three Sentinels that know each other and the replica',
    async () => {
      const replication = await sentinelCommand(setup.replica.port, ['INFO', 'replication']);
      if (!String(replication).includes('master_link_status:up')) return undefined;
      for (const sentinel of sentinels) {
        const replicas = (await sentinelCommand(sentinel.port, ['SENTINEL', 'replicas', MASTER_NAME], password)) as unknown[] | undefined;
        const peers = (await sentinelCommand(sentinel.port, ['SENTINEL', 'sentinels', MASTER_NAME], password)) as unknown[] | undefined;
        if (replicas?.length !== 1 || peers?.length !== 2) return undefined;
      }
      return true;
    },
    30_000,
  );
}

/** The primary's port as a majority of the Sentinels answering name it. */
async function askSentinels(sentinels: TestSentinel[], password: string | undefined): Promise<number | undefined> {
  const answers = await Promise.all(
    sentinels.map(async (sentinel) => {
      const reply = (await sentinelCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME], password)) as
        string[] | undefined;
      return reply?.[1] === undefined ? undefined : Number(reply[1]);
    }),
  );
  const counts = new Map<number, number>();
  for (const port of answers) if (port !== undefined) counts.set(port, (counts.get(port) ?? 0) + 1);
  return [...counts].find(([, count]) => count >= 2)?.[0];
}

async function sentinelCommand(port: number, command: [string, ...string[]], password?: string): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(...command);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}
