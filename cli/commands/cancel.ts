import { cancelRun } from '../../shared/run/run-control.js';
import { TaskQueues } from '../../shared/tasks/task-queue.js';
import { LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

export const cancelSpec: CommandSpec = {
  name: 'cancel',
  summary: 'Cancels a run: its waiting tasks are dropped, running map calls are aborted through ctx.signal, it ends cancelled.',
  usage: 'redmap cancel RUN',
  options: { ...REDIS_OPTIONS, ...LOG_OPTIONS },
  examples: ['redmap cancel 20261127-113827-6d465fe5'],
  usesRedis: true,
};

export async function cancel(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(cancelSpec, args, ['RUN']);
  const redis = await openCliRedis(ctx, args, false, 'cancel');
  try {
    const queues = new TaskQueues(redis.client, ctx.prefix);
    const was = await cancelRun(redis.client, ctx.prefix, runId!, queues).finally(() => queues.close());
    ctx.say(`run ${runId} cancelled (it was ${was})`);
    return EXIT.done;
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
