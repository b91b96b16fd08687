// Engine scaling: a CPU-bound map that allocates almost nothing (bench/jobs/cpu-hash.ts),
// with 1 and then 2 warm worker processes (concurrency 1 each), interleaved. The gate is
// 2 workers at least 1.85x one on 2 cores.
//
//   npm run build && node bench/scaling.mjs [--items 240] [--rounds 5]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({ options: { items: { type: 'string', default: '240' }, rounds: { type: 'string', default: '5' } } });
const items = Number(values.items);
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const input = join(mkdtempSync(join(tmpdir(), 'redmap-scaling-')), 'seeds.txt');
writeFileSync(input, Array.from({ length: items }, (_, i) => String(i)).join('\n') + '\n');

const redis = await startRedis();
const workers = [];
try {
  for (const count of [1, 2]) {
    workers.push(
      await startWarmWorkers(cli, 'bench/jobs/cpu-hash.ts', {
        processes: count,
        prefix: `w${count}`,
        redisUrl: redis.url,
        extraArgs: ['--concurrency', '1'],
      }),
    );
  }
  let expected;
  const variant = (count) => ({
    name: `${count} worker process${count > 1 ? 'es' : ''}`,
    run: () =>
      measure(
        process.execPath,
        [cli, 'submit', 'bench/jobs/cpu-hash.ts', '--input-file', input, '--chunk-size', '1', '--wait', '--quiet'],
        {
          cwd: root,
          env: { REDIS_URL: redis.url, REDMAP_PREFIX: `w${count}`, REDMAP_LOG_LEVEL: 'warn' },
          redis,
        },
      ),
  });
  const samples = interleave([variant(1), variant(2)], Number(values.rounds), (name, output) => {
    expected ??= output;
    if (output !== expected) throw new Error(`${name}: a different result`);
  });
  const [one, two] = Object.values(samples).map(summarize);
  const m = machine();
  process.stdout.write(
    [
      `### Engine scaling: ${items} CPU-bound map calls (cpu-hash), warm workers, concurrency 1`,
      '',
      `Command: \`npm run build && node bench/scaling.mjs --items ${items} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node} · load ${m.loadAverage}`,
      '',
      '| workers | wall median (min–max) s |',
      '|---|---|',
      `| 1 | ${(one.wallMs.median / 1000).toFixed(2)} (${(one.wallMs.min / 1000).toFixed(2)}–${(one.wallMs.max / 1000).toFixed(2)}) |`,
      `| 2 | ${(two.wallMs.median / 1000).toFixed(2)} (${(two.wallMs.min / 1000).toFixed(2)}–${(two.wallMs.max / 1000).toFixed(2)}) |`,
      '',
      `Scaling: 2 workers are ${(one.wallMs.median / two.wallMs.median).toFixed(2)}x one (gate ≥ 1.85). Results identical in every round.`,
      '',
    ].join('\n'),
  );
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  redis.stop();
}
