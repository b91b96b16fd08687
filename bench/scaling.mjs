// Engine scaling: a CPU-bound map that allocates almost nothing (bench/jobs/cpu-hash.ts),
// with 1 and then 2 warm worker processes (concurrency 1 each), interleaved. The gate is
// 2 workers at least 1.85x one on 2 cores. Beside them, the ceiling: the same hash over the
// same seeds in 1 and 2 plain Node processes (bench/cpu-hash-plain.mjs), which is what this
// machine's vCPUs give to this code with no redmap at all.
//
//   npm run build && node bench/scaling.mjs [--items 1200] [--rounds 5]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({ options: { items: { type: 'string', default: '1200' }, rounds: { type: 'string', default: '5' } } });
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
  let plainExpected;
  const plain = (count) => ({
    name: `plain Node, ${count} process${count > 1 ? 'es' : ''}`,
    run: () => measure(process.execPath, [join(root, 'bench/cpu-hash-plain.mjs'), String(items), String(count)], { cwd: root }),
  });
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
  const samples = interleave([variant(1), variant(2), plain(1), plain(2)], Number(values.rounds), (name, output) => {
    if (name.startsWith('plain')) {
      plainExpected ??= output;
      if (output !== plainExpected) throw new Error(`${name}: a different result`);
      return;
    }
    expected ??= output;
    if (output !== expected) throw new Error(`${name}: a different result`);
  });
  // redmap's values per key add up to the plain processes' sum over every seed.
  const redmapSum = expected
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + JSON.parse(line).value, 0);
  if (plainExpected.trim() !== `${items} ${redmapSum}`) throw new Error(`redmap's sum ${redmapSum} is not the plain ${plainExpected}`);
  const [one, two, plainOne, plainTwo] = Object.values(samples).map(summarize);
  const range = (s) => `${(s.wallMs.median / 1000).toFixed(2)} (${(s.wallMs.min / 1000).toFixed(2)}–${(s.wallMs.max / 1000).toFixed(2)})`;
  const m = machine();
  process.stdout.write(
    [
      `### Engine scaling: ${items} CPU-bound map calls (cpu-hash), warm workers, concurrency 1`,
      '',
      `Command: \`npm run build && node bench/scaling.mjs --items ${items} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node} · load ${m.loadAverage}`,
      '',
      '| processes | redmap: warm workers, submit --wait, wall median (min–max) s | plain Node processes, wall median (min–max) s |',
      '|---|---|---|',
      `| 1 | ${range(one)} | ${range(plainOne)} |`,
      `| 2 | ${range(two)} | ${range(plainTwo)} |`,
      '',
      `Scaling: 2 redmap workers are ${(one.wallMs.median / two.wallMs.median).toFixed(2)}x one (gate ≥ 1.85); ` +
        `2 plain processes are ${(plainOne.wallMs.median / plainTwo.wallMs.median).toFixed(2)}x one. ` +
        `Results identical in every round, and equal to the plain processes' sum.`,
      '',
    ].join('\n'),
  );
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  redis.stop();
}
