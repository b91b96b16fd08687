/**
 * Staged output that Redis acknowledged and then lost (a restart with appendfsync everysec,
 * a failover) is never adopted: the commit finds it incomplete, and the task runs again.
 * The worker pauses between staging and committing (a test-only failpoint), and the test
 * deletes the staged key in that window, as the lost write would have.
 */
import { describe, expect } from 'vitest';
import { readRunRecord } from '../../shared/run/run-record.js';
import { runKeys, runsIndexKey } from '../../shared/redis/redis-keys.js';
import { runCli } from '../support/cli.js';
import { startSupervisedWorkers } from '../support/faults.js';
import { wideOutputSums, wordCountLines } from '../support/ground-truth.js';
import { it } from '../support/fixtures.js';
import { keysMatching, openClient, redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const lines = Array.from({ length: 24 }, (_, i) => `alpha beta w${i % 11} gamma${i % 5} delta`);

/**
 * Deletes the first staged key matching `pattern` that no commit adopted yet (atomically: a
 * commit may land at any moment), and returns it once one was deleted.
 */
async function deleteUnadoptedStage(pattern: string): Promise<string> {
  const client = await openClient();
  const deleteIfUnadopted = "if redis.call('SISMEMBER', KEYS[2], KEYS[1]) == 0 then return redis.call('DEL', KEYS[1]) end return 0";
  try {
    return await waitFor(`an unadopted staged key matching ${pattern} to delete`, async () => {
      for (const staged of await keysMatching(client, pattern)) {
        const adopted = staged.replace(/:(r?stage):.*$/, ':stages');
        if ((await client.eval(deleteIfUnadopted, 2, staged, adopted)) === 1) return staged;
      }
      return undefined;
    });
  } finally {
    await client.close();
  }
}

/**
 * A word-count run on one worker that waits 3 s between staging each partition's result and
 * committing it; `meanwhile` acts on Redis in that window. Returns what submit --wait printed.
 */
async function reduceWithPausedCommit(prefix: string, meanwhile: () => Promise<void>) {
  const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_FAILPOINTS: 'before-reduce-commit~3000' };
  const workers = startSupervisedWorkers('test/fixtures/jobs/fault-words.ts', 1, env);
  try {
    await workers.ready(1);
    const submitted = runCli(
      ['submit', 'test/fixtures/jobs/fault-words.ts', '-', '--chunk-size', '4', '--backoff', 'fixed:100ms', '--wait', '--quiet'],
      { env, input: `${lines.join('\n')}\n` },
    );
    await meanwhile();
    return await submitted;
  } finally {
    await workers.stop();
  }
}

describe('staged output lost before its commit', () => {
  it('a reduce whose staged list vanished reduces its partition again; the result stays exact', async ({ redis: client, prefix }) => {
    const result = await reduceWithPausedCommit(prefix, async () => {
      await deleteUnadoptedStage(`${prefix}:run:*:g1:rstage:*`);
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(wordCountLines(lines));
    const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
    const record = await readRunRecord(client, prefix, runId);
    // Four partitions committed once each; the attempt that found its stage gone was retried.
    expect(record?.reduceCommits).toBe(4);
    expect(record?.retries).toBeGreaterThanOrEqual(1);
  });

  it('a map task whose staged hash vanished maps again instead of adopting a hole; the result stays exact', async ({
    redis: client,
    prefix,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix, REDMAP_FAILPOINTS: 'before-map-commit~3000' };
    const workers = startSupervisedWorkers('test/fixtures/jobs/wide-output.ts', 1, env);
    const inputs = [0, 1, 2];
    try {
      await workers.ready(1);
      const submitted = runCli(
        [
          'submit',
          'test/fixtures/jobs/wide-output.ts',
          '-',
          '--input-format',
          'jsonl',
          '--chunk-size',
          '1',
          '--backoff',
          'fixed:100ms',
          '--wait',
          '--quiet',
        ],
        { env, input: `${inputs.join('\n')}\n` },
      );
      await deleteUnadoptedStage(`${prefix}:run:*:stage:*`);
      const result = await submitted;
      expect(result.code, result.stderr).toBe(0);
      const results = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown);
      expect(results).toEqual(wideOutputSums(inputs));
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const record = await readRunRecord(client, prefix, runId);
      expect(record?.mapCommits).toBe(3);
      expect(record?.retries).toBeGreaterThanOrEqual(1);
    } finally {
      await workers.stop();
    }
  });
});

describe('a flip to reducing lost in a failover', () => {
  // Seen in the failover soak (seeds 20261206, 20261209): a reduce task taken on the old
  // primary read its partition on the promoted replica, where the last map commits and the
  // flip were lost; once those tasks ran again and flipped anew, the partial result committed
  // and the run ended done with wrong counts. The test stands in for the new flip by changing
  // the flip's time while the worker waits between staging and committing.
  it('a partition read under an earlier flip is reduced again; the result stays exact', async ({ redis: client, prefix }) => {
    const result = await reduceWithPausedCommit(prefix, async () => {
      await waitFor('a staged reduce result', async () => (await keysMatching(client, `${prefix}:run:*:g1:rstage:*`)).length > 0);
      const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
      const meta = runKeys(prefix, runId).meta;
      await client.hset(meta, 'reducingAt', Number(await client.hget(meta, 'reducingAt')) + 1);
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(wordCountLines(lines));
    const runId = (await client.zrange(runsIndexKey(prefix), '0', '0'))[0]!;
    const record = await readRunRecord(client, prefix, runId);
    expect(record?.reduceCommits).toBe(4);
    // At least the attempt that waited under the old flip was discarded and retried.
    expect(record?.retries).toBeGreaterThanOrEqual(1);
  });
});
