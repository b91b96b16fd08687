// I/O-bound throughput: the enrichment case. A map that waits a fixed time per item
// (bench/jobs/wait-per-item.ts), one item per task, `redmap run --workers 2 --concurrency 50`:
// with 100 calls in flight of 50 ms each the ideal is 2000 items/s, and anything below it is
// the engine's doing. Start-up (command start to the first map call, which the job records)
// is reported apart and left out of the rate. `--compare DIR` runs another build's
// dist/cli/main.js (a checkout of an older commit, built) in the same interleaved rounds.
//
//   npm run build && node bench/io-bound.mjs [--items 5000] [--wait-ms 50] [--workers 2] [--concurrency 50] [--rounds 5] [--compare DIR]...
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis } from './harness.mjs';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '5000' },
    'wait-ms': { type: 'string', default: '50' },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    compare: { type: 'string', multiple: true, default: [] },
  },
});
const items = Number(values.items);
const waitMs = Number(values['wait-ms']);
const workers = Number(values.workers);
const concurrency = Number(values.concurrency);
const idealRate = (workers * concurrency * 1000) / waitMs;
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'redmap-io-bound-'));
const inputFile = join(dir, 'items.txt');
// The truth the output is checked against: the item names written here, each counted once.
const expected = Array.from({ length: items }, (_, i) => `item-${i}`);
writeFileSync(inputFile, expected.join('\n') + '\n');

/** One `redmap run` of the case with the CLI under `checkout`; adds start-up and call window from the job's own timestamps. */
function runCase(checkout, redis) {
  const timesDir = join(dir, `times-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(timesDir);
  const startedAt = Date.now();
  const args = [join(checkout, 'dist/cli/main.js'), 'run', join(root, 'bench/jobs/wait-per-item.ts'), '--input-file', inputFile];
  args.push('--workers', String(workers), '--concurrency', String(concurrency), '--chunk-size', '1', '--quiet');
  const sample = measure(process.execPath, args, {
    cwd: root,
    env: { REDIS_URL: redis.url, REDMAP_LOG_LEVEL: 'warn', WAIT_PER_ITEM_MS: String(waitMs), WAIT_PER_ITEM_TIMES_DIR: timesDir },
    redis,
  });
  const times = readdirSync(timesDir).map((name) => JSON.parse(readFileSync(join(timesDir, name), 'utf8')));
  rmSync(timesDir, { recursive: true, force: true });
  if (times.length === 0) throw new Error('no worker process recorded its calls');
  const firstCall = Math.min(...times.map((t) => t.first));
  const lastCall = Math.max(...times.map((t) => t.last));
  const startupMs = firstCall - startedAt;
  return {
    ...sample,
    startupMs,
    mappingMs: sample.wallMs - startupMs,
    callWindowMs: lastCall - firstCall,
    calls: times.reduce((sum, t) => sum + t.calls, 0),
  };
}

function checkOutput(name, output) {
  const counts = new Map(expected.map((item) => [item, 0]));
  for (const line of output.trim().split('\n')) {
    const { key, value } = JSON.parse(line);
    if (!counts.has(key)) throw new Error(`${name}: unexpected key ${key}`);
    counts.set(key, counts.get(key) + value);
  }
  const wrong = [...counts].filter(([, count]) => count !== 1);
  if (wrong.length > 0) throw new Error(`${name}: ${wrong.length} items not counted exactly once, e.g. ${wrong.slice(0, 3).join(' ')}`);
}

const checkouts = [
  { name: 'this build', path: root },
  ...values.compare.map((path) => ({ name: `build in ${path}`, path: resolve(path) })),
];
const redis = await startRedis();
try {
  const samples = interleave(
    checkouts.map((checkout) => ({ name: checkout.name, run: () => runCase(checkout.path, redis) })),
    Number(values.rounds),
    checkOutput,
  );
  const median = (list, key) => {
    const sorted = list.map((sample) => sample[key]).sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const s = (ms) => (ms / 1000).toFixed(2);
  const rows = Object.entries(samples).map(([name, list]) => {
    const ratios = list.map((sample) => (items * 1000) / sample.mappingMs / idealRate).sort((a, b) => a - b);
    const rate = (items * 1000) / median(list, 'mappingMs');
    const windowRate = (items * 1000) / median(list, 'callWindowMs');
    return `| ${name} | ${s(median(list, 'wallMs'))} | ${s(median(list, 'startupMs'))} | ${s(median(list, 'mappingMs'))} | ${Math.round(rate)} | ${idealRate} | **${(rate / idealRate).toFixed(2)}** (${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)}) | ${(windowRate / idealRate).toFixed(2)} | ${(median(list, 'cpuMs') / items).toFixed(2)} | ${s(median(list, 'redisCpuMs'))} |`;
  });
  const m = machine();
  const compare = values.compare.map((path) => ` --compare ${path}`).join('');
  process.stdout.write(
    [
      `### I/O-bound map: ${items} items × ${waitMs} ms, ${workers} worker processes × concurrency ${concurrency}, one item per task`,
      '',
      `Command: \`npm run build && node bench/io-bound.mjs --items ${items} --wait-ms ${waitMs} --workers ${workers} --concurrency ${concurrency} --rounds ${values.rounds}${compare}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| build | wall s | start-up s (to first map call) | mapping s (wall − start-up) | items/s | ideal items/s | ratio to ideal (min–max) | ratio over the calls alone (first call to last) | client CPU ms per task | Redis CPU s |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Medians of ${values.rounds} interleaved rounds. Ideal: ${workers * concurrency} calls in flight ÷ ${waitMs} ms. "Mapping" runs from the first map call to the command's exit, so it holds the reduce and the shutdown; the goal is a ratio ≥ 0.90. Client CPU is the \`redmap run\` process and its worker processes. Every output was checked: each of the ${items} items counted exactly once.`,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
