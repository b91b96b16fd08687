/**
 * A run in one process, with no Redis: the same map and reduce functions, the same
 * chunking and the same JSON round trips as a distributed run, so it gives the same
 * result byte for byte. It is the ground truth the tests compare runs with, and a quick
 * way to try a job.
 */
import { decodeBatch, encodeBatches } from '../shared/data/batches.js';
import type { Job } from '../shared/job/job-definition.js';
import { KeyGroups } from '../shared/data/key-groups.js';
import { compareUtf8 } from '../shared/data/key-order.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { chunkTaskId } from '../shared/redis/redis-keys.js';
import { resolveRunOptions, type RunDefaults } from '../shared/run/run-options.js';
import { autoChunkSize, chunkItems, openSource, type InputSource } from '../producer/input-chunks.js';
import { inputValidator, splitInputs, type SplitOptions } from '../producer/split-files.js';
import { mapItems } from '../worker/map-task.js';
import { reduceGroups } from '../reducer/reduce-task.js';
import type { ResultEntry } from '../reducer/read-results.js';

export interface RunLocallyOptions extends Pick<RunDefaults, 'chunkSize' | 'callTimeout'>, SplitOptions {
  partitions?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

export async function runLocally(job: Job, inputs: InputSource, options: RunLocallyOptions = {}): Promise<ResultEntry[]> {
  const runOptions = resolveRunOptions(
    job.defaults,
    { chunkSize: options.chunkSize, callTimeout: options.callTimeout, partitions: options.partitions },
    job.partitions,
  );
  const log = options.logger ?? silentLogger();
  const signal = options.signal ?? new AbortController().signal;
  const validate = inputValidator(job, options.split !== undefined);
  const items: unknown[] = [];
  for await (const item of openSource(splitInputs(inputs, options))) {
    await validate(item, items.length);
    items.push(item);
  }
  const chunkSize = runOptions.chunkSize === 'auto' ? autoChunkSize(items.length) : runOptions.chunkSize;
  const partitions = Array.from(
    { length: runOptions.partitions },
    () => new KeyGroups(job.combine as ((a: unknown, b: unknown) => unknown) | undefined),
  );

  for await (const chunk of chunkItems(openSource(items), chunkSize)) {
    const taskId = chunkTaskId(chunk.index);
    const roundTripped = JSON.parse(JSON.stringify(chunk.items)) as unknown[];
    const output = await mapItems({
      job,
      items: roundTripped,
      partitions: runOptions.partitions,
      callTimeoutMs: runOptions.callTimeoutMs,
      signal,
      runId: 'local',
      taskId,
      attempt: 1,
      logFor: () => log,
    });
    output.partitions.forEach((pairs, p) => {
      for (const batch of encodeBatches(pairs)) {
        for (const [key, value] of decodeBatch(batch, 'local')) partitions[p]!.add(key, value);
      }
    });
  }

  const results: ResultEntry[] = [];
  for (const [partition, groups] of partitions.entries()) {
    const context = { runId: 'local', partition, taskId: `r${partition}`, attempt: 1, signal, log };
    const pairs: Array<[string, unknown]> = [];
    for await (const pair of reduceGroups(job, groups, context)) pairs.push(pair);
    for (const batch of encodeBatches(pairs)) {
      for (const [key, value] of decodeBatch(batch, 'local')) results.push({ key, value });
    }
  }
  return results.sort((a, b) => compareUtf8(a.key, b.key));
}
