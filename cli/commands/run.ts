import { availableParallelism } from 'node:os';
import { resolveRunOptions } from '../../shared/run/run-options.js';
import {
  choiceFlag,
  intFlag,
  LOG_OPTIONS,
  REDIS_OPTIONS,
  requirePositionals,
  stringFlag,
  type CommandSpec,
  type OptionSpec,
  type ParsedArgs,
} from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { onStopSignals } from '../stop-signals.js';
import { jobFilePath, loadJobFile } from '../../shared/job/job-loader.js';
import { OUTPUT_FORMATS, writeResults, type OutputFormat } from '../output.js';
import { Supervisor } from '../supervisor.js';
import { withInputLocation } from '../input-locations.js';
import { OUTPUT_FILE_OPTION, outputFileFlag, writeResultsFile } from '../output-file.js';
import {
  argumentInputCount,
  heartbeatTimeoutFlag,
  INPUT_OPTIONS,
  inputSourceFromFlags,
  RUN_OPTIONS,
  submitOptionsFromFlags,
  WORKER_OPTIONS,
  wholeFileNotice,
  workerConfigFromFlags,
  workerEnvironment,
} from './run-flags.js';

export const OUTPUT_OPTIONS: Record<string, OptionSpec> = {
  format: { type: 'string', value: 'FORMAT', description: 'results as jsonl (the default), csv or table' },
  ...OUTPUT_FILE_OPTION,
  quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
};

