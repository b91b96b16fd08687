import { UsageError } from '../../shared/errors.js';
import { readRunRecord, type RunRecord } from '../../shared/run/run-record.js';
import { cancelRun } from '../../shared/run/run-control.js';
import { cleanRun } from '../../shared/run/run-retention.js';
import { runIdsCreatedBefore } from '../../shared/run/runs-index.js';
import { TERMINAL_STATES } from '../../shared/run/run-state.js';
import { TaskQueues } from '../../shared/tasks/task-queue.js';
import { LOG_OPTIONS, REDIS_OPTIONS, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { durationFlag } from './run-flags.js';

export const cleanSpec: CommandSpec = {
  name: 'clean',
  summary:
    'Removes runs: every key of the run and its tasks in the shared queue (by their ids; other runs are untouched).\n' +
    'A run that has not ended is cancelled first. With --older-than, removes runs that ended longer ago than that,\n' +
    'and runs left submitting by a producer not seen for that long (it crashed and never came back).\n' +
    'Ended runs also expire by themselves after their retention period (default 7d).',
  usage: 'redmap clean RUN... | redmap clean --older-than DURATION',
  options: {
    'older-than': { type: 'string', value: 'DURATION', description: 'remove runs that ended more than DURATION ago, e.g. 7d' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap clean 20261127-113827-6d465fe5', 'redmap clean --older-than 7d'],
  usesRedis: true,
};

export async function clean(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const olderThan = durationFlag(args, 'older-than');
  if (olderThan === undefined && args.positionals.length === 0)
    throw new UsageError(`name the runs to clean, or give --older-than (usage: ${cleanSpec.usage})`);
  if (olderThan !== undefined && args.positionals.length > 0) throw new UsageError('give run ids or --older-than, not both');
  const redis = await openCliRedis(ctx, args, false, 'clean');
  const queues = new TaskQueues(redis.client, ctx.prefix);
  try {
    const now = Date.now();
    const ids = olderThan === undefined ? args.positionals : await runIdsCreatedBefore(redis.client, ctx.prefix, now - olderThan);
    let cleaned = 0;
    for (const runId of ids) {
      const record = await readRunRecord(redis.client, ctx.prefix, runId);
      if (olderThan !== undefined && record && lastActiveAt(record, now) > now - olderThan) continue;
      if (record && !TERMINAL_STATES.has(record.state)) await cancelRun(redis.client, ctx.prefix, runId).catch(() => {}); // cleanRun removes its tasks
      const removed = await cleanRun(redis.client, queues, ctx.prefix, runId, record?.queue);
      if (!record && removed.keys === 0 && olderThan === undefined) {
        ctx.say(`run ${runId}: nothing to clean (unknown run)`);
        continue;
      }
      cleaned++;
      ctx.say(`removed run ${runId} (${removed.keys} keys, ${removed.tasks} queued tasks)`);
    }
    if (olderThan !== undefined) ctx.say(`${cleaned} run(s) removed`);
    return EXIT.done;
  } finally {
    await queues.close();
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}

/**
 * When a run was last active, for --older-than: when it ended; for a run still submitting,
 * when its producer was last seen; a run mapping or reducing counts as active now.
 */
function lastActiveAt(record: RunRecord, now: number): number {
  if (TERMINAL_STATES.has(record.state)) return record.finishedAt ?? now;
  if (record.state === 'submitting') return record.producerAt ?? record.createdAt;
  return now;
}
