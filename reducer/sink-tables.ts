/**
 * The tables of a PostgreSQL sink: the results table and its two marker tables, created when
 * missing. The README ("From logs to a table") documents the same schema.
 */
import type pg from 'pg';
import type { SinkMode } from '../shared/run/sink-options.js';

/** The quoted names of a sink's tables, from its (already validated) table name. */
export interface SinkTableNames {
  results: string;
  /** One row per partition written: (run, incarnation, generation, partition) is unique. */
  partitions: string;
  /** One row per run: which incarnation and generation the table holds, and whether all of it. */
  runs: string;
  /** The index deletes of a run's partition use (the results table's own schema holds it). */
  partitionIndex: string;
}

export function sinkTableNames(table: string): SinkTableNames {
  const dot = table.indexOf('.');
  const schema = dot === -1 ? '' : `${quote(table.slice(0, dot))}.`;
  const name = table.slice(dot + 1);
  return {
    results: `${schema}${quote(name)}`,
    partitions: `${schema}${quote(`${name}_partitions`)}`,
    runs: `${schema}${quote(`${name}_runs`)}`,
    partitionIndex: quote(`${name}_by_part`),
  };
}

/** Names are checked against [A-Za-z0-9_] first; quoting keeps their case as given. */
function quote(identifier: string): string {
  return `"${identifier}"`;
}

function resultsTable(names: SinkTableNames, mode: SinkMode): string {
  // In mode run a key is unique within its run; in mode upsert, across all runs.
  const primaryKey = mode === 'run' ? 'PRIMARY KEY (run_id, key)' : 'PRIMARY KEY (key)';
  return `CREATE TABLE IF NOT EXISTS ${names.results} (
    run_id text NOT NULL,
    key text NOT NULL,
    value jsonb NOT NULL,
    incarnation text NOT NULL,
    generation integer NOT NULL,
    partition integer NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    ${primaryKey}
  )`;
}

function markerTables(names: SinkTableNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${names.partitions} (
      run_id text NOT NULL,
      incarnation text NOT NULL,
      generation integer NOT NULL,
      partition integer NOT NULL,
      rows integer NOT NULL,
      flipped_at bigint NOT NULL,
      written_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (run_id, incarnation, generation, partition)
    )`,
    `CREATE TABLE IF NOT EXISTS ${names.runs} (
      run_id text PRIMARY KEY,
      incarnation text NOT NULL,
      run_created_at bigint NOT NULL,
      generation integer NOT NULL,
      partitions integer NOT NULL,
      partitions_written integer NOT NULL,
      complete boolean NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  ];
}

/**
 * Creates the sink's tables when missing. Concurrent workers would race in CREATE TABLE IF
 * NOT EXISTS (it can fail on the catalog's unique index), so creation holds a lock of its own.
 */
export async function createSinkTables(client: pg.PoolClient, table: string, mode: SinkMode): Promise<void> {
  const names = sinkTableNames(table);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`redmap sink tables ${table}`]);
    await client.query(resultsTable(names, mode));
    if (mode === 'run') await client.query(`CREATE INDEX IF NOT EXISTS ${names.partitionIndex} ON ${names.results} (run_id, partition)`);
    for (const statement of markerTables(names)) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
