// What the limiter costs per map call: the same no-op job (bench/jobs/noop.ts) with no limits,
// a run cap, a run rate, a job cap, and a job cap with a run cap, all set far above what the
// workers can reach so that only the limiter's own work differs. Warm workers, interleaved
// rounds, every output checked. Worker CPU is read from /proc (the workers are not children
// of the measured command).
//
//   npm run build && node bench/limiter.mjs [--items 20000] [--rounds 5] [--processes 2] [--concurrency 4]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    processes: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
  },
});
const items = Number(values.items);
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const input = join(mkdtempSync(join(tmpdir(), 'redmap-limiter-')), 'items.txt');
writeFileSync(input, Array.from({ length: items }, (_, i) => `item-${i}`).join('\n') + '\n');
const PREFIX = 'limiter';
// High enough never to make a call wait: what is measured is the check itself.
const HIGH_CAP = '1000';
const HIGH_RATE = '1000000/s';

function commandCount(redis) {
  return Number(/total_commands_processed:(\d+)/.exec(redis.cli('info', 'stats'))[1]);
}

const redis = await startRedis();
try {
  const env = { REDIS_URL: redis.url, REDMAP_PREFIX: PREFIX, REDMAP_LOG_LEVEL: 'warn' };
  const redmap = (...args) => {
    const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`redmap ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  };
  const workers = await startWarmWorkers(cli, 'bench/jobs/noop.ts', {
    processes: Number(values.processes),
    prefix: PREFIX,
    redisUrl: redis.url,
    extraArgs: ['--concurrency', values.concurrency],
  });
  const variant = (name, jobCap, flags) => ({
    name,
    run() {
      // The job's own limits are in Redis, shared by every run: set them for this variant.
      redmap('throttle', '--job', 'bench-noop', '--global-concurrency', jobCap ? HIGH_CAP : 'none');
      const commandsBefore = commandCount(redis);
      const sample = measure(
        process.execPath,
        [cli, 'submit', 'bench/jobs/noop.ts', '--input-file', input, '--chunk-size', '100', ...flags, '--wait', '--quiet'],
        {
          cwd: root,
          env,
          redis,
          background: [workers.pid],
        },
      );
      return { ...sample, workerCpuMs: sample.backgroundCpuMs, commands: commandCount(redis) - commandsBefore };
    },
  });
  const variants = [
    variant('no limits', false, []),
    variant(`run cap (--global-concurrency ${HIGH_CAP})`, false, ['--global-concurrency', HIGH_CAP]),
    variant(`run rate (--rate ${HIGH_RATE})`, false, ['--rate', HIGH_RATE]),
    variant(`job cap (throttle --job, ${HIGH_CAP})`, true, []),
    variant('job cap + run cap', true, ['--global-concurrency', HIGH_CAP]),
  ];
  const samples = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const v of variants) {
      const sample = v.run();
      const total = sample.stdout
        .trim()
        .split('\n')
        .reduce((sum, line) => sum + JSON.parse(line).value, 0);
      if (total !== items) throw new Error(`${v.name}: counted ${total} items, not ${items}`);
      samples[v.name].push(sample);
      process.stderr.write(
        `  round ${round} ${v.name}: ${(sample.wallMs / 1000).toFixed(2)} s wall, ${(sample.workerCpuMs / 1000).toFixed(2)} s worker CPU\n`,
      );
    }
  }
  await workers.stop();

  const median = (list) => {
    const sorted = [...list].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const base = samples['no limits'];
  const baseWall = summarize(base).wallMs.median;
  const baseCpu = median(base.map((s) => s.workerCpuMs + s.redisCpuMs));
  const baseCommands = median(base.map((s) => s.commands));
  const µs = (ms) => `${Math.round((ms * 1000) / items)} µs`;
  const rows = variants.map(({ name }) => {
    const list = samples[name];
    const s = summarize(list);
    const cpu = median(list.map((x) => x.workerCpuMs + x.redisCpuMs));
    const commands = median(list.map((x) => x.commands));
    const added = (value) => (name === 'no limits' ? '—' : value);
    return `| ${name} | ${(s.wallMs.median / 1000).toFixed(2)} (${(s.wallMs.min / 1000).toFixed(2)}–${(s.wallMs.max / 1000).toFixed(2)}) | ${(median(list.map((x) => x.workerCpuMs)) / 1000).toFixed(2)} | ${(s.redisCpuMs.median / 1000).toFixed(2)} | ${added(µs(s.wallMs.median - baseWall))} | ${added(µs(cpu - baseCpu))} | ${added(((commands - baseCommands) / items).toFixed(1))} |`;
  });
  const m = machine();
  process.stdout.write(
    [
      `### Limiter: ${items} no-op map calls, ${values.processes} warm worker processes × concurrency ${values.concurrency}, chunks of 100`,
      '',
      `Command: \`npm run build && node bench/limiter.mjs --items ${items} --rounds ${values.rounds} --processes ${values.processes} --concurrency ${values.concurrency}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| variant | wall median (min–max) s | worker CPU s | Redis CPU s | added wall per call | added CPU per call (workers + Redis) | added Redis commands per call |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
}
