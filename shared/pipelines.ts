/**
 * Pipelines report errors per command instead of throwing: a refused write (a full Redis)
 * would go unnoticed. Every pipeline whose writes matter goes through this.
 */
import type { RedisClient } from './redis-connection.js';

type Pipeline = ReturnType<RedisClient['pipeline']>;

/** Runs the pipeline and throws the first error any of its commands got. */
export async function execPipeline(pipeline: Pipeline): Promise<Array<[Error | null, unknown]>> {
  const replies = (await pipeline.exec()) ?? [];
  for (const [error] of replies) if (error) throw error;
  return replies;
}
