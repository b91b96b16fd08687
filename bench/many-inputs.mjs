// Memory with many inputs: N inputs from --input-file through `submit --wait` with 2 warm
// workers; the producer's peak RSS and Redis's peak used_memory, for two sizes, to show
// they stay flat. Goals: 1M inputs with the producer under 150 MB and Redis under 200 MB.
// Each --node-options value adds a variant whose producer runs with that NODE_OPTIONS (how
// a user would size Node's heap), interleaved with the default over --rounds rounds.
//
//   npm run build && node bench/many-inputs.mjs [--sizes 250000,1000000] [--rounds 1] [--node-options=--max-semi-space-size=4 …]
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { machine, startRedis } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '250000,1000000' },
    rounds: { type: 'string', default: '1' },
    'node-options': { type: 'string', multiple: true, default: [] },
  },
});
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

/** One `submit --wait` of the file: wall time, the producer's peak RSS and Redis's peak used_memory while it ran. */
async function submitOnce(file, size, nodeOptions) {
  const baseline = await usedMemory();
  let peak = baseline;
  const poll = setInterval(() => void usedMemory().then((used) => (peak = Math.max(peak, used))), 50);
  const started = Date.now();
  const child = spawn(
    '/usr/bin/time',
    ['-f', '%M', process.execPath, cli, 'submit', 'bench/jobs/noop.ts', '--input-file', file, '--wait', '--quiet'],
    {
      cwd: root,
      env: { ...process.env, REDIS_URL: redis.url, REDMAP_PREFIX: 'many', REDMAP_LOG_LEVEL: 'warn', NODE_OPTIONS: nodeOptions },
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
  return {
    wallS: (Date.now() - started) / 1000,
    rssMb: Number(stderr.trim().split('\n').pop()) / 1024,
    redisAboveMb: (peak - baseline) / 2 ** 20,
    redisPeakMb: peak / 2 ** 20,
  };
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const rows = [];
try {
  const workers = await startWarmWorkers(cli, 'bench/jobs/noop.ts', {
    processes: 2,
    prefix: 'many',
    redisUrl: redis.url,
    extraArgs: ['--concurrency', '4'],
  });
  const variants = ['', ...values['node-options']];
  for (const size of values.sizes.split(',').map(Number)) {
    const file = await writeLines(join(dir, `inputs-${size}.txt`), size);
    const samples = new Map(variants.map((variant) => [variant, []]));
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const variant of variants) {
        const sample = await submitOnce(file, size, variant);
        samples.get(variant).push(sample);
        process.stderr.write(
          `  round ${round}, ${size} inputs, NODE_OPTIONS=${variant}: ${sample.wallS.toFixed(1)} s, producer ${sample.rssMb.toFixed(0)} MB, Redis peak ${sample.redisPeakMb.toFixed(1)} MB\n`,
        );
      }
    }
    for (const [variant, list] of samples) {
      const of = (field, digits) => median(list.map((sample) => sample[field])).toFixed(digits);
      const rss = list.map((sample) => sample.rssMb);
      const spread = list.length > 1 ? ` (${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)})` : '';
      rows.push(
        `| ${size.toLocaleString('en')} | ${variant ? `\`${variant}\`` : 'default'} | ${of('wallS', 1)} | ${of('rssMb', 0)}${spread} | ${of('redisAboveMb', 1)} | ${of('redisPeakMb', 1)} |`,
      );
    }
  }
  await workers.stop();
  const m = machine();
  const options = values['node-options'].map((option) => ` --node-options=${option}`).join('');
  process.stdout.write(
    [
      '### Many inputs: `submit --input-file --wait` (chunk size auto: 1000), 2 warm workers, no-op map',
      '',
      `Command: \`npm run build && node bench/many-inputs.mjs --sizes ${values.sizes} --rounds ${values.rounds}${options}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      `| inputs | producer's NODE_OPTIONS | wall s | producer peak RSS MB${Number(values.rounds) > 1 ? ' (min–max)' : ''} | Redis peak above its start MB | Redis peak used_memory MB |`,
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      `Medians of ${values.rounds} round(s), the variants interleaved in each.`,
      '',
    ].join('\n'),
  );
} finally {
  probe.disconnect();
  redis.stop();
}
