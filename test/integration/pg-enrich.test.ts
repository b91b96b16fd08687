/**
 * The pg-enrich example on a real PostgreSQL, from several worker processes that could run
 * 12 queries at once: under a cap of 3 the database itself never shows more than 3 of the
 * job's queries running (pg_stat_activity, sampled every 10 ms), does show 3, and the result
 * equals one SQL GROUP BY over the same tables, as does the job run in one process. The
 * suite seeds a schema of its own and drops it afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLICATION_NAME } from '../../examples/pg-enrich/job.js';
import { DEFAULT_DATABASE_URL, seedDatabase } from '../../examples/pg-enrich/seed.js';
import { runCli } from '../support/cli.js';
import { startSupervisedWorkers } from '../support/faults.js';
import { openClient, redisUrl, testPrefix, wipePrefix } from '../support/test-redis.js';

const JOB = 'examples/pg-enrich/job.ts';
const DATABASE_URL = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const USERS = 240;
const PROCESSES = 3;
const CONCURRENCY = 4;

const schema = `redmap_test_${randomBytes(4).toString('hex')}`;
let database: pg.Client;
let idsFile: string;

/** Set when PostgreSQL could not be reached: each test then fails with it (none is skipped). */
let unreachable: Error | undefined;

beforeAll(async () => {
  database = new pg.Client({ connectionString: DATABASE_URL, application_name: 'redmap-test-observer' });
  try {
    await database.connect();
  } catch (error) {
    unreachable = new Error(
      `PostgreSQL is not reachable at ${DATABASE_URL} (${(error as Error).message}): this suite needs a real PostgreSQL. ` +
        'Start it (pg_ctlcluster 15 main start), or point DATABASE_URL at one.',
    );
    return;
  }
  await seedDatabase({ databaseUrl: DATABASE_URL, schema, users: USERS, orders: 3000, seed: 7 });
  idsFile = join(mkdtempSync(join(tmpdir(), 'redmap-pg-')), 'ids.jsonl');
  writeFileSync(idsFile, Array.from({ length: USERS }, (_, i) => `${i + 1}\n`).join(''));
});

afterAll(async () => {
  if (unreachable) return;
  await database.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await database.end();
});

/** The answer, as one GROUP BY, in the job's output format (JSON Lines sorted by key in byte order). */
async function groupBy(): Promise<string> {
  const { rows } = await database.query<{ country: string; orders: number; revenue: string }>(
    `SELECT u.country, count(o.id)::int AS orders, coalesce(sum(o.amount_cents), 0)::int8 AS revenue
       FROM ${schema}.users u LEFT JOIN ${schema}.orders o ON o.user_id = u.id
      GROUP BY u.country ORDER BY u.country COLLATE "C"`,
  );
  return rows
    .map((row) => `${JSON.stringify({ key: row.country, value: { orders: row.orders, revenue: Number(row.revenue) } })}\n`)
    .join('');
}

/** Counts the job's queries that PostgreSQL is running on this test's tables, every 10 ms, until stopped. */
function sampleActiveQueries(): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      const { rows } = await database.query<{ active: number }>(
        `SELECT count(*)::int AS active FROM pg_stat_activity
          WHERE application_name = $1 AND state = 'active' AND strpos(query, $2) > 0`,
        [APPLICATION_NAME, `${schema}.orders`],
      );
      samples.push(rows[0]!.active);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await sampling;
      return samples;
    },
  };
}

async function runCapped(jobEnv: NodeJS.ProcessEnv, submitFlags: string[]): Promise<{ stdout: string; samples: number[] }> {
  if (unreachable) throw unreachable;
  const prefix = testPrefix();
  const client = await openClient();
  const env = {
    REDIS_URL: redisUrl(),
    REDMAP_PREFIX: prefix,
    DATABASE_URL,
    PG_ENRICH_SCHEMA: schema,
    PG_ENRICH_QUERY_SLEEP_MS: '50',
    ...jobEnv,
  };
  const workers = startSupervisedWorkers(JOB, PROCESSES, env, ['--concurrency', String(CONCURRENCY)]);
  try {
    await workers.ready(PROCESSES);
    const sampler = sampleActiveQueries();
    const args = ['submit', JOB, '--input-file', idsFile, '--input-format', 'jsonl', '--chunk-size', '4', ...submitFlags];
    const result = await runCli([...args, '--wait', '--quiet'], { env });
    const samples = await sampler.stop();
    expect(result.code, result.stderr).toBe(0);
    return { stdout: result.stdout, samples };
  } finally {
    await workers.stop();
    await wipePrefix(client, prefix);
    await client.close();
  }
}

describe('pg-enrich on PostgreSQL, 3 worker processes x concurrency 4, queries of 50 ms', () => {
  it('under the job-wide cap of 3 its file declares: never more than 3 active queries, 3 reached, the GROUP BY answer', async () => {
    const { stdout, samples } = await runCapped({ PG_ENRICH_MAX_QUERIES: '3' }, []);
    expect(stdout).toBe(await groupBy());
    expect(samples.length).toBeGreaterThan(100);
    expect(Math.max(...samples)).toBe(3);
  });

  it('in one process (run --local), several chunks and partitions: the same GROUP BY answer', async () => {
    if (unreachable) throw unreachable;
    const env = { DATABASE_URL, PG_ENRICH_SCHEMA: schema };
    const args = ['run', JOB, '--input-file', idsFile, '--input-format', 'jsonl', '--chunk-size', '16', '--local', '--quiet'];
    const result = await runCli(args, { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(await groupBy());
  });

  it('under a run cap of 3 (--global-concurrency 3) below a job cap of 50: the same', async () => {
    const { stdout, samples } = await runCapped({ PG_ENRICH_MAX_QUERIES: '50' }, ['--global-concurrency', '3']);
    expect(stdout).toBe(await groupBy());
    expect(samples.length).toBeGreaterThan(100);
    expect(Math.max(...samples)).toBe(3);
  });
});
