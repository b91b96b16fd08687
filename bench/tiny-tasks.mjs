// Per-task cost: 100k no-op inputs with one item per task, against plain BullMQ processing
// 100k no-op jobs on the same Redis, with the same worker processes and concurrency; then
// 3M inputs in chunks of 1000 for items/s. Also counts the Redis commands per task.
//
//   npm run build && node bench/tiny-tasks.mjs [--tasks 100000] [--items 3000000] [--rounds 5] [--compare DIR]
//
// --compare DIR runs the one-item case of another checkout's build (its dist/) in the same
// rounds, with warm workers of its own: before and after under the same load.
import { fork } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    items: { type: 'string', default: '3000000' },
    rounds: { type: 'string', default: '5' },
    compare: { type: 'string' },
  },
});
const tasks = Number(values.tasks);
const items = Number(values.items);
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'redmap-tiny-'));
const PROCESSES = 2;
const CONCURRENCY = 8;

async function writeLines(path, count) {
  const out = createWriteStream(path);
  for (let i = 0; i < count; i += 10_000) {
    const lines = Array.from({ length: Math.min(10_000, count - i) }, (_, j) => `i${i + j}`).join('\n') + '\n';
    if (!out.write(lines)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve) => out.end(resolve));
  return path;
}

function commandCount(redis) {
  return Number(/total_commands_processed:(\d+)/.exec(redis.cli('info', 'stats'))[1]);
}

const tasksFile = await writeLines(join(dir, 'tasks.txt'), tasks);
const itemsFile = await writeLines(join(dir, 'items.txt'), items);
const redis = await startRedis();
const background = [];
try {
  const warm = await startWarmWorkers(cli, 'bench/jobs/noop.ts', {
    processes: PROCESSES,
    prefix: 'tiny',
    redisUrl: redis.url,
    extraArgs: ['--concurrency', String(CONCURRENCY)],
  });
  for (let i = 0; i < PROCESSES; i++) {
    const child = fork(join(root, 'bench/bullmq-noop.mjs'), ['worker', redis.url, String(CONCURRENCY)], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('message', resolve));
    background.push(child);
  }
  const compared = values.compare && resolve(values.compare);
  const comparedWarm =
    compared &&
    (await startWarmWorkers(join(compared, 'dist/cli/main.js'), 'bench/jobs/noop.ts', {
      processes: PROCESSES,
      prefix: 'tiny-compared',
      redisUrl: redis.url,
      extraArgs: ['--concurrency', String(CONCURRENCY)],
    }));
  const redmapRun =
    (file, chunk, checkout = root, prefix = 'tiny') =>
    () =>
      measure(
        process.execPath,
        [
          join(checkout, 'dist/cli/main.js'),
          'submit',
          'bench/jobs/noop.ts',
          '--input-file',
          file,
          '--chunk-size',
          String(chunk),
          '--wait',
          '--quiet',
        ],
        { cwd: checkout, env: { REDIS_URL: redis.url, REDMAP_PREFIX: prefix, REDMAP_LOG_LEVEL: 'warn' }, redis },
      );
  const total = (output) =>
    output
      .trim()
      .split('\n')
      .reduce((sum, line) => sum + JSON.parse(line).value, 0);

  const commandsBefore = commandCount(redis);
  const probe = redmapRun(tasksFile, 1)();
  const commandsPerTask = (commandCount(redis) - commandsBefore) / tasks;

  const samples = interleave(
    [
      {
        name: `plain BullMQ: ${tasks} no-op jobs`,
        run: () => measure(process.execPath, [join(root, 'bench/bullmq-noop.mjs'), 'submit', redis.url, String(tasks)], { redis }),
      },
      { name: `redmap: ${tasks} inputs, --chunk-size 1`, run: redmapRun(tasksFile, 1) },
      { name: `redmap: ${items} inputs, --chunk-size 1000`, run: redmapRun(itemsFile, 1000) },
      ...(compared
        ? [
            {
              name: `redmap (build in ${values.compare}): ${tasks} inputs, --chunk-size 1`,
              run: redmapRun(tasksFile, 1, compared, 'tiny-compared'),
            },
          ]
        : []),
    ],
    Number(values.rounds),
    (name, output) => {
      const counted = name.startsWith('plain') ? Number(output.trim()) : total(output);
      const expected = name.includes(String(items)) ? items : tasks;
      if (counted !== expected) throw new Error(`${name}: counted ${counted}, not ${expected}`);
    },
  );
  const [bullmq, tiny, chunked, before] = Object.values(samples).map(summarize);
  const perSecond = (count, s) => Math.round((count * 1000) / s.wallMs.median);
  const m = machine();
  process.stdout.write(
    [
      `### Tiny tasks: ${PROCESSES} warm worker processes × concurrency ${CONCURRENCY}, no-op map`,
      '',
      `Command: \`npm run build && node bench/tiny-tasks.mjs --tasks ${tasks} --items ${items} --rounds ${values.rounds}${compared ? ` --compare ${values.compare}` : ''}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage}`,
      '',
      '| variant | wall median (min–max) s | per second | Redis CPU s |',
      '|---|---|---|---|',
      `| plain BullMQ, ${tasks} jobs (add + process) | ${(bullmq.wallMs.median / 1000).toFixed(2)} (${(bullmq.wallMs.min / 1000).toFixed(2)}–${(bullmq.wallMs.max / 1000).toFixed(2)}) | ${perSecond(tasks, bullmq)} jobs/s | ${(bullmq.redisCpuMs.median / 1000).toFixed(2)} |`,
      `| redmap, ${tasks} inputs, 1 per task (submit --wait) | ${(tiny.wallMs.median / 1000).toFixed(2)} (${(tiny.wallMs.min / 1000).toFixed(2)}–${(tiny.wallMs.max / 1000).toFixed(2)}) | ${perSecond(tasks, tiny)} tasks/s | ${(tiny.redisCpuMs.median / 1000).toFixed(2)} |`,
      `| redmap, ${items} inputs, 1000 per task | ${(chunked.wallMs.median / 1000).toFixed(2)} (${(chunked.wallMs.min / 1000).toFixed(2)}–${(chunked.wallMs.max / 1000).toFixed(2)}) | ${perSecond(items, chunked)} items/s | ${(chunked.redisCpuMs.median / 1000).toFixed(2)} |`,
      ...(before
        ? [
            `| redmap (build in ${values.compare}), ${tasks} inputs, 1 per task | ${(before.wallMs.median / 1000).toFixed(2)} (${(before.wallMs.min / 1000).toFixed(2)}–${(before.wallMs.max / 1000).toFixed(2)}) | ${perSecond(tasks, before)} tasks/s (${((100 * bullmq.wallMs.median) / before.wallMs.median).toFixed(0)}% of BullMQ) | ${(before.redisCpuMs.median / 1000).toFixed(2)} |`,
          ]
        : []),
      '',
      `redmap at one item per task runs at ${((100 * bullmq.wallMs.median) / tiny.wallMs.median).toFixed(0)}% of plain BullMQ's jobs/s (goal ≥ 70%), with ${(tiny.redisCpuMs.median / bullmq.redisCpuMs.median).toFixed(2)}x its Redis CPU (goal ≤ 1.5x); ${commandsPerTask.toFixed(1)} Redis commands per task (BullMQ's own included; one run measured alone, ${(probe.wallMs / 1000).toFixed(1)} s).`,
      '',
    ].join('\n'),
  );
  await warm.stop();
  await comparedWarm?.stop();
} finally {
  for (const child of background) child.kill('SIGKILL');
  redis.stop();
}
