/**
 * The central test: each example gives the same output through Redis with several worker
 * processes, several chunks and several partitions as in one process, and both equal the
 * GNU-tools pipeline its README gives.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { generateLogs } from '../../examples/log-errors/generate-logs.js';
import { generateText } from '../../examples/word-count/generate-text.js';
import { runCli } from '../support/cli.js';
import { asCounts, gnu, LOG_PIPELINE, WORD_PIPELINE } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';

async function compare(prefix: string, job: string, files: string[], pipeline: string): Promise<void> {
  const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
  const distributed = await runCli(['run', job, ...files, '--workers', '2', '--chunk-size', '2', '--partitions', '3'], { env });
  expect(distributed.code, distributed.stderr).toBe(0);
  const local = await runCli(['run', job, ...files, '--local', '--chunk-size', '2', '--partitions', '3'], { env });
  expect(local.code, local.stderr).toBe(0);
  expect(distributed.stdout).toBe(local.stdout);
  expect(asCounts(distributed.stdout)).toBe(gnu(pipeline, files));
  // Several tasks and partitions took part: the run was really spread out.
  const status = JSON.parse((await runCli(['runs', '--json'], { env })).stdout.trim()) as { id: string };
  const snapshot = JSON.parse((await runCli(['status', status.id, '--json'], { env })).stdout) as {
    tasks: { committed: number };
    partitions: { reduced: number };
  };
  expect(snapshot.tasks.committed).toBe(Math.ceil(files.length / 2));
  expect(snapshot.partitions.reduced).toBe(3);
}

describe('the examples through Redis', () => {
  it('log-errors equals one process and the GNU-tools pipeline', async ({ prefix }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-logs-'));
    generateLogs({ outDir: dir, files: 9, totalBytes: 6 * 1024 * 1024, seed: 7 });
    const files = readdirSync(dir).map((name) => join(dir, name));
    await compare(prefix, 'examples/log-errors/job.ts', files, LOG_PIPELINE);
  });

  it('word-count equals one process and the GNU-tools pipeline', async ({ prefix }) => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-text-'));
    generateText({ outDir: dir, files: 7, totalBytes: 3 * 1024 * 1024, seed: 7 });
    const files = readdirSync(dir).map((name) => join(dir, name));
    await compare(prefix, 'examples/word-count/job.ts', files, WORD_PIPELINE);
  });
});
