/**
 * Writes a reduce partition's results to a PostgreSQL table in one transaction with a
 * marker row unique on (run, incarnation, generation, partition): a reduce task that runs
 * twice writes once, and the table holds the run's latest result (a partition's transaction
 * replaces that partition's rows of earlier generations and incarnations). One pool per
 * worker process and server, closed with the worker.
 */
import type pg from 'pg';
import { readPostgresPassword } from '../shared/config.js';
import { describeError, RedmapError, SinkError } from '../shared/errors.js';
import { failpoint } from '../shared/failpoints.js';
import type { Logger } from '../shared/logger.js';
import { describeSinkUrl, SINK_PASSWORD_VARIABLES, type SinkSettings } from '../shared/run/sink-options.js';
import { createSinkTables, sinkTableNames, type SinkTableNames } from './sink-tables.js';

/** Which partition of which run a transaction writes. */
export interface SinkPartition {
  runId: string;
  incarnation: string;
  /** Orders incarnations of one run id: a later one's rows are never replaced by an earlier one's. */
  runCreatedAt: number;
  generation: number;
  partition: number;
  partitions: number;
  /**
   * When the run flipped to reducing, as the reduce attempt read it. A failover can lose a
   * flip and the last map commits before it; a partition read then may lack their output, and
   * the later flip (another time) writes it again in full.
   */
  flippedAt: number;
}

/**
 * `written`; `already-written` when an earlier attempt committed this partition; `stale`
 * when the table already holds a later generation or incarnation of the run.
 */
export type SinkOutcome = 'written' | 'already-written' | 'stale';

type Rows = AsyncIterable<Array<[string, unknown]>>;

/** Connections a worker process holds per sink server: reduce tasks are few, and each uses one. */
const POOL_SIZE = 4;

export class PostgresSinks {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly tablesReady = new Map<string, Promise<void>>();

  constructor(private readonly log: Logger) {}

  /** Writes one partition's rows (batches in key order) in one transaction. */
  async writePartition(sink: SinkSettings, target: SinkPartition, rows: Rows): Promise<SinkOutcome> {
    const pool = await this.poolFor(sink.url);
    const client = await pool.connect().catch((error: unknown) => {
      throw sinkError(sink, error);
    });
    let broken: Error | undefined;
    try {
      await this.ensureTables(client, sink);
      return await writeInTransaction(client, sink, target, rows);
    } catch (error) {
      // A connection that failed mid-transaction is not given back for reuse.
      broken = error as Error;
      throw sinkError(sink, error);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
  }

  private async poolFor(url: string): Promise<pg.Pool> {
    let pool = this.pools.get(url);
    if (!pool) {
      // Loaded on a sink's first write: most runs have none, and every worker process would pay for it at start-up.
      const { default: postgres } = await import('pg');
      if (this.pools.has(url)) return this.pools.get(url)!;
      pool = new postgres.Pool({
        connectionString: withPassword(url, readPostgresPassword()),
        max: POOL_SIZE,
        // Lets an operator tell which worker process holds a transaction (pg_stat_activity).
        application_name: `redmap-worker-${process.pid}`,
      });
      const server = describeSinkUrl(url);
      // An idle connection that breaks must not crash the worker; the next write reconnects.
      pool.on('error', (error) => this.log.warn({ err: error, sink: server }, 'a PostgreSQL sink connection failed while idle'));
      this.pools.set(url, pool);
    }
    return pool;
  }

  private async ensureTables(client: pg.PoolClient, sink: SinkSettings): Promise<void> {
    const key = `${sink.url} ${sink.table} ${sink.mode}`;
    let ready = this.tablesReady.get(key);
    if (!ready) {
      ready = createSinkTables(client, sink.table, sink.mode);
      this.tablesReady.set(key, ready);
      // A failed creation is tried again by the next task, not remembered.
      ready.catch(() => this.tablesReady.delete(key));
    }
    await ready;
  }
}

/** PostgreSQL's errors, saying which sink; redmap's own (staged output lost) pass as they are. */
function sinkError(sink: SinkSettings, error: unknown): Error {
  if (error instanceof RedmapError) return error;
  const code = (error as { code?: unknown }).code;
  // 28P01: wrong password; 28000: no such role, or pg_hba refused it.
  const hint =
    code === '28P01' || code === '28000' || /password/i.test(describeError(error))
      ? `; set ${SINK_PASSWORD_VARIABLES} in each worker's environment`
      : '';
  return new SinkError(sink.table, `PostgreSQL sink ${describeSinkUrl(sink.url)}, table ${sink.table}: ${describeError(error)}${hint}`, {
    cause: error,
  });
}

/**
 * The URL with this worker's password (from its own environment: the URL stored with the run
 * never holds one). Put into the URL because pg lets a URL's empty password override a
 * separate `password` option; this URL stays in the pool and is never shown.
 */
function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

async function writeInTransaction(client: pg.PoolClient, sink: SinkSettings, target: SinkPartition, rows: Rows): Promise<SinkOutcome> {
  const names = sinkTableNames(sink.table);
  await client.query('BEGIN');
  try {
    // Serializes the partitions of one run, so the last one counts every marker (run marker).
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`redmap sink ${sink.table} ${target.runId}`]);
    const refused = await refusalOf(client, names, target);
    if (refused) {
      await client.query('ROLLBACK');
      return refused;
    }
    if (sink.mode === 'run') await deleteEarlierRows(client, names, target);
    let written = 0;
    for await (const batch of rows) written += await insertRows(client, names, sink, target, batch);
    await finishMarkers(client, names, target, written);
    await failpoint('inside-sink-transaction', target.partition);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  await failpoint('after-sink-commit', target.partition);
  return 'written';
}

