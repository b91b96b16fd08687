import { submitRunOn } from '../../runtime/run-api.js';
import { choiceFlag, LOG_OPTIONS, REDIS_OPTIONS, requirePositionals, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT, exitCodeForState } from '../exit-codes.js';
import { followRun } from '../follow-run.js';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../output.js';
import { withInputLocation } from '../input-locations.js';
import { outputFileFlag } from '../output-file.js';
import { UsageError } from '../../shared/errors.js';
import { INPUT_OPTIONS, inputSourceFromFlags, RUN_OPTIONS, submitOptionsFromFlags, wholeFileNotice } from './run-flags.js';
import { OUTPUT_OPTIONS } from './run.js';

export const submitSpec: CommandSpec = {
  name: 'submit',
  summary:
    'Enqueues a run for workers elsewhere (redmap worker JOB, on any machine with the same Redis) and prints its id on\n' +
    'stdout. With --wait it prints the id on stderr, follows the run like `run` and prints the results.\n' +
    'Without workers, a run larger than the high-water mark waits at that mark until workers drain the queue.',
  usage: 'redmap submit JOB [INPUTS...] [--wait] [options]',
  options: {
    wait: { type: 'boolean', description: 'wait for the run to end and print its results (Ctrl-C detaches)' },
    ...OUTPUT_OPTIONS,
    ...INPUT_OPTIONS,
    ...RUN_OPTIONS,
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: [
    'REDIS_URL=redis://queue.internal:6379 redmap submit examples/log-errors/job.ts /shared/logs/*.log',
    'redmap submit job.ts --input-file ids.txt --run-id nightly-2026-11-27 --wait',
    'redmap submit job.ts --input-file ids.txt --wait --output counts.jsonl',
  ],
  usesRedis: true,
};

export async function submit(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [jobFile] = requirePositionals(submitSpec, args, ['JOB']);
  const format = choiceFlag<OutputFormat>(args, 'format', OUTPUT_FORMATS) ?? 'jsonl';
  const output = outputFileFlag(args);
  if (output && !args.values.wait) throw new UsageError('--output writes the results of a run it waits for: add --wait');
  const inputs = inputSourceFromFlags(args, args.positionals.slice(1));
  const options = { ...submitOptionsFromFlags(args), onWholeFile: wholeFileNotice((line) => ctx.say(line)) };
  const { job } = await loadJobFile(jobFile!);
  const wait = Boolean(args.values.wait);
  const redis = await openCliRedis(ctx, args, true, 'submit');
  const detached = new AbortController();
  const onInterrupt = (): void => detached.abort();
  process.on('SIGINT', onInterrupt);
  try {
    const submitted = await submitRunOn(redis.client, job, inputs, {
      ...options,
      prefix: ctx.prefix,
      logger: ctx.log,
      onCreated: (runId) => wait && ctx.say(`run ${runId}`),
      onBackpressure: (waiting, queued, mark) =>
        ctx.say(
          waiting
            ? `${queued} tasks are waiting in the queue (high-water mark ${mark}): holding back until workers take some (start them with: redmap worker ${jobFile})`
            : 'workers are taking tasks again; enqueueing the rest',
        ),
    }).catch((error: unknown) => {
      throw withInputLocation(error, inputs);
    });
    if (!wait) {
      process.stdout.write(`${submitted.runId}\n`);
      if (!submitted.endedEarly) return EXIT.done;
      ctx.say(
        `run ${submitted.runId} ${submitted.endedEarly} before all its inputs were submitted; see why: redmap status ${submitted.runId}`,
      );
      return exitCodeForState(submitted.endedEarly);
    }
    try {
      return await followRun(ctx, redis.client, submitted.runId, {
        format,
        output,
        quiet: Boolean(args.values.quiet),
        signal: detached.signal,
      });
    } catch (error) {
      if (!detached.signal.aborted) throw error;
      ctx.say(`detached; the run goes on. Follow it with: redmap status ${submitted.runId} --watch`);
      return EXIT.interrupted;
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}
