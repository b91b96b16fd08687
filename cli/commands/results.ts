import { readResultBlocks } from '../../reducer/read-results.js';
import { RunError } from '../../shared/errors.js';
import { unknownRun } from '../../shared/run/run-control.js';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { RESULT_STATES } from '../../shared/run/run-state.js';
import { choiceFlag, LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { sayOutputWritten } from '../follow-run.js';
import { OUTPUT_FORMATS, writeResults, type OutputFormat } from '../output.js';
import { OUTPUT_FILE_OPTION, outputFileFlag, writeResultsFile } from '../output-file.js';

export const resultsSpec: CommandSpec = {
  name: 'results',
  summary: 'Prints the results of a run that is done (or done with failures), sorted by key, on stdout.',
  usage: 'redmap results RUN [--format jsonl|csv|table] [--output FILE]',
  options: {
    format: { type: 'string', value: 'FORMAT', description: 'jsonl (the default), csv or table' },
    ...OUTPUT_FILE_OPTION,
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: [
    'redmap results 20261127-113827-6d465fe5 > counts.jsonl',
    'redmap results nightly --format csv',
    'redmap results nightly --output counts.csv',
  ],
  usesRedis: true,
};

export async function results(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [runId] = requirePositionals(resultsSpec, args, ['RUN']);
  const format = choiceFlag<OutputFormat>(args, 'format', OUTPUT_FORMATS) ?? 'jsonl';
  const output = outputFileFlag(args);
  const redis = await openCliRedis(ctx, args, false, 'results');
  try {
    // The snapshot, not the bare record: it counts failed tasks too, for what --output says of them.
    const record = await readRunSnapshot(redis.client, ctx.prefix, runId!);
    if (!record) throw unknownRun(runId!);
    if (!RESULT_STATES.has(record.state)) {
      throw new RunError(
        'RUN_STATE',
        runId!,
        `run ${runId} is ${record.state}; results exist once it is done (follow it: redmap status ${runId} --watch)`,
      );
    }
    const entries = readResultBlocks(redis.client, ctx.prefix, runId!, record.generation, record.options.partitions);
    if (!output) {
      await writeResults(entries, format);
      return EXIT.done;
    }
    if ((await writeResultsFile(entries, output)) === 'interrupted') {
      ctx.say(`interrupted: ${output.path} not written`);
      return EXIT.interrupted;
    }
    sayOutputWritten(ctx, record, output);
    return EXIT.done;
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
