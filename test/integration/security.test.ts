/**
 * Security against a real redis-server that speaks TLS only and has ACL users: the
 * minimal users of docs/security.md (read from that file) complete a run and Redis
 * refuses them nothing; a user without those rights, a wrong password or an unknown CA
 * gets exit code 5 and a message saying what is wrong; and no password ever shows in an
 * output or in the arguments of a process redmap starts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLogs } from '../../examples/log-errors/generate-logs.js';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { documentedUser } from '../support/documented-acl.js';
import { asCounts, gnu, LOG_PIPELINE } from '../support/ground-truth.js';
import { sampleCommandLines } from '../support/process-tree.js';
import { startTlsRedis, type TlsRedisServer } from '../support/tls-redis.js';

const JOB = 'examples/log-errors/job.ts';
const WORKER_PASSWORD = `wk-${randomBytes(12).toString('hex')}`;
const PRODUCER_PASSWORD = `pr-${randomBytes(12).toString('hex')}`;
const NODE_IP_SERVERNAME_WARNING = 'Setting the TLS ServerName to an IP address is not permitted';

let server: TlsRedisServer;
let dir: string;
let files: string[];
let truth: string;

beforeAll(async () => {
  server = await startTlsRedis([
    documentedUser('worker', WORKER_PASSWORD),
    documentedUser('producer', PRODUCER_PASSWORD),
    'user outsider on >outsider-pw resetkeys ~elsewhere:* resetchannels &elsewhere:* +@all',
  ]);
  dir = mkdtempSync(join(tmpdir(), 'redmap-security-logs-'));
  generateLogs({ outDir: dir, files: 4, totalBytes: 1024 * 1024, seed: 5 });
  files = readdirSync(dir).map((name) => join(dir, name));
  truth = gnu(LOG_PIPELINE, files);
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const url = (user: string, host = '127.0.0.1'): string => `rediss://${user}@${host}:${server.port}`;
const as = (user: string, password: string): NodeJS.ProcessEnv => ({
  REDIS_URL: url(user),
  REDIS_PASSWORD: password,
  REDIS_CA_FILE: server.caFile,
});

async function refusals(): Promise<string[]> {
  const admin = await server.admin();
  try {
    const entries = (await admin.call('ACL', 'LOG')) as unknown[][];
    return entries.map((entry) => JSON.stringify(entry));
  } finally {
    admin.disconnect();
  }
}

async function resetRefusals(): Promise<void> {
  const admin = await server.admin();
  await admin.call('ACL', 'LOG', 'RESET');
  admin.disconnect();
}

describe('over TLS, with ACL users', () => {
  it('a worker logged in as the documented worker user completes a run the producer user submits; Redis refuses them nothing', async () => {
    await resetRefusals();
    const worker = startCli(['worker', JOB, '--processes', '1'], { env: as('redmap-worker', WORKER_PASSWORD) });
    const producer = as('redmap-producer', PRODUCER_PASSWORD);
    const outputs: CliResult[] = [];
    try {
      // A worker refused a command waits forever rather than fail: bound the wait, and say what Redis refused.
      const submitted = await runCli(['submit', JOB, ...files, '--run-id', 'tls-acl', '--chunk-size', '2', '--wait'], {
        env: producer,
        timeoutMs: 30_000,
      });
      outputs.push(submitted);
      expect(submitted.code, `${submitted.stderr}\nRedis refused (ACL LOG): ${(await refusals()).join('\n')}`).toBe(0);
      expect(asCounts(submitted.stdout)).toBe(truth);
      for (const args of [['status', 'tls-acl', '--json'], ['runs'], ['results', 'tls-acl'], ['failed', 'tls-acl'], ['clean', 'tls-acl']]) {
        const result = await runCli(args, { env: producer });
        outputs.push(result);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      }
    } finally {
      worker.kill('SIGTERM');
    }
    const served = await worker.result;
    expect(served.code, served.stderr).toBe(0);
    expect(await refusals()).toEqual([]);
    // The server is an IP address: no TLS server name is set for it, so Node does not warn.
    for (const { stderr } of [served, ...outputs]) expect(stderr).not.toContain(NODE_IP_SERVERNAME_WARNING);
  });

  it('a host name in the URL is checked against the certificate too', async () => {
    const result = await runCli(['runs'], {
      env: { ...as('redmap-producer', PRODUCER_PASSWORD), REDIS_URL: url('redmap-producer', 'localhost') },
    });
    expect(result.code, result.stderr).toBe(0);
  });

  // Environments are built when each case runs: the server's port is known only then.
  it.each<[string, string, () => NodeJS.ProcessEnv, RegExp]>([
    [
      'a user without the rights (its keys and channels are elsewhere)',
      'submit',
      () => as('outsider', 'outsider-pw'),
      /refused the Redis user a command, key or channel redmap needs \(NOPERM .*keys.*docs\/security\.md/,
    ],
    [
      'a user without the rights',
      'worker',
      () => as('outsider', 'outsider-pw'),
      /refused the Redis user a command, key or channel redmap needs \(NOPERM .*docs\/security\.md/,
    ],
    [
      'the worker user, for what only producers do',
      'clean',
      () => as('redmap-worker', WORKER_PASSWORD),
      /NOPERM .*'scan' command.*docs\/security\.md/,
    ],
    [
      'a wrong password',
      'submit',
      () => as('redmap-producer', 'not-the-password'),
      /refused the user "redmap-producer" and its password \(WRONGPASS/,
    ],
    [
      'no CA for the server certificate',
      'submit',
      () => ({ ...as('redmap-producer', PRODUCER_PASSWORD), REDIS_CA_FILE: '' }),
      /cannot verify the TLS certificate of Redis at rediss:\/\/redmap-producer:\*\*\*@127\.0\.0\.1:\d+ \(self-signed certificate in certificate chain\): set REDIS_CA_FILE/,
    ],
  ])('%s (%s): exit 5 and a message saying what is wrong', async (_, command, env, message) => {
    const args = {
      submit: ['submit', JOB, ...files],
      worker: ['worker', JOB, '--processes', '1'],
      clean: ['clean', 'no-such-run'],
    }[command]!;
    const result = await runCli(args, { env: env(), timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(5);
    expect(result.stderr).toMatch(message);
  });
});

describe('passwords', () => {
  it('never appear in logs, status output, error messages or the arguments of any process redmap starts', async () => {
    const debug = { REDMAP_LOG_LEVEL: 'debug' };
    const adminInUrl = `rediss://default:${server.adminPassword}@127.0.0.1:${server.port}`;
    const worker = startCli(['worker', JOB, '--processes', '2'], {
      env: { ...debug, REDIS_URL: `rediss://redmap-worker:${WORKER_PASSWORD}@127.0.0.1:${server.port}`, REDIS_CA_FILE: server.caFile },
    });
    const running = new Set<number>([worker.pid!]);
    const argv = sampleCommandLines(() => [...running]);
    const outputs: CliResult[] = [];
    const record = async (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> => {
      const child = startCli(args, { env: { ...debug, ...env }, timeoutMs: 30_000 });
      running.add(child.pid!);
      const result = await child.result;
      outputs.push(result);
      return result;
    };
    try {
      const producer = as('redmap-producer', PRODUCER_PASSWORD);
      expect((await record(['submit', JOB, ...files, '--run-id', 'secret-a', '--wait'], producer)).code).toBe(0);
      expect((await record(['status', 'secret-a'], producer)).code).toBe(0);
      expect((await record(['status', 'secret-a', '--json'], producer)).code).toBe(0);
      expect((await record(['runs', '--json'], producer)).code).toBe(0);
      // `run` hands the password from REDIS_URL to the worker processes it starts.
      expect((await record(['run', JOB, ...files, '--workers', '2'], { REDIS_URL: adminInUrl, REDIS_CA_FILE: server.caFile })).code).toBe(
        0,
      );
      // Errors that name the server: unreachable, refused, and a password on the command line.
      const unreachable = `rediss://redmap-producer:${PRODUCER_PASSWORD}@127.0.0.1:1`;
      expect((await record(['runs'], { REDIS_URL: unreachable })).code).toBe(5);
      expect(
        (await record(['runs'], { REDIS_URL: url('redmap-producer'), REDIS_PASSWORD: WORKER_PASSWORD, REDIS_CA_FILE: server.caFile })).code,
      ).toBe(5);
      expect((await record(['runs', '--redis', adminInUrl], {})).code).toBe(2);
    } finally {
      worker.kill('SIGTERM');
    }
    outputs.push(await worker.result);
    const commandLines = argv.stop();

    expect(commandLines.size, 'the worker processes were sampled').toBeGreaterThan(3);
    for (const password of [WORKER_PASSWORD, PRODUCER_PASSWORD, server.adminPassword]) {
      for (const { stdout, stderr } of outputs) {
        expect(stdout).not.toContain(password);
        expect(stderr).not.toContain(password);
      }
      for (const line of commandLines) {
        // The one command line that holds it is the test's own refused `--redis` attempt.
        if (!line.includes('--redis')) expect(line).not.toContain(password);
      }
    }
    expect(outputs.map((o) => o.stderr).join('')).toContain('***');
  });
});
