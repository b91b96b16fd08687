import { readResults } from '../../reducer/read-results.js';
import { RunError } from '../../shared/errors.js';
import { unknownRun } from '../../shared/run/run-control.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { RESULT_STATES } from '../../shared/run/run-state.js';
import { choiceFlag, LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { OUTPUT_FORMATS, writeResults, type OutputFormat } from '../output.js';

export const resultsSpec: CommandSpec = {
  name: 'results',
  summary: 'Prints the results of a run that is done (or done with failures), sorted by key, on stdout.',
  usage: 'redmap results RUN [--format jsonl|csv|table]',
  options: {
    format: { type: 'string', value: 'FORMAT', description: 'jsonl (the default), csv or table' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: ['redmap results 20261127-113827-6d465fe5 > counts.jsonl', 'redmap results nightly --format csv'],
  usesRedis: true,
};

export async function results(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(resultsSpec, args, ['RUN']);
  const format = choiceFlag<OutputFormat>(args, 'format', OUTPUT_FORMATS) ?? 'jsonl';
  const redis = await openCliRedis(ctx, args, false, 'results');
  try {
    const record = await readRunRecord(redis.client, ctx.prefix, runId!);
    if (!record) throw unknownRun(runId!);
    if (!RESULT_STATES.has(record.state)) {
      throw new RunError(
        'RUN_STATE',
        runId!,
        `run ${runId} is ${record.state}; results exist once it is done (follow it: redmap status ${runId} --watch)`,
      );
    }
    await writeResults(readResults(redis.client, ctx.prefix, runId!, record.generation, record.options.partitions), format);
    return EXIT.done;
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
