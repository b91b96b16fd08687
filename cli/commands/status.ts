import { formatDuration } from '../../shared/durations.js';
import { readRunSnapshot } from '../../shared/run-record.js';
import { TERMINAL_STATES, UNKNOWN_RUN_TEXT } from '../../shared/run-state.js';
import { toRunStatus, type RunStatus } from '../../shared/run-status.js';
import { readRunLimits } from '../../shared/throttle.js';
import { describeScope } from './throttle.js';
import { LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

export const statusSpec: CommandSpec = {
  name: 'status',
  title: 'show a run (--watch to follow it)',
  summary: 'Shows a run: its state, tasks committed and failed, items done, partitions reduced.',
  usage: 'redmap status RUN [--watch] [--json]',
  options: {
    watch: { type: 'boolean', description: 'refresh every second until the run ends' },
    json: { type: 'boolean', description: 'print JSON (one object; with --watch, one line per refresh)' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap status 20261127-113827-6d465fe5', 'redmap status nightly --watch', 'redmap status nightly --json | jq .state'],
  usesRedis: true,
};

export async function status(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(statusSpec, args, ['RUN']);
  const json = Boolean(args.values.json);
  const redis = await openCliRedis(ctx, args, false, 'status');
  try {
    for (;;) {
      const snapshot = await readRunSnapshot(redis.client, ctx.prefix, runId!);
      if (!snapshot) {
        process.stdout.write(
          json ? `${JSON.stringify({ id: runId, state: 'unknown', detail: UNKNOWN_RUN_TEXT })}\n` : `run ${runId}: ${UNKNOWN_RUN_TEXT}\n`,
        );
        return EXIT.failed;
      }
      const view = toRunStatus(snapshot);
      const limits = await readRunLimits(redis.client, ctx.prefix, runId!, snapshot.job);
      if (json) process.stdout.write(`${JSON.stringify({ ...view, limits })}\n`);
      else {
        if (args.values.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
        process.stdout.write(formatStatus(view));
        process.stdout.write(`  ${'run limits'.padEnd(11)}${describeScope(limits.run)}\n  ${'job limits'.padEnd(11)}${describeScope(limits.job)}\n`);
      }
      if (!args.values.watch || TERMINAL_STATES.has(view.state)) return EXIT.done;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}

export function formatStatus(view: RunStatus): string {
  const age = formatDuration(Date.now() - Date.parse(view.createdAt));
  const rows: Array<[string, string]> = [
    ['state', `${view.state}${view.generation > 1 ? ` (generation ${view.generation})` : ''}`],
    [
      'tasks',
      `${view.tasks.committed}/${view.tasks.total ?? '?'} committed, ${view.tasks.failed} failed${view.sealed ? '' : ' (still submitting)'}`,
    ],
    ['items', `${view.items.done}/${view.items.total ?? '?'} done`],
    ['partitions', `${view.partitions.reduced}/${view.partitions.total} reduced`],
    ['created', `${view.createdAt} (${age} ago)`],
  ];
  if (view.finishedAt) rows.push(['finished', view.finishedAt]);
  if (view.error) rows.push(['error', view.error]);
  return [
    `run ${view.id} (job ${view.job}, version ${view.version})`,
    ...rows.map(([name, value]) => `  ${name.padEnd(11)}${value}`),
    '',
  ].join('\n');
}
