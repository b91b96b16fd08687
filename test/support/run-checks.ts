/**
 * What every fault test checks once its run has ended: the run's own records count one
 * adopting commit per map task and per partition (event counts, where a second commit
 * would show; the sets are checked too). The result is compared with a plain-code truth
 * (ground-truth.ts); `groundTruth` here, the job run in one process, may be compared as well,
 * never alone: it shares the map, partition and reduce code with what it checks.
 */
import type { Redis } from 'ioredis';
import { runLocally, type ResultEntry } from '../../index.js';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { runKeys } from '../../shared/redis/redis-keys.js';
import { readRunRecord } from '../../shared/run/run-record.js';
import { readResults } from '../../reducer/read-results.js';
import { expectWithSchedule, type FaultSchedule } from './faults.js';

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
  generation: number;
  results: string;
  committedTasks: string[];
  /** Task ids appearing more than once in the partitions' output indexes (must be none). */
  duplicateOutputs: string[];
  reducedPartitions: number;
  /** Map commits that adopted output, over every generation (the run record counts each). */
  mapCommits: number;
  /** Partition commits, over every generation. */
  reduceCommits: number;
  /** Commits refused because their task had committed already: redeliveries that reached the commit. */
  duplicateCommits: number;
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
    generation: run.generation,
    results: toJsonLines(entries),
    committedTasks: (await client.smembers(keys.committed)).sort(),
    duplicateOutputs,
    reducedPartitions: await client.scard(keys.reduced(run.generation)),
    mapCommits: run.mapCommits,
    reduceCommits: run.reduceCommits,
    duplicateCommits: run.duplicates,
  };
}

export interface ExpectedCommits {
  /** The map tasks that must have committed, split items counted as tasks of their own. */
  tasks: string[];
  partitions: number;
  /** Generations that reduced (a retried run reduces again); default 1. */
  generations?: number;
}

/**
 * Each map task committed once and each partition reduced once per generation, counted as
 * events: a task or partition committed twice shows in the counts, where a set hides it.
 */
export function expectCommittedOnce(audit: RunAudit, expected: ExpectedCommits, schedule: FaultSchedule): void {
  const counts = { mapCommits: audit.mapCommits, reduceCommits: audit.reduceCommits, reducedPartitions: audit.reducedPartitions };
  schedule.note(`commits: ${JSON.stringify(counts)}, ${audit.duplicateCommits} duplicate commit(s) refused`);
  expectWithSchedule(counts, schedule).toEqual({
    mapCommits: expected.tasks.length,
    reduceCommits: expected.partitions * (expected.generations ?? 1),
    reducedPartitions: expected.partitions,
  });
  expectWithSchedule(audit.committedTasks, schedule).toEqual([...expected.tasks].sort());
  expectWithSchedule(audit.duplicateOutputs, schedule).toEqual([]);
}

/** `c0` ... `c(n-1)`, sorted as Redis set members come back from `.sort()`. */
export function chunkIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `c${i}`).sort();
}
