// Fixed cost: what redmap costs before any real work, as multiples of `node -e 0` measured in
// the same rounds. `submit --wait` of one small file to warm workers (goal ≤ 2.5x) and
// `run` on one small file (goal ≤ 4.5x), wall time until the results are printed and the
// command exits. Beside them, the floors of those shapes of command with plain ioredis and
// plain BullMQ (bench/plain-start.mjs): connect and PING; add one job and wait for it on warm
// workers; fork a worker process, add one job, wait, stop. With --compare DIR, the same commands of another checkout's build (its
// dist/) run interleaved with this one's: before and after under the same load.
//
//   npm run build && node bench/startup.mjs [--rounds 10] [--compare ../redmap-before]
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, compare: { type: 'string' } } });
const root = new URL('..', import.meta.url).pathname;
const file = join(mkdtempSync(join(tmpdir(), 'redmap-startup-')), 'small.txt');
writeFileSync(file, 'The quick brown fox jumps over the lazy dog.\nThe end.\n');
const JOB = 'examples/word-count/job.ts';
const builds = [{ label: '', dir: root }, ...(values.compare ? [{ label: ' (compared build)', dir: resolve(values.compare) }] : [])];

const PLAIN = join(root, 'bench/plain-start.mjs');
const redis = await startRedis();
const warm = [];
try {
  const plainWorkers = await Promise.all(
    [0, 1].map(async () => {
      const child = fork(PLAIN, ['worker', redis.url, 'start-floor-warm'], { stdio: 'ignore' });
      await new Promise((resolve) => child.once('message', resolve));
      return child;
    }),
  );
  warm.push({ stop: async () => plainWorkers.forEach((child) => child.kill()) });
  const variants = [
    { name: 'node -e 0', run: () => measure(process.execPath, ['-e', '0']) },
    { name: 'floor: plain ioredis, connect, PING, quit', run: () => measure(process.execPath, [PLAIN, 'ping', redis.url]) },
    {
      name: "floor: redmap's code-cached ioredis, connect, PING, quit",
      run: () => measure(process.execPath, [PLAIN, 'ping-cached', redis.url]),
    },
    {
      name: 'floor: plain BullMQ, add one job and wait for it, 2 warm workers',
      run: () =>
        measure(process.execPath, [PLAIN, 'submit', redis.url, 'start-floor-warm'], { background: plainWorkers.map((child) => child.pid) }),
    },
    {
      name: 'floor: plain BullMQ, fork a worker process, add one job, wait, stop',
      run: () => measure(process.execPath, [PLAIN, 'run', redis.url]),
    },
  ];
  for (const [index, build] of builds.entries()) {
    const cli = join(build.dir, 'dist/cli/main.js');
    const prefix = `startup${index}`;
    const env = { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_LOG_LEVEL: 'warn' };
    const workers = await startWarmWorkers(cli, JOB, { processes: 2, prefix, redisUrl: redis.url });
    warm.push(workers);
    variants.push(
      {
        name: `redmap submit --wait, 2 warm workers${build.label}`,
        goal: 2.5,
        run: () =>
          measure(process.execPath, [cli, 'submit', JOB, file, '--wait', '--quiet'], { cwd: build.dir, env, background: [workers.pid] }),
      },
      {
        name: `redmap run${build.label}`,
        goal: 4.5,
        run: () => measure(process.execPath, [cli, 'run', JOB, file, '--quiet'], { cwd: build.dir, env }),
      },
      {
        name: `redmap run --local (no Redis)${build.label}`,
        run: () => measure(process.execPath, [cli, 'run', JOB, file, '--local'], { cwd: build.dir }),
      },
    );
  }
  const samples = interleave(variants, Number(values.rounds), (name, output) => {
    if (name.startsWith('redmap') && !output.includes('{"key":"the","value":3}')) throw new Error(`${name}: wrong output ${output}`);
    if (name.startsWith('floor: plain BullMQ') && output.trim() !== '9') throw new Error(`${name}: wrong output ${output}`);
  });
  const node = summarize(samples['node -e 0']).wallMs.median;
  const m = machine();
  const rows = variants.map(({ name, goal }) => {
    const s = summarize(samples[name]);
    return `| ${name} | ${(s.wallMs.median / 1000).toFixed(3)} (${(s.wallMs.min / 1000).toFixed(3)}–${(s.wallMs.max / 1000).toFixed(3)}) | ${(s.cpuMs.median / 1000).toFixed(2)} | **${(s.wallMs.median / node).toFixed(2)}x**${goal ? ` (goal ≤ ${goal}x)` : ''} |`;
  });
  process.stdout.write(
    [
      '### Fixed cost: one small file, as multiples of `node -e 0`',
      '',
      `Command: \`npm run build && node bench/startup.mjs --rounds ${values.rounds}${values.compare ? ` --compare ${values.compare}` : ''}\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| command | wall median (min–max) s | CPU median s | wall ÷ `node -e 0` |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  for (const workers of warm) await workers.stop();
  redis.stop();
}
