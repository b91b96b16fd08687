/**
 * Following a run to its end on the command line: progress on stderr while it goes,
 * then results on stdout (done, done_with_failures) or what failed on stderr, and the
 * exit code the run's end state maps to.
 */
import { readResultBlocks } from '../reducer/read-results.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { listFailures } from '../shared/run/run-failures.js';
import type { RunSnapshot } from '../shared/run/run-record.js';
import { RESULT_STATES } from '../shared/run/run-state.js';
import type { CommandContext } from './context.js';
import { EXIT, exitCodeForState } from './exit-codes.js';
import { writeResults, type OutputFormat } from './output.js';
import { writeResultsFile, type OutputFile } from './output-file.js';
import { createProgressReporter, type ProgressMode } from './progress.js';
import { waitForRun } from '../runtime/wait-for-run.js';

export interface FollowOptions {
  format: OutputFormat;
  /** Results to this file instead of stdout, written only once the run ends with results. */
  output?: OutputFile;
  quiet: boolean;
  signal?: AbortSignal;
  /** Called once the run has ended, before its results are read: `run` stops its workers meanwhile. */
  onEnded?: (final: RunSnapshot) => void;
}

export function progressMode(ctx: CommandContext, quiet: boolean): ProgressMode {
  if (quiet) return 'off';
  if (ctx.logFormat === 'json') return 'json';
  return process.stderr.isTTY ? 'bar' : 'lines';
}

export async function followRun(ctx: CommandContext, client: RedisClient, runId: string, options: FollowOptions): Promise<number> {
  const progress = createProgressReporter(progressMode(ctx, options.quiet), ctx.log);
  let final: RunSnapshot | undefined;
  try {
    final = await waitForRun(client, ctx.prefix, runId, { onUpdate: (snapshot) => progress.update(snapshot), signal: options.signal });
  } finally {
    progress.stop();
  }
  if (!final) {
    ctx.say(`run ${runId} is lost: its state vanished from Redis (restarted without persistence, flushed, or cleaned)`);
    return EXIT.lost;
  }
  options.onEnded?.(final);
  if (RESULT_STATES.has(final.state)) {
    const results = readResultBlocks(client, ctx.prefix, runId, final.generation, final.options.partitions);
    const count = options.output
      ? await writeResultsFile(results, options.output, options.signal)
      : await writeResults(results, options.format);
    if (count === 'interrupted') return sayOutputInterrupted(ctx, final, options.output!);
    const seconds = ((final.finishedAt ?? Date.now()) - final.createdAt) / 1000;
    ctx.say(`run ${runId} ${final.state}: ${final.itemsDone} items, ${count} results in ${seconds.toFixed(1)}s`);
    if (options.output) sayOutputWritten(ctx, final, options.output);
  } else {
    ctx.say(`run ${runId} ${final.state}${final.error ? `: ${final.error}` : ''}`);
  }
  if (final.failedTasks > 0) await reportFailures(ctx, client, runId, final.failedTasks);
  return exitCodeForState(final.state);
}

/** Where the results went, and for a run with failures, what is missing from them. */
export function sayOutputWritten(ctx: CommandContext, run: RunSnapshot, output: OutputFile): void {
  ctx.say(`results written to ${output.path}`);
  if (run.state !== 'done_with_failures') return;
  const failedItems = run.items === undefined ? run.failedTasks : run.items - run.itemsDone;
  ctx.say(
    `${failedItems} input item(s) failed for good and have no part in ${output.path}; list them with: redmap failed ${run.id} (run them again with: redmap retry ${run.id})`,
  );
}

function sayOutputInterrupted(ctx: CommandContext, run: RunSnapshot, output: OutputFile): number {
  ctx.say(
    `interrupted: ${output.path} not written. The run is ${run.state}; write its results with: redmap results ${run.id} --output ${output.path}`,
  );
  return EXIT.interrupted;
}

const FAILURES_SHOWN = 5;

async function reportFailures(ctx: CommandContext, client: RedisClient, runId: string, count: number): Promise<void> {
  const failures = await listFailures(client, ctx.prefix, runId, FAILURES_SHOWN);
  for (const failure of failures) {
    ctx.say(`  failed ${failure.task}: input ${failure.itemsPreview} after ${failure.attempts} attempt(s): ${failure.error}`);
  }
  if (count > failures.length) ctx.say(`  ... and ${count - failures.length} more`);
  ctx.say(`see every failed item with: redmap failed ${runId}; run them again with: redmap retry ${runId}`);
}
