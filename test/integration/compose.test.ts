/**
 * The compose files keep their safety properties: Redis on loopback only, with AOF,
 * noeviction and a password; workers that scale and get the password from the environment,
 * never from their command; an override for several hosts that publishes a TLS port only;
 * and a loud failure when the password is not set. Checked with `docker-compose config`,
 * which needs no Docker engine (Debian's docker-compose, v1).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../shared/redis/redis-connection.js';
import { REPO_ROOT } from '../support/cli.js';

const PASSWORD = `compose-test-${process.pid}-secret`;
const REDIS_HOST = 'redis.test.internal';
const CUSTOM_JOB = 'jobs/my-job.ts';
const DEFAULT_FILES = ['-f', 'docker-compose.yml'];
const MULTIHOST_FILES = ['-f', 'docker-compose.yml', '-f', 'docker-compose.multihost.yml'];
const INSTALL_HINTS: Record<string, string> = {
  'docker-compose': 'docker-compose is not installed: apt-get install docker-compose (it checks compose files without a Docker engine)',
  python3: 'python3 is not installed: apt-get install docker-compose (which brings python3 and python3-yaml)',
};

// Without docker-compose every test below would fail alike: one message says what to install
// instead (npm test installs it first, through scripts/provision.sh).
if (spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status !== 0) {
  throw new Error(`${INSTALL_HINTS['docker-compose']}; npm test installs it itself (scripts/provision.sh)`);
}

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Service = Record<string, unknown> & { environment?: Record<string, string | null>; command?: string[] | string };
interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function runProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(INSTALL_HINTS[command] ?? `${command} is not installed`) : error),
    );
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** `docker-compose config` with only the given variables: the caller's REDIS_*, REDMAP_*, COMPOSE_* and .env are ignored. */
function composeConfig(files: string[], variables: Record<string, string>, envFile: string): Promise<Output> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(REDIS_|REDMAP_|COMPOSE_)/.test(name)) env[name] = value;
  }
  return runProcess('docker-compose', ['--env-file', envFile, ...files, 'config'], { env: { ...env, ...variables } });
}

/** docker-compose v1 has no `config --format json`: its own YAML library (python3-yaml, one of its dependencies) converts. */
async function parseConfig(output: Output): Promise<ComposeConfig> {
  expect(output.code, `docker-compose config failed:\n${output.stderr}`).toBe(0);
  const script = 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)';
  const json = await runProcess('python3', ['-c', script], { input: output.stdout });
  expect(json.code, `python3 with PyYAML (apt-get install python3-yaml) could not read the config:\n${json.stderr}`).toBe(0);
  return JSON.parse(json.stdout) as ComposeConfig;
}

function service(config: ComposeConfig, name: string): Service {
  const found = config.services[name];
  expect(found, `service ${name}`).toBeDefined();
  return found!;
}

function commandText(svc: Service, key: 'command' | 'entrypoint' = 'command'): string {
  const value = svc[key];
  return Array.isArray(value) ? value.join(' ') : String(value ?? '');
}

interface Port {
  hostIp: string;
  published: string;
  target: string;
}

/** Ports in v1's short form ("127.0.0.1:6379:6379/tcp") or the long form of compose v2. */
function ports(svc: Service): Port[] {
  const list = (svc.ports ?? []) as (string | Record<string, unknown>)[];
  return list.map((port) => {
    if (typeof port !== 'string') {
      return { hostIp: String(port.host_ip ?? ''), published: String(port.published ?? ''), target: String(port.target) };
    }
    const parts = port.replace(/\/\w+$/, '').split(':');
    const target = parts.pop()!;
    const published = parts.pop() ?? '';
    return { hostIp: parts.join(':'), published, target };
  });
}

function seconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

