/**
 * Failure reports of a run's map tasks that failed for good in the current generation:
 * the items, the error and its stack, the attempts, and the worker (host, pid).
 */
import { z } from 'zod';
import { previewItem } from './json-values.js';
import type { RedisClient } from './redis-connection.js';
import { runKeys } from './redis-keys.js';

const failureReportSchema = z.object({
  task: z.string(),
  generation: z.number(),
  items: z.array(z.unknown()),
  error: z.string(),
  code: z.string().nullable(),
  stack: z.string().nullable(),
  attempts: z.number(),
  stalls: z.number(),
  host: z.string(),
  pid: z.number(),
  at: z.number(),
});

export type FailureReport = z.infer<typeof failureReportSchema> & { itemsPreview: string };

export async function listFailures(client: RedisClient, prefix: string, runId: string, limit = Infinity): Promise<FailureReport[]> {
  const keys = runKeys(prefix, runId);
  const reports: FailureReport[] = [];
  let cursor = '0';
  do {
    const [next, tasks] = await client.sscan(keys.failed, cursor, 'COUNT', 500);
    cursor = next;
    if (tasks.length === 0) continue;
    const texts = await client.hmget(keys.failures, ...tasks);
    texts.forEach((text, i) => {
      const parsed = text === null ? undefined : failureReportSchema.safeParse(JSON.parse(text));
      const report = parsed?.success
        ? parsed.data
        : {
            task: tasks[i]!,
            generation: 0,
            items: [],
            error: 'failure report missing',
            code: null,
            stack: null,
            attempts: 0,
            stalls: 0,
            host: '',
            pid: 0,
            at: 0,
          };
      reports.push({ ...report, itemsPreview: previewItem(report.items.length === 1 ? report.items[0] : report.items) });
    });
  } while (cursor !== '0' && reports.length < limit);
  return reports.sort((a, b) => a.at - b.at).slice(0, limit);
}
