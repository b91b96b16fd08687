/**
 * redmap on several hosts, for real: three hosts made of network namespaces (Redis on one,
 * `redmap worker` on the two others, each reaching Redis only over a link of its own), runs
 * submitted from the root namespace, inputs in a folder every host reads (the hosts share
 * the filesystem, as machines share a network folder).
 *
 * The job is the log-errors example, through a fixture that also records where each input
 * was mapped; results are checked against the example's GNU-tools pipeline.
 *
 * The delay test adds its delay with netem where the kernel has it, else with a user-space
 * relay inside the Redis host (test/support/link-delay.ts), and prints which.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogs } from '../../examples/log-errors/generate-logs.js';
import { DEFAULT_KEY_PREFIX } from '../../shared/redis/redis-keys.js';
import { listWorkers } from '../../shared/workers/worker-registry.js';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { workerProcessesOf } from '../support/faults.js';
import { asCounts, gnu, LOG_PIPELINE } from '../support/ground-truth.js';
import { delayLinks } from '../support/link-delay.js';
import { createTestNetwork, missingForHosts, type HostName, type LinkName, type TestNetwork } from '../support/netns.js';
import { waitFor } from '../support/wait-for.js';

const JOB = 'test/fixtures/jobs/recorded-log-errors.ts';
const PASSWORD = randomBytes(16).toString('hex');
const REDIS_PORT = 6379;
/** Short locks, so that tasks a cut-off host held go to the other host within seconds. */
const WORKER_FLAGS = ['--processes', '1', '--concurrency', '2', '--lock-duration', '2s', '--stalled-interval', '500ms'];
const DELAY_MS = 2;

let network: TestNetwork | undefined;
let dir: string;
let files: string[];
let truth: string;
let executionLog: string;

beforeAll(async () => {
  const missing = missingForHosts();
  if (missing.length > 0)
    throw new Error(`this machine cannot build the test's hosts, so the multihost suite cannot run: ${missing.join('; ')}`);
  network = createTestNetwork();
  dir = mkdtempSync(join(tmpdir(), 'redmap-multihost-'));
  executionLog = join(dir, 'executions.jsonl');
  startRedis(network);
  const logs = join(dir, 'shared-folder');
  generateLogs({ outDir: logs, files: 24, totalBytes: 30 * 1024 * 1024, seed: 13 });
  files = readdirSync(logs).map((name) => join(logs, name));
  truth = gnu(LOG_PIPELINE, files);
  await waitForRedis(network.redisAddress('root'));
});

