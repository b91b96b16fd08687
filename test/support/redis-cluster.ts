/**
 * A real Redis Cluster for tests: N masters (no replicas), each a redis-server on a free
 * port whose cluster bus port (+10000) is free too, joined by `redis-cli --cluster create`.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type TestRedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

export interface TestRedisCluster {
  /** redis+cluster:// URL of the first master (redmap discovers the others). */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

const BUS_PORT_OFFSET = 10_000;

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const servers: TestRedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freeClusterPort();
      servers.push(
        await startRedisServer({
          port,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const ports = servers.map((server) => server.port);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const port of ports) await waitForClusterOk(port);
    return {
      url: `redis+cluster://127.0.0.1:${ports[0]}`,
      ports,
      stop: async () => {
        await Promise.all(servers.map((server) => server.stop()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
}

/** A free port whose bus port is free as well. */
async function freeClusterPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await freePort();
    if (port + BUS_PORT_OFFSET <= 65_535 && (await isFree(port + BUS_PORT_OFFSET))) return port;
  }
  throw new Error('found no free port whose cluster bus port (+10000) is free too');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitForClusterOk(port: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  let info = '';
  try {
    await waitFor(
      () => `cluster node ${port} to reach cluster_state:ok (its CLUSTER INFO: ${info})`,
      async () => /cluster_state:ok/.test((info = (await client.cluster('INFO')) as string)),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } finally {
    client.disconnect();
  }
}
