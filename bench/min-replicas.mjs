// The cost of --min-replicas 1: each step of a run then waits for one replica's WAIT. On a
// primary with one replica (both private redis-servers on loopback), the same warm workers
// run the same runs with --min-replicas 0 and 1 in interleaved rounds: tiny tasks (no-op map,
// one input per task: the worst case, a WAIT per few milliseconds of work) and the log-errors
// job over generated nginx logs (64 files). Every output is checked before it is timed.
//
//   npm run build && node bench/min-replicas.mjs [--tasks 20000] [--size 256MiB] [--rounds 3]
import { createWriteStream, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';
import { asCountLines, generatedLogs, gnuLogCounts } from './log-data.mjs';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    size: { type: 'string', default: '256MiB' },
    rounds: { type: 'string', default: '3' },
  },
});
const tasks = Number(values.tasks);
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
if (!existsSync(cli)) throw new Error('build first: npm run build');

const tasksFile = join(mkdtempSync(join(tmpdir(), 'redmap-min-replicas-')), 'tasks.txt');
await new Promise((resolve) => {
  const out = createWriteStream(tasksFile);
  out.end(Array.from({ length: tasks }, (_, i) => `i${i}\n`).join(''), resolve);
});
const logFiles = generatedLogs(values.size);
const logTruth = gnuLogCounts(logFiles);
const sumOfValues = (text) =>
  text
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + JSON.parse(line).value, 0);

const primary = await startRedis();
const replica = await startRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
const stops = [];
try {
  for (let i = 0; i < 100 && !/slave0:.*state=online/.test(primary.cli('info', 'replication')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const env = { REDIS_URL: primary.url, REDMAP_LOG_LEVEL: 'warn' };
  const noop = await startWarmWorkers(cli, 'bench/jobs/noop.ts', {
    processes: 2,
    prefix: 'tiny',
    redisUrl: primary.url,
    extraArgs: ['--concurrency', '8'],
  });
  stops.push(noop);
  const logs = await startWarmWorkers(cli, 'examples/log-errors/job.ts', { processes: 2, prefix: 'logs', redisUrl: primary.url });
  stops.push(logs);
  const submit = (prefix, background, args) => () =>
    measure(process.execPath, [cli, 'submit', ...args, '--wait', '--quiet'], {
      cwd: root,
      env: { ...env, REDMAP_PREFIX: prefix },
      redis: primary,
      background,
    });
  const tiny = (minReplicas) =>
    submit(
      'tiny',
      [noop.pid],
      ['bench/jobs/noop.ts', '--input-file', tasksFile, '--chunk-size', '1', '--min-replicas', String(minReplicas)],
    );
  const log = (minReplicas) =>
    submit('logs', [logs.pid], ['examples/log-errors/job.ts', ...logFiles, '--min-replicas', String(minReplicas)]);
  const variants = [
    { name: 'tiny, minReplicas 0', run: tiny(0) },
    { name: 'tiny, minReplicas 1', run: tiny(1) },
    { name: 'log, minReplicas 0', run: log(0) },
    { name: 'log, minReplicas 1', run: log(1) },
  ];
  const samples = interleave(variants, Number(values.rounds), (name, output) => {
    const right = name.startsWith('tiny') ? sumOfValues(output) === tasks : asCountLines(output) === logTruth;
    if (!right) throw new Error(`${name}: output differs from the expected result`);
  });
  const [tiny0, tiny1, log0, log1] = Object.values(samples).map(summarize);
  const seconds = (s) => `${(s.wallMs.median / 1000).toFixed(2)} (${(s.wallMs.min / 1000).toFixed(2)}–${(s.wallMs.max / 1000).toFixed(2)})`;
  const ratio = (base, other) => (other.wallMs.median / base.wallMs.median).toFixed(2);
  const m = machine();
  process.stdout.write(
    [
      '### The cost of --min-replicas 1',
      '',
      `Command: \`npm run build && node bench/min-replicas.mjs --tasks ${tasks} --size ${values.size} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node}, Redis ${m.redis} · load ${m.loadAverage} · a primary and one replica on loopback, 2 warm worker processes`,
      '',
      '| run | minReplicas 0: wall median (min–max) s | minReplicas 1 | ratio 1 / 0 |',
      '|---|---|---|---|',
      `| tiny tasks: ${tasks} no-op inputs, 1 per task (concurrency 8) | ${seconds(tiny0)} | ${seconds(tiny1)} | ${ratio(tiny0, tiny1)} |`,
      `| log-errors over ${values.size} of logs in 64 files | ${seconds(log0)} | ${seconds(log1)} | ${ratio(log0, log1)} |`,
      '',
    ].join('\n'),
  );
} finally {
  for (const stop of stops) await stop.stop();
  replica.stop();
  primary.stop();
}
