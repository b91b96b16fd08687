// A big reduce: 1000 inputs that each emit 1000 keys of their own (1M distinct keys, 8
// partitions), through 2 warm worker processes. Reports the reduce phase's wall time (from
// the flip to reducing until the run is done) and the worker processes' peak RSS (VmHWM).
// Goals: under 15 s and 400 MB.
//
//   npm run build && node bench/big-reduce.mjs [--inputs 1000]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, startRedis } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({ options: { inputs: { type: 'string', default: '1000' } } });
const inputs = Number(values.inputs);
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const file = join(mkdtempSync(join(tmpdir(), 'redmap-reduce-')), 'inputs.txt');
writeFileSync(file, Array.from({ length: inputs }, (_, i) => String(i)).join('\n') + '\n');

const redis = await startRedis();
try {
  const workers = await startWarmWorkers(cli, 'bench/jobs/many-keys.ts', {
    processes: 2,
    prefix: 'reduce',
    redisUrl: redis.url,
    extraArgs: ['--concurrency', '2'],
  });
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [cli, 'submit', 'bench/jobs/many-keys.ts', '--input-file', file, '--chunk-size', '10', '--wait', '--quiet'],
    {
      cwd: root,
      env: { ...process.env, REDIS_URL: redis.url, REDMAP_PREFIX: 'reduce', REDMAP_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    },
  );
  const wallMs = Date.now() - started;
  if (result.status !== 0) throw new Error(result.stderr);
  const lines = result.stdout.trim().split('\n');
  if (lines.length !== inputs * 1000 || !lines.every((line) => line.endsWith(',"value":1}')))
    throw new Error(`wrong result: ${lines.length} keys`);
  const runId = redis.cli('zrange', 'reduce:runs', '0', '0');
  const [reducingAt, finishedAt] = redis.cli('hmget', `reduce:run:{${runId}}:meta`, 'reducingAt', 'finishedAt').split('\n').map(Number);
  const children = execFileSync('pgrep', ['-P', String(workers.pid), '-f', 'worker-process'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const peaks = children.map((pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);
  await workers.stop();
  const m = machine();
  process.stdout.write(
    [
      `### Big reduce: ${(inputs * 1000).toLocaleString('en')} distinct keys, 8 partitions, 2 warm workers`,
      '',
      `Command: \`npm run build && node bench/big-reduce.mjs --inputs ${inputs}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| whole run s | reduce phase s | worker peak RSS MB (each) |',
      '|---|---|---|',
      `| ${(wallMs / 1000).toFixed(1)} | ${((finishedAt - reducingAt) / 1000).toFixed(1)} | ${peaks.map((peak) => peak.toFixed(0)).join(', ')} |`,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
}
