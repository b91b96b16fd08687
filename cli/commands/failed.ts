import { unknownRun } from '../../shared/run/run-control.js';
import { listFailures } from '../../shared/run/run-failures.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

export const failedSpec: CommandSpec = {
  name: 'failed',
  summary: 'Lists the input items of a run that failed for good: input, error and stack, attempts, worker host and pid.',
  usage: 'redmap failed RUN [--json]',
  options: {
    json: { type: 'boolean', description: 'print JSON, one failure per line' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap failed 20261127-113827-6d465fe5', 'redmap failed nightly --json | jq .error'],
  usesRedis: true,
};

export async function failed(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(failedSpec, args, ['RUN']);
  const redis = await openCliRedis(ctx, args, false, 'failed');
  try {
    const record = await readRunRecord(redis.client, ctx.prefix, runId!);
    if (!record) throw unknownRun(runId!);
    const failures = await listFailures(redis.client, ctx.prefix, runId!);
    for (const failure of failures) {
      if (args.values.json) {
        const { itemsPreview: _preview, ...report } = failure;
        process.stdout.write(`${JSON.stringify({ ...report, input: report.items.length === 1 ? report.items[0] : report.items })}\n`);
        continue;
      }
      process.stdout.write(
        [
          `task ${failure.task}: ${failure.error}`,
          `  input     ${failure.itemsPreview}`,
          `  attempts  ${failure.attempts}${failure.stalls ? ` (${failure.stalls} stalls)` : ''}`,
          `  worker    ${failure.host} pid ${failure.pid}, at ${new Date(failure.at).toISOString()}`,
          ...(failure.stack
            ? failure.stack
                .split('\n')
                .slice(1, 6)
                .map((line) => `  ${line.trim()}`)
            : []),
          '',
        ].join('\n'),
      );
    }
    if (failures.length === 0 && !args.values.json) process.stderr.write(`redmap: run ${runId} has no failed items\n`);
    return EXIT.done;
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