/** The safety options every Redis command must carry, in both files. */
function expectDurableAndLocked(redis: Service): void {
  const command = commandText(redis);
  expect(command).toMatch(/--appendonly yes/);
  expect(command).toMatch(/--appendfsync everysec/);
  expect(command).toMatch(/--maxmemory-policy noeviction/);
  // The password comes from the container's environment at start, never written into the command.
  expect(command).toMatch(/--requirepass "?\$\$?\{?REDIS_PASSWORD/);
  expect(command).not.toContain(PASSWORD);
  expect(redis.environment?.REDIS_PASSWORD).toBe(PASSWORD);
  const healthcheck = redis.healthcheck as { test: string[] | string };
  const test = Array.isArray(healthcheck.test) ? healthcheck.test.join(' ') : healthcheck.test;
  expect(test).toMatch(/redis-cli/);
  expect(test).toMatch(/ping/);
  expect(test).toMatch(/REDIS_PASSWORD/);
  expect(test).not.toContain(PASSWORD);
}

/** A redmap service: password from the environment only, no fixed name or host port. */
function expectRedmapClient(svc: Service): void {
  expect(svc.environment?.REDIS_PASSWORD).toBe(PASSWORD);
  for (const key of ['command', 'entrypoint'] as const) {
    const text = commandText(svc, key);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toMatch(/REDIS_PASSWORD|requirepass|--redis/);
  }
  expect(svc.environment?.REDIS_URL ?? '').not.toMatch(/@/);
  expect(svc.ports).toBeUndefined();
  expect(svc.container_name).toBeUndefined();
  expect((svc.depends_on as Record<string, { condition: string }>).redis?.condition).toBe('service_healthy');
}

interface Rendered {
  single: ComposeConfig;
  multi: ComposeConfig;
  noPassword: Output;
  noHost: Output;
}

let rendering: Promise<Rendered> | undefined;

/** Renders the files once; every test awaits it, so a missing docker-compose fails each test with the install hint. */
function rendered(): Promise<Rendered> {
  rendering ??= render();
  return rendering;
}

async function render(): Promise<Rendered> {
  const dir = mkdtempSync(join(tmpdir(), 'redmap-compose-'));
  const emptyEnvFile = join(dir, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  try {
    // Four runs, the fewest that cover it (each costs a Python start): the multi-host one also
    // names its own job, to check that REDMAP_JOB reaches the workers' command.
    const [single, multi, noPassword, noHost] = await Promise.all([
      composeConfig(DEFAULT_FILES, { REDIS_PASSWORD: PASSWORD }, emptyEnvFile),
      composeConfig(MULTIHOST_FILES, { REDIS_PASSWORD: PASSWORD, REDIS_HOST, REDMAP_JOB: CUSTOM_JOB }, emptyEnvFile),
      composeConfig(DEFAULT_FILES, {}, emptyEnvFile),
      composeConfig(MULTIHOST_FILES, { REDIS_PASSWORD: PASSWORD }, emptyEnvFile),
    ]);
    const [singleConfig, multiConfig] = await Promise.all([parseConfig(single!), parseConfig(multi!)]);
    return { single: singleConfig, multi: multiConfig, noPassword: noPassword!, noHost: noHost! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('docker-compose.yml (one host)', () => {
  it('publishes Redis on loopback only', async () => {
    const { single } = await rendered();
    expect(ports(service(single, 'redis'))).toEqual([{ hostIp: '127.0.0.1', published: '6379', target: '6379' }]);
  });

  it('runs Redis with AOF, noeviction and a password from the environment, and checks it with an authenticated ping', async () => {
    const { single } = await rendered();
    const redis = service(single, 'redis');
    expectDurableAndLocked(redis);
    expect(redis.image).toMatch(/^redis:7/);
    const volumes = (redis.volumes ?? []) as (string | { source: string; target: string })[];
    const data = volumes.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => /:\/data(:|$)/.test(v));
    expect(data, 'a named volume for /data').toBeDefined();
    expect(Object.keys(single.volumes ?? {})).toContain(data!.split(':')[0]);
  });

  it('gives workers the password through the environment, with no fixed name or host port, so they scale', async () => {
    const { single } = await rendered();
    const worker = service(single, 'worker');
    expectRedmapClient(worker);
    expect(worker.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(worker.command).toEqual(expect.arrayContaining(['worker', 'examples/log-errors/job.ts']));
  });

  it('lets workers drain on SIGTERM before Docker kills them', async () => {
    const { single } = await rendered();
    const worker = service(single, 'worker');
    const command = worker.command as string[];
    const grace = command.includes('--grace') ? seconds(command[command.indexOf('--grace') + 1]!) : 30;
    expect(seconds(String(worker.stop_grace_period))).toBeGreaterThanOrEqual(grace + 5);
  });

  it('takes the job path from REDMAP_JOB', async () => {
    // Rendered with the override, which keeps this file's worker command.
    const { multi } = await rendered();
    expect(service(multi, 'worker').command).toEqual(expect.arrayContaining(['worker', CUSTOM_JOB]));
    expect(service(multi, 'producer').environment?.REDMAP_JOB).toBe(CUSTOM_JOB);
  });

  it('has a one-shot example producer behind a profile that submits with --wait', async () => {
    const { single } = await rendered();
    const producer = service(single, 'producer');
    expectRedmapClient(producer);
    expect(producer.profiles).toEqual(['example']);
    expect(commandText(producer)).toMatch(/submit .*--wait/);
    expect(producer.restart).toBe('no');
  });

  it('refuses to render without REDIS_PASSWORD, saying where to set it', async () => {
    const { noPassword } = await rendered();
    expect(noPassword.code).not.toBe(0);
    expect(noPassword.stderr).toMatch(/set REDIS_PASSWORD in \.env/);
  });
});

describe('docker-compose.multihost.yml (several hosts)', () => {
  it('publishes the TLS port, and no other port beyond loopback', async () => {
    const { multi } = await rendered();
    const published = ports(service(multi, 'redis'));
    expect(published).toContainEqual(expect.objectContaining({ published: '6380', target: '6380' }));
    for (const port of published.filter((p) => p.target !== '6380')) expect(port.hostIp).toBe('127.0.0.1');
  });

  it('runs Redis on TLS only, still durable, with noeviction and the password', async () => {
    const { multi } = await rendered();
    const redis = service(multi, 'redis');
    expectDurableAndLocked(redis);
    const command = commandText(redis);
    expect(command).toMatch(/--port 0\b/);
    expect(command).toMatch(/--tls-port 6380\b/);
    for (const option of ['--tls-cert-file', '--tls-key-file', '--tls-ca-cert-file'])
      expect(command).toMatch(new RegExp(`${option} /certs/`));
    // tls-ca-file is not a Redis option: Redis would refuse to start.
    expect(command).not.toMatch(/--tls-ca-file/);
    expect(JSON.stringify(redis.healthcheck)).toMatch(/--tls/);
  });

  it('points workers at rediss:// on the Redis host, verified with the mounted CA', async () => {
    const { multi } = await rendered();
    for (const name of ['worker', 'producer']) {
      const svc = service(multi, name);
      expectRedmapClient(svc);
      expect(svc.environment?.REDIS_URL).toBe(`rediss://${REDIS_HOST}:6380`);
      const ca = svc.environment?.REDIS_CA_FILE;
      expect(ca).toBeTruthy();
      expect(JSON.stringify(svc.volumes)).toContain(`:${ca}:ro`);
    }
  });

  it('refuses to render without REDIS_HOST, saying where to set it', async () => {
    const { noHost } = await rendered();
    expect(noHost.code).not.toBe(0);
    expect(noHost.stderr).toMatch(/set REDIS_HOST in \.env/);
  });
});

const SENTINEL_PASSWORD = `compose-test-${process.pid}-sentinel-secret`;
const SENTINEL_FILES = ['-f', 'docker-compose.yml', '-f', 'docker-compose.sentinel.yml'];
let renderingSentinel: Promise<{ config: ComposeConfig; noSentinelPassword: Output }> | undefined;

/** The Sentinel override, rendered once; and once without REDIS_SENTINEL_PASSWORD. */
function renderedSentinel(): Promise<{ config: ComposeConfig; noSentinelPassword: Output }> {
  renderingSentinel ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redmap-compose-'));
    const emptyEnvFile = join(dir, 'empty.env');
    writeFileSync(emptyEnvFile, '');
    try {
      const [rendered, noSentinelPassword] = await Promise.all([
        composeConfig(SENTINEL_FILES, { REDIS_PASSWORD: PASSWORD, REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD }, emptyEnvFile),
        composeConfig(SENTINEL_FILES, { REDIS_PASSWORD: PASSWORD }, emptyEnvFile),
      ]);
      return { config: await parseConfig(rendered!), noSentinelPassword: noSentinelPassword! };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return renderingSentinel;
}

describe('docker-compose.sentinel.yml (a primary, a replica and three Sentinels)', () => {
  it('runs the primary and the replica durable, with noeviction and the password, the replica following the primary', async () => {
    const { config } = await renderedSentinel();
    for (const name of ['redis', 'redis-replica']) {
      const redis = service(config, name);
      expectDurableAndLocked(redis);
      // A demoted primary authenticates to its new primary with the same password.
      expect(commandText(redis)).toMatch(/--masterauth "?\$\$?\{?REDIS_PASSWORD/);
    }
    expect(service(config, 'redis-replica').environment?.REDIS_REPLICAOF).toBe('--replicaof redis 6379');
    expect(service(config, 'redis').environment?.REDIS_REPLICAOF).toBe('');
    expect(ports(service(config, 'redis-replica'))).toEqual([]);
  });

  it('runs three Sentinels that watch the primary with a quorum of 2, passwords from the environment only', async () => {
    const { config } = await renderedSentinel();
    for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
      const sentinel = service(config, name);
      const command = commandText(sentinel);
      expect(command).toMatch(/--sentinel/);
      expect(command).toMatch(/sentinel monitor redmap redis 6379 2/);
      expect(command).toMatch(/sentinel auth-pass redmap \$\$?\{?REDIS_PASSWORD/);
      expect(command).toMatch(/requirepass \$\$?\{?REDIS_SENTINEL_PASSWORD/);
      expect(command).not.toContain(PASSWORD);
      expect(command).not.toContain(SENTINEL_PASSWORD);
      expect(sentinel.environment?.REDIS_SENTINEL_PASSWORD).toBe(SENTINEL_PASSWORD);
      expect(ports(sentinel)).toEqual([]);
      expect(JSON.stringify(sentinel.healthcheck)).toMatch(/REDISCLI_AUTH=.*REDIS_SENTINEL_PASSWORD/);
    }
  });

  it('points workers and the producer at the Sentinels, both passwords in their environment, none in their command', async () => {
    const { config } = await renderedSentinel();
    for (const name of ['worker', 'producer']) {
      const svc = service(config, name);
      expectRedmapClient(svc);
      expect(svc.environment?.REDIS_SENTINEL_PASSWORD).toBe(SENTINEL_PASSWORD);
      expect(commandText(svc)).not.toContain(SENTINEL_PASSWORD);
      const settings = parseRedisUrl(svc.environment!.REDIS_URL!);
      expect(settings.sentinel).toEqual({
        nodes: ['sentinel-1', 'sentinel-2', 'sentinel-3'].map((host) => ({ host, port: 26379 })),
        masterName: 'redmap',
      });
      for (const sentinel of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
        expect((svc.depends_on as Record<string, { condition: string }>)[sentinel]?.condition).toBe('service_healthy');
      }
    }
  });

  it('refuses to render without REDIS_SENTINEL_PASSWORD, saying where to set it', async () => {
    const { noSentinelPassword } = await renderedSentinel();
    expect(noSentinelPassword.code).not.toBe(0);
    expect(noSentinelPassword.stderr).toMatch(/set REDIS_SENTINEL_PASSWORD in \.env/);
  });
});
