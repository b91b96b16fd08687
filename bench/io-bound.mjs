// I/O-bound throughput: the enrichment case. A map that waits a fixed time per item
// (bench/jobs/wait-per-item.ts), one item per task, `redmap run --workers 2 --concurrency 50`:
// with 100 calls in flight of 50 ms each the ideal is 2000 items/s, and anything below it is
// the engine's doing. Start-up is left out of the rate, two ways: up to the first map call
// (which the job records), or the wall time of the same command on one item. `--compare DIR` runs another build's
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
const oneItemFile = join(dir, 'one-item.txt');
writeFileSync(oneItemFile, 'item-0\n');

/** One `redmap run` of the case with the CLI under `checkout`; adds start-up and call window from the job's own timestamps. */
function runCase(checkout, redis, file = inputFile) {
  const timesDir = join(dir, `times-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(timesDir);
  const startedAt = Date.now();
  const args = [join(checkout, 'dist/cli/main.js'), 'run', join(root, 'bench/jobs/wait-per-item.ts'), '--input-file', file];
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

function checkOutput(name, output, truth = expected) {
  const counts = new Map(truth.map((item) => [item, 0]));
  for (const line of output.trim().split('\n')) {
    const { key, value } = JSON.parse(line);
    if (!counts.has(key)) throw new Error(`${name}: unexpected key ${key}`);
    counts.set(key, counts.get(key) + value);
  }
  const wrong = [...counts].filter(([, count]) => count !== 1);
  if (wrong.length > 0) throw new Error(`${name}: ${wrong.length} items not counted exactly once, e.g. ${wrong.slice(0, 3).join(' ')}`);
}

/** The case, and the same command on one item: what a run costs whatever its size (start-up, one call, reduce, exit). */
function runBoth(checkout, redis) {
  const oneItem = runCase(checkout.path, redis, oneItemFile);
  checkOutput(`${checkout.name}, one item`, oneItem.stdout, ['item-0']);
  return { ...runCase(checkout.path, redis), fixedMs: oneItem.wallMs };
}

const checkouts = [
  { name: 'this build', path: root },
  ...values.compare.map((path) => ({ name: `build in ${path}`, path: resolve(path) })),
];
const redis = await startRedis();
try {
  const samples = interleave(
    checkouts.map((checkout) => ({ name: checkout.name, run: () => runBoth(checkout, redis) })),
    Number(values.rounds),
    checkOutput,
  );
  const median = (list, key) => {
    const sorted = list.map((sample) => (typeof key === 'function' ? key(sample) : sample[key])).sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const s = (ms) => (ms / 1000).toFixed(2);
  const ratio = (count, ms) => (count * 1000) / ms / idealRate;
  const spread = (values) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  const rows = Object.entries(samples).map(([name, list]) => {
    const strict = list.map((sample) => ratio(items, sample.mappingMs));
    const lenient = list.map((sample) => ratio(items - 1, sample.wallMs - sample.fixedMs));
    return [
      `| ${name} | ${s(median(list, 'wallMs'))} | ${s(median(list, 'startupMs'))} | ${s(median(list, 'fixedMs'))}`,
      `${Math.round(ratio(items, median(list, 'mappingMs')) * idealRate)} | **${median(strict, (x) => x).toFixed(2)}** (${spread(strict)})`,
      `**${median(lenient, (x) => x).toFixed(2)}** (${spread(lenient)}) | ${ratio(items, median(list, 'callWindowMs')).toFixed(2)}`,
      `${(median(list, 'cpuMs') / items).toFixed(2)} | ${s(median(list, 'redisCpuMs'))} |`,
    ].join(' | ');
  });
  const m = machine();
  const compare = values.compare.map((path) => ` --compare ${path}`).join('');
  process.stdout.write(
    [
      `### I/O-bound map: ${items} items × ${waitMs} ms, ${workers} worker processes × concurrency ${concurrency}, one item per task`,
      '',
      `Command: \`npm run build && node bench/io-bound.mjs --items ${items} --wait-ms ${waitMs} --workers ${workers} --concurrency ${concurrency} --rounds ${values.rounds}${compare}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      `| build | wall s | start-up s (to first map call) | one-item run s | items/s after start-up | ratio to ideal (min–max) | ratio, one-item run subtracted (min–max) | ratio over the calls alone | client CPU ms per task | Redis CPU s |`,
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Medians of ${values.rounds} interleaved rounds; ideal: ${workers * concurrency} calls in flight ÷ ${waitMs} ms = ${idealRate} items/s. "Ratio to ideal" is the rate from the first map call (a timestamp the job records) to the command's exit, so it holds the ramp, the reduce and the shutdown; the goal is ≥ 0.90. "One-item run subtracted" counts as start-up all a run costs whatever its size: the same command's wall time on one item. "Calls alone" runs from the first map call to the end of the last. Client CPU is the \`redmap run\` process and its worker processes, on the ${items}-item run. Every output was checked against the item names the bench wrote: each counted exactly once.`,
      '',
    ].join('\n'),
  );
} finally {
  redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
