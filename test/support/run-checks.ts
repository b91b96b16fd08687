/**
 * What every fault test checks once its run has ended: the result equals the one-process
 * ground truth, and the run's own records show each task committed once and each
 * partition reduced once.
 */
import type { Redis } from 'ioredis';
import { runLocally, type ResultEntry } from '../../index.js';
import { loadJobFile } from '../../cli/job-loader.js';
import { runKeys } from '../../shared/redis-keys.js';
import { readRunRecord } from '../../shared/run-record.js';
import { readResults } from '../../reducer/read-results.js';

export async function groundTruth(jobFile: string, inputs: unknown[], chunkSize: number): Promise<string> {
  const { job } = await loadJobFile(jobFile);
  const saved = process.env.REDMAP_TEST_LOG;
  delete process.env.REDMAP_TEST_LOG; // the ground truth must not count as map calls of the run
  try {
    return toJsonLines(await runLocally(job, inputs, { chunkSize }));
  } finally {
    if (saved !== undefined) process.env.REDMAP_TEST_LOG = saved;
  }
}

export function toJsonLines(entries: ResultEntry[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}

export interface RunAudit {
  state: string;
  results: string;
  committedTasks: string[];
  /** Task ids appearing more than once in the partitions' output indexes (must be none). */
  duplicateOutputs: string[];
  reducedPartitions: number;
}

export async function auditRun(client: Redis, prefix: string, runId: string): Promise<RunAudit> {
  const run = await readRunRecord(client, prefix, runId);
  if (!run) throw new Error(`run ${runId} vanished`);
  const keys = runKeys(prefix, runId);
  const entries: ResultEntry[] = [];
  for await (const entry of readResults(client, prefix, runId, run.generation, run.options.partitions)) entries.push(entry);
  const duplicateOutputs: string[] = [];
  for (let p = 0; p < run.options.partitions; p++) {
    // A done run frees its intermediate output; a failed one keeps it (for retry).
    const tasks = (await client.lrange(keys.outputIndex(p), 0, -1)).map((entry) => entry.slice(0, entry.indexOf('|')));
    duplicateOutputs.push(...tasks.filter((task, i) => tasks.indexOf(task) !== i));
  }
  return {
    state: run.state,
    results: toJsonLines(entries),
    committedTasks: (await client.smembers(keys.committed)).sort(),
    duplicateOutputs,
    reducedPartitions: await client.scard(keys.reduced(run.generation)),
  };
}

/** `c0` ... `c(n-1)`, sorted as Redis set members come back from `.sort()`. */
export function chunkIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `c${i}`).sort();
}
