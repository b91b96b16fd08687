/**
 * Stage, then commit. A small output travels inside the commit script itself
 * (commit-map-tasks.lua, which commits one task or several); a large one is first written to
 * a hash private to this attempt, in bounded pipelined batches, and the commit only adopts it
 * (commit-staged-map-task.lua). Either way one small atomic step decides, so a second
 * commit of the same task is a no-op.
 */
import { encodeBatches } from '../shared/data/batches.js';
import { failpoint } from '../shared/failpoints.js';
import { loadLuaScript, replyStrings } from '../shared/redis/lua-scripts.js';
import { runStep } from '../shared/redis/confirmed-steps.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import { execPipeline } from '../shared/redis/pipelines.js';
import { runKeys, type RunIncarnation } from '../shared/redis/redis-keys.js';
import { ORPHAN_STAGE_TTL_MS } from '../shared/run/run-retention.js';
import type { MapTaskOutput } from './map-task.js';

const commitStagedMapTaskScript = loadLuaScript(new URL('./commit-staged-map-task.lua', import.meta.url));
const commitMapTasksScript = loadLuaScript(new URL('./commit-map-tasks.lua', import.meta.url));

/** Output up to this size goes inline with the commit. */
export const INLINE_LIMIT = 512 * 1024;
/** Bytes per pipelined round trip while staging. */
const STAGE_PIPELINE_BYTES = 4 * 1024 * 1024;

export type CommitOutcome =
  | { outcome: 'committed' | 'flipped'; generation: number }
  | { outcome: 'settled' | 'inactive'; state: string }
  | { outcome: 'stage_lost'; found: number; expected: number }
  | { outcome: 'lost' };

export interface CommitRequest {
  client: RedisClient;
  prefix: string;
  run: RunIncarnation;
  /** The generation of the task's attempt: an attempt of an earlier generation commits nothing. */
  generation: number;
  taskId: string;
  /** Names the staged output, and makes a commit sent twice answer the same. */
  attemptId: string;
  itemCount: number;
  output: MapTaskOutput;
  /** Replicas that must confirm the commit (the run's minReplicas). */
  minReplicas: number;
}

export async function commitMapOutput(request: CommitRequest): Promise<CommitOutcome> {
  const { client, prefix, run, taskId, attemptId } = request;
  const encoded = encodeOutput(request.output);
  // A small output is a batch of one: commit-map-tasks.lua is the one script that writes inline output.
  if (encodedSize(encoded) <= INLINE_LIMIT) {
    await failpoint('before-map-commit', taskId);
    const { generation, itemCount } = request;
    const [outcome] = await commitInlineOutputs(client, prefix, run, request.minReplicas, [
      { generation, taskId, attemptId, itemCount, encoded },
    ]);
    return outcome!;
  }
  const keys = runKeys(prefix, run.id);
  const staged = keys.mapStage(attemptId);
  await stageBatches(client, staged, encoded);
  await failpoint('before-map-commit', taskId);

  const outputKeys: string[] = [];
  const args: Array<string | number> = [run.incarnation, request.generation, attemptId, taskId, request.itemCount];
  encoded.forEach((batches, partition) => {
    if (batches.length === 0) return;
    outputKeys.push(keys.output(partition), keys.outputIndex(partition));
    args.push(batches.length);
  });
  const reply = await runStep(
    client,
    commitStagedMapTaskScript,
    [keys.meta, keys.committed, keys.failed, keys.inputs, keys.stages, staged, keys.replies, ...outputKeys],
    args,
    { minReplicas: request.minReplicas, runMeta: keys.meta },
  );
  return commitOutcome(reply);
}

/** A task's output encoded for a commit: JSON batches per partition (none for a partition without output). */
export type EncodedOutput = string[][];

export function encodeOutput(output: MapTaskOutput): EncodedOutput {
  return output.partitions.map((pairs) => (pairs.length === 0 ? [] : encodeBatches(pairs)));
}

export function encodedSize(encoded: EncodedOutput): number {
  return encoded.reduce((sum, batches) => sum + batches.reduce((s, b) => s + b.length, 0), 0);
}

/** One task of a batched inline commit. */
export interface InlineCommit {
  generation: number;
  taskId: string;
  attemptId: string;
  itemCount: number;
  encoded: EncodedOutput;
}

/**
 * Commits the inline output of several tasks of one run in one script call (each task as
 * commitMapOutput would commit it alone); one outcome per task, in order.
 */
export async function commitInlineOutputs(
  client: RedisClient,
  prefix: string,
  run: RunIncarnation,
  minReplicas: number,
  commits: readonly InlineCommit[],
): Promise<CommitOutcome[]> {
  const keys = runKeys(prefix, run.id);
  const pairOf = new Map<number, number>();
  const outputKeys: string[] = [];
  const args: Array<string | number> = [run.incarnation, commits.length];
  for (const commit of commits) {
    const parts = commit.encoded.flatMap((batches, partition) => (batches.length === 0 ? [] : [[partition, batches] as const]));
    args.push(commit.generation, commit.attemptId, commit.taskId, commit.itemCount, parts.length);
    for (const [partition, batches] of parts) {
      let pair = pairOf.get(partition);
      if (pair === undefined) {
        outputKeys.push(keys.output(partition), keys.outputIndex(partition));
        pairOf.set(partition, (pair = pairOf.size + 1));
      }
      args.push(pair, batches.length, ...batches);
    }
  }
  const replies = (await runStep(
    client,
    commitMapTasksScript,
    [keys.meta, keys.committed, keys.failed, keys.inputs, keys.replies, ...outputKeys],
    args,
    { minReplicas, runMeta: keys.meta },
  )) as unknown[];
  return replies.map(commitOutcome);
}

function commitOutcome(reply: unknown): CommitOutcome {
  const [outcome, detail = '', expected = ''] = replyStrings(reply);
  switch (outcome) {
    case 'committed':
    case 'flipped':
      return { outcome, generation: Number(detail) };
    case 'settled':
    case 'inactive':
      return { outcome, state: detail };
    case 'stage_lost':
      return { outcome, found: Number(detail), expected: Number(expected) };
    default:
      return { outcome: 'lost' };
  }
}

async function stageBatches(client: RedisClient, staged: string, encoded: string[][]): Promise<void> {
  let pipeline = client.pipeline();
  let bytes = 0;
  let first = true;
  for (const [partition, batches] of encoded.entries()) {
    for (const [index, batch] of batches.entries()) {
      pipeline.hset(staged, `${partition}#${index}`, batch);
      if (first) pipeline.pexpire(staged, ORPHAN_STAGE_TTL_MS);
      first = false;
      bytes += batch.length;
      if (bytes >= STAGE_PIPELINE_BYTES) {
        await execPipeline(pipeline);
        pipeline = client.pipeline();
        bytes = 0;
      }
    }
  }
  await execPipeline(pipeline);
}