/**
 * Why this attempt must write nothing, if so: the table holds a later generation or
 * incarnation of the run, or this partition's marker is there (an earlier attempt committed).
 */
async function refusalOf(client: pg.PoolClient, names: SinkTableNames, target: SinkPartition): Promise<SinkOutcome | undefined> {
  if (await isStale(client, names, target)) return 'stale';
  return (await insertMarker(client, names, target)) ? undefined : 'already-written';
}

/** True when the table holds a later incarnation (by creation time) or generation of the run. */
async function isStale(client: pg.PoolClient, names: SinkTableNames, target: SinkPartition): Promise<boolean> {
  const { rows } = await client.query<{ later: boolean }>(
    `SELECT (run_created_at, generation) > ($2::bigint, $3::integer) AS later FROM ${names.runs} WHERE run_id = $1`,
    [target.runId, target.runCreatedAt, target.generation],
  );
  return rows[0]?.later === true;
}

/**
 * False when the marker exists for the same flip: an earlier attempt of this partition
 * committed its rows. A marker of another flip is taken over, and the rows written again.
 */
async function insertMarker(client: pg.PoolClient, names: SinkTableNames, target: SinkPartition): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO ${names.partitions} AS m (run_id, incarnation, generation, partition, rows, flipped_at) VALUES ($1, $2, $3, $4, 0, $5)
     ON CONFLICT (run_id, incarnation, generation, partition)
       DO UPDATE SET flipped_at = excluded.flipped_at, rows = 0, written_at = now() WHERE m.flipped_at <> excluded.flipped_at`,
    [target.runId, target.incarnation, target.generation, target.partition, target.flippedAt],
  );
  return rowCount === 1;
}

/**
 * The run's rows of this partition written before (earlier generations and incarnations, or
 * this one under an earlier flip), and those of partitions an earlier incarnation had beyond
 * this one's count (a run id reused with fewer).
 */
async function deleteEarlierRows(client: pg.PoolClient, names: SinkTableNames, target: SinkPartition): Promise<void> {
  await client.query(`DELETE FROM ${names.results} WHERE run_id = $1 AND (partition = $2 OR partition >= $3)`, [
    target.runId,
    target.partition,
    target.partitions,
  ]);
}

/**
 * One statement per staged batch, the rows as two arrays. A key an earlier incarnation wrote
 * in another partition (another partition count) is taken over rather than a conflict.
 */
async function insertRows(
  client: pg.PoolClient,
  names: SinkTableNames,
  sink: SinkSettings,
  target: SinkPartition,
  batch: Array<[string, unknown]>,
): Promise<number> {
  if (batch.length === 0) return 0;
  const conflict = sink.mode === 'run' ? '(run_id, key)' : '(key)';
  const { rowCount } = await client.query(
    `INSERT INTO ${names.results} AS t (run_id, key, value, incarnation, generation, partition)
     SELECT $1, k, v::jsonb, $2, $3, $4 FROM unnest($5::text[], $6::text[]) AS r(k, v)
     ON CONFLICT ${conflict} DO UPDATE SET run_id = excluded.run_id, value = excluded.value, incarnation = excluded.incarnation,
       generation = excluded.generation, partition = excluded.partition, written_at = now()`,
    [
      target.runId,
      target.incarnation,
      target.generation,
      target.partition,
      batch.map(([key]) => key),
      batch.map(([, value]) => JSON.stringify(value)),
    ],
  );
  return rowCount ?? 0;
}

/** Records the partition's row count and the run marker: complete once every partition is written. */
async function finishMarkers(client: pg.PoolClient, names: SinkTableNames, target: SinkPartition, written: number): Promise<void> {
  const { runId, incarnation, generation, partition, partitions, runCreatedAt } = target;
  await client.query(
    `UPDATE ${names.partitions} SET rows = $5 WHERE run_id = $1 AND incarnation = $2 AND generation = $3 AND partition = $4`,
    [runId, incarnation, generation, partition, written],
  );
  await client.query(
    `INSERT INTO ${names.runs} (run_id, incarnation, run_created_at, generation, partitions, partitions_written, complete)
     SELECT $1, $2, $3, $4, $5::integer, count(*), count(*) >= $5::integer FROM ${names.partitions}
      WHERE run_id = $1 AND incarnation = $2 AND generation = $4
     ON CONFLICT (run_id) DO UPDATE SET incarnation = excluded.incarnation, run_created_at = excluded.run_created_at,
       generation = excluded.generation, partitions = excluded.partitions, partitions_written = excluded.partitions_written,
       complete = excluded.complete, updated_at = now()`,
    [runId, incarnation, runCreatedAt, generation, partitions],
  );
}
