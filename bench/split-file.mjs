// --split: one big log file mapped as byte ranges, against the same bytes as 64 files, on 2
// warm worker processes. Both give the GNU-tools pipeline's answer for their bytes, checked
// every round; the question is what one file costs when it no longer means one task.
//
//   npm run build && node bench/split-file.mjs [--size 1GiB] [--split 64MiB] [--rounds 3]
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, machine, measure, resultTable, startRedis, summarize } from './harness.mjs';
import { startWarmWorkers } from './warm-workers.mjs';
import { asCountLines, generatedLogs, gnuLogCounts } from './log-data.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    split: { type: 'string', default: '64MiB' },
    rounds: { type: 'string', default: '3' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) throw new Error('build first: npm run build');
const job = 'examples/log-errors/job.ts';

// The same 64 files as bench/log-job.mjs, and one file of their bytes end to end.
const files = generatedLogs(values.size);
const oneFile = join(root, 'bench', 'data', `logs-${values.size}-one.log`);
if (!existsSync(oneFile)) {
  process.stderr.write(`concatenating the 64 files into ${oneFile}\n`);
  for (const file of files) appendFileSync(oneFile, readFileSync(file));
}
const bytes = statSync(oneFile).size;

process.stderr.write('warming the page cache and computing the GNU-tools ground truth\n');
const truth = { one: gnuLogCounts([oneFile]), many: gnuLogCounts(files) };

const redis = await startRedis();
let workers;
try {
  // At the default log level: startWarmWorkers waits for the info line that says they serve.
  workers = await startWarmWorkers(cli, job, { processes: 2, prefix: 'split', redisUrl: redis.url });
  const submit = (name, inputs) => ({
    name,
    run: () =>
      measure(process.execPath, [cli, 'submit', job, ...inputs, '--wait', '--quiet'], {
        cwd: root,
        env: { REDIS_URL: redis.url, REDMAP_PREFIX: 'split', REDMAP_LOG_LEVEL: 'warn' },
        redis,
        background: [workers.pid],
      }),
  });
  const oneName = `1 file, --split ${values.split}`;
  const samples = interleave(
    [submit(oneName, [oneFile, '--split', values.split]), submit('64 files', files)],
    Number(values.rounds),
    (name, output) => {
      if (asCountLines(output) !== (name === oneName ? truth.one : truth.many)) throw new Error(`${name}: not the GNU-tools answer`);
    },
  );
  const summaries = Object.fromEntries(Object.entries(samples).map(([name, runs]) => [name, summarize(runs)]));
  const m = machine();
  process.stdout.write(
    [
      `### One ${values.size} log file with --split ${values.split} vs the same bytes as 64 files, 2 warm workers`,
      '',
      `Command: \`npm run build && node bench/split-file.mjs --size ${values.size} --split ${values.split} --rounds ${values.rounds}\` · ${new Date().toISOString().slice(0, 10)} · ${m.cpu}, Node ${m.node} · ${(bytes / 2 ** 20).toFixed(0)} MiB · load ${m.loadAverage}`,
      '',
      'CPU includes the warm workers. Both outputs equal the GNU-tools pipeline over their bytes, every round.',
      '',
      resultTable(summaries, '64 files'),
      '',
    ].join('\n'),
  );
} finally {
  await workers?.stop();
  redis.stop();
}
