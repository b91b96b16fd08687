/**
 * minReplicas: each step of a run (create, enqueue, seal, commit, split, failure, flip,
 * reduce commit) counts only once N replicas confirm it. Against a private primary with one
 * replica, real redis-server processes: a run asking for 1 ends done and exact, and the
 * primary answered a WAIT for each of its steps; with the replica frozen (SIGSTOP) the run's
 * steps wait instead of failing, `status` says so, and the run ends done and exact once the
 * replica answers again. A run asking for more replicas than the primary has is refused
 * (exit 5), and a bad --min-replicas is a usage error (exit 2).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { defineJob, z } from '../../index.js';
import { runCli } from '../support/cli.js';
import { collect, it } from '../support/fixtures.js';
import { countWords } from '../support/ground-truth.js';
import { recordCommands } from '../support/redis-monitor.js';
import { redmapScripts } from '../support/script-shas.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/word-count-lines.ts';

const wordCount = defineJob({
  name: 'min-replicas-words',
  input: z.string(),
  *map(line) {
    for (const word of line.toLowerCase().match(/[a-z0-9]+/g) ?? []) yield [word, 1] as const;
  },
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 3,
});

function lines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `w${i % 17} w${(i * 7) % 29} shared`);
}

const sorted = (entries: Array<{ key: string; value: unknown }>) => [...entries].sort((a, b) => a.key.localeCompare(b.key));

let primary: TestRedisServer;
let replica: TestRedisServer;

beforeAll(async () => {
  primary = await startRedisServer();
  replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  await waitFor('the replica in sync', async () => {
    return /slave0:.*state=online/.test(await replicationOf(primary)) || undefined;
  });
});

afterAll(async () => {
  await replica?.stop();
  await primary?.stop();
});

async function info(server: TestRedisServer, section: string): Promise<string> {
  const client = new Redis(server.port, '127.0.0.1');
  try {
    return await client.info(section);
  } finally {
    client.disconnect();
  }
}

const replicationOf = (server: TestRedisServer) => info(server, 'replication');

/** The scripts a run relies on once they answer: each must be confirmed by the run's replicas. */
const STEP_SCRIPTS = new Set(['create-run', 'enqueue-tasks', 'seal-run', 'commit-staged-map-task', 'commit-map-tasks', 'commit-reduce']);

describe('minReplicas', () => {
  it('a run with minReplicas 1 ends done and exact, each of its steps confirmed by a WAIT', async ({ prefix, workers, runs }) => {
    const inputs = lines(200);
    await workers.start(wordCount, { redis: primary.url });
    const scripts = redmapScripts();
    const recording = await recordCommands(primary.url, (args) => ['evalsha', 'eval', 'set', 'wait'].includes(args[0]!.toLowerCase()));
    const run = await runs.submit(wordCount, inputs, { redis: primary.url, minReplicas: 1, chunkSize: 20 });
    expect(await run.done()).toMatchObject({ state: 'done', replicas: { required: 1, waiting: false } });
    expect(sorted(await collect(run))).toEqual(sorted(countWords(inputs)));
    const commands = (await recording.stop()).filter((command) => !command.fromScript);
    // Each step, on its own connection and with nothing in between: the script, the probe write, WAIT 1.
    const unconfirmed: string[] = [];
    const steps = new Map<string, number>();
    commands.forEach((command, i) => {
      const name = command.args[0]!.toLowerCase() === 'evalsha' ? scripts.get(command.args[1]!) : undefined;
      if (name === undefined || !STEP_SCRIPTS.has(name)) return;
      steps.set(name, (steps.get(name) ?? 0) + 1);
      const next = commands.slice(i + 1).filter((later) => later.client === command.client);
      if (!(
        next[0]?.args[0]?.toLowerCase() === 'set' &&
        next[0].args[1]!.endsWith(':replica-probe') &&
        next[1]?.args[0]?.toLowerCase() === 'wait'
      )) {
        unconfirmed.push(name);
      }
    });
    expect(unconfirmed).toEqual([]);
    // Create, at least one enqueue, the seal, the map commits (10 tasks; small commits of one
    // run ready together go in one call), 3 partition commits.
    for (const name of ['create-run', 'enqueue-tasks', 'seal-run', 'commit-reduce']) expect(steps.get(name), name).toBeGreaterThan(0);
    expect((steps.get('commit-staged-map-task') ?? 0) + (steps.get('commit-map-tasks') ?? 0)).toBeGreaterThan(0);
    expect(steps.get('commit-reduce')).toBe(3);
    const client = new Redis(primary.port, '127.0.0.1');
    try {
      expect((await readRunRecord(client, prefix, run.id))?.mapCommits).toBe(10);
    } finally {
      client.disconnect();
    }
  });

  it('with the replica frozen, the run waits for it (status says so, nothing fails) and ends done once it answers', async ({
    prefix,
    workers,
    runs,
  }) => {
    const inputs = lines(60);
    await workers.start(wordCount, { redis: primary.url });
    const runId = `frozen-${Date.now()}`;
    const frozen = replica.pid()!;
    process.kill(frozen, 'SIGSTOP');
    let resumed = false;
    try {
      // submit waits too: its own steps need the replica.
      const submitted = runs.submit(wordCount, inputs, { redis: primary.url, minReplicas: 1, chunkSize: 10, runId });
      const status = await waitFor(
        'status to say the run waits for its replica',
        async () => {
          const shown = await runCli(['status', runId], { env: { REDIS_URL: primary.url, REDMAP_PREFIX: prefix } });
          return /waiting for 1 replica to confirm writes/.test(shown.stdout) ? shown.stdout : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      expect(status).not.toMatch(/state\s+done/);
      process.kill(frozen, 'SIGCONT');
      resumed = true;
      const run = await submitted;
      expect(await run.done()).toMatchObject({ state: 'done', tasks: { failed: 0 } });
      expect(sorted(await collect(run))).toEqual(sorted(countWords(inputs)));
    } finally {
      if (!resumed) process.kill(frozen, 'SIGCONT');
    }
  });

  it('a run asking for more replicas than the primary has is refused at submit, exit 5', async ({ prefix }) => {
    const lone = await startRedisServer();
    try {
      const refused = await runCli(['submit', JOB, 'a b', '--min-replicas', '1'], { env: { REDIS_URL: lone.url, REDMAP_PREFIX: prefix } });
      expect(refused.code).toBe(5);
      expect(refused.stderr).toMatch(/asks for 1 replica to confirm its writes \(minReplicas\), but the primary has 0 online/);
      const tooMany = await runCli(['submit', JOB, 'a b', '--min-replicas', '2'], {
        env: { REDIS_URL: primary.url, REDMAP_PREFIX: prefix },
      });
      expect(tooMany.code).toBe(5);
      expect(tooMany.stderr).toMatch(/asks for 2 replicas .* has 1 online/);
    } finally {
      await lone.stop();
    }
  });

  it.for([['-1'], ['x'], ['1.5'], ['17']])('--min-replicas %s is a usage error, exit 2', async ([value], { prefix }) => {
    const given = await runCli(['submit', JOB, 'a', '--min-replicas', value!], { env: { REDIS_URL: primary.url, REDMAP_PREFIX: prefix } });
    expect(given.code).toBe(2);
    expect(given.stderr).toMatch(/--min-replicas/);
  });
});
