// Start-up: `redmap run` on one small file, wall time until its results are printed and it
// exits (worker processes started and stopped included). The gate is under 1 s.
//
//   npm run build && node bench/startup.mjs [--rounds 10]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
const root = new URL('..', import.meta.url).pathname;
const file = join(mkdtempSync(join(tmpdir(), 'redmap-startup-')), 'small.txt');
writeFileSync(file, 'The quick brown fox jumps over the lazy dog.\nThe end.\n');

const redis = await startRedis();
try {
  const variants = [
    {
      name: 'redmap run (default: 1 worker process for 1 input)',
      run: () =>
        measure(process.execPath, [join(root, 'dist/cli/main.js'), 'run', 'examples/word-count/job.ts', file, '--quiet'], {
          cwd: root,
          env: { REDIS_URL: redis.url, REDMAP_LOG_LEVEL: 'warn' },
        }),
    },
    {
      name: 'redmap run --local (no Redis, for reference)',
      run: () =>
        measure(process.execPath, [join(root, 'dist/cli/main.js'), 'run', 'examples/word-count/job.ts', file, '--local'], { cwd: root }),
    },
  ];
  const samples = interleave(variants, Number(values.rounds), (name, output) => {
    if (!output.includes('{"key":"the","value":3}')) throw new Error(`${name}: wrong output ${output}`);
  });
  const m = machine();
  const rows = Object.entries(samples).map(([name, list]) => {
    const s = summarize(list);
    return `| ${name} | ${(s.wallMs.median / 1000).toFixed(2)} (${(s.wallMs.min / 1000).toFixed(2)}–${(s.wallMs.max / 1000).toFixed(2)}) | ${(s.cpuMs.median / 1000).toFixed(2)} |`;
  });
  process.stdout.write(
    [
      '### Start-up: `redmap run` on one small file',
      '',
      `Command: \`npm run build && node bench/startup.mjs --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node} · load ${m.loadAverage}`,
      '',
      '| command | wall to results median (min–max) s | CPU median s |',
      '|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
}
