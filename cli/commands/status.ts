import { formatDuration } from '../../shared/data/durations.js';
import { TERMINAL_STATES, UNKNOWN_RUN_TEXT } from '../../shared/run/run-state.js';
import { RECENTLY_SEEN_MS } from '../../shared/workers/worker-registry.js';
import { LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { readerLeft } from '../output.js';
import { formatCount } from '../../shared/data/formats.mjs';
import { RateMeter } from '../run-pace.js';
import { readRunView, type RunView } from '../run-view.js';
import { describeScope } from './throttle.js';

export const statusSpec: CommandSpec = {
  name: 'status',
  summary:
    'Shows a run: its state, tasks committed, failed and retried, items done and how fast, partitions reduced, the limits\n' +
    'in force, and the worker processes of its job seen in the last 10 s. --watch refreshes it every second until the run\n' +
    'ends; each refresh costs a fixed number of Redis round trips, whatever the size of the run.',
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

const REFRESH_MS = 1000;

export async function status(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(statusSpec, args, ['RUN']);
  const json = Boolean(args.values.json);
  const watch = Boolean(args.values.watch);
  const redis = await openCliRedis(ctx, args, false, 'status');
  const meter = new RateMeter();
  try {
    for (;;) {
      const view = await readRunView(redis.client, ctx.prefix, runId!, meter);
      if (!view) {
        process.stdout.write(
          json ? `${JSON.stringify({ id: runId, state: 'unknown', detail: UNKNOWN_RUN_TEXT })}\n` : `run ${runId}: ${UNKNOWN_RUN_TEXT}\n`,
        );
        return EXIT.failed;
      }
      if (json) process.stdout.write(`${JSON.stringify(view)}\n`);
      else {
        if (watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
        process.stdout.write(formatStatus(view));
      }
      // Watching stops when the reader of stdout has gone (`--watch | head`).
      if (!watch || TERMINAL_STATES.has(view.state) || readerLeft()) return EXIT.done;
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    }
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}

export function formatStatus(view: RunView): string {
  const age = formatDuration(Date.now() - Date.parse(view.createdAt));
  const rows: Array<[string, string]> = [
    ['state', `${view.state}${view.generation > 1 ? ` (generation ${view.generation})` : ''}`],
    ['tasks', describeTasks(view)],
    ['items', describeItems(view)],
    ['partitions', `${view.partitions.reduced}/${view.partitions.total} reduced`],
    ['run limits', describeScope(view.limits.run)],
    ['job limits', describeScope(view.limits.job)],
    ['workers', describeWorkers(view)],
    ['created', `${view.createdAt} (${age} ago)`],
  ];
  if (view.replicas.required > 0) rows.push(['replicas', describeReplicas(view)]);
  if (view.finishedAt) rows.push(['finished', `${view.finishedAt} (took ${formatDuration(view.pace.elapsedMs)})`]);
  if (view.error) rows.push(['error', view.error]);
  return [
    `run ${view.id} (job ${view.job}, version ${view.version})`,
    ...rows.map(([name, value]) => `  ${name.padEnd(12)}${value}`),
    '',
  ].join('\n');
}

function describeReplicas(view: RunView): string {
  const { required, waiting } = view.replicas;
  const replicas = `${required} ${required === 1 ? 'replica' : 'replicas'}`;
  return waiting
    ? `waiting for ${replicas} to confirm writes (fewer answer now; tasks wait, they do not fail)`
    : `each step confirmed by ${replicas} (--min-replicas)`;
}

function describeTasks(view: RunView): string {
  const { total, committed, failed, retried, duplicates } = view.tasks;
  const share = total ? ` (${Math.floor(((committed + failed) * 100) / total)}%)` : '';
  const parts = [
    `${committed}/${total ?? '?'} committed${share}`,
    `${failed} failed for good`,
    `${retried} ${retried === 1 ? 'retry' : 'retries'}`,
  ];
  if (duplicates > 0) parts.push(`${duplicates} duplicate ${duplicates === 1 ? 'commit' : 'commits'} ignored`);
  return `${parts.join(', ')}${view.sealed ? '' : ' (still submitting)'}`;
}

function describeItems(view: RunView): string {
  const { pace } = view;
  const parts = [`${view.items.done}/${view.items.total ?? '?'} done`];
  if (pace.itemsPerSecondNow !== null) parts.push(`${formatCount(pace.itemsPerSecondNow)}/s now`);
  parts.push(`${formatCount(pace.itemsPerSecondAverage)}/s on average`);
  if (pace.etaMs !== null) parts.push(`ETA ${formatDuration(pace.etaMs)}`);
  return parts.join(', ');
}

/** The workers of the run's job, one line each under a count; those of another version cannot serve it. */
function describeWorkers(view: RunView): string {
  const serving = view.workers.filter((worker) => worker.servesRun).length;
  const within = formatDuration(RECENTLY_SEEN_MS);
  if (view.workers.length === 0) return `none of job ${view.job} seen in the last ${within}`;
  const head = `${serving} of version ${view.version} seen in the last ${within}${serving < view.workers.length ? `, ${view.workers.length - serving} of other versions (they cannot serve this run)` : ''}`;
  const lines = view.workers.map(
    (worker) =>
      `${' '.repeat(14)}${worker.host} pid ${worker.pid}: ${worker.activeTasks}/${worker.concurrency} tasks in flight, version ${worker.version}, seen ${formatDuration(worker.seenMsAgo)} ago`,
  );
  return [head, ...lines].join('\n');
}
