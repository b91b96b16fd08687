import { formatRate, parseRate, RATE_HINT } from '../../shared/data/durations.js';
import { UsageError } from '../../shared/errors.js';
import { JOB_NAME_PATTERN } from '../../shared/job/job-definition.js';
import { unknownRun } from '../../shared/run/run-control.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { readRunLimits, throttleJob, throttleRun, type LimitChange, type ScopeLimits } from '../../shared/run/throttle.js';
import { LOG_OPTIONS, REDIS_OPTIONS, stringFlag, type CommandSpec, type ParsedArgs } from '../args.js';
import { openCliRedis, type CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

export const throttleSpec: CommandSpec = {
  name: 'throttle',
  summary:
    'Changes limits while runs go on: every worker applies them from its next map call, within a second, with no restart;\n' +
    "calls already running finish. A run's limits bound that run; a job's (--job) bound all its runs together, over the\n" +
    'limits its job file declares. "none" removes a limit. Without a change, prints the limits in force.',
  usage: 'redmap throttle RUN [--global-concurrency G|none] [--rate R|none]  |  redmap throttle --job NAME [...]',
  options: {
    job: { type: 'string', value: 'NAME', description: 'change the limits of every run of this job instead of one run' },
    'global-concurrency': { type: 'string', value: 'G', description: 'at most G map calls in flight across every machine, or none' },
    rate: { type: 'string', value: 'RATE', description: 'at most this many map calls started, evenly: 200/s, 50/m; or none' },
    ...REDIS_OPTIONS,
    ...LOG_OPTIONS,
  },
  examples: [
    'redmap throttle 20261127-113827-6d465fe5 --global-concurrency 2 --rate 50/s',
    'redmap throttle --job pg-enrich --global-concurrency 4',
    'redmap throttle --job pg-enrich --rate none',
  ],
  usesRedis: true,
};

function changeFromFlags(args: ParsedArgs): LimitChange {
  const change: LimitChange = {};
  const concurrency = stringFlag(args, 'global-concurrency');
  if (concurrency !== undefined) {
    if (concurrency === 'none') change.concurrency = null;
    else if (/^\d+$/.test(concurrency) && Number(concurrency) >= 1) change.concurrency = Number(concurrency);
    else throw new UsageError(`--global-concurrency: expected a whole number of at least 1, or none, got ${JSON.stringify(concurrency)}`);
  }
  const rate = stringFlag(args, 'rate');
  if (rate !== undefined) {
    const parsed = rate === 'none' ? null : parseRate(rate);
    if (parsed === undefined || (parsed && parsed.count <= 0))
      throw new UsageError(`--rate: expected ${RATE_HINT}, above zero, or none, got ${JSON.stringify(rate)}`);
    change.rate = parsed;
  }
  return change;
}

export async function throttle(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const job = stringFlag(args, 'job');
  const [runId] = args.positionals;
  if ((job === undefined) === (runId === undefined))
    throw new UsageError(`name one run, or one job with --job (usage: ${throttleSpec.usage})`);
  if (job !== undefined && !JOB_NAME_PATTERN.test(job))
    throw new UsageError(`--job: expected a job name (1-64 lower-case letters, digits or dashes), got ${JSON.stringify(job)}`);
  const change = changeFromFlags(args);
  const redis = await openCliRedis(ctx, args, false, 'throttle');
  try {
    const changed = Object.keys(change).length > 0;
    if (job !== undefined) {
      if (changed) await throttleJob(redis.client, ctx.prefix, job, change);
      const limits = await readRunLimits(redis.client, ctx.prefix, '', job);
      process.stdout.write(`job ${job}: ${describeScope(limits.job)}\n`);
      return EXIT.done;
    }
    const record = await readRunRecord(redis.client, ctx.prefix, runId!);
    if (!record) throw unknownRun(runId!);
    if (changed) await throttleRun(redis.client, ctx.prefix, runId!, change);
    const limits = await readRunLimits(redis.client, ctx.prefix, runId!, record.job);
    process.stdout.write(`run ${runId}: ${describeScope(limits.run)}\njob ${record.job}: ${describeScope(limits.job)}\n`);
    return EXIT.done;
  } finally {
    await redis.client.quit().catch(() => redis.client.disconnect());
  }
}

export function describeScope(scope: ScopeLimits): string {
  const cap =
    scope.concurrency === null ? 'no concurrency limit' : `at most ${scope.concurrency} map calls in flight (${scope.inFlight} now)`;
  const rate =
    scope.rate === null ? 'no rate limit' : `at most ${formatRate(scope.rate)} (${scope.startsPerSecond.toFixed(1)}/s over the last 10 s)`;
  return `${cap}; ${rate}`;
}
