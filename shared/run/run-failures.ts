/**
 * Failure reports of a run's map tasks that failed for good in the current generation:
 * the items, the error and its stack, the attempts, and the worker (host, pid). Recorded
 * by the worker whose last attempt failed, or by the recovery sweep for a task BullMQ
 * failed without redmap hearing of it.
 */
import { z } from 'zod';
import { previewItem } from '../data/json-values.js';
import { loadLuaScript, replyStrings } from '../redis/lua-scripts.js';
import { runStep } from '../redis/confirmed-steps.js';
import type { RunOptions } from './run-options.js';
import type { RedisClient } from '../redis/redis-connection.js';
import { runKeys, type RunIncarnation } from '../redis/redis-keys.js';

const failMapTaskScript = loadLuaScript(new URL('./fail-map-task.lua', import.meta.url));

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

/** What recording a map task's final failure did to its run. */
export type RecordedFailure =
  | { outcome: 'recorded' | 'run_failed' }
  | { outcome: 'flipped'; generation: number }
  | { outcome: 'settled' | 'inactive'; state: string }
  | { outcome: 'lost' };

/** Records that a map task of `generation` failed for good; the run fails when failures exceed its budget. */
export async function recordTaskFailure(
  client: RedisClient,
  prefix: string,
  run: RunIncarnation & { options: Pick<RunOptions, 'minReplicas'> },
  generation: number,
  requestId: string,
  report: z.input<typeof failureReportSchema>,
): Promise<RecordedFailure> {
  const keys = runKeys(prefix, run.id);
  const [outcome, detail = ''] = replyStrings(
    await runStep(
      client,
      failMapTaskScript,
      [keys.meta, keys.committed, keys.failed, keys.inputs, keys.failures, keys.replies],
      [run.incarnation, generation, requestId, report.task, JSON.stringify(report)],
      { minReplicas: run.options.minReplicas, runMeta: keys.meta },
    ),
  );
  switch (outcome) {
    case 'recorded':
    case 'run_failed':
      return { outcome };
    case 'flipped':
      return { outcome, generation: Number(detail) };
    case 'settled':
    case 'inactive':
      return { outcome, state: detail };
    default:
      return { outcome: 'lost' };
  }
}

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
