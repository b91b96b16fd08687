/**
 * redmap on a real Redis Cluster of 3 masters: a run gives the ground truth, different
 * runs live on different masters, and the commands that look across runs (runs, clean)
 * find them wherever they are.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogs } from '../../examples/log-errors/generate-logs.js';
import { runCli, startCli } from '../support/cli.js';
import { documentedUser } from '../support/documented-acl.js';
import { asCounts, gnu, LOG_PIPELINE } from '../support/ground-truth.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

const JOB = 'examples/log-errors/job.ts';
const SPREAD = ['--chunk-size', '2', '--partitions', '3'];

let cluster: TestRedisCluster;
let dir: string;
let files: string[];
let truth: string;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  dir = mkdtempSync(join(tmpdir(), 'redmap-cluster-logs-'));
  generateLogs({ outDir: dir, files: 6, totalBytes: 3 * 1024 * 1024, seed: 11 });
  files = readdirSync(dir).map((name) => join(dir, name));
  truth = gnu(LOG_PIPELINE, files);
});

afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({ REDIS_URL: cluster.url });

/** A cluster client of the test's own (as the default user), for the time of `body`. */
async function withClusterClient<T>(body: (client: Cluster) => Promise<T>): Promise<T> {
  const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
  try {
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    return await body(client);
  } finally {
    client.disconnect();
  }
}

/** The master (by port) holding each key that matches a pattern. */
function mastersHolding(pattern: string): Promise<Set<number>> {
  return withClusterClient(async (client) => {
    const holders = new Set<number>();
    for (const node of client.nodes('master')) {
      const [, keys] = await node.scan('0', 'MATCH', pattern, 'COUNT', 100_000);
      if (keys.length > 0) holders.add(node.options.port!);
    }
    return holders;
  });
}

/** Two run ids whose keys hash to slots served by different masters. */
function runIdsOnTwoMasters(): Promise<[string, string]> {
  return withClusterClient(async (client) => {
    const slots = await client.cluster('SLOTS');
    const ownerOf = async (id: string): Promise<number> => {
      const slot = (await client.cluster('KEYSLOT', `redmap:run:{${id}}:meta`)) as number;
      return slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    };
    const first = 'spread-0';
    const firstOwner = await ownerOf(first);
    for (let i = 1; i < 100; i++) {
      if ((await ownerOf(`spread-${i}`)) !== firstOwner) return [first, `spread-${i}`];
    }
    throw new Error('no two run ids on different masters');
  });
}

describe('on a Redis Cluster of 3 masters', () => {
  it('a run with worker processes gives the same result as the GNU-tools pipeline', async () => {
    const result = await runCli(['run', JOB, ...files, '--workers', '2', ...SPREAD], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`using Redis at ${cluster.url}`);
    expect(asCounts(result.stdout)).toBe(truth);
  });

  it('refuses --min-replicas (WAIT would have to follow each slot master), exit 2, before anything is stored', async () => {
    const refused = await runCli(['submit', JOB, ...files, '--min-replicas', '1', '--run-id', 'cluster-min-replicas'], { env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/minReplicas is not supported on a Redis Cluster/);
    expect((await runCli(['status', 'cluster-min-replicas'], { env: env() })).stdout).toMatch(/unknown/);
  });

  it('runs land on different masters, and runs, results and clean find each one where it is', async () => {
    const worker = startCli(['worker', JOB, '--processes', '1'], { env: env() });
    const ids = await runIdsOnTwoMasters();
    try {
      for (const id of ids) {
        const submitted = await runCli(['submit', JOB, ...files, '--run-id', id, '--wait', ...SPREAD], { env: env() });
        expect(submitted.code, submitted.stderr).toBe(0);
        expect(asCounts(submitted.stdout)).toBe(truth);
      }
    } finally {
      worker.kill('SIGTERM');
      expect((await worker.result).code).toBe(0);
    }

    // Each run's keys sit on one master (one hash tag), and the two runs on two masters.
    const [first, second] = await Promise.all(ids.map((id) => mastersHolding(`redmap:run:{${id}}:*`)));
    expect(first!.size).toBe(1);
    expect(second!.size).toBe(1);
    expect([...first!][0]).not.toBe([...second!][0]);

    const listed = (await runCli(['runs', '--json'], { env: env() })).stdout.trim().split('\n');
    expect(listed.map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(expect.arrayContaining(ids));
    const results = await runCli(['results', ids[1]], { env: env() });
    expect(asCounts(results.stdout)).toBe(truth);

    const cleaned = await runCli(['clean', ids[0]], { env: env() });
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect((await mastersHolding(`redmap:run:{${ids[0]}}:*`)).size).toBe(0);
    expect((await mastersHolding(`redmap:run:{${ids[1]}}:*`)).size).toBe(1);
  });

  it('an ACL user needs +cluster|slots +cluster|info besides the rules of docs/security.md, as that file says', async () => {
    await withClusterClient(async (client) => {
      const rules = documentedUser('producer', 'pw').split(' ').slice(2); // after "user redmap-producer"
      for (const node of client.nodes('master')) {
        await node.call('ACL', 'SETUSER', 'without-cluster', ...rules);
        await node.call('ACL', 'SETUSER', 'with-cluster', ...rules, '+cluster|slots', '+cluster|info');
      }
    });
    const as = (user: string): NodeJS.ProcessEnv => ({ REDIS_URL: cluster.url.replace('//', `//${user}@`), REDIS_PASSWORD: 'pw' });
    const refused = await runCli(['runs'], { env: as('without-cluster') });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/refused the user "without-cluster" .*NOPERM .*'cluster\|slots' command/);
    const allowed = await runCli(['runs'], { env: as('with-cluster') });
    expect(allowed.code, allowed.stderr).toBe(0);
  });
});
