/**
 * Orders and revenue by country, one query per user: inputs are user ids; each map call asks
 * PostgreSQL for that user's country, number of orders and total in cents, and the sums per
 * country come out (see README.md).
 *
 * The job protects the database it reads. Its file declares a job-wide cap on map calls in
 * flight, which bounds every run of the job on every machine together, and each worker
 * process keeps a small pool of connections, opened at its first call.
 *
 * Environment (read once, in `readSettings`):
 *   DATABASE_URL               the database (required, read at the first map call; see README.md)
 *   PG_ENRICH_SCHEMA           where the seed put the tables (default redmap_pg_enrich)
 *   PG_ENRICH_MAX_QUERIES      the job-wide cap on queries in flight (default 8)
 *   PG_ENRICH_POOL_SIZE        connections per worker process (default 4)
 *   PG_ENRICH_QUERY_SLEEP_MS   makes each query last at least this long, with pg_sleep, so
 *                              that pg_stat_activity shows them (demos and tests; default 0)
 */
import { userInfo } from 'node:os';
import pg from 'pg';
import { defineJob, NonRetryableError, z } from 'redmap';
import { requireDatabaseUrl } from './database-url.js';

/** How the job's connections name themselves in pg_stat_activity. */
export const APPLICATION_NAME = 'redmap-pg-enrich';

export interface CountryTotals {
  orders: number;
  /** In cents: integers, so sums are exact. */
  revenue: number;
}

function readSettings(env: NodeJS.ProcessEnv) {
  const whole = (name: string, fallback: number, min: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min)
      throw new Error(`${name}: expected a whole number of at least ${min}, got ${JSON.stringify(text)}`);
    return value;
  };
  const schema = env.PG_ENRICH_SCHEMA || 'redmap_pg_enrich';
  if (!/^(?!pg_)[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(
      `PG_ENRICH_SCHEMA: expected lower-case letters, digits and underscores, not starting with pg_, got ${JSON.stringify(schema)}`,
    );
  return {
    schema,
    maxQueries: whole('PG_ENRICH_MAX_QUERIES', 8, 1),
    poolSize: whole('PG_ENRICH_POOL_SIZE', 4, 1),
    querySleepMs: whole('PG_ENRICH_QUERY_SLEEP_MS', 0, 0),
  };
}

const settings = readSettings(process.env);

// node-postgres takes the default user name from $USER, which services and CI often lack;
// psql asks the operating system, and so does this.
pg.defaults.user ||= userInfo().username;

// A LEFT JOIN, so a user without orders still counts under their country, with zeros.
const USER_TOTALS = `SELECT u.country, count(o.id)::int AS orders, coalesce(sum(o.amount_cents), 0)::int8 AS revenue
  FROM ${settings.schema}.users u LEFT JOIN ${settings.schema}.orders o ON o.user_id = u.id
  WHERE u.id = $1 GROUP BY u.country`;
const QUERY =
  settings.querySleepMs > 0
    ? { name: 'pg-enrich-user-slow', text: `SELECT t.* FROM (${USER_TOTALS}) t, pg_sleep(${settings.querySleepMs / 1000})` }
    : { name: 'pg-enrich-user', text: USER_TOTALS };

let pool: pg.Pool | undefined;

function databasePool(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({
      connectionString: requireDatabaseUrl(),
      application_name: APPLICATION_NAME,
      max: settings.poolSize,
      // Idle connections must not keep a draining worker process alive.
      allowExitOnIdle: true,
    });
    // An idle connection that breaks (the server restarts) is dropped by the pool; without a
    // listener its error would end the worker process.
    pool.on('error', () => {});
  }
  return pool;
}

/**
 * Stops the query a connection runs, when its call timed out or its run was cancelled: the
 * worker stops waiting at once and frees the call's slot, so the database must stop too, or
 * it would run more queries than the cap says.
 */
async function cancelQuery(connection: pg.PoolClient): Promise<void> {
  // node-postgres keeps the server process id of each connection, untyped.
  const pid = (connection as unknown as { processID?: number }).processID;
  if (!pid) return;
  const canceller = new pg.Client({ connectionString: requireDatabaseUrl(), application_name: `${APPLICATION_NAME}-cancel` });
  try {
    await canceller.connect();
    await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
  } catch {
    // The query ends anyway when its connection closes.
  } finally {
    await canceller.end().catch(() => {});
  }
}

async function userTotals(userId: number, signal: AbortSignal): Promise<{ country: string; totals: CountryTotals }> {
  signal.throwIfAborted();
  const connection = await databasePool().connect();
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    void cancelQuery(connection);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { rows } = await connection.query<{ country: string; orders: number; revenue: string }>({ ...QUERY, values: [userId] });
    const row = rows[0];
    if (!row) throw new NonRetryableError(`no user with id ${userId} in ${settings.schema}.users`);
    return { country: row.country, totals: { orders: row.orders, revenue: Number(row.revenue) } };
  } finally {
    signal.removeEventListener('abort', onAbort);
    // A connection whose query was cancelled is closed rather than reused, so a late cancel
    // can never reach another call's query.
    connection.release(aborted);
  }
}

const add = (a: CountryTotals, b: CountryTotals): CountryTotals => ({ orders: a.orders + b.orders, revenue: a.revenue + b.revenue });

export default defineJob({
  name: 'pg-enrich',
  input: z.coerce.number().int().positive(),
  async map(userId, ctx) {
    const { country, totals } = await userTotals(userId, ctx.signal);
    return [[country, totals]];
  },
  combine: add,
  reduce: (_country, values: CountryTotals[]) => values.reduce(add),
  partitions: 4,
  limits: { concurrency: settings.maxQueries },
  defaults: { callTimeout: '30s' },
});
