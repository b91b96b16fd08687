// What the benchmarks share: a private Redis, timing a command (wall, CPU of the process and
// its children, peak RSS, and Redis's own CPU), interleaved repetitions and their summary.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
// Every bench runs against the build (`npm run build` first), so it takes redmap's own.
import { freePort } from '../dist/cli/redis-resolution.js';

/**
 * A redis-server of our own, no persistence, so nothing else shares it during a measurement.
 * `extraArgs` are added to its command line (`['--replicaof', '127.0.0.1', PORT]` for a replica).
 */
export async function startRedis(extraArgs = []) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redmap-bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      ...extraArgs,
    ],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    cli: (...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim(),
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Redis's own CPU seconds so far (user + sys), from INFO. */
export function redisCpuSeconds(redis) {
  const info = redis.cli('info', 'cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** CPU milliseconds (user + system) used so far by the given processes and all their descendants. */
export function treeCpuMs(...rootPids) {
  const stats = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
      stats.push({ pid: Number(name), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // it exited meanwhile
    }
  }
  const inTree = new Set(rootPids);
  for (let grew = true; grew;) {
    grew = false;
    for (const stat of stats)
      if (!inTree.has(stat.pid) && inTree.has(stat.ppid)) {
        inTree.add(stat.pid);
        grew = true;
      }
  }
  return stats.filter((stat) => inTree.has(stat.pid)).reduce((sum, stat) => sum + stat.ticks, 0) * 10;
}

/**
 * Runs a command under GNU time and returns its output and costs. CPU covers the process and
 * every child it waited for (a CLI's forked workers) and, when `background` names them, what
 * already running processes (warm workers, with their children) spent meanwhile; Redis CPU
 * is measured separately.
 */
export function measure(command, args, { env = {}, redis, cwd, background = [] } = {}) {
  const redisBefore = redis ? redisCpuSeconds(redis) : 0;
  const backgroundBefore = treeCpuMs(...background);
  const [loadAtStart] = loadavg();
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S %M', command, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const backgroundCpuMs = treeCpuMs(...background) - backgroundBefore;
  const timeLine = result.stderr.trim().split('\n').pop() ?? '';
  const [user, sys, rssKb] = timeLine.split(' ').map(Number);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.slice(0, 4).join(' ')} exited ${result.status}:\n${result.stderr.slice(-2000)}`);
  }
  return {
    stdout: result.stdout,
    wallMs,
    cpuMs: (user + sys) * 1000 + backgroundCpuMs,
    backgroundCpuMs,
    /** The 1-minute load average when the command started: how busy the shared machine was. */
    loadAtStart,
    peakRssMb: rssKb / 1024,
    redisCpuMs: redis ? (redisCpuSeconds(redis) - redisBefore) * 1000 : 0,
  };
}

/** Runs every variant `rounds` times, interleaved (A B C A B C ...), so drift in the machine hits all alike. */
export function interleave(variants, rounds, check) {
  const samples = Object.fromEntries(variants.map((variant) => [variant.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) {
      const sample = variant.run();
      check(variant.name, sample.stdout);
      samples[variant.name].push(sample);
      process.stderr.write(
        `  round ${round} ${variant.name}: ${(sample.wallMs / 1000).toFixed(2)} s wall, ${(sample.cpuMs / 1000).toFixed(2)} s CPU\n`,
      );
    }
  }
  return samples;
}

export function summarize(samples) {
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const stat = (key) => {
    const values = samples.map((sample) => sample[key]);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  return { wallMs: stat('wallMs'), cpuMs: stat('cpuMs'), peakRssMb: stat('peakRssMb'), redisCpuMs: stat('redisCpuMs') };
}

/** The machine, from /proc/cpuinfo where it says more than `os.cpus()` (clock, cache), and the versions in play. */
export function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (name) => new RegExp(`^${name}\\s*: (.+)$`, 'm').exec(cpuinfo)?.[1].trim();
  const details = [field('cpu MHz') && `${Number(field('cpu MHz')).toFixed(0)} MHz`, field('cache size') && `${field('cache size')} cache`];
  return {
    cpu: `${cpus().length} × ${field('model name') ?? cpus()[0]?.model ?? 'unknown'}${details.some(Boolean) ? ` (${details.filter(Boolean).join(', ')})` : ''}`,
    kernel: `${type()} ${release()}`,
    memoryGiB: (totalmem() / 2 ** 30).toFixed(0),
    node: process.version,
    redis: /v=([\d.]+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown',
    loadAverage: loadavg()
      .map((value) => value.toFixed(2))
      .join(' '),
  };
}

const seconds = (ms) => (ms / 1000).toFixed(2);

/** A Markdown table: one row per variant, a speed column for each baseline (wall-time ratios). */
export function resultTable(summaries, ...baselines) {
  const rows = [
    `| variant | wall median (min–max) s | CPU median s | peak RSS MB (largest process) | Redis CPU s | ${baselines.map((name) => `speed vs ${name}`).join(' | ')} |`,
    `|---|---|---|---|---|${baselines.map(() => '---|').join('')}`,
  ];
  for (const [name, summary] of Object.entries(summaries)) {
    const speeds = baselines.map((baseline) => `${(summaries[baseline].wallMs.median / summary.wallMs.median).toFixed(2)}x`);
    rows.push(
      `| ${name} | ${seconds(summary.wallMs.median)} (${seconds(summary.wallMs.min)}–${seconds(summary.wallMs.max)}) | ${seconds(summary.cpuMs.median)} | ${summary.peakRssMb.median.toFixed(0)} | ${seconds(summary.redisCpuMs.median)} | ${speeds.join(' | ')} |`,
    );
  }
  return rows.join('\n');
}
