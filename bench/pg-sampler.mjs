// Counts the pg-enrich job's active queries in pg_stat_activity every 10 ms until SIGTERM,
// then prints {"samples":N,"max":M,"histogram":{...}} on stdout. Run beside a measured command.
//
//   node bench/pg-sampler.mjs DATABASE_URL SCHEMA
import pg from 'pg';
import { userInfo } from 'node:os';

const [url, schema] = process.argv.slice(2);
pg.defaults.user ||= userInfo().username;
const client = new pg.Client({ connectionString: url, application_name: 'redmap-bench-sampler' });
await client.connect();
const histogram = {};
let samples = 0;
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.send?.('ready');
while (!stopping) {
  const { rows } = await client.query(
    `SELECT count(*)::int AS active FROM pg_stat_activity
      WHERE application_name = 'redmap-pg-enrich' AND state = 'active' AND strpos(query, $1) > 0`,
    [`${schema}.orders`],
  );
  histogram[rows[0].active] = (histogram[rows[0].active] ?? 0) + 1;
  samples++;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await client.end();
process.stdout.write(JSON.stringify({ samples, max: Math.max(...Object.keys(histogram).map(Number)), histogram }) + '\n');
