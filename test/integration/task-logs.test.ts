/**
 * Logs as people follow a task through them: JSON lines on stderr when asked (or when stderr
 * is not a terminal), every line of a task, the job's own lines included, carrying runId,
 * taskId, phase and attempt, in the worker and in an isolate; secrets redacted.
 */
import { describe, expect } from 'vitest';
import { runCli } from '../support/cli.js';
import { it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';

const JOB = 'test/fixtures/jobs/logging.ts';

type Line = Record<string, unknown> & { msg: string };

async function runLogged(prefix: string, isolation: string): Promise<Line[]> {
  const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
  const result = await runCli(
    [
      ...['run', JOB, 'a', 'b', 'throw', '--workers', '1', '--chunk-size', '1', '--attempts', '2', '--backoff', 'fixed:50ms'],
      ...['--max-failed-tasks', '1', '--isolation', isolation, '--log-level', 'debug', '--log-format', 'json', '--quiet'],
    ],
    { env },
  );
  expect(result.code, result.stderr).toBe(3);
  expect(result.stdout).toBe('{"key":"a","value":1}\n{"key":"b","value":1}\n');
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

const TASK_FIELDS = ['runId', 'taskId', 'phase', 'attempt'];

describe("a task's log lines", () => {
  for (const isolation of ['none', 'thread']) {
    it(`carry runId, taskId, phase and attempt, the job's own lines too, with secrets redacted (isolation ${isolation})`, async ({
      prefix,
    }) => {
      const lines = await runLogged(prefix, isolation);
      const byMessage = (msg: string): Line[] => lines.filter((line) => line.msg === msg);
      const mapped = byMessage('mapping an item');
      // a, b, and throw twice.
      expect(mapped).toHaveLength(4);
      expect(mapped.filter((line) => line.item === 'throw').map((line) => line.attempt)).toEqual([1, 2]);
      expect(mapped.every((line) => line.phase === 'map' && line.password === '***' && line.token === '***')).toBe(true);
      const reduced = byMessage('reducing a key');
      expect(reduced).toHaveLength(2);
      expect(reduced.every((line) => line.phase === 'reduce' && /^r[01]$/.test(String(line.taskId)))).toBe(true);
      const failed = byMessage('task failed for good');
      expect(failed).toEqual([
        expect.objectContaining({ phase: 'map', attempt: 2, err: expect.objectContaining({ message: 'this item always throws' }) }),
      ]);
      const taskLines = [...mapped, ...reduced, ...failed, ...byMessage('last partition reduced; the run is finished')];
      expect(taskLines.length).toBe(8);
      for (const line of taskLines) for (const field of TASK_FIELDS) expect(line, JSON.stringify(line)).toHaveProperty(field);
      expect(new Set(taskLines.map((line) => line.runId)).size).toBe(1);
      expect(JSON.stringify(lines)).not.toMatch(/hunter2|tok-map/);
    });
  }
});
