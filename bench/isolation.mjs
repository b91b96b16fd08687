// What --isolation costs: the same no-op job over N items with map calls in the worker,
// in worker threads, and in child processes; interleaved rounds, outputs checked equal.
//
//   npm run build && node bench/isolation.mjs [--items 20000] [--rounds 5]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';

const { values } = parseArgs({ options: { items: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } } });
const items = Number(values.items);
const root = new URL('..', import.meta.url).pathname;
const input = join(mkdtempSync(join(tmpdir(), 'redmap-iso-')), 'items.txt');
writeFileSync(input, Array.from({ length: items }, (_, i) => `item-${i}`).join('\n') + '\n');

const redis = await startRedis();
try {
  const variant = (isolation) => ({
    name: `--isolation ${isolation}`,
    run: () =>
      measure(
        process.execPath,
        [
          join(root, 'dist/cli/main.js'),
          'run',
          'bench/jobs/noop.ts',
          '--input-file',
          input,
          '--chunk-size',
          '100',
          '--workers',
          '1',
          '--isolation',
          isolation,
          '--quiet',
        ],
        {
          cwd: root,
          env: { REDIS_URL: redis.url, REDMAP_LOG_LEVEL: 'warn' },
          redis,
        },
      ),
  });
  const samples = interleave([variant('none'), variant('thread'), variant('process')], Number(values.rounds), (name, output) => {
    // Every item is counted once, under "even" or "odd".
    const total = output
      .trim()
      .split('\n')
      .reduce((sum, line) => sum + JSON.parse(line).value, 0);
    if (total !== items) throw new Error(`${name}: counted ${total} items, not ${items}`);
  });
  const summaries = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, summarize(list)]));
  const base = summaries['--isolation none'];
  const m = machine();
  const rows = Object.entries(summaries).map(([name, s]) => {
    const perCall = ((s.wallMs.median - base.wallMs.median) * 1000) / items;
    return `| ${name} | ${(s.wallMs.median / 1000).toFixed(2)} (${(s.wallMs.min / 1000).toFixed(2)}–${(s.wallMs.max / 1000).toFixed(2)}) | ${(s.cpuMs.median / 1000).toFixed(2)} | ${s.peakRssMb.median.toFixed(0)} | ${name.endsWith('none') ? '—' : `${perCall.toFixed(0)} µs`} |`;
  });
  process.stdout.write(
    [
      `### Isolation: ${items} no-op map calls, 1 worker, chunks of 100`,
      '',
      `Command: \`npm run build && node bench/isolation.mjs --items ${items} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| variant | wall median (min–max) s | CPU median s | peak RSS MB (largest process) | added per map call |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
}
