import { formatDuration } from '../../shared/data/durations.js';
import { listRuns } from '../../shared/run/runs-index.js';
import { intFlag, LOG_OPTIONS, REDIS_OPTIONS, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

export const runsSpec: CommandSpec = {
  name: 'runs',
  summary: 'Lists runs, newest first: id, job, state, progress, age.',
  usage: 'redmap runs [--limit N] [--json]',
  options: {
    limit: { type: 'string', value: 'N', description: 'how many runs (default 20)' },
    json: { type: 'boolean', description: 'print JSON, one run per line' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap runs', 'redmap runs --json --limit 100 | jq -r "select(.state==\\"failed\\") | .id"'],
  usesRedis: true,
};

export async function runs(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const limit = intFlag(args, 'limit', { min: 1, max: 10_000 }) ?? 20;
  const redis = await openCliRedis(ctx, args, false, 'runs');
  try {
    const records = await listRuns(redis.client, ctx.prefix, { limit });
    if (args.values.json) {
      for (const run of records) {
        process.stdout.write(
          `${JSON.stringify({ id: run.id, job: run.job, version: run.fingerprint, state: run.state, generation: run.generation, itemsDone: run.itemsDone, items: run.items ?? null, createdAt: new Date(run.createdAt).toISOString(), finishedAt: run.finishedAt ? new Date(run.finishedAt).toISOString() : null })}\n`,
        );
      }
      return EXIT.done;
    }
    const rows = records.map((run) => [
      run.id,
      run.job,
      run.state,
      `${run.itemsDone}/${run.items ?? '?'}`,
      `${formatDuration(Date.now() - run.createdAt)} ago`,
      run.finishedAt ? formatDuration(run.finishedAt - run.createdAt) : '',
    ]);
    const header = ['RUN', 'JOB', 'STATE', 'ITEMS', 'CREATED', 'TOOK'];
    const widths = header.map((name, i) => Math.max(name.length, ...rows.map((row) => row[i]!.length)));
    for (const row of [header, ...rows])
      process.stdout.write(
        `${row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    if (records.length === 0) process.stderr.write('redmap: no runs\n');
    return EXIT.done;
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
