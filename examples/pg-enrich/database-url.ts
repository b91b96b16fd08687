/**
 * The PostgreSQL the example uses: DATABASE_URL, with no default, so it never reaches a
 * machine's database by accident.
 */
export function requireDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.DATABASE_URL;
  if (!url) {
    throw new Error(
      'DATABASE_URL is not set: point it at a PostgreSQL (postgres://USER:PASSWORD@HOST:5432/DATABASE), ' +
        'or start one of its own with: npx tsx examples/pg-enrich/postgres.ts',
    );
  }
  return url;
}
