import { retryRun } from '../../shared/run/run-control.js';
import { TaskQueues } from '../../shared/tasks/task-queue.js';
import { LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { followRun } from '../follow-run.js';
import { OUTPUT_OPTIONS } from './run.js';

export const retrySpec: CommandSpec = {
  name: 'retry',
  summary:
    'Runs again what failed in a failed or done_with_failures run: it goes back to mapping under a new generation,\n' +
    'every task not yet committed is enqueued again with new ids, and the run reduces again (old results are replaced,\n' +
    'never mixed). Workers of the job must be running (redmap worker JOB).',
  usage: 'redmap retry RUN [--wait]',
  options: {
    wait: { type: 'boolean', description: 'follow the run and print its results, like submit --wait' },
    ...OUTPUT_OPTIONS,
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap retry 20261127-113827-6d465fe5', 'redmap retry nightly --wait'],
  usesRedis: true,
};

export async function retry(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(retrySpec, args, ['RUN']);
  const redis = await openCliRedis(ctx, args, false, 'retry');
  const queues = new TaskQueues(redis.client, ctx.prefix);
  try {
    const generation = await retryRun(redis.client, queues, ctx.prefix, runId!);
    ctx.say(`run ${runId} is mapping again (generation ${generation})`);
    if (!args.values.wait) return EXIT.done;
    return await followRun(ctx, redis.client, runId!, { format: 'jsonl', quiet: Boolean(args.values.quiet) });
  } finally {
    await queues.close();
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
