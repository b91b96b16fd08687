// The pg-enrich example's run time with and without a cap, and what PostgreSQL saw: the most
// of the job's queries active at once in pg_stat_activity, sampled every 10 ms. Warm workers
// (2 processes × concurrency 4: 8 queries at most without a cap), interleaved rounds, every
// output checked against one SQL GROUP BY. Two sets: the plain queries (well under a
// millisecond each), and the same queries made to last 10 ms more with pg_sleep, as on a
// database that is busy.
//
//   npm run build && node bench/pg-enrich.mjs [--users 20000] [--slow-users 2000] [--rounds 3]
// Needs PostgreSQL, named by DATABASE_URL (one of its own: npx tsx examples/pg-enrich/postgres.ts); seeds the schema
// redmap_bench_pg_enrich (100k users, 1M orders) and drops it at the end.
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    'slow-users': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const JOB = 'examples/pg-enrich/job.ts';
const SCHEMA = 'redmap_bench_pg_enrich';
const DATABASE_URL = process.env.DATABASE_URL;
if (!DATABASE_URL)
  throw new Error('DATABASE_URL is not set: start a PostgreSQL with npx tsx examples/pg-enrich/postgres.ts and export what it prints');
const PROCESSES = 2;
const CONCURRENCY = 4;
pg.defaults.user ||= userInfo().username;

const seeded = spawnSync(process.execPath, ['--import', 'tsx', 'examples/pg-enrich/seed.ts', '--schema', SCHEMA], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, DATABASE_URL },
});
if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
process.stderr.write(seeded.stdout);

const database = new pg.Client({ connectionString: DATABASE_URL });
await database.connect();
const dir = mkdtempSync(join(tmpdir(), 'redmap-pg-bench-'));

/** The ids 1..n as a file, and the GROUP BY answer over them in the job's output format. */
async function inputsAndAnswer(users) {
  const file = join(dir, `ids-${users}.jsonl`);
  writeFileSync(file, Array.from({ length: users }, (_, i) => `${i + 1}\n`).join(''));
  const { rows } = await database.query(
    `SELECT u.country, count(o.id)::int AS orders, coalesce(sum(o.amount_cents), 0)::int8 AS revenue
       FROM ${SCHEMA}.users u LEFT JOIN ${SCHEMA}.orders o ON o.user_id = u.id
      WHERE u.id <= $1 GROUP BY u.country ORDER BY u.country COLLATE "C"`,
    [users],
  );
  const answer = rows
    .map((row) => `${JSON.stringify({ key: row.country, value: { orders: row.orders, revenue: Number(row.revenue) } })}\n`)
    .join('');
  return { file, answer };
}

async function startSampler() {
  const child = fork(join(root, 'bench/pg-sampler.mjs'), [DATABASE_URL, SCHEMA], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => child.once('message', resolve));
  return async () => {
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    await closed;
    return JSON.parse(output);
  };
}

/** One set of variants on warm workers started with `workerEnv`; interleaved rounds. */
async function measureSet(title, users, workerEnv, redis) {
  const prefix = `pg-${users}`;
  const env = {
    REDIS_URL: redis.url,
    REDMAP_PREFIX: prefix,
    REDMAP_LOG_LEVEL: 'warn',
    DATABASE_URL,
    PG_ENRICH_SCHEMA: SCHEMA,
    ...workerEnv,
  };
  // A job cap far above the 8 slots, so the runs without a run cap have no cap that binds.
  const workers = await startWarmWorkers(cli, JOB, {
    processes: PROCESSES,
    prefix,
    redisUrl: redis.url,
    extraArgs: ['--concurrency', String(CONCURRENCY)],
    // (Not REDMAP_LOG_LEVEL=warn: the workers must say when they serve.)
    env: { DATABASE_URL, PG_ENRICH_SCHEMA: SCHEMA, ...workerEnv, PG_ENRICH_MAX_QUERIES: '64' },
  });
  const { file, answer } = await inputsAndAnswer(users);
  const variants = [
    { name: 'no cap (8 slots)', flags: [] },
    { name: '--global-concurrency 4', flags: ['--global-concurrency', '4'] },
    { name: '--global-concurrency 2', flags: ['--global-concurrency', '2'] },
  ];
  const samples = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const variant of variants) {
      const stopSampler = await startSampler();
      const sample = measure(
        process.execPath,
        [cli, 'submit', JOB, '--input-file', file, '--input-format', 'jsonl', ...variant.flags, '--wait', '--quiet'],
        {
          cwd: root,
          env,
          redis,
        },
      );
      const seen = await stopSampler();
      if (sample.stdout !== answer) throw new Error(`${title}, ${variant.name}: the result differs from the GROUP BY`);
      samples[variant.name].push({ ...sample, mostActive: seen.max });
      process.stderr.write(
        `  ${title} round ${round} ${variant.name}: ${(sample.wallMs / 1000).toFixed(2)} s, at most ${seen.max} active queries seen\n`,
      );
    }
  }
  await workers.stop();
  const base = summarize(samples['no cap (8 slots)']).wallMs.median;
  return variants.map(({ name }) => {
    const list = samples[name];
    const s = summarize(list);
    const most = Math.max(...list.map((x) => x.mostActive));
    return `| ${title} | ${name} | ${(s.wallMs.median / 1000).toFixed(2)} (${(s.wallMs.min / 1000).toFixed(2)}–${(s.wallMs.max / 1000).toFixed(2)}) | ${Math.round((users * 1000) / s.wallMs.median)} | ${most} | ${(s.wallMs.median / base).toFixed(2)}x |`;
  });
}

const redis = await startRedis();
try {
  const users = Number(values.users);
  const slowUsers = Number(values['slow-users']);
  const rows = [
    ...(await measureSet(`${users} users, plain queries`, users, {}, redis)),
    ...(await measureSet(`${slowUsers} users, queries + 10 ms`, slowUsers, { PG_ENRICH_QUERY_SLEEP_MS: '10' }, redis)),
  ];
  const m = machine();
  const { rows: version } = await database.query('SHOW server_version');
  process.stdout.write(
    [
      `### pg-enrich: run time with and without a cap, ${PROCESSES} warm worker processes × concurrency ${CONCURRENCY}`,
      '',
      `Command: \`npm run build && node bench/pg-enrich.mjs --users ${users} --slow-users ${slowUsers} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis}, PostgreSQL ${version[0].server_version} (same machine) · load ${m.loadAverage}`,
      '',
      '| inputs | variant | wall median (min–max) s | users/s | most active queries seen | time vs no cap |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
  await database.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await database.end();
}