afterAll(() => {
  network?.destroy(); // kills Redis and anything else left in the hosts
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** redis-server in the Redis host, on every address of its links, with a password. */
function startRedis(net: TestNetwork): void {
  const server = spawn('ip', ['netns', 'exec', net.redisNamespace, 'redis-server', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
  // The configuration on stdin: the password stays out of every process's arguments.
  server.stdin.end(
    [
      `port ${REDIS_PORT}`,
      'bind 0.0.0.0',
      `dir ${dir}`,
      'save ""',
      'appendonly no',
      'maxmemory-policy noeviction',
      `requirepass ${PASSWORD}`,
    ].join('\n'),
  );
}

async function waitForRedis(address: string): Promise<void> {
  await waitFor(
    `Redis in the Redis host to answer at ${address}`,
    async () => {
      const client = new Redis({
        host: address,
        port: REDIS_PORT,
        password: PASSWORD,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    { timeoutMs: 10_000, intervalMs: 100, retryErrors: true },
  );
}

/** How each side reaches Redis: over its own link only (on `port`: Redis's own, or a delay relay's in the Redis host). */
const redisEnv = (from: LinkName, port = REDIS_PORT): NodeJS.ProcessEnv => ({
  REDIS_URL: `redis://${network!.redisAddress(from)}:${port}`,
  REDIS_PASSWORD: PASSWORD,
});

interface Execution {
  item: string;
  host: HostName;
  pid: number;
  attempt: number;
  /** `end` when the call returned; absent when it started. */
  event?: 'end';
  at: number;
}

/** The map calls recorded so far, as they started; with `ends`, the lines of calls that returned instead. */
function executions(ends = false): Execution[] {
  if (!existsSync(executionLog)) return [];
  const text = readFileSync(executionLog, 'utf8');
  // A line still being appended by another process is not read yet.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Execution)
    .filter((execution) => (execution.event === 'end') === ends);
}

/** The calls of `host` that had started and not returned at `at` (by its own records). */
function inFlight(host: HostName, at = Infinity): Execution[] {
  const ends = executions(true).filter((end) => end.at <= at);
  const returned = (call: Execution) => ends.some((end) => end.item === call.item && end.pid === call.pid && end.attempt === call.attempt);
  return executions().filter((call) => call.host === host && call.at <= at && !returned(call));
}

/**
 * The smallest of 20 PING round trips to Redis at `address`:`port`, in ms, from the root
 * namespace or from inside a worker host (a Node process of its own there).
 */
function roundTripMs(from: LinkName, port: number): number {
  const script = [
    "const { Redis } = require('ioredis');",
    'const [host, port] = process.argv.slice(1);',
    'const client = new Redis({ host, port: Number(port), password: process.env.REDIS_PASSWORD });',
    '(async () => { await client.ping(); let best = Infinity;',
    '  for (let i = 0; i < 20; i++) { const start = process.hrtime.bigint(); await client.ping();',
    '    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6); }',
    '  console.log(best); client.disconnect(); })();',
  ].join('\n');
  const wrap = from === 'root' ? [] : ['ip', 'netns', 'exec', network!.hostNamespace[from]];
  const [command, ...args] = [...wrap, process.execPath, '-e', script, network!.redisAddress(from), String(port)];
  const measured = spawnSync(command!, args, { encoding: 'utf8', env: { ...process.env, REDIS_PASSWORD: PASSWORD }, timeout: 30_000 });
  if (measured.status !== 0) throw new Error(`could not time PINGs from ${from}: ${measured.stderr}`);
  return Number(measured.stdout.trim());
}

/**
 * Starts `redmap worker` on both worker hosts, reaching Redis on `redisPort`, runs `body`,
 * then drains them (each must exit 0).
 */
async function withWorkerHosts<T>(
  env: NodeJS.ProcessEnv,
  body: (pids: Record<HostName, number>) => Promise<T>,
  redisPort = REDIS_PORT,
): Promise<T> {
  const hosts = (['w1', 'w2'] as const).map((host) => {
    const child = startCli(['worker', JOB, ...WORKER_FLAGS], {
      wrap: ['ip', 'netns', 'exec', network!.hostNamespace[host]],
      env: { ...redisEnv(host, redisPort), REDMAP_TEST_HOST: host, REDMAP_TEST_LOG: executionLog, ...env },
      timeoutMs: 300_000,
    });
    const ready = new Promise<void>((resolve) =>
      child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('serving') && resolve()),
    );
    return { host, child, ready };
  });
  try {
    await Promise.race([
      Promise.all(hosts.map((h) => h.ready)),
      Promise.all(hosts.map((h) => h.child.result)).then((results) => {
        throw new Error(`a worker host exited before serving: ${results.map((r) => r.stderr).join('\n')}`);
      }),
    ]);
    return await body({ w1: hosts[0]!.child.pid!, w2: hosts[1]!.child.pid! });
  } finally {
    for (const { child } of hosts) child.kill('SIGTERM');
    for (const { host, child } of hosts) {
      const result = await child.result;
      expect(result.code, `the worker on ${host} drains and exits 0: ${result.stderr.slice(-2000)}`).toBe(0);
    }
  }
}

/**
 * Submits a run from the root namespace, reaching Redis on `redisPort`, and waits for it;
 * returns its output and how long Redis says it took.
 */
async function submitFromRoot(runId: string, redisPort = REDIS_PORT): Promise<{ result: CliResult; tookMs: number }> {
  const result = await runCli(['submit', JOB, ...files, '--run-id', runId, '--chunk-size', '1', '--partitions', '4', '--wait'], {
    env: redisEnv('root', redisPort),
    timeoutMs: 120_000,
  });
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse((await runCli(['status', runId, '--json'], { env: redisEnv('root') })).stdout) as {
    createdAt: string;
    finishedAt: string;
  };
  return { result, tookMs: Date.parse(status.finishedAt) - Date.parse(status.createdAt) };
}

/** The committed set of a run, read over the root link. */
async function committedTasks(runId: string): Promise<string[]> {
  const client = new Redis({ host: network!.redisAddress('root'), port: REDIS_PORT, password: PASSWORD });
  try {
    return (await client.smembers(`redmap:run:{${runId}}:committed`)).sort();
  } finally {
    client.disconnect();
  }
}

const everyTask = (): string[] => files.map((_, chunk) => `c${chunk}`).sort();

/** Waits until a worker process of the supervisor `pid` has recorded a registry heartbeat since `since`. */
async function untilSeenSince(pid: number, since: number): Promise<void> {
  const children = workerProcessesOf(pid);
  const client = new Redis({ host: network!.redisAddress('root'), port: REDIS_PORT, password: PASSWORD });
  try {
    await waitFor(
      `the worker processes of ${pid} to be seen again`,
      async () => {
        const seen = (await listWorkers(client, DEFAULT_KEY_PREFIX)).find((worker) => children.includes(worker.pid));
        return seen !== undefined && Date.now() - seen.seenMsAgo > since;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    client.disconnect();
  }
}

describe('three hosts in network namespaces', () => {
  it('workers on two hosts, each reaching Redis over its own link, serve a run submitted from a third; the result equals the GNU tools', async () => {
    // Each worker host reaches nothing but Redis's end of its own link.
    const route = spawnSync('ip', ['-n', network!.hostNamespace.w1, 'route', 'get', network!.redisAddress('w2')], { encoding: 'utf8' });
    expect(route.status, 'w1 has no route to the other links').not.toBe(0);
    writeFileSync(executionLog, '');
    await withWorkerHosts({}, async () => {
      const { result } = await submitFromRoot('three-hosts');
      expect(asCounts(result.stdout)).toBe(truth);
    });
    const hosts = new Set(executions().map((e) => e.host));
    expect(hosts, 'both worker hosts mapped inputs').toEqual(new Set(['w1', 'w2']));
    expect(await committedTasks('three-hosts')).toEqual(everyTask());
  });

  it(`with ${DELAY_MS} ms of delay each way on every link (netem, else a relay in the Redis host) the run completes with the same result (and says how much slower)`, async () => {
    // Both runs on workers started for them, so that neither has warm workers the other lacks.
    const undelayed = await withWorkerHosts({}, () => submitFromRoot('no-delay'));
    const delay = await delayLinks(network!, DELAY_MS, REDIS_PORT);
    try {
      // Every link holds each packet the delay each way: no PING comes back sooner than twice
      // it. (The relay's timers count whole milliseconds of its loop's clock: up to 1 ms early.)
      const leastEachWay = delay.mechanism === 'netem' ? DELAY_MS : DELAY_MS - 1;
      const roundTrips = (['root', 'w1', 'w2'] as const).map((from) => ({ from, ms: roundTripMs(from, delay.port) }));
      for (const { from, ms } of roundTrips)
        expect(ms, `the round trip from ${from} through the delay`).toBeGreaterThanOrEqual(2 * leastEachWay);
      // The workers and the submit reach Redis through the delay: on the relay's port when there is one.
      const delayed = await withWorkerHosts({}, () => submitFromRoot('delayed', delay.port), delay.port);
      expect(asCounts(delayed.result.stdout)).toBe(truth);
      const ratio = delayed.tookMs / undelayed.tookMs;
      console.log(
        `multihost: ${files.length} tasks took ${undelayed.tookMs} ms without delay and ${delayed.tookMs} ms with ` +
          `${DELAY_MS} ms of delay each way on every link (${delay.mechanism}) (${ratio.toFixed(2)}x); ` +
          `PING round trips through it: ${roundTrips.map(({ from, ms }) => `${from} ${ms.toFixed(2)} ms`).join(', ')}`,
      );
    } finally {
      await delay.remove();
    }
  });

  it("cutting a worker host's link mid-run: the other host finishes with the same result; restored, the cut-off worker rejoins and commits nothing twice", async () => {
    writeFileSync(executionLog, '');
    // Slow map calls, so the cut lands while w1 holds tasks: it comes while one of w1's calls runs.
    await withWorkerHosts({ REDMAP_TEST_DELAY_MS: '400' }, async (pids) => {
      const submitted = startCli(['submit', JOB, ...files, '--run-id', 'cut-off', '--chunk-size', '1', '--partitions', '4', '--wait'], {
        env: redisEnv('root'),
        timeoutMs: 120_000,
      });
      await waitFor('w1 to map inputs', () => executions().filter((e) => e.host === 'w1').length >= 2 && inFlight('w1').length > 0, 60_000);
      network!.setLink('w1', false);
      const cutAt = Date.now();
      let restored = false;
      try {
        const result = await submitted.result;
        expect(result.code, result.stderr).toBe(0);
        expect(asCounts(result.stdout), 'the run w2 finished alone equals the GNU tools').toBe(truth);
        // w1 held tasks when it was cut off, and took none while cut off: what it mapped after the
        // cut it already held (three times --concurrency 2, of which 2 were mapping), and w2 mapped
        // them again (the fault really bit).
        const before = executions();
        expect(inFlight('w1', cutAt).length, 'calls w1 had started and not returned when it was cut off').toBeGreaterThan(0);
        expect(before.filter((e) => e.host === 'w1' && e.at > cutAt).length).toBeLessThanOrEqual(3 * 2 - 2);
        const cutOffItems = new Set(before.filter((e) => e.host === 'w1').map((e) => e.item));
        const redone = before.filter((e) => e.host === 'w2' && cutOffItems.has(e.item));
        expect(redone.length, 'inputs w1 held were mapped again on w2').toBeGreaterThan(0);
        expect(await committedTasks('cut-off')).toEqual(everyTask());

        network!.setLink('w1', true);
        restored = true;
        // w1 rejoins: its worker process is the same one, and it serves the next run. Its
        // connections come back on their own retry schedule: the next run starts once w1's
        // registry heartbeat has reached Redis again.
        const rejoinedAt = Date.now();
        await untilSeenSince(pids.w1, rejoinedAt);
        const next = await submitFromRoot('after-the-cut');
        expect(asCounts(next.result.stdout)).toBe(truth);
        const w1After = executions().filter((e) => e.host === 'w1' && e.at > rejoinedAt);
        expect(w1After.length, 'w1 maps inputs of the next run').toBeGreaterThan(0);
        expect(process.kill(pids.w1, 0)).toBe(true);
      } finally {
        if (!restored) network!.setLink('w1', true);
      }
      // Whatever w1 still tried to commit for the cut-off run once it was back changed nothing.
      expect(await committedTasks('cut-off')).toEqual(everyTask());
      expect(await committedTasks('after-the-cut')).toEqual(everyTask());
      const results = await runCli(['results', 'cut-off'], { env: redisEnv('root') });
      expect(asCounts(results.stdout)).toBe(truth);
    });
  });
});
