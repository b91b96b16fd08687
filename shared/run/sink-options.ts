/**
 * Where a run's results also go: a PostgreSQL table. The settings travel with the run record
 * (so every worker applies the same ones) and therefore never hold a password: each worker
 * reads it from its own environment (PGPASSWORD or PGPASSWORD_FILE).
 */
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { redactUrl, urlHasPassword } from '../redis/redis-connection.js';

export const SINK_MODES = ['run', 'upsert'] as const;
export type SinkMode = (typeof SINK_MODES)[number];

export const DEFAULT_SINK_TABLE = 'redmap_results';

/**
 * The longest table name: its marker tables add `_partitions` (11 characters) and PostgreSQL
 * cuts identifiers at 63 bytes, which would silently make two sinks share a marker table.
 */
const MAX_TABLE_NAME = 52;
const IDENTIFIER = `[A-Za-z_][A-Za-z0-9_]{0,${MAX_TABLE_NAME - 1}}`;
const TABLE_PATTERN = new RegExp(`^(?:${IDENTIFIER}\\.)?${IDENTIFIER}$`);

export const sinkUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a URL such as postgres://USER@HOST:5432/DATABASE' });
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    ctx.addIssue({ code: 'custom', message: 'expected a postgres:// or postgresql:// URL' });
  else if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'expected a host: postgres://USER@HOST:5432/DATABASE' });
  else if (url.pathname.length <= 1) ctx.addIssue({ code: 'custom', message: 'expected a database: postgres://USER@HOST:5432/DATABASE' });
});

export const sinkTableSchema = z
  .string()
  .regex(TABLE_PATTERN, `expected a table name, optionally schema.table: letters, digits and "_", at most ${MAX_TABLE_NAME} each`);

export const sinkModeSchema = z.enum(SINK_MODES, { error: `expected one of ${SINK_MODES.join(', ')}` });

/** The sink as a caller or a job's `defaults` gives it. */
export const sinkInputSchema = z
  .object({
    /** postgres://USER@HOST:PORT/DATABASE, without a password. */
    url: sinkUrlSchema,
    /** Default "redmap_results"; created with its marker tables when missing. */
    table: sinkTableSchema.default(DEFAULT_SINK_TABLE),
    /** `run` (default): rows tagged with the run id; `upsert`: one row per key across runs. */
    mode: sinkModeSchema.default('run'),
  })
  .strict();

export type SinkInput = z.input<typeof sinkInputSchema>;
export type SinkSettings = z.output<typeof sinkInputSchema>;

/** The environment variables a worker reads the sink's password from. */
export const SINK_PASSWORD_VARIABLES = 'PGPASSWORD or PGPASSWORD_FILE';

/**
 * Refuses a URL that carries a password, before any message could echo it: it would be
 * stored with the run, in every log line about it, and (from a flag) visible in `ps`.
 */
export function refusePasswordInSinkUrl(where: string, url: unknown): void {
  if (typeof url !== 'string') return;
  let queryPassword = false;
  try {
    queryPassword = new URL(url).searchParams.has('password');
  } catch {
    // not a URL: the schema says so, and there is no password to hide
  }
  if (!urlHasPassword(url) && !queryPassword) return;
  const shown = queryPassword ? url.slice(0, url.indexOf('?')) : redactUrl(url);
  throw new UsageError(
    `${where} ${shown}: do not put the PostgreSQL password in the URL, where it would be stored with the run and seen in logs ` +
      `and by other users; set ${SINK_PASSWORD_VARIABLES} in the environment of each worker`,
  );
}

/** The URL as logs show it: with no password, whatever was given. */
export function describeSinkUrl(url: string): string {
  return redactUrl(url.split('?')[0]!);
}
