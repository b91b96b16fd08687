/**
 * The reduce task's step between staging its results and committing the partition in Redis:
 * when the run has a sink, the staged batches are written there. A task killed after this
 * step and before its Redis commit runs again and finds its marker: it writes nothing twice.
 */
import { decodeBatch } from '../shared/data/batches.js';
import { StagedOutputLostError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { describeSinkUrl } from '../shared/run/sink-options.js';
import type { RunRecord } from '../shared/run/run-record.js';
import type { HandlerDeps } from '../shared/tasks/task-attempt.js';
import type { PostgresSinks } from './postgres-sink.js';

export interface ReduceHandlerDeps extends HandlerDeps {
  sinks: PostgresSinks;
}

/** Staged batches per LRANGE while writing to the sink. */
const READ_BATCHES = 4;

export async function writeStagedToSink(
  deps: ReduceHandlerDeps,
  run: RunRecord,
  where: { generation: number; partition: number; flippedAt: string },
  staged: { key: string; batches: number },
  log: Logger,
): Promise<void> {
  const sink = run.options.sink;
  if (!sink) return;
  const outcome = await deps.sinks.writePartition(
    sink,
    {
      runId: run.id,
      incarnation: run.incarnation,
      runCreatedAt: run.createdAt,
      generation: where.generation,
      partition: where.partition,
      partitions: run.options.partitions,
      flippedAt: Number(where.flippedAt),
    },
    readStagedBatches(deps.client, staged.key, staged.batches, `r${where.partition}`, run.id),
  );
  log.info({ sink: describeSinkUrl(sink.url), table: sink.table, outcome }, 'partition written to the PostgreSQL sink');
}

/**
 * The staged batches, all of them: a batch missing (Redis lost an acknowledged write) throws
 * inside the sink's transaction, which then commits nothing, rather than a short partition.
 */
async function* readStagedBatches(
  client: RedisClient,
  staged: string,
  batches: number,
  taskId: string,
  runId: string,
): AsyncGenerator<Array<[string, unknown]>> {
  for (let start = 0; start < batches; start += READ_BATCHES) {
    const end = Math.min(start + READ_BATCHES, batches);
    const texts = await client.lrange(staged, start, end - 1);
    if (texts.length !== end - start) throw new StagedOutputLostError(runId, taskId, start + texts.length, batches);
    for (const text of texts) yield decodeBatch(text, staged);
  }
}
