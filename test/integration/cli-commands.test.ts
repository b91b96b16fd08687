/**
 * The commands as a user runs them: real processes, real workers, output on stdout only,
 * logs and progress on stderr, exit codes as the contract says.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect } from 'vitest';
import { readRunSnapshot } from '../../shared/run/run-record.js';
import { runsIndexKey } from '../../shared/redis/redis-keys.js';
import { loadJobFile } from '../../shared/job/job-loader.js';
import { runCli, startCli } from '../support/cli.js';
import { readLedger, scratch } from '../support/faults.js';
import { countWords, wordCountLines } from '../support/ground-truth.js';
import { collect, it } from '../support/fixtures.js';
import { redisUrl } from '../support/test-redis.js';
import { waitFor } from '../support/wait-for.js';

const job = 'test/fixtures/jobs/word-count-lines.ts';
const text = Array.from({ length: 40 }, (_, i) => `Line ${i % 6}: the quick brown fox, ${i % 4} lazy dogs; THE end`);

/** The worker processes a supervisor forked (procfs; not tsx's esbuild service), to see that none outlives it. */
function workerPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('worker-process'));
  } catch {
    return []; // a child that exited in between
  }
}

/** Every process whose environment holds `entry` (procfs), wherever it was reparented. */
function processesWithEnv(entry: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
      } catch {
        return false; // exited in between, or not ours to read
      }
    })
    .map(Number);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('redmap run', () => {
  it('prints the same results with 2 worker processes as in one process, and nothing else on stdout', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const distributed = await runCli(['run', job, ...text, '--workers', '2', '--chunk-size', '3'], { env });
    const local = await runCli(['run', job, ...text, '--local', '--chunk-size', '3'], { env });
    expect(distributed.code).toBe(0);
    expect(local.code).toBe(0);
    expect(distributed.stdout).toBe(wordCountLines(text));
    expect(distributed.stdout).toBe(local.stdout);
    const lines = distributed.stdout.trim().split('\n');
    expect(lines.map((line) => JSON.parse(line) as { key: string; value: number })).toContainEqual({ key: 'the', value: 80 });
    expect(lines).toEqual([...lines].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(distributed.stderr).toMatch(/run \S+ done: 40 items, \d+ results/);
  });

  it('starts one worker process per CPU by default, but none more than the inputs given as arguments', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const readyWorkers = (stderr: string): number => stderr.split('\n').filter((line) => line.includes('"worker process ready"')).length;
    const one = await runCli(['run', job, 'the fox', '--log-level', 'debug'], { env });
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('{"key":"fox","value":1}\n{"key":"the","value":1}\n');
    expect(readyWorkers(one.stderr)).toBe(1);
    const many = await runCli(['run', job, ...text, '--log-level', 'debug'], { env });
    expect(many.code).toBe(0);
    expect(readyWorkers(many.stderr)).toBe(availableParallelism());
    const explicit = await runCli(['run', job, 'the fox', '--workers', '2', '--log-level', 'debug'], { env });
    expect(readyWorkers(explicit.stderr)).toBe(2);
  });

  it('forks its worker processes before the command loads and configures them over IPC; a usage error leaves none behind', async ({
    prefix,
  }) => {
    // REDIS_URL points nowhere: a worker that kept the environment it was forked with would not serve.
    const env = { REDIS_URL: 'redis://127.0.0.1:1', REDMAP_PREFIX: prefix };
    const served = await runCli(['run', job, 'the fox', '--workers', '2', '--redis', redisUrl(), '--log-level', 'debug'], { env });
    expect(served.code).toBe(0);
    expect(served.stdout).toBe('{"key":"fox","value":1}\n{"key":"the","value":1}\n');
    const adopted = served.stderr.split('\n').filter((line) => line.includes('worker process forked at start-up takes its configuration'));
    expect(adopted).toHaveLength(Math.min(2, availableParallelism()));

    const marker = `prefork-${prefix}`;
    const refused = await runCli(['run', job, 'the fox', '--workers', '2', '--chunk-size', 'zero'], {
      env: { ...env, REDMAP_TEST_MARKER: marker },
    });
    expect(refused.code).toBe(2);
    await waitFor('the pre-forked worker processes to exit', () => processesWithEnv(`REDMAP_TEST_MARKER=${marker}`).length === 0, 10_000);
  });

  it('reads inputs from stdin with "-" and prints csv and table', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const csv = await runCli(['run', job, '-', '--workers', '1', '--format', 'csv'], { env, input: 'a b\n"quoted", b\n' });
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe('key,value\na,1\nb,2\nquoted,1\n');
    const table = await runCli(['run', job, 'alpha beta', 'beta', '--workers', '1', '--format', 'table'], { env });
    expect(table.stdout).toBe('KEY    VALUE\nalpha  1\nbeta   2\n');
  });

  it('cancels the run and exits 130 on Ctrl-C', async ({ prefix, redis: client }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const { ledger } = scratch();
    const running = startCli(['run', 'test/fixtures/jobs/logged-map.ts', ...text, '--workers', '1', '--chunk-size', '1'], {
      env: { ...env, REDMAP_TEST_DELAY_MS: '300', REDMAP_TEST_LOG: ledger },
    });
    const runId = await waitFor('the run in the index', async () => (await client.zrange(runsIndexKey(prefix), '0', '0'))[0], 20_000);
    // Ctrl-C while its worker maps: the run has started and is far from done (40 calls of 300 ms).
    await waitFor('a map call to start', () => readLedger(ledger).length > 0, 20_000);
    running.kill('SIGINT');
    const result = await running.result;
    expect(result.code).toBe(130);
    expect((await readRunSnapshot(client, prefix, runId))?.state).toBe('cancelled');
    expect(readLedger(ledger).length, 'the run was cut short').toBeLessThan(text.length);
  });
});

