/**
 * Commits of small tasks, sent together. A worker holds many tasks; the small commits of one
 * run that become ready in the same turn of the event loop (replies to several tasks often
 * arrive in one read) go to Redis as one script call, which costs one round trip and one
 * script run instead of one per task. Each task still gets its own outcome, decided as if it
 * committed alone (commit-map-tasks.lua). A large output is staged and committed alone.
 */
import { failpoint } from '../shared/failpoints.js';
import type { RedisClient } from '../shared/redis/redis-connection.js';
import type { RunIncarnation } from '../shared/redis/redis-keys.js';
import {
  commitInlineOutputs,
  commitMapOutput,
  encodedSize,
  encodeOutput,
  INLINE_LIMIT,
  type CommitOutcome,
  type CommitRequest,
  type InlineCommit,
} from './commit-map-output.js';

/** Tasks and bytes of output per call at most: one call must not hold Redis up for long. */
const MAX_BATCH_TASKS = 64;
const MAX_BATCH_BYTES = 1024 * 1024;

interface Waiting extends InlineCommit {
  settle: { resolve(outcome: CommitOutcome): void; reject(error: unknown): void };
}

interface Batch {
  run: RunIncarnation;
  minReplicas: number;
  commits: Waiting[];
  bytes: number;
}

export class CommitBatches {
  private readonly open = new Map<string, Batch>();
  private flushScheduled = false;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Commits like commitMapOutput, in a batch with the run's other commits of this turn when the output is small. */
  async commit(request: CommitRequest): Promise<CommitOutcome> {
    const encoded = encodeOutput(request.output);
    const bytes = encodedSize(encoded);
    // A large output (over a quarter of what may go inline) is committed alone.
    if (bytes > INLINE_LIMIT / 4) return commitMapOutput(request);
    await failpoint('before-map-commit', request.taskId);
    return new Promise((resolve, reject) => {
      const key = `${request.run.id}/${request.run.incarnation}/${request.minReplicas}`;
      let batch = this.open.get(key);
      if (!batch) this.open.set(key, (batch = { run: request.run, minReplicas: request.minReplicas, commits: [], bytes: 0 }));
      const { generation, taskId, attemptId, itemCount } = request;
      batch.commits.push({ generation, taskId, attemptId, itemCount, encoded, settle: { resolve, reject } });
      batch.bytes += bytes;
      if (batch.commits.length >= MAX_BATCH_TASKS || batch.bytes >= MAX_BATCH_BYTES) {
        this.open.delete(key);
        void this.send(batch);
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the I/O callbacks of this turn: the commits they make join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batches = [...this.open.values()];
    this.open.clear();
    for (const batch of batches) void this.send(batch);
  }

  private async send(batch: Batch): Promise<void> {
    try {
      const outcomes = await commitInlineOutputs(this.client, this.prefix, batch.run, batch.minReplicas, batch.commits);
      batch.commits.forEach((commit, i) => commit.settle.resolve(outcomes[i]!));
    } catch (error) {
      // Each task rides out a refusal (a full Redis, replicas behind) on its own, and sends its commit again.
      for (const commit of batch.commits) commit.settle.reject(error);
    }
  }
}
