/**
 * Bad input on the command line gets a clear message and the contract's exit code, and
 * nothing already committed (or not yet enqueued) is touched.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect } from 'vitest';
import { freePort, startRedisServer } from '../support/redis-server.js';
import { runCli } from '../support/cli.js';
import { startStubRedis } from '../support/stub-redis.js';
import { it } from '../support/fixtures.js';
import { keysUnder, redisUrl } from '../support/test-redis.js';

const env = (): NodeJS.ProcessEnv => ({ REDIS_URL: redisUrl() });

/** An IPv4 address of this machine other than loopback, where protected mode refuses a server without a password. */
function outsideAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  if (!address) throw new Error('this test needs a network interface with a non-loopback IPv4 address');
  return address;
}

describe('the command line refuses bad input', () => {
  it('an unknown flag: exit 2, naming the flag', async () => {
    const result = await runCli(['run', 'test/fixtures/jobs/numbers.ts', '1', '--wrokers', '2'], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--wrokers'.*redmap run --help/);
  });

  it('an unknown command: exit 2, listing the commands', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command "frobnicate"; commands: run, submit, worker/);
  });

  it.each([
    [['--workers', '0'], /--workers: expected a whole number between 1 and 256, got 0/],
    [['--chunk-size', 'abc'], /--chunk-size: expected a whole number, got "abc"/],
    [['--call-timeout', '5x'], /--call-timeout: expected a duration such as 500ms, 30s, 2m, 1h or 7d, .*got "5x"/],
    [['--backoff', 'linear:1s'], /--backoff: expected exponential:DURATION or fixed:DURATION, got "linear:1s"/],
    [['--input-format', 'xml'], /--input-format: expected one of lines, jsonl, csv, got "xml"/],
    [['--format', 'pdf'], /--format: expected one of jsonl, csv, table, got "pdf"/],
    [['--run-id', 'bad id!'], /--run-id: expected 1-64 letters, digits, "_" or "-", got "bad id!"/],
    [['--max-failed-ratio', '2'], /--max-failed-ratio: expected a number between 0 and 1, got "2"/],
    [['--global-concurrency', '0'], /--global-concurrency: expected a whole number between 1 and 100000, got 0/],
    [['--rate', 'abc'], /--rate: expected a rate such as 200\/s or 50\/m, above zero, got "abc"/],
    [['--rate', '0/s'], /--rate: expected a rate such as 200\/s or 50\/m, above zero, got "0\/s"/],
    [['--heartbeat-timeout', '1s'], /--heartbeat-timeout: expected a duration .*, at least 2.0s, got "1s"/],
  ])('an invalid option value %j: exit 2, naming the option and the value', async (flags, message) => {
    const result = await runCli(['run', 'test/fixtures/jobs/numbers.ts', '1', ...flags], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('a job file that does not exist: exit 2', async () => {
    const result = await runCli(['run', 'no/such/job.ts', 'x'], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/job file not found: no\/such\/job\.ts/);
  });

  it('a job file that exports no job: exit 2, saying what to export', async () => {
    const result = await runCli(['run', 'test/fixtures/jobs/no-job.ts', 'x'], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/exports no job: add "export default defineJob\(\{ \.\.\. \}\)"/);
  });

  it('an input item the schema rejects: exit 2, naming it and its index, with nothing enqueued', async ({ redis: client, prefix }) => {
    const result = await runCli(
      ['run', 'test/fixtures/jobs/numbers.ts', '1', '2', '"three"', '4', '--input-format', 'jsonl', '--prefix', prefix],
      {
        env: env(),
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/input item #2 "three" is rejected by the job's schema: .*expected number/i);
    expect(await keysUnder(client, prefix)).toEqual([]);
  });

  it('a value that does not survive JSON: the run fails (exit 1) naming the job, the key and the input item', async ({ prefix }) => {
    const result = await runCli(['run', 'test/fixtures/jobs/bad-value.ts', 'fine', 'poison', '--workers', '1', '--prefix', prefix], {
      env: env(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /job \\"test-bad-value\\": the value for key \\"poison\\" from input item \\"poison\\" cannot be stored: value is undefined/,
    );
    expect(result.stdout).toBe('');
  });

  it('a key that is not a string: the run fails (exit 1) naming the job and the input item', async ({ prefix }) => {
    const result = await runCli(['run', 'test/fixtures/jobs/bad-key.ts', 'fine', 'poison', '--workers', '1', '--prefix', prefix], {
      env: env(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /job \\"test-bad-key\\": map emitted a key that is not a string \(number 42\) for input item \\"poison\\"/,
    );
  });

  it('Redis unreachable: exit 5 within seconds, the URL shown without its password', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await runCli(['run', 'test/fixtures/jobs/numbers.ts', '1', '--input-format', 'jsonl'], {
      env: { REDIS_URL: `redis://worker:s3cret-pw@127.0.0.1:${port}` },
    });
    expect(result.code).toBe(5);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.stderr).toMatch(new RegExp(`cannot reach Redis at redis://worker:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
    expect(result.stderr + result.stdout).not.toMatch(/s3cret-pw/);
  });

  it('a Redis that refuses the connection with an error (protected mode): exit 5, in its own words', async () => {
    const address = outsideAddress();
    const server = await startRedisServer({ args: ['--bind', '127.0.0.1', address, '--protected-mode', 'yes'] });
    try {
      const result = await runCli(['status', 'some-run', '--redis', `redis://${address}:${server.port}`]);
      expect(result.code).toBe(5);
      expect(result.stderr).toContain(
        `Redis at redis://${address}:${server.port} refused the connection, saying: DENIED Redis is running in protected mode`,
      );
      expect(result.stderr).not.toMatch(/start redis-server or set REDIS_URL/);
    } finally {
      await server.stop();
    }
  });

  it('a Redis password on the command line: exit 2, without echoing it', async () => {
    const result = await runCli(['status', 'some-run', '--redis', 'redis://:hunter2@127.0.0.1:6379']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/do not put the password on the command line/);
    expect(result.stderr).not.toMatch(/hunter2/);
  });

  it('a Redis that may evict data: exit 5, naming the policy and the fix', async () => {
    const server = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const result = await runCli(['run', 'test/fixtures/jobs/numbers.ts', '1', '--input-format', 'jsonl'], {
        env: { REDIS_URL: server.url },
      });
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/has maxmemory-policy allkeys-lru: it may evict redmap's data\. Set it to noeviction/);
    } finally {
      await server.stop();
    }
  });

  describe('a Redis older than 6.2', () => {
    /** Answers what a client sends before its first command: HELLO (refused, as a server without RESP3 does), CLIENT and INFO. */
    const redisOfVersion = (version: string) =>
      startStubRedis(([name]) => {
        if (name === 'HELLO') return new Error('NOPROTO sorry, this protocol version is not supported');
        if (name === 'CLIENT') return 'OK';
        if (name === 'INFO') return `# Server\r\nredis_version:${version}\r\nloading:0\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n`;
        return undefined;
      });
    const preflight = new Set(['HELLO', 'CLIENT', 'INFO']);

    it('is refused with exit 5, naming its version and the one needed, before any other command', async () => {
      const stub = await redisOfVersion('6.0.9');
      try {
        const result = await runCli(['runs'], { env: { REDIS_URL: stub.url } });
        expect(result.code).toBe(5);
        expect(result.stderr).toContain(`Redis at ${stub.url} is version 6.0.9; redmap needs 6.2 or newer`);
        expect(stub.commands.map(([name]) => name)).toContain('INFO');
        expect(stub.commands.filter(([name]) => !preflight.has(name!))).toEqual([]);
      } finally {
        await stub.close();
      }
    });

    it('but 6.2.0 passes the check: the command goes on to ask for data', async () => {
      const stub = await redisOfVersion('6.2.0');
      try {
        const result = await runCli(['runs'], { env: { REDIS_URL: stub.url } });
        expect(result.stderr).not.toMatch(/needs 6\.2/);
        expect(stub.commands.filter(([name]) => !preflight.has(name!)).length).toBeGreaterThan(0);
      } finally {
        await stub.close();
      }
    });
  });
});