describe('redmap submit and worker', () => {
  it('submit prints only the run id; workers started later finish it; status, results and runs show it', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const submitted = await runCli(['submit', job, ...text, '--chunk-size', '5'], { env });
    expect(submitted.code).toBe(0);
    const runId = submitted.stdout.trim();
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{8}$/);

    const waiting = await runCli(['status', runId, '--json'], { env });
    expect(JSON.parse(waiting.stdout)).toMatchObject({ id: runId, state: 'mapping', tasks: { total: 8, committed: 0 } });

    const worker = startCli(['worker', job, '--processes', '2'], { env });
    const followed = await runCli(['status', runId, '--watch', '--json'], { env, timeoutMs: 60_000 });
    const last = JSON.parse(followed.stdout.trim().split('\n').pop()!) as { state: string; items: { done: number } };
    expect(last).toMatchObject({ state: 'done', items: { done: 40 } });

    worker.kill('SIGTERM');
    const stopped = await worker.result;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe('');

    const results = await runCli(['results', runId], { env });
    expect(results.stdout).toBe(wordCountLines(text));

    const runs = await runCli(['runs'], { env });
    expect(runs.stdout).toMatch(new RegExp(`^${runId}\\s+test-word-count\\s+done\\s+40/40`, 'm'));
    const people = await runCli(['status', runId], { env });
    expect(people.stdout).toMatch(/state\s+done/);
    expect(people.stdout).toMatch(/tasks\s+8\/8 committed \(100%\), 0 failed for good, 0 retries/);
  });

  it('submit --wait prints the run id on stderr and the results on stdout', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const worker = startCli(['worker', job], { env });
    try {
      const result = await runCli(['submit', job, 'one two', 'two', '--wait'], { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('{"key":"one","value":1}\n{"key":"two","value":2}\n');
      expect(result.stderr).toMatch(/"msg":"run \d{8}-\d{6}-[0-9a-f]{8}"/);
    } finally {
      worker.kill('SIGTERM');
      expect((await worker.result).code).toBe(0);
    }
  });

  it('submit --wait detaches on Ctrl-C: exits 130, says how to follow the run, and the run goes on to done', async ({
    prefix,
    redis: client,
    workers,
    runs,
  }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    // No worker yet, so the run cannot end before the Ctrl-C; it comes once submit follows the run.
    const waiting = startCli(['submit', job, ...text, '--chunk-size', '5', '--wait'], { env });
    await waitFor('submit --wait to follow the run', async () => {
      if (waiting.exitCode !== null) throw new Error(`submit exited ${waiting.exitCode}: ${(await waiting.result).stderr}`);
      return waiting.printed().stderr.includes('"msg":"progress"') || undefined;
    });
    const runId = /"msg":"run (\S+)"/.exec(waiting.printed().stderr)![1]!;
    waiting.kill('SIGINT');
    const detached = await waiting.result;
    expect(detached.code).toBe(130);
    expect(detached.stdout).toBe('');
    expect(detached.stderr).toContain(`detached; the run goes on. Follow it with: redmap status ${runId} --watch`);
    expect((await readRunSnapshot(client, prefix, runId))?.state).toBe('mapping');

    const { job: loaded } = await loadJobFile(job);
    await workers.start(loaded);
    const run = await runs.open(runId);
    expect((await run.done()).state).toBe('done');
    const results = await collect(run);
    expect(results).toEqual(countWords(text));
  });

  it('worker: a SIGTERM while its processes are still starting drains them and exits 0', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const worker = startCli(['worker', job, '--processes', '2'], { env });
    let said = '';
    worker.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const children = await waitFor(
      'a worker process to be forked',
      () => {
        const forked = workerPids(worker.pid!);
        return forked.length > 0 && forked;
      },
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    // A worker process takes hundreds of milliseconds to load and connect: none serves yet.
    expect(said).not.toMatch(/serving/);
    worker.kill('SIGTERM');
    const stopped = await worker.result;
    expect(stopped.code, `${stopped.signal} ${stopped.stderr}`).toBe(0);
    expect(stopped.stderr).toMatch(/SIGTERM: draining/);
    for (const pid of children) expect(isAlive(pid), `worker process ${pid} is gone`).toBe(false);
  });

  it('status on an id that never existed says so and exits 1', async ({ prefix }) => {
    const env = { REDIS_URL: redisUrl(), REDMAP_PREFIX: prefix };
    const result = await runCli(['status', 'never-was'], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('run never-was: unknown (never existed, cleaned, expired or lost)\n');
  });
});

