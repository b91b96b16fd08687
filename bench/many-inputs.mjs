// Memory with many inputs: N inputs from --input-file through `submit --wait` with 2 warm
// workers; the producer's peak RSS and Redis's peak used_memory, for two sizes, to show
// they stay flat. Goals: 1M inputs with the producer under 150 MB and Redis under 200 MB.
//
//   npm run build && node bench/many-inputs.mjs [--sizes 250000,1000000]
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { machine, startRedis } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '250000,1000000' } } });
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'redmap-many-'));

async function writeLines(path, count) {
  const out = createWriteStream(path);
  for (let i = 0; i < count; i += 10_000) {
    if (!out.write(Array.from({ length: Math.min(10_000, count - i) }, (_, j) => `input-${i + j}`).join('\n') + '\n')) {
      await new Promise((resolve) => out.once('drain', resolve));
    }
  }
  await new Promise((resolve) => out.end(resolve));
  return path;
}

const redis = await startRedis();
const probe = new Redis(redis.url);
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await probe.info('memory'))[1]);
const rows = [];
try {
  const workers = await startWarmWorkers(cli, 'bench/jobs/noop.ts', {
    processes: 2,
    prefix: 'many',
    redisUrl: redis.url,
    extraArgs: ['--concurrency', '4'],
  });
  for (const size of values.sizes.split(',').map(Number)) {
    const file = await writeLines(join(dir, `inputs-${size}.txt`), size);
    const baseline = await usedMemory();
    let peak = baseline;
    const poll = setInterval(() => void usedMemory().then((used) => (peak = Math.max(peak, used))), 50);
    const started = Date.now();
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%M', process.execPath, cli, 'submit', 'bench/jobs/noop.ts', '--input-file', file, '--wait', '--quiet'],
      {
        cwd: root,
        env: { ...process.env, REDIS_URL: redis.url, REDMAP_PREFIX: 'many', REDMAP_LOG_LEVEL: 'warn' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearInterval(poll);
    if (code !== 0) throw new Error(`submit exited ${code}: ${stderr.slice(-500)}`);
    const counted = stdout
      .trim()
      .split('\n')
      .reduce((sum, line) => sum + JSON.parse(line).value, 0);
    if (counted !== size) throw new Error(`counted ${counted} of ${size}`);
    const rssMb = Number(stderr.trim().split('\n').pop()) / 1024;
    rows.push(
      `| ${size.toLocaleString('en')} | ${((Date.now() - started) / 1000).toFixed(1)} | ${rssMb.toFixed(0)} | ${((peak - baseline) / 2 ** 20).toFixed(1)} | ${(peak / 2 ** 20).toFixed(1)} |`,
    );
    process.stderr.write(`  ${size} inputs: producer ${rssMb.toFixed(0)} MB, Redis peak ${(peak / 2 ** 20).toFixed(1)} MB\n`);
  }
  await workers.stop();
  const m = machine();
  process.stdout.write(
    [
      '### Many inputs: `submit --input-file --wait` (chunk size auto: 1000), 2 warm workers, no-op map',
      '',
      `Command: \`npm run build && node bench/many-inputs.mjs --sizes ${values.sizes}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| inputs | wall s | producer peak RSS MB | Redis peak above its start MB | Redis peak used_memory MB |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  probe.disconnect();
  redis.stop();
}
