/**
 * Pipelines report errors per command instead of throwing: a refused write (a full Redis)
 * would go unnoticed. Every pipeline whose writes matter goes through this.
 *
 * ioredis resends a lone command after a reconnect, but not the rest of a pipeline some of
 * whose replies came before the connection closed: those fail as aborted, though Redis may
 * have run them. A pipeline that is idempotent as a whole can simply be sent again.
 */
import type { RedisClient } from './redis-connection.js';

type Pipeline = ReturnType<RedisClient['pipeline']>;

/** Runs the pipeline and throws the first error any of its commands got. */
export async function execPipeline(pipeline: Pipeline): Promise<Array<[Error | null, unknown]>> {
  const replies = (await pipeline.exec()) ?? [];
  for (const [error] of replies) if (error) throw error;
  return replies;
}

/** Each abort is one lost connection; more in a row than this is an outage, reported as it is. */
const ABORTED_SENDS = 10;

/** True for the error ioredis gives the unanswered rest of a pipeline when its connection closes. */
export function isAbortedByClose(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError' && /^Command aborted due to connection close/.test(error.message);
}

/** Calls `send` (an idempotent pipeline) again while ioredis aborts it for a closed connection. */
export async function sendAgainWhenAborted<T>(send: () => Promise<T>): Promise<T> {
  for (let sent = 1; ; sent++) {
    try {
      return await send();
    } catch (error) {
      if (!isAbortedByClose(error) || sent >= ABORTED_SENDS) throw error;
    }
  }
}