describe('--help', () => {
  it.each(['run', 'submit', 'worker', 'status', 'runs', 'results', 'failed', 'retry', 'cancel', 'clean', 'dashboard', 'throttle'])(
    'redmap %s --help shows usage, examples and the environment variables',
    async (command) => {
      const result = await runCli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: redmap ${command}`));
      expect(result.stdout).toMatch(/Examples:\n {2}\S/);
      expect(result.stdout).toMatch(/Environment:\n {2}REDIS_URL/);
    },
  );

  // What each command reads, written out from its code: the help must list exactly these flags and name these variables.
  const common = ['--redis', '--redis-ca', '--prefix', '--log-level', '--log-format', '--help'];
  const redisEnvironment = ['REDIS_URL', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_PASSWORD_FILE', 'REDIS_CA_FILE'];
  const redmapEnvironment = ['REDMAP_PREFIX', 'REDMAP_LOG_LEVEL', 'REDMAP_LOG_FORMAT'];
  it.each([
    ['throttle', ['--job', '--global-concurrency', '--rate', ...common], [...redisEnvironment, ...redmapEnvironment]],
    [
      'dashboard',
      ['--port', '--host', '--insecure-public', ...common],
      [...redisEnvironment, ...redmapEnvironment, 'REDMAP_DASHBOARD_USER', 'REDMAP_DASHBOARD_PASSWORD', 'REDMAP_DASHBOARD_PASSWORD_FILE'],
    ],
  ])('redmap %s --help lists every flag it takes and names every variable it reads', async (command, flags, variables) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    const options = /\nOptions:\n([\s\S]*?)\n\n/.exec(result.stdout)?.[1] ?? '';
    const listed = options.split('\n').map((line) => /^\s+(?:-[a-z], )?(--[a-z-]+)/.exec(line)?.[1]);
    expect(listed.sort()).toEqual([...flags].sort());
    for (const variable of variables) expect(result.stdout).toMatch(new RegExp(`^  ${variable}\\s`, 'm'));
  });
});
