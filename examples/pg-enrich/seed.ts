/**
 * Seeds the pg-enrich example: users (each with a country) and their orders (amounts in
 * integer cents) in a schema of their own, replaced whole; the same rows for the same
 * arguments on every machine.
 *
 *   npx tsx examples/pg-enrich/seed.ts [--schema redmap_pg_enrich] [--users 100000] [--orders 1000000] [--seed 1]
 *
 * Rows go in as arrays through `unnest` (tens of thousands per statement, one round trip
 * each), and the keys and the index are built after the load: one pass each instead of an
 * update per row.
 */
import { realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { requireDatabaseUrl } from './database-url.js';

export interface SeedOptions {
  databaseUrl: string;
  /** Dropped and created again: lower-case letters, digits and underscores, not starting with pg_. */
  schema: string;
  users: number;
  orders: number;
  seed: number;
}

export interface SeedSummary {
  schema: string;
  users: number;
  orders: number;
  countries: number;
  usersWithoutOrders: number;
  revenueCents: number;
  seconds: number;
}

/** PostgreSQL keeps names that start with pg_ for itself. */
export const DEFAULT_SCHEMA = 'redmap_pg_enrich';
export const SCHEMA_PATTERN = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/** Countries and their share of users: a few big markets and a long tail, as a shop sees them. */
const COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ['US', 30],
  ['DE', 12],
  ['GB', 10],
  ['FR', 9],
  ['BR', 7],
  ['IN', 7],
  ['JP', 6],
  ['CA', 5],
  ['ES', 4],
  ['IT', 4],
  ['NL', 3],
  ['PL', 3],
  ['SE', 2],
  ['MX', 2],
  ['AU', 2],
  ['KE', 1],
  ['NZ', 1],
];

// node-postgres takes the default user name from $USER, which services and CI often lack;
// psql asks the operating system, and so does this.
pg.defaults.user ||= userInfo().username;

const BATCH_ROWS = 50_000;
const DAY_MS = 86_400_000;
const EPOCH_2023 = Date.UTC(2023, 0, 1);

/** mulberry32: tiny and fast, good enough for test data (not for anything secret). */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countryPicker(random: () => number): () => string {
  const total = COUNTRIES.reduce((sum, [, weight]) => sum + weight, 0);
  return () => {
    let target = random() * total;
    for (const [code, weight] of COUNTRIES) if ((target -= weight) < 0) return code;
    return COUNTRIES[COUNTRIES.length - 1]![0];
  };
}

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export async function seedDatabase(options: SeedOptions): Promise<SeedSummary> {
  const { schema, users, orders } = options;
  if (!SCHEMA_PATTERN.test(schema))
    throw new Error(`--schema: expected lower-case letters, digits and underscores, not starting with pg_, got ${JSON.stringify(schema)}`);
  const started = performance.now();
  const random = createRandom(options.seed);
  const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'redmap-pg-enrich-seed' });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.users (id integer NOT NULL, country text NOT NULL, signed_up date NOT NULL)`);
    await client.query(
      `CREATE TABLE ${schema}.orders (id integer NOT NULL, user_id integer NOT NULL, amount_cents integer NOT NULL, placed_at timestamptz NOT NULL)`,
    );
    await insertUsers(client, schema, users, random);
    await insertOrders(client, schema, users, orders, random);
    await client.query(`ALTER TABLE ${schema}.users ADD PRIMARY KEY (id)`);
    await client.query(`ALTER TABLE ${schema}.orders ADD PRIMARY KEY (id)`);
    await client.query(`ALTER TABLE ${schema}.orders ADD FOREIGN KEY (user_id) REFERENCES ${schema}.users (id)`);
    // The job's one query per user finds that user's orders through this index.
    await client.query(`CREATE INDEX orders_user_id ON ${schema}.orders (user_id) INCLUDE (amount_cents)`);
    await client.query('COMMIT');
    await client.query(`ANALYZE ${schema}.users, ${schema}.orders`);
    const { rows } = await client.query<{ countries: number; without: number; revenue: string }>(
      `SELECT (SELECT count(DISTINCT country)::int FROM ${schema}.users) AS countries,
              (SELECT count(*)::int FROM ${schema}.users u WHERE NOT EXISTS (SELECT FROM ${schema}.orders o WHERE o.user_id = u.id)) AS without,
              (SELECT coalesce(sum(amount_cents), 0)::int8 FROM ${schema}.orders) AS revenue`,
    );
    const summary = rows[0]!;
    return {
      schema,
      users,
      orders,
      countries: summary.countries,
      usersWithoutOrders: summary.without,
      revenueCents: Number(summary.revenue),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

async function insertUsers(client: pg.Client, schema: string, users: number, random: () => number): Promise<void> {
  const pickCountry = countryPicker(random);
  for (let first = 1; first <= users; first += BATCH_ROWS) {
    const ids: number[] = [];
    const countries: string[] = [];
    const signedUp: string[] = [];
    for (let id = first; id < Math.min(first + BATCH_ROWS, users + 1); id++) {
      ids.push(id);
      countries.push(pickCountry());
      signedUp.push(isoDate(EPOCH_2023 + Math.floor(random() * 365) * DAY_MS));
    }
    await client.query(`INSERT INTO ${schema}.users (id, country, signed_up) SELECT * FROM unnest($1::int[], $2::text[], $3::date[])`, [
      ids,
      countries,
      signedUp,
    ]);
  }
}

/**
 * Orders go mostly to the first users (a buyer's chance falls with the square root of their
 * id), so some users order dozens of times and many never do; amounts run from 5.00 to about
 * 500.00, mostly small.
 */
async function insertOrders(client: pg.Client, schema: string, users: number, orders: number, random: () => number): Promise<void> {
  for (let first = 1; first <= orders; first += BATCH_ROWS) {
    const ids: number[] = [];
    const buyers: number[] = [];
    const amounts: number[] = [];
    const placedAt: string[] = [];
    for (let id = first; id < Math.min(first + BATCH_ROWS, orders + 1); id++) {
      ids.push(id);
      buyers.push(1 + Math.floor(users * random() ** 2));
      amounts.push(500 + Math.floor(random() ** 3 * 49_500));
      placedAt.push(new Date(EPOCH_2023 + Math.floor(random() * 730 * DAY_MS)).toISOString());
    }
    await client.query(
      `INSERT INTO ${schema}.orders (id, user_id, amount_cents, placed_at) SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::timestamptz[])`,
      [ids, buyers, amounts, placedAt],
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      schema: { type: 'string', default: DEFAULT_SCHEMA },
      users: { type: 'string', default: '100000' },
      orders: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const count = (name: 'users' | 'orders' | 'seed', min: number): number => {
    const value = Number(values[name]);
    if (!Number.isSafeInteger(value) || value < min)
      throw new Error(`--${name}: expected a whole number of at least ${min}, got ${values[name]}`);
    return value;
  };
  const summary = await seedDatabase({
    databaseUrl: requireDatabaseUrl(),
    schema: values.schema,
    users: count('users', 1),
    orders: count('orders', 0),
    seed: count('seed', 0),
  });
  process.stdout.write(
    `seeded schema ${summary.schema}: ${summary.users} users in ${summary.countries} countries ` +
      `(${summary.usersWithoutOrders} without orders), ${summary.orders} orders worth ${summary.revenueCents} cents, ` +
      `in ${summary.seconds.toFixed(1)} s\n`,
  );
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`seed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
