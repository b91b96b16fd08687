/**
 * A worker whose BullMQ worker stops fetching (as reported after Redis failovers) is noticed
 * (room for a task, tasks waiting, none taken) and rebuilt on new connections; the run
 * finishes exact. The wedge is made by the `wedge-worker` failpoint, which pauses the
 * worker's first BullMQ worker after its first task.
 */
import { describe, expect, vi } from 'vitest';
import { defineJob, z } from '../../index.js';
import { createLogger } from '../../shared/logger.js';
import { collect, it } from '../support/fixtures.js';

vi.hoisted(() => {
  process.env.REDMAP_FAILPOINTS = 'wedge-worker';
});

const job = defineJob({
  name: 'wedge-words',
  input: z.string(),
  *map(line: string) {
    for (const word of line.split(' ')) yield [word, 1] as const;
  },
  reduce: (_key: string, values: number[]) => values.reduce((a, b) => a + b, 0),
  partitions: 2,
});

describe('a wedged worker', () => {
  it('takes no task while tasks wait, is rebuilt, and the run ends done and exact', async ({ workers, runs }) => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
    await workers.start(job, { concurrency: 1, logger, wedgeCheck: { checkEveryMs: 100, idleAfterMs: 1000 } });
    const inputs = Array.from({ length: 30 }, (_, i) => `w${i % 7} w${i % 3}`);
    const run = await runs.submit(job, inputs, { chunkSize: 1 });
    const status = await run.done();
    expect(status.state).toBe('done');
    const results = new Map((await collect(run)).map((entry) => [entry.key, entry.value]));
    const expected = new Map<string, number>();
    for (const word of inputs.flatMap((line) => line.split(' '))) expected.set(word, (expected.get(word) ?? 0) + 1);
    expect(Object.fromEntries(results)).toEqual(Object.fromEntries(expected));
    const rebuilt = lines.filter((line) => line.includes('rebuilding its connections'));
    expect(rebuilt.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(rebuilt[0]!)).toMatchObject({ waiting: expect.any(Number) });
  }, 30_000);
});