export const runSpec: CommandSpec = {
  name: 'run',
  summary:
    'Runs a job with local worker processes: submits its inputs, starts the workers, shows progress, prints the results\n' +
    "on stdout sorted by key, and exits with the run's outcome (0 done, 1 failed, 3 done with failures, 4 cancelled).\n" +
    'Ctrl-C cancels the run and stops its workers.',
  usage: 'redmap run JOB [INPUTS...] [options]',
  options: {
    workers: {
      type: 'string',
      short: 'w',
      value: 'N',
      description: `local worker processes (default: ${availableParallelism()}, the number of CPUs, but no more than the inputs given as arguments, unless --split)`,
    },
    local: { type: 'boolean', description: 'run in this process, without Redis (same result; for trying a job)' },
    ...OUTPUT_OPTIONS,
    ...INPUT_OPTIONS,
    ...RUN_OPTIONS,
    ...WORKER_OPTIONS,
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: [
    'redmap run examples/log-errors/job.ts logs/*.log --workers 2',
    'redmap run examples/word-count/job.ts --input-file files.txt --format table',
    'seq 1 100000 | redmap run ids-job.ts - --input-format jsonl --chunk-size 500',
    "redmap run examples/log-errors/job.ts 'logs/**/*.log' --workers 2",
    'redmap run enrich-job.ts --input-file users.csv --input-format csv',
    'redmap run examples/word-count/job.ts --input-file files.txt --output counts.csv',
    'redmap run examples/log-errors/job.ts big.log --split 64MiB --workers 2',
  ],
  usesRedis: true,
};

export async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const [jobFile] = requirePositionals(runSpec, args, ['JOB']);
  const format = choiceFlag<OutputFormat>(args, 'format', OUTPUT_FORMATS) ?? 'jsonl';
  const output = outputFileFlag(args);
  const inputs = inputSourceFromFlags(args, args.positionals.slice(1));
  const submitOptions = { ...submitOptionsFromFlags(args), onWholeFile: wholeFileNotice((line) => ctx.say(line)) };
  const workers = intFlag(args, 'workers', { min: 1, max: 256 }) ?? defaultWorkerCount(args);
  if (args.values.local) {
    const [{ job }, { runLocally }] = await Promise.all([loadJobFile(jobFile!), import('../../runtime/run-locally.js')]);
    const results = await runLocally(job, inputs, submitOptions).catch((error: unknown) =>
      Promise.reject(withInputLocation(error, inputs)),
    );
    if (!output) await writeResults(oneBlock(results), format);
    else if ((await writeResultsFile(oneBlock(results), output)) === 'interrupted') return EXIT.interrupted;
    return EXIT.done;
  }

  const path = jobFilePath(jobFile!);
  // Workers of a `run` log warnings only, unless asked: the progress line is what people watch.
  const workerLogLevel = stringFlag(args, 'log-level') ?? ctx.environment.logLevel ?? 'warn';
  const workerConfig = { ...workerConfigFromFlags(args, ctx, path), logLevel: workerLogLevel };
  const heartbeatTimeoutMs = heartbeatTimeoutFlag(args, workerConfig.lockDuration);
  const redis = await openCliRedis(ctx, args, true, 'run');
  ctx.log.debug({ redis: redis.url, source: redis.source }, 'using Redis');
  ctx.say(`using Redis at ${redis.url} (${redis.source})`);
  // Worker processes take a while to start: they start first, while this process loads the
  // job and submits.
  const supervisor = new Supervisor({
    processes: workers,
    config: workerConfig,
    env: workerEnvironment(redis),
    heartbeatTimeoutMs,
    log: ctx.log,
  });
  const started = supervisor.start();
  started.catch(() => {}); // a failure to start is reported below, after the job file's own errors
  let stopped: Promise<void> | undefined;
  const stopWorkers = (graceMs: number): Promise<void> => (stopped ??= supervisor.stop(graceMs));
  const interrupted = new AbortController();
  let runId: string | undefined;
  const interrupts = onStopSignals(['SIGINT'], {
    first: () => {
      ctx.say('interrupted: cancelling the run and stopping its workers (Ctrl-C again to quit at once)');
      interrupted.abort();
    },
    again: () => supervisor.kill(),
  });
  // What only this process needs (BullMQ above all) loads while the workers start.
  const modules = loadSubmittingModules();
  modules.catch(() => {}); // awaited below
  try {
    const [{ job }, { submitRunOn, followRun }] = await Promise.all([loadJobFile(path), modules]);
    resolveRunOptions(job.defaults, submitOptions, job.partitions); // bad values fail before anything is submitted
    const submitted = submitRunOn(redis.client, job, inputs, {
      ...submitOptions,
      prefix: ctx.prefix,
      logger: ctx.log,
      onCreated: (id) => (runId = id),
    }).catch((error: unknown) => {
      throw withInputLocation(error, inputs);
    });
    await Promise.all([started, submitted]);
    if (interrupted.signal.aborted) throw interrupted.signal.reason;
    // Once the run has ended the workers have nothing left to do: they exit while the results print.
    const exitCode = await followRun(ctx, redis.client, runId!, {
      format,
      output,
      quiet: Boolean(args.values.quiet),
      signal: interrupted.signal,
      onEnded: () => void stopWorkers(workerConfig.grace),
    });
    return exitCode;
  } catch (error) {
    if (!interrupted.signal.aborted) throw error;
    if (runId) {
      const run = (await modules).runHandleOn(redis.client, ctx.prefix, runId);
      await run.cancel().catch(() => {});
      await run.close();
    }
    return EXIT.interrupted;
  } finally {
    await stopWorkers(interrupted.signal.aborted ? 2000 : workerConfig.grace);
    interrupts.off();
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}

async function loadSubmittingModules() {
  const [{ submitRunOn, runHandleOn }, { followRun }] = await Promise.all([import('../../runtime/run-api.js'), import('../follow-run.js')]);
  return { submitRunOn, runHandleOn, followRun };
}

/**
 * One worker process per CPU, but no more than the inputs when they are all on the command
 * line: a process with no map task to run still costs its start-up (about 0.15 s of a `run`
 * on one small file here), and slows the others while it starts.
 */
function defaultWorkerCount(args: ParsedArgs): number {
  return Math.max(1, Math.min(availableParallelism(), argumentInputCount(args, args.positionals.slice(1)) ?? Infinity));
}

/** The results of a run in this process, as the writers take them. */
async function* oneBlock<T>(items: T[]): AsyncGenerator<T[]> {
  yield items;
}
